"""One place that maps a benchmark name to its prompt, extraction and grading rules."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import get_args

from ted.tasks.items import Benchmark
from ted.tasks.scoring import generic, mathvision, visualpuzzles
from ted.tasks.scoring.verdict import Verdict

BENCHMARKS: tuple[str, ...] = get_args(Benchmark)


@dataclass(frozen=True)
class BenchmarkRules:
    """How one benchmark asks for, reads and grades an answer.

    Attributes:
        name: The benchmark name.
        format_question: Renders a question and its options as the benchmark's prompt does.
        instruction: The answer instruction, given whether the question has options.
        extract: Reads the final answer out of a response (None when unreadable).
        grade: Grades a response against the ground truth (keywords ``scoring``, ``seed``, ``timeout``).
        instruction_first: Whether the official prompt puts the instruction before the question.
    """

    name: str
    format_question: Callable[[str, Sequence[str] | None], str]
    instruction: Callable[..., str]
    extract: Callable[[str, Sequence[str] | None], str | None]
    grade: Callable[..., Verdict]
    instruction_first: bool = False


_RULES = {
    "mathvision": BenchmarkRules(
        "mathvision",
        mathvision.format_question,
        mathvision.instruction,
        mathvision.extract,
        mathvision.grade,
        instruction_first=True,
    ),
    "visualpuzzles": BenchmarkRules(
        "visualpuzzles",
        visualpuzzles.format_question,
        visualpuzzles.instruction,
        visualpuzzles.extract,
        visualpuzzles.grade,
    ),
    "generic": BenchmarkRules(
        "generic", generic.format_question, generic.instruction, generic.extract, generic.grade
    ),
}


def rules_for(benchmark: str) -> BenchmarkRules:
    """Return the rules of ``benchmark``.

    Raises:
        ValueError: ``benchmark`` is not one of `BENCHMARKS`.
    """
    try:
        return _RULES[benchmark]
    except KeyError:
        raise ValueError(
            f"unknown benchmark {benchmark!r}: expected one of {', '.join(BENCHMARKS)}"
        ) from None
