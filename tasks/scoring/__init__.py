"""Deterministic answer extraction and scoring, following each benchmark's official rules.

Public API:
- `score_answer(benchmark, response, answer, options)`: whether a response is correct.
- `extract_answer(benchmark, response, options)`: what the scorer read, for reports.
- `answer_instruction(benchmark, has_options=...)`: how the benchmark asks for the final answer.
- `format_question(item)`: the question and options as the benchmark's official prompt renders them.
- `render_prompt(item)`: the question with its answer instruction, in the official order.
- `BENCHMARKS`: the benchmark names.
"""

from __future__ import annotations

from collections.abc import Sequence

from ted.tasks.items import Item
from ted.tasks.scoring.rules import BENCHMARKS, rules_for


def extract_answer(benchmark: str, response: str, options: Sequence[str] | None = None) -> str | None:
    """Return the final answer ``benchmark``'s scorer reads in ``response``, or None if there is none.

    For multiple choice this is the option letter (MathVision: the normalised answer, which may be a
    letter or a value); for free-form answers the normalised value.

    Raises:
        ValueError: ``benchmark`` is unknown.
    """
    return rules_for(benchmark).extract(response, options)


def score_answer(benchmark: str, response: str, answer: str, options: list[str] | None = None) -> bool:
    """Whether ``response`` answers correctly, under ``benchmark``'s rules.

    Args:
        benchmark: ``mathvision``, ``visualpuzzles`` or ``generic``.
        response: The model's full response.
        answer: The ground truth: an option letter for multiple choice, else the answer.
        options: The option texts, when the question has them.

    Raises:
        ValueError: ``benchmark`` is unknown.
    """
    rules = rules_for(benchmark)
    return rules.is_correct(rules.extract(response, options), answer, options)


def answer_instruction(benchmark: str, *, has_options: bool) -> str:
    """The instruction that tells a model how to state its final answer for ``benchmark``.

    Raises:
        ValueError: ``benchmark`` is unknown.
    """
    return rules_for(benchmark).instruction(has_options=has_options)


def format_question(item: Item) -> str:
    """The item's question and options, rendered as its benchmark's official prompt does."""
    return rules_for(item.benchmark).format_question(item.question, item.options)


def render_prompt(item: Item) -> str:
    """The full text prompt for ``item``: question, options and answer instruction, in official order."""
    rules = rules_for(item.benchmark)
    question = rules.format_question(item.question, item.options)
    instruction = rules.instruction(has_options=bool(item.options) or item.benchmark == "visualpuzzles")
    return f"{instruction}\n{question}" if rules.instruction_first else f"{question}\n{instruction}"


__all__ = [
    "BENCHMARKS",
    "answer_instruction",
    "extract_answer",
    "format_question",
    "render_prompt",
    "score_answer",
]
