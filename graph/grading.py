"""Grading an answer with the item's benchmark scorer, under the run's scoring."""

from __future__ import annotations

import asyncio

from ted.tasks import Item
from ted.tasks.scoring import Scoring, Verdict, extract_answer, grade_response


def grade_sync(item: Item, response: str, scoring: Scoring = "official") -> Verdict:
    """The verdict on ``response`` (not correct, whatever it says, when the item has no ground truth)."""
    if not item.answer:
        return Verdict(extract_answer(item.benchmark, response, item.options), False)
    return grade_response(item.benchmark, response, item.answer, item.options, scoring=scoring)


async def grade(item: Item, response: str, scoring: Scoring = "official") -> Verdict:
    """The verdict on ``response``: the answer read, whether it is right, how it was reached.

    Runs in a thread: a comparison may wait on the bounded latex2sympy worker.
    """
    return await asyncio.to_thread(grade_sync, item, response, scoring)
