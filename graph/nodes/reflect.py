"""Reflect: the teacher compares the student's attempts with its own solution and edits the library.

In ``tools`` mode the teacher acts through the memory tools in a bounded loop (``reflect`` ->
``apply_tools`` -> ``reflect`` ...). In ``json`` mode it answers once with validated JSON operations,
which become the equivalent tool calls, so both modes apply through the same tools, and a resumed run
re-applies a checkpointed call under the same operation id (the library changes once). ``auto`` uses
tools and falls back to JSON for an endpoint that rejects them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, ToolCall, ToolMessage
from langgraph.runtime import Runtime

from ted.graph.calling import call
from ted.graph.context import Context
from ted.graph.errors import ModelCallError
from ted.graph.library import open_library
from ted.graph.models import ModelSpec, chat_model, model_spec
from ted.graph.prompting import reflect_messages
from ted.graph.state import ErrorRecord, ItemState, Reflection, Usage
from ted.tasks import Item

# JSON answers that fail validation are sent back with the error this many times before giving up.
JSON_RETRIES = 2

TOOL_FOR_OPERATION = {
    "add": "add_experience",
    "update": "update_experience",
    "delete": "delete_experience",
    "merge": "merge_experiences",
    "vote": "vote_experience",
}

# Endpoints that rejected tool calling in this process; `auto` goes straight to JSON for them.
_without_tools: set[tuple[str, str | None]] = set()


async def editor_for(state: ItemState, context: Context) -> Any:
    """A `LibraryEditor` for this item, carrying the labels the model has seen so far.

    It refuses texts that copy the item's answer or options, so that what the library learns from an
    item is a general lesson rather than the item's solution.
    """
    from ted.memory import LabelBook, LibraryEditor, Origin, item_fragments

    labels = state.get("labels") or {e["label"]: e["id"] for e in state.get("injected", [])}
    item = state["item"]
    item_id = str(item["id"])
    return LibraryEditor(
        await open_library(context),
        labels=LabelBook.from_mapping(labels),
        source_items=[item_id],
        origin=Origin.REFLECT,
        student_model=context.student_model,
        op_prefix=state.get("op_prefix", f"item/{item_id}/"),
        step=f"epoch {state.get('epoch', 0)}",
        duplicate_threshold=context.duplicate_threshold,
        max_words=editor_word_limit(context),
        forbidden=item_fragments(str(item["answer"]), item.get("options")),
    )


def editor_word_limit(context: Context) -> int:
    """The longest text the library tools accept.

    Prompts ask for at most ``max_words``; a somewhat longer text is still accepted, and compression
    rewrites it later, rather than sending the model back to count words.
    """
    return 2 * context.max_words


def _prompt(state: ItemState, context: Context, *, json_mode: bool) -> list[BaseMessage]:
    return reflect_messages(
        context,
        Item.model_validate(state["item"]),
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


def uses_json(context: Context, spec: ModelSpec) -> bool:
    """Whether library edits go through JSON operations rather than tool calls."""
    return context.tool_mode == "json" or (
        context.tool_mode == "auto" and (spec.model, spec.base_url) in _without_tools
    )


async def reflect(state: ItemState, runtime: Runtime[Context]) -> dict[str, Any]:
    """One round of reflection: ask the teacher for library operations."""
    context = runtime.context
    rounds = state.get("reflect_rounds", 0)
    if rounds == 0 and not _needs_reflection(state, context):
        return {"reflection": Reflection(mode="skipped", operations=[])}
    spec = model_spec(context, "teacher")
    if uses_json(context, spec):
        return await _reflect_json(state, context, spec)

    from ted.memory import tool_schemas

    item = Item.model_validate(state["item"])
    model = chat_model(context, "teacher").bind_tools(
        list(tool_schemas(max_words=editor_word_limit(context)))
    )
    start = _prompt(state, context, json_mode=False) if rounds == 0 else []
    try:
        reply = await call(model, [*state["messages"], *start], spec=spec, stage="reflect", item_id=item.id)
    except ModelCallError as error:
        if error.kind == "no_tools" and context.tool_mode == "auto":
            _without_tools.add((spec.model, spec.base_url))
            return await _reflect_json(state, context, spec)
        raise
    if reply.message is None:
        return {"reflection": Reflection(mode="failed", operations=[]), "errors": reply.errors}
    return {
        "messages": [*start, reply.message],
        "reflect_mode": "tools",
        "reflect_rounds": rounds + 1,
        "usage": reply.usage,
    }


async def apply_tools(state: ItemState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Run the tool calls of the teacher's last message against the library."""
    from ted.memory import create_memory_tools

    context = runtime.context
    last = state["messages"][-1]
    assert isinstance(last, AIMessage)  # route_reflection sends only tool-calling messages here
    editor = await editor_for(state, context)
    tools = {tool.name: tool for tool in create_memory_tools(editor)}
    results: list[ToolMessage] = []
    for tool_call in last.tool_calls:
        tool = tools.get(tool_call["name"])
        if tool is None:
            known = ", ".join(sorted(tools))
            results.append(
                ToolMessage(
                    f"Error: there is no tool named {tool_call['name']!r}; the tools are {known}.",
                    tool_call_id=tool_call["id"] or "",
                    status="error",
                )
            )
            continue
        message = await tool.ainvoke({**tool_call, "type": "tool_call"})
        results.append(message)
    update: dict[str, Any] = {"messages": results, "labels": editor.labels.as_mapping()}
    mode = state.get("reflect_mode", "tools")
    if mode == "json" or state.get("reflect_rounds", 0) >= context.reflect_max_steps:
        update["reflection"] = Reflection(
            mode=mode, operations=operations_done([*state["messages"], *results])
        )
    return update


def operations_done(messages: list[Any]) -> list[str]:
    """What the library tools reported doing, one line per successful call."""
    return [str(m.content) for m in messages if isinstance(m, ToolMessage) and m.status != "error"]


def as_tool_calls(operations: Sequence[Any]) -> list[ToolCall]:
    """JSON operations as the tool calls they stand for, so both modes share one apply path."""
    return [
        ToolCall(name=TOOL_FOR_OPERATION[op.op], args=op.model_dump(exclude={"op"}), id=f"json-{n}")
        for n, op in enumerate(operations)
    ]


async def _reflect_json(state: ItemState, context: Context, spec: ModelSpec) -> dict[str, Any]:
    from ted.memory import LibraryOperations

    item = Item.model_validate(state["item"])
    model = chat_model(context, "teacher").with_structured_output(
        LibraryOperations, method="json_mode", include_raw=True
    )
    messages = _prompt(state, context, json_mode=True)
    usage: list[Usage] = []
    for attempt in range(JSON_RETRIES + 1):
        reply = await call(model, messages, spec=spec, stage="reflect", item_id=item.id)
        usage.extend(reply.usage)
        if reply.message is None:
            return {
                "reflection": Reflection(mode="failed", operations=[]),
                "errors": reply.errors,
                "usage": usage,
            }
        if reply.parsed is not None:
            planned = AIMessage(content=reply.text, tool_calls=as_tool_calls(reply.parsed.operations))
            return {"messages": [planned], "reflect_mode": "json", "reflect_rounds": 1, "usage": usage}
        if attempt < JSON_RETRIES:
            messages = [
                *messages,
                reply.message,
                HumanMessage(
                    f"That reply was not valid: {reply.parsing_error}. Reply again with only the JSON object."
                ),
            ]
    record = ErrorRecord(
        item_id=item.id,
        stage="reflect",
        kind="malformed_output",
        message=f"no valid operations from the teacher after {JSON_RETRIES + 1} tries: {reply.parsing_error}",
    )
    return {"reflection": Reflection(mode="failed", operations=[]), "errors": [record], "usage": usage}


def route_reflection(state: ItemState) -> Literal["apply_tools", "record"]:
    """After a reflection round: run its tool calls, or finish the item."""
    if "reflection" in state:
        return "record"
    last = state["messages"][-1] if state.get("messages") else None
    if isinstance(last, AIMessage) and last.tool_calls:
        return "apply_tools"
    return "record"


def route_after_tools(state: ItemState) -> Literal["reflect", "record"]:
    """After the tools ran: another round, unless the round limit was reached."""
    return "record" if "reflection" in state else "reflect"
