"""Reflect: the teacher compares the student's attempts with its own solution and edits the library.

In ``tools`` mode the teacher acts through the memory tools in a bounded loop (``reflect`` ->
``apply_tools`` -> ``reflect`` ...), reading the results of each round's calls in the next. In
``json`` mode it answers once with validated JSON operations, which the state keeps as a plan for
``apply_tools``; a resumed run re-applies a checkpointed plan under the same operation ids, so the
library changes once. ``auto`` uses tools and falls back to JSON for an endpoint that rejects them.
Both modes apply their edits through `ted.graph.edits`.
"""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.messages import AIMessage, BaseMessage
from langgraph.runtime import Runtime

from ted.graph.calling import call
from ted.graph.context import Context
from ted.graph.editors import editor_word_limit, item_editor
from ted.graph.edits import (
    REFLECT_TOOLS,
    apply_planned,
    apply_tool_calls,
    plan_operations,
    prepare_tool_calls,
    succeeded,
    tool_names,
)
from ted.graph.errors import ModelCallError
from ted.graph.items import admitted
from ted.graph.json_mode import ask_for_operations, remember_without_tools, uses_json
from ted.graph.models import ModelSpec, chat_model, model_spec
from ted.graph.prompting import reflect_messages
from ted.graph.slots import release_slot
from ted.graph.state import ItemState, Reflection
from ted.memory.tools import tool_schemas

# JSON answers that fail validation are sent back with the error this many times before giving up.
JSON_RETRIES = 2


def _prompt(state: ItemState, context: Context, *, json_mode: bool) -> list[BaseMessage]:
    return reflect_messages(
        context,
        admitted(state["item"]),
        state.get("images", []),
        state.get("injected", []),
        state.get("trajectories", []),
        state.get("teacher"),
        json_mode=json_mode,
    )


def _needs_reflection(state: ItemState, context: Context) -> bool:
    graded = [t for t in state.get("trajectories", []) if t["error"] is None]
    if not graded:
        return False
    return context.reflect_on == "always" or not all(t["correct"] for t in graded)


async def reflect(state: ItemState, runtime: Runtime[Context]) -> dict[str, Any]:
    """One round of reflection: ask the teacher for library edits, or end the reflection."""
    update = await _reflect(state, runtime.context)
    if "reflection" in update:
        release_slot()  # no model call follows: the next item need not wait for this step to be saved
    return update


async def _reflect(state: ItemState, context: Context) -> dict[str, Any]:
    rounds = state.get("reflect_rounds", 0)
    if rounds == 0 and not _needs_reflection(state, context):
        return {"reflection": Reflection(mode="skipped", operations=[])}
    spec = model_spec(context, "teacher")
    if not uses_json(context, spec):
        try:
            return await _tools_round(state, context, spec, rounds)
        except ModelCallError as error:
            if error.kind != "no_tools" or context.tool_mode != "auto":
                raise
            remember_without_tools(spec)
    return await _json_plan(state, context, spec)


async def _tools_round(state: ItemState, context: Context, spec: ModelSpec, rounds: int) -> dict[str, Any]:
    schemas = tool_schemas(tool_names(REFLECT_TOOLS), max_words=editor_word_limit(context))
    model = chat_model(context, "teacher").bind_tools(list(schemas))
    start = _prompt(state, context, json_mode=False) if rounds == 0 else []
    item_id = str(state["item"]["id"])
    reply = await call(model, [*state["messages"], *start], spec=spec, stage="reflect", item_id=item_id)
    if reply.message is None:
        return {"reflection": Reflection(mode="failed", operations=[]), "errors": reply.errors}
    update: dict[str, Any] = {
        "messages": [*start, reply.message],
        "reflect_mode": "tools",
        "reflect_rounds": rounds + 1,
        "usage": reply.usage,
    }
    if not reply.message.tool_calls:  # the teacher is done
        update["reflection"] = Reflection(mode="tools", operations=state.get("applied", []))
    else:
        # The texts of its edits start embedding now, while this step is saved and `apply_tools` starts.
        prepare_tool_calls(await item_editor(state, context), reply.message.tool_calls, REFLECT_TOOLS)
    return update


async def _json_plan(state: ItemState, context: Context, spec: ModelSpec) -> dict[str, Any]:
    answer = await ask_for_operations(
        chat_model(context, "teacher"),
        _prompt(state, context, json_mode=True),
        spec=spec,
        stage="reflect",
        item_id=str(state["item"]["id"]),
        retries=JSON_RETRIES,
    )
    if answer.operations is None:
        failed = Reflection(mode="failed", operations=[])
        return {"reflection": failed, "errors": answer.errors, "usage": answer.usage}
    (await item_editor(state, context)).prepare(answer.operations)  # as for tool calls
    return {
        "planned": plan_operations(answer.operations),
        "reflect_mode": "json",
        "reflect_rounds": 1,
        "usage": answer.usage,
    }


async def apply_edits(state: ItemState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Apply the edits of the last reflection round: its tool calls, or its planned JSON operations."""
    context = runtime.context
    editor = await item_editor(state, context)
    mode = state.get("reflect_mode", "tools")
    update: dict[str, Any] = {}
    if mode == "json":
        outcomes = await apply_planned(editor, state.get("planned", []), REFLECT_TOOLS)
    else:
        last = state["messages"][-1]
        assert isinstance(last, AIMessage)  # route_reflection sends only tool-calling rounds here
        outcomes = await apply_tool_calls(editor, last.tool_calls, REFLECT_TOOLS)
        update["messages"] = [outcome.tool_message() for outcome in outcomes]
    applied = [*state.get("applied", []), *succeeded(outcomes)]
    update |= {"labels": editor.labels.as_mapping(), "applied": applied}
    if mode == "json" or state.get("reflect_rounds", 0) >= context.reflect_max_steps:
        update["reflection"] = Reflection(mode=mode, operations=applied)
        release_slot()
    return update


def route_reflection(state: ItemState) -> Literal["apply_tools", "record"]:
    """After a reflection round: apply its edits, or go on once the reflection is over."""
    return "record" if "reflection" in state else "apply_tools"


def route_after_edits(state: ItemState) -> Literal["reflect", "record"]:
    """After the edits were applied: another round, unless the reflection is over."""
    return "record" if "reflection" in state else "reflect"
