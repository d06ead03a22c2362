"""The solve graph, ``retrieve -> student``: what a host app embeds and `langgraph dev` serves.

Experiences learned from the item being solved are never injected (the contamination guard), so an
evaluation on items seen during distillation cannot be inflated by them.
"""

from __future__ import annotations

from typing import Any

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph

from ted.graph.context import Context, ServedContext
from ted.graph.nodes.retrieve import retrieve_for_solve
from ted.graph.nodes.student import solve_student
from ted.graph.state import SolveInput, SolveOutput, SolveState


def build_solve_graph(
    context_schema: type[Context] = Context,
) -> StateGraph[SolveState, Context, SolveInput, SolveOutput]:
    """The uncompiled solve graph; ``context_schema`` as in `build_distill_graph`."""
    builder = StateGraph(
        SolveState, context_schema=context_schema, input_schema=SolveInput, output_schema=SolveOutput
    )
    builder.add_node("retrieve", retrieve_for_solve)
    builder.add_node("student", solve_student)
    builder.add_edge(START, "retrieve")
    builder.add_edge("retrieve", "student")
    builder.add_edge("student", END)
    return builder


def compile_solve_graph(
    *, checkpointer: Any = None, store: Any = None, context_schema: type[Context] = Context
) -> CompiledStateGraph[Any, Any, Any, Any]:
    """The solve graph compiled with the caller's checkpointer and store (both optional)."""
    return build_solve_graph(context_schema).compile(checkpointer=checkpointer, store=store, name="solve")


graph = compile_solve_graph(context_schema=ServedContext)
"""The graph `langgraph.json` serves: run contexts are checked as `ServedContext` (see SECURITY.md)."""
