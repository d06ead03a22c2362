"""A distillation killed part-way (SIGKILL, a real process kill) resumes where it stopped."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from ted.graph.distill import compile_distill_graph
from ted.graph.item_graph import build_item_graph
from ted.sim import FixedLatency, SimConfig, SimServer, World
from ted.tasks import Item
from ted.tasks.synth import generate

WORKER = Path(__file__).parent / "scripts" / "distill_worker.py"
pytestmark = [pytest.mark.slow, pytest.mark.server]


def _checkpointed(checkpoints: Path, run_id: str, items: list[Item]) -> tuple[dict[str, Any], dict[str, str]]:
    """The loop's checkpointed values, and how far each item's own thread got: finished or partial."""
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    async def read() -> tuple[dict[str, Any], dict[str, str]]:
        async with AsyncSqliteSaver.from_conn_string(str(checkpoints)) as saver:
            loop = await compile_distill_graph(checkpointer=saver).aget_state(
                {"configurable": {"thread_id": run_id}}
            )
            item_graph = build_item_graph().compile(checkpointer=saver)
            progress = {}
            for item in items:
                thread = f"{run_id}/{run_id}/e0/{item.id}"
                state = await item_graph.aget_state({"configurable": {"thread_id": thread}})
                if state.values:
                    progress[item.id] = "partial" if state.next or state.tasks else "finished"
        return dict(loop.values), progress

    return asyncio.run(read())


def _operations(library: Path) -> list[tuple[str, float]]:
    journal = sqlite3.connect(library / "journal.sqlite")
    try:
        rows = journal.execute("SELECT op_id, at FROM operations").fetchall()
    finally:
        journal.close()
    return [(op_id, datetime.fromisoformat(at).timestamp()) for op_id, at in rows]


def _kill_after_first_point(command: list[str]) -> float:
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as first:
        assert first.stdout is not None
        assert first.stdout.readline().strip() == "batch done", first.stderr.read() if first.stderr else ""
        time.sleep(0.2)  # items are in flight
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
        return time.time()


@pytest.mark.parametrize("window", [None, 6], ids=["window-of-the-batch", "wider-window"])
def test_killed_run_resumes_without_losing_or_repeating_work(tmp_path: Path, window: int | None) -> None:
    items = generate(tmp_path / "data", n=16, seed=5)
    library = tmp_path / "library"
    config = SimConfig(seed=2, latency=FixedLatency(seconds=0.15))
    with SimServer(World.from_items(items), config=config) as sim:
        command = [sys.executable, str(WORKER), str(tmp_path / "data"), str(library), sim.base_url, "run-1"]
        command += [str(window)] if window else []
        killed_at = _kill_after_first_point(command)

        recorded, progress = _checkpointed(library / "runs.sqlite", "run-1", items)
        finished = {item for item, state in progress.items() if state == "finished"}
        in_flight = {item for item, state in progress.items() if state == "partial"}
        assert {r["item_id"] for r in recorded.get("results", [])} <= finished
        assert 4 <= len(finished) < len(items), "the kill landed part-way"
        assert in_flight, "items were in flight, part-way through their own steps"

        second = subprocess.run(command, capture_output=True, text=True, timeout=300)
        assert second.returncode == 0, second.stderr
        assert second.stdout.strip().splitlines()[-1] == f"finished {len(items)} items"

        after = [r for r in sim.log if r.start > killed_at]
        assert after, "the resumed run did work"
        repeated = {r.item_id for r in after if r.item_id in finished}
        assert not repeated, f"finished items were sent to a model again: {sorted(repeated)}"

    final, _ = _checkpointed(library / "runs.sqlite", "run-1", items)
    results = {r["item_id"]: r for r in final["results"]}
    assert len(final["results"]) == len(items) == len(results), "every item was recorded once"
    assert [p["items_done"] for p in final["progress"]] == [4, 8, 12, 16]
    operations = _operations(library)
    for item in items:
        mine = [(op_id, at) for op_id, at in operations if op_id.startswith(f"run-1/e0/{item.id}/")]
        edits = [op_id for op_id, _ in mine if not op_id.endswith("/usage")]
        # Each library operation the item's reflection reports is in the journal once: none lost to the
        # kill, none applied a second time by the resumed run.
        assert len(edits) == len(results[item.id]["operations"]), (item.id, edits, results[item.id])
        if item.id in finished:
            late = [op_id for op_id, at in mine if at > killed_at]
            assert not late, f"operations of finished item {item.id} were applied again after the restart"
