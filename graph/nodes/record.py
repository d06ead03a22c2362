"""Record: usage statistics of the injected experiences, and the item's result."""

from __future__ import annotations

from typing import Any, Literal

from langgraph.runtime import Runtime

from ted.graph.context import Context
from ted.graph.library import open_library
from ted.graph.state import ItemResult, ItemState


async def record(state: ItemState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Count how each injected experience was used, and summarise the item for the run's report.

    An experience injected into this item's prompt counts as `retrieved` once per graded attempt (it was
    in each of those prompts); each attempt that cites it adds to `cited` and to `cited_correct` or
    `cited_wrong` by that attempt's grade. Votes were already counted when the teacher cast them.
    """
    from ted.memory import UsageStats

    context = runtime.context
    item = state["item"]
    item_id = str(item["id"])
    injected = state.get("injected", [])
    graded = [t for t in state.get("trajectories", []) if t["error"] is None]
    store = await open_library(context)

    deltas: dict[str, UsageStats] = {}
    for experience in injected:
        citing = [t for t in graded if experience["label"] in t["cited"]]
        deltas[experience["id"]] = UsageStats(
            retrieved=len(graded),
            cited=len(citing),
            cited_correct=sum(t["correct"] for t in citing),
            cited_wrong=sum(not t["correct"] for t in citing),
        )
    prefix = state.get("op_prefix", f"item/{item_id}/")
    if deltas and graded:
        await store.record_usage(deltas, op_id=f"{prefix}usage", step=f"epoch {state.get('epoch', 0)}")

    solution = state.get("teacher")
    result = ItemResult(
        item_id=item_id,
        category=item.get("category"),
        epoch=state.get("epoch", 0),
        rollouts=len(state.get("trajectories", [])),
        correct=sum(t["correct"] for t in graded),
        graded=len(graded),
        teacher_correct=None if solution is None or solution["error"] else solution["correct"],
        injected=[e["id"] for e in injected],
        operations=state["reflection"]["operations"],
        failed=not graded,
    )
    over_cap = state.get("compress_in_item", True) and await store.count() > context.library_cap
    return {"results": [result], "compress_due": over_cap}


def route_after_record(state: ItemState) -> Literal["compress", "__end__"]:
    """Compress when the library outgrew its cap (standalone item runs only)."""
    return "compress" if state.get("compress_due") else "__end__"
