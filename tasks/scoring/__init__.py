"""Answer extraction and scoring: each benchmark's official harness, or a lenient option.

Scorings (`SCORINGS`): ``official`` (the default) reproduces each benchmark's own harness verdict for
verdict (MATH-V's evaluation/evaluate.py, lmms-eval's VisualPuzzles task, with its seeded guess for an
unreadable answer); ``lenient`` also accepts answers math-verify finds equivalent. See the README.

Public API:
- `grade_response(benchmark, response, answer, options, scoring=, seed=)`: a `Verdict` (answer read,
  correct, guessed, timed out).
- `score_answer(benchmark, response, answer, options, scoring=)`: whether a response is correct.
- `extract_answer(benchmark, response, options)`: what the scorer read, for reports.
- `answer_instruction(benchmark, has_options=...)`: how the benchmark asks for the final answer.
- `format_question(item)`: the question and options as the benchmark's official prompt renders them.
- `render_prompt(item)`: the question with its answer instruction, in the official order.
- `prompt_parts(item)`: the same prompt in parts, so that the question can be framed as data.
- `BENCHMARKS`: the benchmark names.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from ted.tasks.items import Item
from ted.tasks.scoring.bounded import DEFAULT_TIMEOUT
from ted.tasks.scoring.rules import BENCHMARKS, rules_for
from ted.tasks.scoring.verdict import SCORINGS, Scoring, Verdict, check_scoring


def extract_answer(benchmark: str, response: str, options: Sequence[str] | None = None) -> str | None:
    """Return the final answer ``benchmark``'s scorer reads in ``response``, or None if there is none.

    For multiple choice this is the option letter (MathVision: the normalised answer, which may be a
    letter or a value); for free-form answers the normalised value.

    Raises:
        ValueError: ``benchmark`` is unknown.
    """
    return rules_for(benchmark).extract(response, options)


def grade_response(
    benchmark: str,
    response: str,
    answer: str,
    options: Sequence[str] | None = None,
    *,
    scoring: Scoring = "official",
    seed: int = 0,
    timeout: float = DEFAULT_TIMEOUT,
) -> Verdict:
    """Grade ``response`` under ``benchmark``'s rules.

    Args:
        benchmark: ``mathvision``, ``visualpuzzles`` or ``generic``.
        response: The model's full response.
        answer: The ground truth: an option letter for multiple choice, else the answer.
        options: The option texts, when the question has them.
        scoring: ``official`` or ``lenient``.
        seed: Seeds the official VisualPuzzles guess for an unreadable answer.
        timeout: Seconds a latex2sympy or math-verify comparison may take before it counts as unequal.

    Raises:
        ValueError: ``benchmark`` or ``scoring`` is unknown.
        MissingDependencyError: The scoring's library is not installed.
    """
    check_scoring(scoring)
    return rules_for(benchmark).grade(response, answer, options, scoring=scoring, seed=seed, timeout=timeout)


def score_answer(
    benchmark: str,
    response: str,
    answer: str,
    options: Sequence[str] | None = None,
    *,
    scoring: Scoring = "official",
) -> bool:
    """Whether ``response`` answers correctly under ``benchmark``'s rules (see `grade_response`)."""
    return grade_response(benchmark, response, answer, options, scoring=scoring).correct


def answer_instruction(benchmark: str, *, has_options: bool) -> str:
    """The instruction that tells a model how to state its final answer for ``benchmark``.

    Raises:
        ValueError: ``benchmark`` is unknown.
    """
    return rules_for(benchmark).instruction(has_options=has_options)


def format_question(item: Item) -> str:
    """The item's question and options, rendered as its benchmark's official prompt does."""
    return rules_for(item.benchmark).format_question(item.question, item.options)


class PromptParts(NamedTuple):
    """An item's official prompt in parts: the question comes from the dataset, the instruction is ours."""

    question: str
    """The question and options, as `format_question` renders them."""
    instruction: str
    """How the benchmark asks for the final answer."""
    instruction_first: bool
    """Whether the benchmark puts the instruction before the question."""


def prompt_parts(item: Item) -> PromptParts:
    """The parts of ``item``'s official prompt, for a caller that frames the question as data."""
    rules = rules_for(item.benchmark)
    return PromptParts(
        question=rules.format_question(item.question, item.options),
        instruction=rules.instruction(has_options=bool(item.options) or item.benchmark == "visualpuzzles"),
        instruction_first=rules.instruction_first,
    )


def render_prompt(item: Item) -> str:
    """The full text prompt for ``item``: question, options and answer instruction, in official order."""
    question, instruction, instruction_first = prompt_parts(item)
    return f"{instruction}\n{question}" if instruction_first else f"{question}\n{instruction}"


__all__ = [
    "BENCHMARKS",
    "DEFAULT_TIMEOUT",
    "SCORINGS",
    "PromptParts",
    "Scoring",
    "Verdict",
    "answer_instruction",
    "extract_answer",
    "format_question",
    "grade_response",
    "prompt_parts",
    "render_prompt",
    "score_answer",
]
