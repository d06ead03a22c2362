"""The orchestration benchmark's accounting: its critical chain adds up, and its median is a real run."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, Literal

import pytest

from ted.sim import RequestRecord

ROOT = Path(__file__).resolve().parents[1]
CHAT = "/v1/chat/completions"


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("orchestration", ROOT / "bench" / "orchestration.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _call(
    item: str | None,
    kind: Literal["solve", "reflect", "compress"],
    start: float,
    latency: float,
    *,
    excess: float = 0.0,
) -> RequestRecord:
    return RequestRecord(
        start=start,
        end=start + latency + excess,
        path=CHAT,
        kind=kind,
        item_id=item,
        status=200,
        latency=latency,
    )


def _run(log: list[RequestRecord], windows: list[list[float]], since: float, wall: float) -> dict[str, Any]:
    return {"log": log, "windows": windows, "since": since, "wall": wall, "eval": {}}


def test_the_chain_walks_back_through_the_slot_each_item_took_and_adds_up_to_the_wall(
    bench: ModuleType,
) -> None:
    # Slot 1: item a, then item c (its first call 0.02 s after a's last answer). Slot 2: item b,
    # which ends before c starts but after a: c took a's slot, not b's. Then a compression of two
    # rounds ends the run.
    log = [
        *(_call("a", "solve", 0.10, 1.0) for _ in range(3)),
        _call("a", "solve", 0.10, 1.0, excess=0.01),  # the slowest solve call, 10 ms over its latency
        _call("a", "reflect", 1.14, 1.0),  # 30 ms after the solve answers
        _call("b", "solve", 0.12, 1.0),
        _call("b", "reflect", 1.15, 0.5),  # ends at 1.65
        _call("c", "solve", 2.16, 1.0),  # 20 ms after a's last answer (2.14)
        _call("c", "reflect", 3.20, 1.0),
        _call("c", "reflect", 4.25, 1.0),  # 50 ms between c's reflection calls
        _call(None, "compress", 5.30, 1.0),
        _call(None, "compress", 5.30, 0.8),
        _call(None, "compress", 6.35, 1.0),  # 50 ms between the rounds
    ]
    windows = [[5.27, 7.40]]  # the loop's compression step, from c's last answer (5.25) on
    chain = bench.critical_chain(_run(log, windows, since=0.0, wall=7.45))

    assert chain["items"] == 2  # c, then a: b's calls are on no path the run waited for
    assert chain["latency_s"] == pytest.approx(1 + 1 + 1 + 1 + 1 + 1 + 1)
    parts = chain["over_latency_ms"]
    assert parts["run start: to the first calls"] == pytest.approx(100.0)
    assert parts["items: solve answers to the first reflection call"] == pytest.approx(30.0 + 40.0)
    assert parts["items: between reflection calls"] == pytest.approx(50.0)
    assert parts["items: from one item's last answer to the next one's first call"] == pytest.approx(20.0)
    assert parts["calls: beyond their latency"] == pytest.approx(10.0)
    assert parts["loop: from an item's last answer to a compression or the run's end"] == pytest.approx(20.0)
    assert parts["compression: before and between its rounds of calls"] == pytest.approx(30.0 + 50.0)
    assert parts["compression: after its last call"] == pytest.approx(50.0)
    assert parts["run end: after the last compression"] == pytest.approx(50.0)
    assert chain["latency_s"] + sum(parts.values()) / 1000 == pytest.approx(7.45)


def test_an_item_that_starts_after_a_compression_is_chained_to_it(bench: ModuleType) -> None:
    log = [
        _call("a", "solve", 0.05, 1.0),
        _call(None, "compress", 1.10, 1.0),
        _call("b", "solve", 2.20, 1.0),
    ]
    windows = [[1.08, 2.15]]
    chain = bench.critical_chain(_run(log, windows, since=0.0, wall=3.25))

    assert chain["items"] == 2
    parts = chain["over_latency_ms"]
    assert parts["items: from one item's last answer to the next one's first call"] == pytest.approx(50.0)
    assert parts["compression: before and between its rounds of calls"] == pytest.approx(20.0)
    assert parts["compression: after its last call"] == pytest.approx(50.0)
    assert parts["loop: from an item's last answer to a compression or the run's end"] == pytest.approx(
        30.0 + 50.0
    )
    assert chain["latency_s"] + sum(parts.values()) / 1000 == pytest.approx(3.25)


def test_the_median_run_is_one_of_the_runs_with_its_own_figures(bench: ModuleType) -> None:
    runs: list[dict[str, Any]] = [
        {"name": "first"},
        {"name": "second"},
        {"name": "third"},
        {"name": "fourth"},
    ]
    figures = [
        {"wall_s": 11.7, "lower_bound_s": 11.0, "ratio": 1.064},
        {"wall_s": 12.5, "lower_bound_s": 12.0, "ratio": 1.042},
        {"wall_s": 11.4, "lower_bound_s": 11.0, "ratio": 1.036},
        {"wall_s": 13.6, "lower_bound_s": 13.0, "ratio": 1.046},
    ]
    run, chosen = bench._median_run(runs[:3], figures[:3])
    assert run["name"] == "second" and chosen == figures[1]
    # Of two middle runs, the one with the higher ratio.
    run, chosen = bench._median_run(runs, figures)
    assert run["name"] == "fourth" and chosen == figures[3]
