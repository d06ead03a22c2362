"""An empty completion is a failure of its call: asked again, then recorded, never a wrong answer."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from ted.graph import Context, close_libraries
from ted.runs.checkpoints import run_graph
from ted.sim import SimConfig, SimServer, World
from ted.tasks.synth import generate

pytestmark = [pytest.mark.slow, pytest.mark.server]

ROLLOUTS = 2


@pytest.mark.parametrize("retries", [0, 2])
async def test_empty_replies_are_retried_then_counted(tmp_path: Path, retries: int) -> None:
    items = generate(tmp_path / "data", n=12, seed=3)
    spoiled = SimConfig(seed=5, rate_malformed=0.3, malformed_kinds=frozenset({"empty"}))
    with SimServer(World.from_items(items), config=spoiled) as sim:
        context = Context(
            library=str(tmp_path / "library"),
            embeddings="hash",
            student_model="sim-student",
            teacher_model="sim-teacher",
            student_base_url=sim.base_url,
            teacher_base_url=sim.base_url,
            rollouts=ROLLOUTS,
            max_retries=retries,
        )
        try:
            output = await run_graph(items, context, run_id="test", batch_size=4)
        finally:
            close_libraries()
        solves = [r for r in sim.log if r.kind == "solve"]

    empties = Counter(r.role for r in solves if r.fault == "empty")
    sent = Counter(r.role for r in solves)
    failed = Counter(e["stage"] for e in output["errors"] if e["kind"] == "empty_reply")
    assert empties["student"] > 0 and empties["teacher"] > 0, "the simulator spoiled some answers"
    calls = {"student": len(items) * ROLLOUTS, "teacher": len(items)}
    for role in ("student", "teacher"):
        # Every empty reply was asked again while the budget lasted; a call whose budget ran out is one
        # recorded error. So each request is either a success, a retried empty, or part of a failure.
        assert sent[role] - empties[role] == calls[role] - failed[role], role
        assert failed[role] * (retries + 1) <= empties[role]
    if retries == 0:
        assert failed == {"student": empties["student"], "teacher": empties["teacher"]}
    else:
        assert failed["student"] < empties["student"] / 2, "most empty replies were recovered"
    # A failed attempt is not graded: accuracy counts only answers the student gave.
    graded = sum(r["graded"] for r in output["results"])
    assert graded == calls["student"] - failed["student"]
    assert all(
        e["message"].startswith(f"the {e['stage']} model")
        for e in output["errors"]
        if e["kind"] == "empty_reply"
    )
