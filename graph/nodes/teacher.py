"""Teacher: the teacher's own graded solution of the item, without the library."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from ted.graph.calling import call
from ted.graph.context import Context
from ted.graph.grading import grade
from ted.graph.items import admitted
from ted.graph.models import chat_model, model_spec
from ted.graph.prompting import teacher_messages
from ted.graph.state import ItemState, TeacherSolution


async def teacher(state: ItemState, runtime: Runtime[Context]) -> dict[str, Any]:
    """The teacher solves the item on its own, without the library."""
    context = runtime.context
    item = admitted(state["item"])
    spec = model_spec(context, "teacher")
    messages = teacher_messages(context, item, state.get("images", []))
    model = chat_model(context, "teacher")
    reply = await call(model, messages, spec=spec, stage="teacher", item_id=item.id, expect_text=True)
    if reply.message is None:
        failed = TeacherSolution(response="", answer=None, correct=False, error=reply.errors[0]["message"])
        return {"teacher": failed, "errors": reply.errors, "usage": reply.usage}
    verdict = await grade(item, reply.text, context.scoring)
    solution = TeacherSolution(
        response=reply.text, answer=verdict.answer, correct=verdict.correct, error=None
    )
    return {"teacher": solution, "usage": reply.usage}
