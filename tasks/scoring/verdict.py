"""What grading one response gives: the answer read, the verdict, and how it was reached."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

Scoring = Literal["official", "lenient"]
"""``official``: each benchmark's own harness, verdict for verdict. ``lenient``: semantic equivalence."""
SCORINGS: tuple[str, ...] = get_args(Scoring)


def check_scoring(scoring: str) -> Scoring:
    """Return ``scoring`` if it is one of `SCORINGS`.

    Raises:
        ValueError: It is not.
    """
    if scoring not in SCORINGS:
        raise ValueError(f"unknown scoring {scoring!r}: expected one of {', '.join(SCORINGS)}")
    return scoring  # type: ignore[return-value]


@dataclass(frozen=True)
class Verdict:
    """One graded response.

    Attributes:
        answer: What the scorer read as the final answer (None: nothing readable).
        correct: Whether it is right.
        guessed: The answer is the official harness's random guess for an unreadable response.
        timed_out: A comparison missed its deadline and counted as not equal.
    """

    answer: str | None
    correct: bool
    guessed: bool = False
    timed_out: bool = False
