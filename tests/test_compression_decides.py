"""Compression that decides: candidates at the calibrated threshold, the compress model merges what says
the same thing and keeps the rest apart (journaled), and a dry run that shows each decision."""

from __future__ import annotations

from pathlib import Path

import pytest
from memory_fixtures import hash_embeddings_fixture, store_fixture  # noqa: F401

from ted.graph import Context, close_libraries, compress_library, open_library
from ted.graph.compression import preview_merges
from ted.memory import ExperienceStore, LibraryError, Status, plan_compression
from ted.sim import SimConfig, SimServer, World
from ted.tasks.synth import distinct_advice, paraphrase_groups
from ted.tasks.synth.paraphrases import paraphrase_items


async def test_kept_apart_experiences_are_journaled_and_not_proposed_again(store: ExperienceStore) -> None:
    a = await store.add("Check the units of every quantity before comparing the options.")
    b = await store.add("Check the units of every quantity before comparing options.")
    plan = await plan_compression(store, merge_threshold=0.5)
    assert [sorted(cluster) for cluster in plan.clusters] == [sorted([a.id, b.id])]
    version = (await store.get(a.id)).version
    await store.keep_apart([a.id, b.id], op_id="keep-1", reason="one compares options, one does not")
    assert [sorted(g) for g in await store.kept_apart()] == [sorted([a.id, b.id])]
    assert (await store.get(a.id)).version == version, "keeping apart changes nothing"
    assert [e.kind for e in await store.history(a.id)][-1] == "keep_apart"
    assert (await store.history(a.id))[-1].reason == "one compares options, one does not"
    assert (await plan_compression(store, merge_threshold=0.5)).clusters == []
    with pytest.raises(LibraryError, match="at least two"):
        await store.keep_apart([a.id, a.id], reason="same")


@pytest.mark.slow
@pytest.mark.server
@pytest.mark.embeddings
async def test_the_paraphrase_set_merges_every_group_and_nothing_distinct(tmp_path: Path) -> None:
    groups, distinct = paraphrase_groups(), distinct_advice()
    items = paraphrase_items(tmp_path / "images")
    with SimServer(World.from_items(items), config=SimConfig(seed=0)) as sim:
        context = Context(
            library=str(tmp_path / "library"),
            embeddings="minilm",
            teacher_model="sim-teacher",
            teacher_base_url=sim.base_url,
            prune_min_evidence=1_000_000,
            library_cap=1_000_000,
        )
        try:
            store = await open_library(context)
            added = await store.add_many([t for g in groups for t in g] + distinct)
            owner = {
                e.id: n
                for n, g in enumerate([*groups, *([d] for d in distinct)])
                for e in added
                if e.text in g
            }
            version = await store.current_version()

            decisions, _, errors = await preview_merges(context)
            assert errors == [] and await store.current_version() == version, "a dry run changes nothing"
            assert decisions and {d.decision for d in decisions} >= {"merge some, keep some apart"}
            assert all(d.reasons and len(d.texts) >= 2 for d in decisions)

            kept = 0
            for round_ in range(1, 5):
                report, _, _ = await compress_library(context, op_prefix=f"r{round_}/", step=f"r{round_}")
                kept += report.get("kept_apart", 0)
                if report["merged"] == 0:
                    break
            everything = {e.id: e for e in await store.experiences(status=None)}
        finally:
            close_libraries()

    def origins(experience_id: str) -> set[int]:
        experience = everything[experience_id]
        if not experience.provenance.merged_from:
            return {owner[experience_id]}
        return set().union(*(origins(i) for i in experience.provenance.merged_from))

    active = [e for e in everything.values() if e.status is Status.ACTIVE]
    assert all(len(origins(e.id)) == 1 for e in active), "no merge mixes distinct advice"
    assert sorted(n for e in active for n in origins(e.id)) == list(range(len(groups) + len(distinct)))
    assert kept > 0
