"""The stream and batches schedules of the dataset loop, against the simulated endpoint over HTTP."""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import pytest

from ted.graph import Context, close_libraries
from ted.graph.schedule import point_count, points_due, units
from ted.runs.checkpoints import run_graph
from ted.sim import RequestRecord, SimConfig, SimServer, UniformLatency, World
from ted.tasks.synth import generate

pytestmark = [pytest.mark.server, pytest.mark.slow]


def _spans(log: list[RequestRecord]) -> dict[str, tuple[float, float]]:
    """Each item's time with the endpoint: its first request's arrival to its last answer."""
    spans: dict[str, tuple[float, float]] = {}
    for record in log:
        if record.item_id is None or record.kind == "compress":
            continue
        start, end = spans.get(record.item_id, (record.start, record.end))
        spans[record.item_id] = (min(start, record.start), max(end, record.end))
    return spans


def _most_at_once(spans: dict[str, tuple[float, float]]) -> int:
    edges = sorted([(s, 1) for s, _ in spans.values()] + [(e, -1) for _, e in spans.values()])
    most = current = 0
    for _, step in edges:
        current += step
        most = max(most, current)
    return most


async def _run(
    tmp_path: Path, schedule: str, window: int | None, compressing: list[list[float]] | None = None
) -> tuple[list[str], dict[str, tuple[float, float]], dict]:
    """Distil 12 items; ``compressing`` receives the [start, end] of each compression between items."""
    items = generate(tmp_path / "data", n=12, seed=3)

    def on_event(namespace: tuple[str, ...], node: str, update: Any) -> None:
        if compressing is None or namespace or not isinstance(update, dict):
            return
        if node == "distill_items" and update.get("compress_due"):
            compressing.append([time.time(), math.inf])
        elif node == "compress_between_items" and compressing:
            compressing[-1][1] = time.time()

    config = SimConfig(seed=1, latency=UniformLatency(low=0.02, high=0.4))
    with SimServer(World.from_items(items), config=config) as sim:
        context = Context(
            library=str(tmp_path / f"library-{schedule}"),
            embeddings="hash",
            student_model="sim-student",
            teacher_model="sim-teacher",
            student_base_url=sim.base_url,
            teacher_base_url=sim.base_url,
            rollouts=2,
            compress_every=4,
        )
        try:
            output = await run_graph(
                items,
                context,
                run_id=schedule,
                batch_size=4,
                window=window,
                schedule=schedule,  # type: ignore[arg-type]
                on_event=on_event,
            )
        finally:
            close_libraries()
        log = list(sim.log)
    return [item.id for item in items], _spans(log), dict(output)


async def test_stream_keeps_the_window_full_across_batches(tmp_path: Path) -> None:
    compressing: list[list[float]] = []
    order, spans, output = await _run(tmp_path, "stream", 3, compressing)
    assert len(output["results"]) == 12 and not output["errors"]
    assert _most_at_once(spans) == 3, "at most the window in flight, and the window was used"
    first_four = max(spans[item][1] for item in order[:4])
    assert any(spans[item][0] < first_four for item in order[4:]), "items of the next batch started early"
    assert [p["items_done"] for p in output["progress"]] == [4, 8, 12]
    assert [c["step"] for c in output["compressions"]] == [1, 2, 3], (
        "compressed every 4 items, and at the end"
    )
    assert len(compressing) == 2 and all(math.isfinite(end) for _, end in compressing)
    for start, end in compressing:
        assert not [item for item, (first, _) in spans.items() if start < first < end], (
            "an item started while the library was being compressed"
        )


async def test_batches_wait_for_their_slowest_item(tmp_path: Path) -> None:
    order, spans, output = await _run(tmp_path, "batches", None)
    assert len(output["results"]) == 12 and not output["errors"]
    for batch in range(2):
        done = max(spans[item][1] for item in order[batch * 4 : batch * 4 + 4])
        assert all(spans[item][0] >= done for item in order[batch * 4 + 4 :]), "a batch started early"
    assert [p["items_done"] for p in output["progress"]] == [4, 8, 12]


def test_units_points_and_counts() -> None:
    assert units(3, 2, seed=0)[:3] == [(0, 0), (0, 1), (0, 2)]
    assert sorted(u.item for u in units(3, 2, seed=0)[3:]) == [0, 1, 2]
    assert points_due(3, 9, 10, 4) == [4, 8]
    assert points_due(8, 10, 10, 4) == [10]
    assert point_count(10, 2, 4, "stream") == 5 and point_count(10, 2, 4, "batches") == 6
