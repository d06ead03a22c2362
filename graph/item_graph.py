"""The per-item distillation graph, the state machine of TED.

``retrieve -> {student x N, teacher} -> reflect (<-> apply_tools) -> record -> [compress]``

The N student rollouts and the teacher run in parallel (``Send``). Reflection is the teacher acting on
the library, through tools in a bounded loop or through one JSON answer, with ``apply_tools``
applying the edits. ``record`` updates the usage statistics; ``compress`` runs only when a standalone
item leaves the library over its cap (the dataset loop compresses between items instead, when a point of
its learning curve finds it due).
"""

from __future__ import annotations

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from langgraph.types import Send

from ted.graph.context import Context
from ted.graph.nodes.compress import compress_over_cap
from ted.graph.nodes.record import record, route_after_record
from ted.graph.nodes.reflect import apply_edits, reflect, route_after_edits, route_reflection
from ted.graph.nodes.retrieve import retrieve
from ted.graph.nodes.student import student
from ted.graph.nodes.teacher import teacher
from ted.graph.routing import on_the_loop
from ted.graph.state import ItemInput, ItemOutput, ItemState, StudentTask


def fan_out(state: ItemState, runtime: Runtime[Context]) -> list[Send]:
    """Send the item to N student rollouts and to the teacher, all in parallel."""
    task = StudentTask(item=state["item"], images=state.get("images", []), injected=state.get("injected", []))
    rollouts = [Send("student", {**task, "index": n}) for n in range(runtime.context.rollouts)]
    return [*rollouts, Send("teacher", state)]


def build_item_graph() -> StateGraph[ItemState, Context, ItemInput, ItemOutput]:
    """The uncompiled per-item graph; compile it with your own checkpointer and store."""
    builder = StateGraph(ItemState, context_schema=Context, input_schema=ItemInput, output_schema=ItemOutput)
    builder.add_node(retrieve)
    builder.add_node(student)
    builder.add_node(teacher)
    builder.add_node(reflect)
    builder.add_node("apply_tools", apply_edits)
    builder.add_node(record)
    builder.add_node("compress", compress_over_cap)
    builder.add_edge(START, "retrieve")
    # Wrapped apart: inside the call, mypy would type it by the first path type LangGraph accepts.
    sends = on_the_loop(fan_out)
    builder.add_conditional_edges("retrieve", sends, ["student", "teacher"])
    builder.add_edge("student", "reflect")
    builder.add_edge("teacher", "reflect")
    builder.add_conditional_edges("reflect", on_the_loop(route_reflection), ["apply_tools", "record"])
    builder.add_conditional_edges("apply_tools", on_the_loop(route_after_edits), ["reflect", "record"])
    builder.add_conditional_edges("record", on_the_loop(route_after_record), ["compress", END])
    builder.add_edge("compress", END)
    return builder


graph = build_item_graph().compile(name="distill_item")
