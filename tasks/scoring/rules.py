"""One place that maps a benchmark name to its prompt, extraction and matching rules."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import get_args

from ted.tasks.items import Benchmark
from ted.tasks.scoring import generic, mathvision, visualpuzzles

BENCHMARKS: tuple[str, ...] = get_args(Benchmark)


@dataclass(frozen=True)
class BenchmarkRules:
    """How one benchmark asks for, reads and grades an answer.

    Attributes:
        name: The benchmark name.
        format_question: Renders a question and its options as the benchmark's prompt does.
        instruction: The answer instruction, given whether the question has options.
        extract: Reads the final answer out of a response (None when unreadable).
        is_correct: Grades an extracted answer against the ground truth.
        instruction_first: Whether the official prompt puts the instruction before the question.
    """

    name: str
    format_question: Callable[[str, Sequence[str] | None], str]
    instruction: Callable[..., str]
    extract: Callable[[str, Sequence[str] | None], str | None]
    is_correct: Callable[[str | None, str, Sequence[str] | None], bool]
    instruction_first: bool = False


_RULES = {
    "mathvision": BenchmarkRules(
        "mathvision",
        mathvision.format_question,
        mathvision.instruction,
        mathvision.extract,
        mathvision.is_correct,
        instruction_first=True,
    ),
    "visualpuzzles": BenchmarkRules(
        "visualpuzzles",
        visualpuzzles.format_question,
        visualpuzzles.instruction,
        visualpuzzles.extract,
        visualpuzzles.is_correct,
    ),
    "generic": BenchmarkRules(
        "generic", generic.format_question, generic.instruction, generic.extract, generic.is_correct
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
