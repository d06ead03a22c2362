"""Resumable distillation runs: the dataset loop compiled with a SQLite checkpointer.

A run is a LangGraph thread named by its run id in a checkpoint database (by default ``runs.sqlite`` in
the library folder). Starting a run whose thread already has unfinished checkpoints resumes it: the
graph continues from the last saved step, so items finished before an interruption are not sent to a
model again, and the journal's operation ids keep every library operation to exactly one application.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from langchain_core.runnables import RunnableConfig

from ted.graph.context import Context
from ted.graph.distill import compile_distill_graph
from ted.graph.library import open_library
from ted.graph.state import DistillOutput
from ted.tasks import Item

# Called with (namespace, node, update) for every step of the graph and its per-item subgraphs.
EventHandler = Callable[[tuple[str, ...], str, dict[str, Any]], None]

CHECKPOINT_FILE = "runs.sqlite"


def checkpoint_path(context: Context) -> Path:
    """Where the runs of ``context.library`` keep their checkpoints."""
    return context.library_folder() / CHECKPOINT_FILE


async def run_status(run_id: str, context: Context, *, checkpoints: Path | None = None) -> str:
    """``"new"``, ``"unfinished"`` or ``"finished"``: what a run with this id has done so far."""
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    path = checkpoints or checkpoint_path(context)
    if not path.exists():
        return "new"
    async with AsyncSqliteSaver.from_conn_string(str(path)) as saver:
        state = await compile_distill_graph(checkpointer=saver).aget_state(_config(run_id))
    if not state.values:
        return "new"
    return "unfinished" if _unfinished(state) else "finished"


def _unfinished(state: Any) -> bool:
    """Whether a checkpointed run has work left.

    ``next`` alone is not enough: a run stopped right after a node finished (Ctrl-C between two
    steps) has that node's writes saved as a pending task, and ``next`` empty until they are applied.
    """
    return bool(state.next or state.tasks)


def _config(run_id: str) -> RunnableConfig:
    # A long run has many supersteps (batches x per-item steps); the default limit of 25 is for chats.
    return RunnableConfig(configurable={"thread_id": run_id}, recursion_limit=10_000)


async def distill(
    items: Sequence[Item] | None,
    context: Context,
    *,
    run_id: str | None = None,
    epochs: int = 1,
    batch_size: int = 8,
    seed: int = 0,
    checkpoints: Path | None = None,
    on_event: EventHandler | None = None,
) -> DistillOutput:
    """Distil ``items`` into ``context.library``, or resume the run ``run_id``.

    Args:
        items: Training items; ``None`` resumes ``run_id`` from its checkpoints.
        context: Models, library and settings.
        run_id: Names the run (its checkpoint thread). An unfinished run with this id is resumed, and
            then ``items`` and the loop settings must be the ones it started with (they are checkpointed).
        epochs: Passes over the items.
        batch_size: Items distilled concurrently; compression may run between batches.
        seed: Seed of the item order in epochs after the first.
        checkpoints: The checkpoint database (default ``runs.sqlite`` in the library folder).
        on_event: Called for every graph step, for progress displays.

    Returns:
        The run's results, learning curve, compressions, token usage and error records.
    """
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    run_id = run_id or uuid.uuid4().hex[:12]
    await open_library(context)  # creates the library folder, or checks its embedding model, first
    path = checkpoints or checkpoint_path(context)
    async with AsyncSqliteSaver.from_conn_string(str(path)) as saver:
        # WAL with synchronous=NORMAL keeps every committed checkpoint through a crash or kill of the
        # process (only a power loss could cost the last ones) without an fsync per step.
        await saver.conn.execute("PRAGMA journal_mode=WAL")
        await saver.conn.execute("PRAGMA synchronous=NORMAL")
        graph = compile_distill_graph(checkpointer=saver)
        config = _config(run_id)
        state = await graph.aget_state(config)
        payload: dict[str, Any] | None
        if state.values and _unfinished(state):
            payload = None  # resume where the run stopped
        elif state.values:
            return _output(state.values)  # finished before: nothing to do
        else:
            if items is None:
                raise ValueError(f"there is no run {run_id!r} to resume")
            payload = {
                "items": [item.model_dump(mode="json") for item in items],
                "epochs": epochs,
                "batch_size": batch_size,
                "seed": seed,
                "run_id": run_id,
            }
        async for namespace, update in graph.astream(
            payload, config, context=context, stream_mode="updates", subgraphs=True, durability="sync"
        ):
            if on_event is not None and isinstance(update, dict):
                for node, values in update.items():
                    on_event(tuple(namespace), node, values if isinstance(values, dict) else {})
        final = await graph.aget_state(config)
    return _output(final.values)


def _output(values: dict[str, Any]) -> DistillOutput:
    return DistillOutput(
        run_id=values["run_id"],
        results=values.get("results", []),
        progress=values.get("progress", []),
        compressions=values.get("compressions", []),
        usage=values.get("usage", []),
        errors=values.get("errors", []),
    )
