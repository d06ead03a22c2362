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

import pytest

from ted.graph.distill import compile_distill_graph
from ted.sim import FixedLatency, SimConfig, SimServer, World
from ted.tasks.synth import generate

WORKER = Path(__file__).parent / "scripts" / "distill_worker.py"
pytestmark = [pytest.mark.slow, pytest.mark.server]


def _finished_items(checkpoints: Path, run_id: str) -> set[str]:
    """Items whose distillation the checkpoints hold as done: earlier batches, and finished tasks of the
    batch that was running when the process died."""
    from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

    async def read() -> set[str]:
        async with AsyncSqliteSaver.from_conn_string(str(checkpoints)) as saver:
            state = await compile_distill_graph(checkpointer=saver).aget_state(
                {"configurable": {"thread_id": run_id}}
            )
        done = {r["item_id"] for r in state.values.get("results", [])}
        for task in state.tasks:
            if task.name == "distill_item" and task.result:
                done.update(r["item_id"] for r in task.result.get("results", []))
        return done

    return asyncio.run(read())


def test_killed_run_resumes_without_repeating_work(tmp_path: Path) -> None:
    items = generate(tmp_path / "data", n=16, seed=5)
    library = tmp_path / "library"
    config = SimConfig(seed=2, latency=FixedLatency(seconds=0.15))
    with SimServer(World.from_items(items), config=config) as sim:
        command = [sys.executable, str(WORKER), str(tmp_path / "data"), str(library), sim.base_url, "run-1"]
        first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert first.stdout is not None
        assert first.stdout.readline().strip() == "batch done", first.stderr.read() if first.stderr else ""
        time.sleep(0.5)  # into the second batch
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
        killed_at = time.time()

        finished = _finished_items(library / "runs.sqlite", "run-1")
        assert 4 <= len(finished) < len(items), "the kill landed part-way"

        second = subprocess.run(command, capture_output=True, text=True, timeout=300)
        assert second.returncode == 0, second.stderr
        assert second.stdout.strip().splitlines()[-1] == f"finished {len(items)} items"

        after = [r for r in sim.log if r.start > killed_at]
        assert after, "the resumed run did work"
        repeated = {r.item_id for r in after if r.item_id in finished}
        assert not repeated, f"finished items were sent to a model again: {sorted(repeated)}"

    journal = sqlite3.connect(library / "journal.sqlite")
    try:
        operations = journal.execute("SELECT op_id, at FROM operations").fetchall()
    finally:
        journal.close()
    for item in finished:
        made = [
            (op_id, datetime.fromisoformat(at).timestamp())
            for op_id, at in operations
            if f"/{item}/" in op_id
        ]
        assert made, f"item {item} left its operations in the journal"
        late = [op_id for op_id, at in made if at > killed_at]
        assert not late, f"operations of finished item {item} were applied again after the restart: {late}"
