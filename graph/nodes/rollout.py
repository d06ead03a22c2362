"""Student and teacher attempts at an item, each graded by the item's benchmark scorer."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langgraph.runtime import Runtime

from ted.graph.calling import call
from ted.graph.context import Context
from ted.graph.models import chat_model, model_spec
from ted.graph.prompting import cited_labels, student_messages, teacher_messages
from ted.graph.state import InjectedExperience, ItemState, StudentTask, TeacherSolution, Trajectory
from ted.tasks import Item, extract_answer, score_answer


def grade(item: Item, response: str) -> tuple[str | None, bool]:
    """The answer the scorer reads in ``response`` and whether it is right (False without ground truth)."""
    answer = extract_answer(item.benchmark, response, item.options)
    if not item.answer:
        return answer, False
    return answer, score_answer(item.benchmark, response, item.answer, item.options)


async def _attempt(
    context: Context,
    item: Item,
    images: Sequence[str],
    injected: Sequence[InjectedExperience],
    *,
    index: int,
    temperature: float | None,
) -> dict[str, Any]:
    spec = model_spec(context, "student", temperature=temperature)
    model = chat_model(context, "student", temperature=temperature)
    messages = student_messages(context, item, images, injected)
    reply = await call(model, messages, spec=spec, stage="student", item_id=item.id)
    if reply.message is None:
        failed = Trajectory(
            index=index, response="", answer=None, correct=False, cited=[], error=reply.errors[0]["message"]
        )
        return {"trajectories": [failed], "errors": reply.errors}
    answer, correct = grade(item, reply.text)
    trajectory = Trajectory(
        index=index,
        response=reply.text,
        answer=answer,
        correct=correct,
        cited=cited_labels(reply.text, [e["label"] for e in injected]),
        error=None,
    )
    return {"trajectories": [trajectory], "usage": reply.usage}


async def student(state: StudentTask, runtime: Runtime[Context]) -> dict[str, Any]:
    """One sampled distillation rollout of the student, with the injected experiences."""
    item = Item.model_validate(state["item"])
    return await _attempt(
        runtime.context,
        item,
        state["images"],
        state["injected"],
        index=state.get("index", 0),
        temperature=None,
    )


async def solve_student(state: StudentTask, runtime: Runtime[Context]) -> dict[str, Any]:
    """The student's answer at inference time, decoded at the solve temperature."""
    item = Item.model_validate(state["item"])
    return await _attempt(
        runtime.context,
        item,
        state.get("images", []),
        state.get("injected", []),
        index=0,
        temperature=runtime.context.solve_temperature,
    )


async def teacher(state: ItemState, runtime: Runtime[Context]) -> dict[str, Any]:
    """The teacher solves the item on its own, without the library."""
    context = runtime.context
    item = Item.model_validate(state["item"])
    spec = model_spec(context, "teacher")
    messages = teacher_messages(context, item, state.get("images", []))
    reply = await call(chat_model(context, "teacher"), messages, spec=spec, stage="teacher", item_id=item.id)
    if reply.message is None:
        failed = TeacherSolution(response="", answer=None, correct=False, error=reply.errors[0]["message"])
        return {"teacher": failed, "errors": reply.errors}
    answer, correct = grade(item, reply.text)
    solution = TeacherSolution(response=reply.text, answer=answer, correct=correct, error=None)
    return {"teacher": solution, "usage": reply.usage}
