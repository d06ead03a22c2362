"""Student: one graded attempt at an item, with the injected experiences in its prompt.

`student` is one sampled rollout of the distillation graph (N of them run in parallel); `solve_student`
is the answer of the solve graph, decoded at the solve temperature.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langgraph.runtime import Runtime

from ted.graph.calling import call
from ted.graph.context import Context
from ted.graph.grading import grade
from ted.graph.items import admitted
from ted.graph.models import chat_model, model_spec
from ted.graph.prompting import cited_labels, student_messages
from ted.graph.state import InjectedExperience, SolveState, StudentTask, Trajectory
from ted.tasks import Item


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
    reply = await call(model, messages, spec=spec, stage="student", item_id=item.id, expect_text=True)
    if reply.message is None:
        failed = Trajectory(
            index=index, response="", answer=None, correct=False, cited=[], error=reply.errors[0]["message"]
        )
        return {"trajectories": [failed], "errors": reply.errors, "usage": reply.usage}
    verdict = await grade(item, reply.text, context.scoring)
    trajectory = Trajectory(
        index=index,
        response=reply.text,
        answer=verdict.answer,
        correct=verdict.correct,
        cited=cited_labels(reply.text, [e["label"] for e in injected]),
        error=None,
        guessed=verdict.guessed,
        timed_out=verdict.timed_out,
    )
    return {"trajectories": [trajectory], "usage": reply.usage}


async def student(state: StudentTask, runtime: Runtime[Context]) -> dict[str, Any]:
    """One sampled distillation rollout of the student, with the injected experiences."""
    return await _attempt(
        runtime.context,
        admitted(state["item"]),
        state["images"],
        state["injected"],
        index=state.get("index", 0),
        temperature=None,
    )


async def solve_student(state: SolveState, runtime: Runtime[Context]) -> dict[str, Any]:
    """The student's answer at inference time, decoded at the solve temperature."""
    return await _attempt(
        runtime.context,
        admitted(state["item"]),
        state.get("images", []),
        state.get("injected", []),
        index=0,
        temperature=runtime.context.solve_temperature,
    )
