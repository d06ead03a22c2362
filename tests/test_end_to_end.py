"""End to end: distil the synthetic training split against the simulated endpoint with real embeddings.

The simulated student is right about 30% of the time alone and 90% with an experience carrying its
puzzle's skill, so a library that learned the skills must lift held-out accuracy by a wide margin.
The simulated teacher sometimes proposes paraphrases of skills already known (work for merging) and
useless advice (work for pruning).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from ted.graph import Context, close_libraries, compile_solve_graph, open_library
from ted.memory import Status
from ted.memory.models import Origin
from ted.runs.checkpoints import run_graph
from ted.sim import SimConfig, SimServer, World
from ted.tasks import Item, split_items
from ted.tasks.synth import generate, skill_of

pytestmark = [pytest.mark.slow, pytest.mark.embeddings, pytest.mark.server]

CAP = 8


async def _accuracy(context: Context, items: list[Item], *, use_library: bool) -> float:
    solve = compile_solve_graph()
    limit = asyncio.Semaphore(8)

    async def one(item: Item) -> bool:
        async with limit:
            output: dict[str, Any] = await solve.ainvoke(
                {"item": item.model_dump(mode="json"), "use_library": use_library}, context=context
            )
            return bool(output["trajectories"][0]["correct"])

    results = await asyncio.gather(*(one(item) for item in items))
    return sum(results) / len(results)


async def test_distilled_library_lifts_held_out_accuracy_and_stays_clean(tmp_path: Path) -> None:
    items = generate(tmp_path / "data", n=96, seed=0)
    train, test = split_items(items, train_size=48, seed=0)
    with SimServer(World.from_items(items), config=SimConfig(seed=0, noise_rate=0.3)) as sim:
        context = Context(
            library=str(tmp_path / "library"),
            embeddings="minilm",
            student_model="sim-student",
            teacher_model="sim-teacher",
            student_base_url=sim.base_url,
            teacher_base_url=sim.base_url,
            rollouts=4,
            compress_every=16,
            library_cap=CAP,
        )
        try:
            output = await run_graph(train, context, run_id="test", batch_size=8)
            baseline = await _accuracy(context, test, use_library=False)
            with_library = await _accuracy(context, test, use_library=True)
            store = await open_library(context)
            active = await store.experiences()
            superseded = await store.experiences(status=Status.SUPERSEDED)
            deleted = await store.experiences(status=Status.DELETED)
        finally:
            close_libraries()

    assert output["errors"] == []
    assert with_library >= baseline + 0.3, (baseline, with_library)

    merged = [e for e in active if e.provenance.origin == Origin.MERGE]
    assert merged and superseded, "paraphrases of one skill were merged"
    for experience in merged:
        assert skill_of(experience.text) is not None, experience.text

    useless = [e for e in deleted if skill_of(e.text) is None]
    assert useless, "useless advice was pruned"
    assert len(active) <= CAP
    gone = [(skill_of(e.text), e.text) for e in deleted]
    assert {skill_of(e.text) for e in active} >= {"count_shapes", "clock_reading", "bar_heights"}, gone
