"""The dataset loop: epochs x batches of the per-item graph, compressing between batches.

``start -> distill_item x batch (Send) -> after_batch -> [compress_between_batches] -> next batch ...
-> finish``

The items of a batch are distilled concurrently; each runs the per-item graph as a subgraph, so with a
checkpointer every item's progress is saved step by step. A run killed at any moment and invoked again
on the same thread resumes where it stopped: finished items are not run again, a half-finished item
continues from its last completed step, and library operations carry ids derived from the run, epoch,
item and tool call, so a re-executed step changes the library once.
"""

from __future__ import annotations

import asyncio
import math
import random
import re
import uuid
from typing import Any, Literal

from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime
from langgraph.types import Send

from ted.graph.admission import ItemRejected, admit_item
from ted.graph.compression import compress_library
from ted.graph.context import Context, ServedContext
from ted.graph.item_graph import graph as item_graph
from ted.graph.library import open_library
from ted.graph.state import BatchProgress, DistillInput, DistillOutput, DistillState

DEFAULT_BATCH_SIZE = 8
MAX_BATCH = 256
MAX_EPOCHS = 100
# Run ids prefix library operation ids, so they stay plain.
RUN_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def _batches(state: DistillState) -> list[list[int]]:
    """Item indices per step over all epochs; epochs after the first visit items in a seeded order."""
    count = len(state["items"])
    size = max(1, state.get("batch_size", DEFAULT_BATCH_SIZE))
    batches: list[list[int]] = []
    for epoch in range(state.get("epochs", 1)):
        order = list(range(count))
        if epoch > 0:
            random.Random(f"{state.get('seed', 0)}/{epoch}").shuffle(order)
        batches.extend(order[n : n + size] for n in range(0, count, size))
    return batches


def _epoch_of(state: DistillState, step: int) -> int:
    per_epoch = math.ceil(len(state["items"]) / max(1, state.get("batch_size", DEFAULT_BATCH_SIZE)))
    return step // per_epoch


def _admit_items(items: object, context: Context) -> None:
    if not isinstance(items, list) or not items:
        raise ItemRejected("distill needs a non-empty list of items")
    seen: set[str] = set()
    for position, raw in enumerate(items):
        try:
            item = admit_item(raw, context)
        except ItemRejected as exc:
            raise ItemRejected(f"item {position}: {exc}") from exc
        if item.id in seen:
            raise ItemRejected(f"item {position}: the id {item.id!r} appears twice")
        seen.add(item.id)


def _check_run_options(state: DistillState) -> None:
    for name, default, high in (("epochs", 1, MAX_EPOCHS), ("batch_size", DEFAULT_BATCH_SIZE, MAX_BATCH)):
        value = state.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
            raise ValueError(f"{name} must be a whole number from 1 to {high}, not {value!r}")
    run_id = state.get("run_id")
    if run_id is not None and not (isinstance(run_id, str) and RUN_ID.match(run_id)):
        raise ValueError("run_id must be 1 to 64 letters, digits, '.', '_' or '-'")


async def start(state: DistillState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Validate the items and the run's options, and name the run."""
    _check_run_options(state)
    await asyncio.to_thread(_admit_items, state.get("items"), runtime.context)
    return {"run_id": state.get("run_id") or uuid.uuid4().hex[:12], "step": 0, "items_since_compress": 0}


def dispatch(state: DistillState) -> list[Send] | Literal["finish"]:
    """Send every item of the current batch to the per-item graph, or finish after the last batch."""
    step = state.get("step", 0)
    batches = _batches(state)
    if step >= len(batches):
        return "finish"
    epoch = _epoch_of(state, step)
    sends = []
    for index in batches[step]:
        item = state["items"][index]
        sends.append(
            Send(
                "distill_item",
                {
                    "item": item,
                    "epoch": epoch,
                    "op_prefix": f"{state['run_id']}/e{epoch}/{item['id']}/",
                    "compress_in_item": False,
                },
            )
        )
    return sends


async def after_batch(state: DistillState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Add the batch to the learning curve and decide whether to compress."""
    step = state.get("step", 0)
    epoch = _epoch_of(state, step)
    batches = _batches(state)
    batch_ids = {str(state["items"][i]["id"]) for i in batches[step]}
    done = [r for r in state.get("results", []) if r["epoch"] == epoch and r["item_id"] in batch_ids]
    store = await open_library(runtime.context)
    size = await store.count()
    point = BatchProgress(
        step=step,
        epoch=epoch,
        items_done=sum(len(batch) for batch in batches[: step + 1]),
        correct=sum(r["correct"] for r in done),
        graded=sum(r["graded"] for r in done),
        library_size=size,
        library_version=await store.current_version(),
    )
    since = state.get("items_since_compress", 0) + len(batch_ids)
    return {"step": step + 1, "items_since_compress": since, "progress": [point]}


def route_after_batch(
    state: DistillState, runtime: Runtime[Context]
) -> list[Send] | Literal["compress_between_batches", "finish"]:
    """Compress on schedule or when over the cap; otherwise go on with the next batch."""
    context = runtime.context
    scheduled = context.compress_every > 0 and state.get("items_since_compress", 0) >= context.compress_every
    over_cap = state["progress"][-1]["library_size"] > context.library_cap
    last = state.get("step", 0) >= len(_batches(state))
    if (scheduled or over_cap) and not last:
        return "compress_between_batches"
    return dispatch(state)


async def _compression_at_step(state: DistillState, context: Context) -> dict[str, Any]:
    step = state.get("step", 0)
    report, usage, errors = await compress_library(
        context, op_prefix=f"{state['run_id']}/s{step}/compress/", step=f"after batch {step}"
    )
    report["step"] = step
    return {"compressions": [report], "usage": usage, "errors": errors, "items_since_compress": 0}


async def compress_between_batches(state: DistillState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Merge, rewrite, prune and cap the library between batches."""
    return await _compression_at_step(state, runtime.context)


async def finish(state: DistillState, runtime: Runtime[Context]) -> dict[str, Any]:
    """A last compression, so the library a run leaves behind is within its cap."""
    if state.get("items_since_compress", 0) == 0:
        return {}
    return await _compression_at_step(state, runtime.context)


def build_distill_graph(
    context_schema: type[Context] = Context,
) -> StateGraph[DistillState, Context, DistillInput, DistillOutput]:
    """The uncompiled dataset loop; compile it with a checkpointer to make runs resumable.

    ``context_schema`` is what LangGraph builds from a run's ``context`` dict: `ServedContext` for
    graphs served over the API, which refuses run contexts that change deployment settings.
    """
    builder = StateGraph(
        DistillState, context_schema=context_schema, input_schema=DistillInput, output_schema=DistillOutput
    )
    builder.add_node(start)
    builder.add_node("distill_item", item_graph)
    builder.add_node(after_batch)
    builder.add_node(compress_between_batches)
    builder.add_node(finish)
    builder.add_edge(START, "start")
    builder.add_conditional_edges("start", dispatch, ["distill_item", "finish"])
    builder.add_edge("distill_item", "after_batch")
    builder.add_conditional_edges(
        "after_batch", route_after_batch, ["distill_item", "compress_between_batches", "finish"]
    )
    builder.add_conditional_edges("compress_between_batches", dispatch, ["distill_item", "finish"])
    builder.add_edge("finish", END)
    return builder


def compile_distill_graph(
    *, checkpointer: Any = None, store: Any = None, context_schema: type[Context] = Context
) -> CompiledStateGraph[Any, Any, Any, Any]:
    """The dataset loop compiled with the caller's checkpointer and store (both optional)."""
    return build_distill_graph(context_schema).compile(checkpointer=checkpointer, store=store, name="distill")


graph = compile_distill_graph(context_schema=ServedContext)
"""The graph `langgraph.json` serves: run contexts are checked as `ServedContext` (see SECURITY.md)."""
