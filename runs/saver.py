"""A SQLite checkpointer that commits the checkpoint writes of concurrent items together.

A run keeps several items in flight, each a graph of its own that saves every step before the next
one starts. LangGraph's `AsyncSqliteSaver` sends each write through its one connection thread as a
cursor, a statement, a commit and a close, one after another under its lock: when several items
reach a step at once (they all start, or their calls all answer), the last one's write waits for
every write queued before it, and its next model call with it.

`GroupCommitSaver` queues the rows of each write and commits everything queued in one transaction:
a statement per kind of row and a commit, for all the writes that arrived while the previous commit
ran. Each write returns only once its transaction has committed, so what a step saved survives a
crash as with upstream's saver. Reads, and the tables, are `AsyncSqliteSaver`'s own.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Sequence
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    get_checkpoint_metadata,
)
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

# The statements of `AsyncSqliteSaver.aput` and `aput_writes`, on its tables.
PUT_CHECKPOINT = (
    "INSERT OR REPLACE INTO checkpoints (thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, "
    "type, checkpoint, metadata) VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_WRITE_COLUMNS = "(thread_id, checkpoint_ns, checkpoint_id, task_id, task_path, idx, channel, type, value)"
REPLACE_WRITES = f"INSERT OR REPLACE INTO writes {_WRITE_COLUMNS} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
KEEP_WRITES = f"INSERT OR IGNORE INTO writes {_WRITE_COLUMNS} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"

Rows = list[tuple[Any, ...]]


class GroupCommitSaver(AsyncSqliteSaver):
    """`AsyncSqliteSaver` whose concurrent writes share one transaction (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._queued: list[tuple[str, Rows, asyncio.Future[None]]] = []
        self._committing: asyncio.Task[None] | None = None

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        """Save a checkpoint; returns once the transaction that holds it has committed."""
        await self._ready()
        configurable = config["configurable"]
        type_, serialized = self.serde.dumps_typed(checkpoint)
        meta = json.dumps(get_checkpoint_metadata(config, metadata), ensure_ascii=False)
        row = (
            str(configurable["thread_id"]),
            configurable["checkpoint_ns"],
            checkpoint["id"],
            configurable.get("checkpoint_id"),
            type_,
            serialized,
            meta.encode("utf-8", "ignore"),
        )
        await self._commit(PUT_CHECKPOINT, [row])
        return {
            "configurable": {
                "thread_id": configurable["thread_id"],
                "checkpoint_ns": configurable["checkpoint_ns"],
                "checkpoint_id": checkpoint["id"],
            }
        }

    async def aput_writes(
        self,
        config: RunnableConfig,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        """Save a task's writes; returns once the transaction that holds them has committed."""
        await self._ready()
        configurable = config["configurable"]
        # As upstream: writes to the special channels replace, the others keep what was saved first.
        statement = REPLACE_WRITES if all(w[0] in WRITES_IDX_MAP for w in writes) else KEEP_WRITES
        rows = [
            (
                str(configurable["thread_id"]),
                str(configurable["checkpoint_ns"]),
                str(configurable["checkpoint_id"]),
                task_id,
                task_path,
                WRITES_IDX_MAP.get(channel, idx),
                channel,
                *self.serde.dumps_typed(value),
            )
            for idx, (channel, value) in enumerate(writes)
        ]
        await self._commit(statement, rows)

    async def _ready(self) -> None:
        # Upstream's `setup` takes the lock on every write to find the tables made already.
        if not self.is_setup:
            await self.setup()

    async def flush(self) -> None:
        """Wait until every write queued so far has committed (or failed)."""
        while self._committing is not None and not self._committing.done():
            await asyncio.wait({self._committing})

    async def _commit(self, statement: str, rows: Rows) -> None:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queued.append((statement, rows, done))
        if self._committing is None or self._committing.done():
            # A task of its own: a caller cancelled while it waits must not cut a transaction short.
            self._committing = asyncio.ensure_future(self._commit_queued())
        await done

    async def _commit_queued(self) -> None:
        while self._queued:
            batch: list[tuple[str, Rows, asyncio.Future[None]]] = []
            try:
                async with self.lock:
                    # Everything queued while the lock was held elsewhere goes in this transaction.
                    batch, self._queued = self._queued, []
                    # One statement per kind of row, in the order the kinds arrived. Rows of different
                    # kinds never share a key (checkpoints and writes are separate tables; writes that
                    # replace are those of special channels, whose negative indexes no other write
                    # has), so their order across kinds does not matter; within a kind it is kept.
                    grouped: dict[str, Rows] = {}
                    for statement, rows, _ in batch:
                        grouped.setdefault(statement, []).extend(rows)
                    try:
                        for statement, rows in grouped.items():
                            await self.conn.executemany(statement, rows)
                        await self.conn.commit()
                    except BaseException:
                        with contextlib.suppress(Exception):
                            await asyncio.shield(self.conn.rollback())
                        raise
            except BaseException as exc:
                for _, _, done in batch:
                    if done.done():
                        continue
                    if isinstance(exc, asyncio.CancelledError):
                        done.cancel()
                    else:
                        done.set_exception(exc)
                if not isinstance(exc, Exception):
                    # Interrupted (the event loop is closing): nobody is left to commit the rest.
                    for _, _, done in self._queued:
                        done.cancel()
                    self._queued = []
                    raise
            else:
                for _, _, done in batch:
                    if not done.done():
                        done.set_result(None)
