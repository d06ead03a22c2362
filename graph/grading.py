"""Grading an answer with the item's benchmark scorer (rule-based and deterministic)."""

from __future__ import annotations

from ted.tasks import Item, extract_answer, score_answer


def grade(item: Item, response: str) -> tuple[str | None, bool]:
    """The answer the scorer reads in ``response`` and whether it is right (False without ground truth)."""
    answer = extract_answer(item.benchmark, response, item.options)
    if not item.answer:
        return answer, False
    return answer, score_answer(item.benchmark, response, item.answer, item.options)
