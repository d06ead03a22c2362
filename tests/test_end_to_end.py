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
from ted.memory.models import Origin, evidence, utility
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

    # Advice that usage has shown useless is gone: the last compression ran after the last item, and
    # nothing active meets the pruning rule. (Whether any useless advice got that much evidence in the
    # first place depends on the order in which concurrent items ran.)
    found_out = [
        e.text
        for e in active
        if evidence(e.stats) >= context.prune_min_evidence and utility(e.stats) <= context.prune_max_utility
    ]
    assert found_out == [], found_out
    assert len(active) <= CAP
    gone = [(skill_of(e.text), e.text) for e in deleted]
    assert {skill_of(e.text) for e in active} >= {"count_shapes", "clock_reading", "bar_heights"}, gone


# The skills world: two dozen families, a library capped at several times k, wrong advice planted.
ABLATIONS = ("none", "all", "random", "similarity", "default")
DEFAULT_WINS_OVER = ("none", "all", "random")


async def test_retrieval_matters_on_the_skills_world(tmp_path: Path) -> None:
    """TED's ranking beats no library, the whole library and random experiences, on the same items.

    A regression in retrieval (a ranking that ignores the question, a prompt flooded with the whole
    library) fails here: each of those conditions must be worse than the default with McNemar's p
    below 0.01 or intervals that do not overlap.
    """
    from ted.runs.demo import Demo, run_demo

    # One item at a time (``batch=1``, so a window of one), so that the library's history, and with it
    # how much wrong advice is planted and caught, does not depend on the order concurrent items finish in.
    demo = Demo(
        tmp_path / "demo",
        world="skills",
        families=24,
        train=96,
        test=96,
        library_cap=32,
        seed=0,
        latency=0.0,
        retrieval=ABLATIONS,
        batch=1,
    )
    result = await run_demo(demo)
    by_condition = {c.condition: c for c in result.eval.conditions}
    default = by_condition["library"]
    assert result.library_size <= 32 < 5 * 24 and result.eval.settings["k"] == 5
    for name in DEFAULT_WINS_OVER:
        other = by_condition["baseline" if name == "none" else name]
        versus = other.versus_library
        assert versus is not None and versus.items == default.accuracy.n
        apart = other.accuracy.high < default.accuracy.low
        assert apart or versus.test.p_value < 0.01, (name, other.accuracy, default.accuracy, versus.test)
        assert versus.test.second_better > versus.test.first_better
    assert by_condition["similarity"].versus_library is not None

    # Wrong advice the teacher planted mostly does not survive: it is deleted (contradicted or
    # reviewed in compression, or pruned) or rewritten by the end. Every piece that usage showed to
    # mislead (a harmful vote, or more citations in wrong answers than right) is gone: the last
    # compression runs after the last item and reviews each one. What is left is advice that nothing
    # pointed at (planted late, or never retrieved for its own puzzles).
    wrong = result.wrong_advice
    assert wrong is not None and wrong.planted > 0, wrong
    assert wrong.deleted + wrong.superseded >= max(1, wrong.active), wrong
    assert wrong.active == wrong.unproven, wrong
    # What found it: citations in wrong answers (and the teacher's votes), not in right ones.
    assert wrong.cited_wrong > wrong.cited_correct, wrong
