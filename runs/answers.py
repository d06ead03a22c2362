"""The student's answers to items under the paired conditions: with the library, and alone.

`answer_items` runs the solve graph once per item, condition and repeat, with bounded concurrency;
the conditions differ only in the injected experiences. Failures are recorded per answer.

Conditions: ``library`` (the context's retrieval, TED's ranking by default), ``baseline`` (no
experience), and the retrieval ablations ``similarity``, ``random`` and ``all`` (see
`ted.memory.retrieval`). In the vocabulary of retrieval strategies, ``baseline`` is ``none`` and
``library`` is ``default`` (`RETRIEVAL_CONDITIONS`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any, Literal, NotRequired

from typing_extensions import TypedDict

from ted.graph import Context, compile_solve_graph
from ted.graph.state import ErrorRecord, Usage
from ted.tasks import Item

Condition = Literal["library", "baseline", "similarity", "random", "all"]
CONDITIONS: tuple[Condition, ...] = ("library", "baseline")
ALL_CONDITIONS: tuple[Condition, ...] = ("library", "baseline", "similarity", "random", "all")
RETRIEVAL_CONDITIONS: dict[str, Condition] = {
    "none": "baseline",
    "default": "library",
    "similarity": "similarity",
    "random": "random",
    "all": "all",
}
"""Retrieval strategy name (as `ted eval --retrieval` takes them) -> evaluation condition."""


def conditions_for(retrieval: Sequence[str]) -> tuple[Condition, ...]:
    """The evaluation conditions of some retrieval strategies (``none``, ``default``, ``all`` ...).

    Raises:
        ValueError: An unknown strategy, or none at all.
    """
    unknown = [name for name in retrieval if name not in RETRIEVAL_CONDITIONS]
    if unknown or not retrieval:
        raise ValueError(
            f"retrieval must be some of {', '.join(RETRIEVAL_CONDITIONS)}, "
            f"got {', '.join(retrieval) or 'nothing'}"
        )
    return tuple(dict.fromkeys(RETRIEVAL_CONDITIONS[name] for name in retrieval))


class Answer(TypedDict):
    """The student's answer to one item under one condition and repeat."""

    item_id: str
    category: str | None
    condition: Condition
    """``library``: relevant experiences injected; ``baseline``: the student alone; ``similarity``,
    ``random``, ``all``: experiences chosen by that retrieval ablation."""
    repeat: int
    """0-based index of the repeated sample."""
    answer: str | None
    """What the scorer read as the final answer."""
    correct: bool
    injected: list[str]
    """Ids of the experiences in the prompt (none for the baseline)."""
    cited: list[str]
    """Ids of the injected experiences the student said it used."""
    error: str | None
    """Set when the model call failed after its retries; such answers are not graded."""
    guessed: NotRequired[bool]
    """The answer is the official harness's random guess for an unreadable response."""
    timed_out: NotRequired[bool]
    """A comparison missed its deadline and counted as wrong."""


class Answers(TypedDict):
    """Every answer of an evaluation, with the token usage and the recorded failures."""

    answers: list[Answer]
    usage: list[Usage]
    errors: list[ErrorRecord]


class Answered(TypedDict):
    """One answer with what it cost and the failures recorded while making it."""

    answer: Answer
    usage: list[Usage]
    errors: list[ErrorRecord]


AnswerKey = tuple[str, str, int]
"""An answer's item id, condition and repeat."""

AnswerHandler = Callable[[Answer], None]
AnsweredHandler = Callable[[Answered], None]


def _answer(item: Item, condition: Condition, repeat: int, output: dict[str, Any]) -> Answer:
    trajectories = output.get("trajectories") or []
    injected = output.get("injected") or []
    ids_by_label = {experience["label"]: experience["id"] for experience in injected}
    if not trajectories:
        errors = output.get("errors") or []
        message = errors[0]["message"] if errors else "the solve graph returned no answer"
        trajectory: dict[str, Any] = {"answer": None, "correct": False, "cited": [], "error": message}
    else:
        trajectory = dict(trajectories[0])
    failed_search = [e for e in output.get("errors") or [] if e["stage"] == "retrieve"]
    if failed_search and trajectory["error"] is None:
        # Answered without the experiences it should have had: not an answer of this condition.
        trajectory["error"] = failed_search[0]["message"]
    return Answer(
        item_id=item.id,
        category=item.category,
        condition=condition,
        repeat=repeat,
        answer=trajectory["answer"],
        correct=bool(trajectory["correct"]) and trajectory["error"] is None,
        injected=[experience["id"] for experience in injected],
        cited=[ids_by_label[label] for label in trajectory["cited"] if label in ids_by_label],
        error=trajectory["error"],
        guessed=bool(trajectory.get("guessed")),
        timed_out=bool(trajectory.get("timed_out")),
    )


async def answer_items(
    items: Sequence[Item],
    context: Context,
    *,
    conditions: Sequence[Condition] = CONDITIONS,
    repeats: int = 1,
    concurrency: int = 8,
    on_answer: AnswerHandler | None = None,
    done: Mapping[AnswerKey, Answered] | None = None,
    on_answered: AnsweredHandler | None = None,
) -> Answers:
    """Answer every item under every condition, ``repeats`` times, at most ``concurrency`` at once.

    Args:
        items: Labelled items to evaluate on (held out from distillation).
        context: The student, the library and the solve settings (``solve_temperature``).
        conditions: ``library`` (experiences injected), ``baseline`` (the student alone), and the
            retrieval ablations ``similarity``, ``random``, ``all``.
        repeats: Samples per item and condition. More than one needs ``context.solve_temperature``
            above 0, or every repeat would decode the same answer.
        concurrency: Most solve calls in flight at once.
        on_answer: Called with each answer as soon as it is made (progress displays), and with each
            answer taken from ``done``.
        done: Answers made before (a resumed evaluation), by key: they are not asked again.
        on_answered: Called with each new answer and its usage and failures (to keep them).

    Returns:
        One answer per item, condition and repeat (in that order), the token usage and the failures
        that were recorded rather than raised.

    Raises:
        ValueError: Bad settings, or an item without a ground-truth answer.
        ModelCallError: A failure that would repeat on every item (authentication, unreachable
            endpoint, a model without vision); the evaluation stops at once.
    """
    if repeats < 1 or concurrency < 1:
        raise ValueError("repeats and concurrency must be at least 1")
    if repeats > 1 and context.solve_temperature <= 0:
        raise ValueError(
            "repeats > 1 need solve_temperature above 0: with greedy decoding every repeat gives the "
            "same answer"
        )
    unknown = sorted(set(conditions) - set(ALL_CONDITIONS))
    if unknown or not conditions:
        raise ValueError(f"conditions must be some of {list(ALL_CONDITIONS)}, got {list(conditions)}")
    unlabelled = [item.id for item in items if not item.answer]
    if unlabelled:
        raise ValueError(
            f"evaluation needs ground-truth answers; items without one: {', '.join(unlabelled[:5])}"
        )

    graph = compile_solve_graph()
    limit = asyncio.Semaphore(concurrency)
    contexts: dict[Condition, Context] = {}
    for condition in conditions:
        if condition in ("similarity", "random", "all"):
            contexts[condition] = replace(context, retrieval=condition)
        else:
            contexts[condition] = context
    jobs = [
        (item, condition, repeat) for item in items for condition in conditions for repeat in range(repeats)
    ]
    answers: list[Answer | None] = [None] * len(jobs)
    usage: list[Usage] = []
    errors: list[ErrorRecord] = []

    async def run(index: int, item: Item, condition: Condition, repeat: int) -> None:
        answered = (done or {}).get((item.id, condition, repeat))
        if answered is None:
            async with limit:
                output = await graph.ainvoke(
                    {"item": item.model_dump(mode="json"), "use_library": condition != "baseline"},
                    context=contexts[condition],
                )
            answered = Answered(
                answer=_answer(item, condition, repeat, output),
                usage=list(output.get("usage") or []),
                errors=list(output.get("errors") or []),
            )
            if on_answered is not None:
                on_answered(answered)
        answers[index] = answered["answer"]
        usage.extend(answered["usage"])
        errors.extend(answered["errors"])
        if on_answer is not None:
            on_answer(answered["answer"])

    # A TaskGroup cancels the remaining calls as soon as one raises (a fatal model error); the caller
    # gets that error itself rather than a group of one.
    try:
        async with asyncio.TaskGroup() as group:
            for index, (item, condition, repeat) in enumerate(jobs):
                group.create_task(run(index, item, condition, repeat))
    except ExceptionGroup as failures:
        raise failures.exceptions[0] from None
    return Answers(answers=[a for a in answers if a is not None], usage=usage, errors=errors)
