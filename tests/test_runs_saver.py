"""The checkpointer of runs: concurrent writes share a transaction, and read back as upstream's."""

from __future__ import annotations

import asyncio
import operator
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Annotated, Any

import aiosqlite
import pytest
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.graph import END, START, StateGraph
from typing_extensions import TypedDict

from ted.runs.saver import GroupCommitSaver


class _State(TypedDict):
    steps: Annotated[list[str], operator.add]


def _graph(checkpointer: Any) -> Any:
    builder = StateGraph(_State)
    builder.add_node("first", lambda state: {"steps": ["first"]})
    builder.add_node("second", lambda state: {"steps": ["second"]})
    builder.add_edge(START, "first")
    builder.add_edge("first", "second")
    builder.add_edge("second", END)
    return builder.compile(checkpointer=checkpointer, interrupt_before=["second"])


async def _saver(path: Path) -> AsyncIterator[GroupCommitSaver]:
    conn = await aiosqlite.connect(str(path))
    try:
        yield GroupCommitSaver(conn)
    finally:
        await conn.close()


@pytest.fixture
async def saver(tmp_path: Path) -> AsyncIterator[GroupCommitSaver]:
    async for made in _saver(tmp_path / "runs.sqlite"):
        yield made


async def _commits(saver: GroupCommitSaver, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    counted: list[int] = []
    commit = saver.conn.commit

    async def counting() -> None:
        counted.append(1)
        await commit()

    monkeypatch.setattr(saver.conn, "commit", counting)
    return counted


async def test_threads_run_concurrently_and_read_back_with_upstreams_saver(tmp_path: Path) -> None:
    path = tmp_path / "runs.sqlite"
    async for saver in _saver(path):
        graph = _graph(saver)
        configs = [{"configurable": {"thread_id": f"item-{n}"}} for n in range(12)]
        await asyncio.gather(*(graph.ainvoke({"steps": []}, config) for config in configs))
        # Stopped before "second"; resuming finishes every thread from its checkpoint.
        results = await asyncio.gather(*(graph.ainvoke(None, config) for config in configs))
        assert all(result["steps"] == ["first", "second"] for result in results)
    async with AsyncSqliteSaver.from_conn_string(str(path)) as upstream:
        graph = _graph(upstream)
        for config in configs:
            state = await graph.aget_state(config)
            assert state.values["steps"] == ["first", "second"]
            assert not state.next
            history = [snapshot async for snapshot in graph.aget_state_history(config)]
            assert len(history) == 4  # input, first, interrupted before second, second


async def test_writes_queued_meanwhile_commit_in_one_transaction(
    saver: GroupCommitSaver, monkeypatch: pytest.MonkeyPatch
) -> None:
    await saver.setup()
    commits = await _commits(saver, monkeypatch)
    config = {"configurable": {"thread_id": "t", "checkpoint_ns": "", "checkpoint_id": "c1"}}
    async with saver.lock:  # a read (or a commit) in progress
        writes = [
            asyncio.ensure_future(saver.aput_writes(config, [("channel", n)], task_id=f"task-{n}"))
            for n in range(20)
        ]
        await asyncio.sleep(0.05)
        assert not any(write.done() for write in writes)
    await asyncio.gather(*writes)
    assert len(commits) == 1
    stored = await saver.aget_tuple(config)
    assert stored is None  # writes only, no checkpoint c1
    rows = await (await saver.conn.execute("SELECT task_id, value FROM writes")).fetchall()
    assert sorted(row[0] for row in rows) == sorted(f"task-{n}" for n in range(20))


async def test_a_failed_commit_fails_every_write_of_it_and_leaves_no_transaction_open(
    saver: GroupCommitSaver, monkeypatch: pytest.MonkeyPatch
) -> None:
    await saver.setup()
    config = {"configurable": {"thread_id": "t", "checkpoint_ns": "", "checkpoint_id": "c1"}}
    executemany = saver.conn.executemany
    calls = 0

    async def failing_second(sql: str, rows: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise sqlite3.OperationalError("disk I/O error")
        return await executemany(sql, rows)

    monkeypatch.setattr(saver.conn, "executemany", failing_second)
    async with saver.lock:
        writes = [
            asyncio.ensure_future(saver.aput_writes(config, [("channel", 1)], task_id="a")),
            asyncio.ensure_future(saver.aput_writes(config, [("__error__", "boom")], task_id="b")),
        ]
        await asyncio.sleep(0.01)
    outcomes = await asyncio.gather(*writes, return_exceptions=True)
    assert all(isinstance(outcome, sqlite3.OperationalError) for outcome in outcomes)
    assert not saver.conn.in_transaction
    rows = await (await saver.conn.execute("SELECT count(*) FROM writes")).fetchone()
    assert rows is not None and rows[0] == 0  # the first statement's rows were rolled back
    # The saver goes on: the next write commits.
    await saver.aput_writes(config, [("channel", 2)], task_id="c")
    rows = await (await saver.conn.execute("SELECT task_id FROM writes")).fetchall()
    assert [row[0] for row in rows] == ["c"]


async def test_a_cancelled_writer_does_not_cut_the_transaction_short(saver: GroupCommitSaver) -> None:
    await saver.setup()
    config = {"configurable": {"thread_id": "t", "checkpoint_ns": "", "checkpoint_id": "c1"}}
    async with saver.lock:
        cancelled = asyncio.ensure_future(saver.aput_writes(config, [("channel", 1)], task_id="gone"))
        kept = asyncio.ensure_future(saver.aput_writes(config, [("channel", 2)], task_id="kept"))
        await asyncio.sleep(0.01)
        cancelled.cancel()
    await kept
    await saver.flush()
    assert cancelled.cancelled()
    assert not saver.conn.in_transaction
    rows = await (await saver.conn.execute("SELECT task_id FROM writes ORDER BY task_id")).fetchall()
    # Queued before it was cancelled, the write landed, as it would have after a kill at that moment.
    assert [row[0] for row in rows] == ["gone", "kept"]
