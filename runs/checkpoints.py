"""The checkpoints of distillation runs: the dataset loop as a LangGraph thread in the library.

A run is a thread named by its run id in ``<library>/runs.sqlite``. Running a run whose thread has
unfinished checkpoints resumes it: the graph continues from the last saved step, so items finished
before an interruption are not sent to a model again, and the journal's operation ids keep every
library operation to exactly one application.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from langchain_core.runnables import RunnableConfig

from ted.graph import Context, compile_distill_graph, open_library
from ted.graph.flights import land_run
from ted.graph.schedule import Schedule
from ted.graph.state import DistillOutput
from ted.runs.errors import RunRecordError
from ted.tasks import Item

if TYPE_CHECKING:
    from ted.runs.saver import GroupCommitSaver

CHECKPOINT_FILE = "runs.sqlite"

# How long a checkpoint write waits for a lock another connection holds (SQLite's default is 5 s).
BUSY_TIMEOUT_S = 60.0

# Called with (namespace, node, update) for every step of the graph and of its items' graphs; an
# item's steps come with the namespace ("distill_item:e<epoch>/<item id>",).
EventHandler = Callable[[tuple[str, ...], str, dict[str, Any]], None]


def checkpoint_path(library: str | Path) -> Path:
    """Where the runs of ``library`` keep their checkpoints."""
    return Path(library).expanduser() / CHECKPOINT_FILE


@asynccontextmanager
async def _checkpoints(path: Path) -> AsyncIterator[GroupCommitSaver]:
    """A checkpointer on ``path`` whose connection is closed with no transaction left open."""
    import aiosqlite

    from ted.runs.saver import GroupCommitSaver

    conn = await aiosqlite.connect(str(path), timeout=BUSY_TIMEOUT_S)
    saver = GroupCommitSaver(conn)
    try:
        # WAL with synchronous=NORMAL keeps every committed checkpoint through a crash or kill of the
        # process (only a power loss could cost the last ones) without an fsync per step.
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA synchronous=NORMAL")
        yield saver
    finally:
        await asyncio.shield(_close(saver))


async def _close(saver: GroupCommitSaver) -> None:
    # When one item fails for good, LangGraph cancels the others, and a cancelled subgraph can leave
    # its checkpoint writes running past the end of the stream. Each write holds the saver's lock from
    # its INSERT to its commit, so closing under that lock never falls between the two (which left the
    # connection open with its transaction, and the next run in this process found the file locked);
    # a write cancelled between the two has released the lock, and its transaction is rolled back.
    await saver.flush()
    async with saver.lock:
        try:
            await saver.conn.rollback()
        finally:
            await saver.conn.close()


def _graph_config(run_id: str) -> RunnableConfig:
    # A run takes a step per finished item or two (and one per compression); the default limit of 25
    # is for chats.
    return RunnableConfig(configurable={"thread_id": run_id}, recursion_limit=1_000_000)


def _unfinished(state: Any) -> bool:
    """Whether a checkpointed run has work left.

    ``next`` alone is not enough: a run stopped right after a node finished (Ctrl-C between two
    steps) has that node's writes saved as a pending task, and ``next`` empty until they are applied.
    """
    return bool(state.next or state.tasks)


async def run_graph(
    items: Sequence[Item] | None,
    context: Context,
    *,
    run_id: str,
    epochs: int = 1,
    batch_size: int = 8,
    window: int | None = None,
    schedule: Schedule = "stream",
    seed: int = 0,
    on_event: EventHandler | None = None,
) -> DistillOutput:
    """The dataset loop on ``items``, checkpointed in the library; ``items=None`` resumes ``run_id``.

    ``window`` items are in flight at most (default: ``batch_size``); ``schedule="batches"`` runs
    batch after batch instead (see `ted.graph.schedule`).

    Raises:
        RunRecordError: ``items`` is None and the checkpoints hold no run ``run_id``.
    """
    await open_library(context)  # creates the library folder, or checks its embedding model, first
    async with _checkpoints(checkpoint_path(context.library_folder())) as saver:
        graph = compile_distill_graph(checkpointer=saver)
        config = _graph_config(run_id)
        state = await graph.aget_state(config)
        payload: dict[str, Any] | None
        if state.values and _unfinished(state):
            payload = None  # resume where the run stopped
        elif state.values:
            return as_output(run_id, state.values)  # finished before: nothing to do
        else:
            if items is None:
                raise RunRecordError(f"there is no run {run_id!r} to resume in {context.library_folder()}")
            payload = {
                "items": [item.model_dump(mode="json") for item in items],
                "epochs": epochs,
                "batch_size": batch_size,
                "schedule": schedule,
                "seed": seed,
                "run_id": run_id,
            }
            if window is not None:
                payload["window"] = window
        try:
            async for mode, update in graph.astream(
                payload, config, context=context, stream_mode=["updates", "custom"], durability="sync"
            ):
                if on_event is not None and isinstance(update, dict):
                    _pass_on(on_event, mode, update)
        finally:
            # Interrupted between two steps, the loop leaves items in flight: stop them before the
            # checkpoints close (each resumes from its own checkpoint).
            await asyncio.shield(land_run(saver, run_id, run_id))
        final = await graph.aget_state(config)
    return as_output(run_id, final.values)


def _pass_on(on_event: EventHandler, mode: str, update: dict[str, Any]) -> None:
    if mode == "custom":
        if "item" in update and isinstance(update.get("update"), dict):
            on_event((f"distill_item:{update['item']}",), str(update["node"]), update["update"])
        return
    for node, values in update.items():
        on_event((), node, values if isinstance(values, dict) else {})


async def checkpointed_state(run_id: str, library: str | Path) -> dict[str, Any] | None:
    """The values the checkpoints of ``run_id`` hold so far (None for a run that never started).

    They include the run's ``items`` and what the dataset loop returns (results, progress,
    compressions, usage, errors).
    """
    path = checkpoint_path(library)
    if not path.exists():
        return None
    async with _checkpoints(path) as saver:
        state = await compile_distill_graph(checkpointer=saver).aget_state(
            {"configurable": {"thread_id": run_id}}
        )
    return dict(state.values) or None


def as_output(run_id: str, values: dict[str, Any]) -> DistillOutput:
    """Checkpointed values in the shape the dataset loop returns."""
    from ted.graph.state import DistillOutput

    return DistillOutput(
        run_id=run_id,
        results=values.get("results", []),
        progress=values.get("progress", []),
        compressions=values.get("compressions", []),
        usage=values.get("usage", []),
        errors=values.get("errors", []),
    )
