"""Compression that decides: candidates at the calibrated threshold, the compress model merges what says
the same thing and keeps the rest apart (journaled), and a dry run that shows each decision."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from memory_fixtures import hash_embeddings_fixture, store_fixture  # noqa: F401

from ted.cli.main import cli
from ted.graph import Context, close_libraries, compress_library, open_library
from ted.graph.compression import preview_merges, preview_reviews
from ted.memory import ExperienceStore, LibraryError, Status, UsageStats, plan_compression
from ted.sim import SimConfig, SimServer, World
from ted.tasks.synth import Family, distinct_advice, paraphrase_groups
from ted.tasks.synth.catalogue import SKILL_FAMILIES
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


def _compressing(library: Path, sim: SimServer, **settings: Any) -> Context:
    """A MiniLM library compressed by the simulated teacher, with pruning and the cap out of the way."""
    return Context(
        library=str(library),
        embeddings="minilm",
        teacher_model="sim-teacher",
        teacher_base_url=sim.base_url,
        prune_min_evidence=1_000_000,
        library_cap=1_000_000,
        **settings,
    )


def _misconceived() -> Family:
    """The first skills family with wrong advice that a teacher may write."""
    return next(f for f in SKILL_FAMILIES.values() if f.wrong_advice)


@pytest.mark.slow
@pytest.mark.server
@pytest.mark.embeddings
async def test_the_paraphrase_set_merges_every_group_and_nothing_distinct(tmp_path: Path) -> None:
    groups, distinct = paraphrase_groups(), distinct_advice()
    items = paraphrase_items(tmp_path / "images")
    with SimServer(World.from_items(items), config=SimConfig(seed=0)) as sim:
        context = _compressing(tmp_path / "library", sim)
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


@pytest.mark.server
@pytest.mark.embeddings
async def test_advice_that_contradicts_a_rule_goes_once_its_record_shows_it_misled(tmp_path: Path) -> None:
    family = _misconceived()
    items = paraphrase_items(tmp_path / "images")
    with SimServer(World.from_items(items), config=SimConfig(seed=0)) as sim:
        context = _compressing(tmp_path / "library", sim, merge_threshold=0.2)
        try:
            store = await open_library(context)
            rule, wrong = await store.add_many([family.skill, family.wrong_advice[0]])
            await store.record_usage({rule.id: UsageStats(retrieved=3, cited=2, cited_correct=2)})

            # Nothing says yet which of the two is wrong: both stay, undecided, and come back next time.
            first, _, errors = await compress_library(context, op_prefix="a/", step="a")
            assert errors == [] and first.get("contradicted") == 0 and first.get("kept_apart") == 0
            assert {e.id for e in await store.experiences()} == {rule.id, wrong.id}
            assert await store.kept_apart() == []
            plan = await plan_compression(store, merge_threshold=0.2)
            assert [sorted(c) for c in plan.clusters] == [sorted([rule.id, wrong.id])]

            # Once students answered wrong citing it, the compress model sees that in its record.
            await store.record_usage({wrong.id: UsageStats(retrieved=2, cited=2, cited_wrong=2)})
            second, _, errors = await compress_library(context, op_prefix="b/", step="b")
            assert errors == [] and second.get("contradicted") == 1
            assert [e.id for e in await store.experiences()] == [rule.id]
            gone = await store.get(wrong.id)
            assert gone.status is Status.DELETED
            assert "contradicts" in ((await store.history(wrong.id))[-1].reason or "")
        finally:
            close_libraries()


@pytest.mark.server
@pytest.mark.embeddings
async def test_advice_that_misled_is_reviewed_without_waiting_for_its_rule(tmp_path: Path) -> None:
    """Usage that shows harm sends an experience to review, though nothing contradicts it nearby and it
    has far too little evidence to prune: the compress model deletes a misconception and leaves a rule."""
    family = _misconceived()
    other = next(f for f in SKILL_FAMILIES.values() if f.name != family.name and f.paraphrases)
    items = paraphrase_items(tmp_path / "images")
    with SimServer(World.from_items(items), config=SimConfig(seed=0)) as sim:
        # A threshold no pair reaches: no candidate group, so no contradiction to resolve.
        context = _compressing(tmp_path / "library", sim, merge_threshold=0.99)
        try:
            store = await open_library(context)
            wrong, rule = await store.add_many([family.wrong_advice[0], other.skill])
            await store.record_usage(
                {
                    wrong.id: UsageStats(retrieved=1, harmful=1),
                    rule.id: UsageStats(retrieved=3, cited=3, cited_wrong=2, cited_correct=1),
                }
            )
            version = await store.current_version()
            reviews, _, errors = await preview_reviews(context)
            assert errors == [] and await store.current_version() == version, "a dry run changes nothing"
            assert [(r.id, r.decision) for r in reviews] == [(wrong.id, "delete"), (rule.id, "leave")]
            assert reviews[0].record == "cited in 0 wrong answers, 0 right; 1 harmful vote"

            report, _, errors = await compress_library(context, op_prefix="a/", step="a")
            assert errors == [], errors
            assert [report.get(k) for k in ("reviewed", "review_deleted", "review_corrected")] == [2, 1, 0]
            assert report["pruned"] == 0 and report.get("contradicted") == 0
            assert [e.id for e in await store.experiences()] == [rule.id]
            assert (await store.get(rule.id)).version == rule.version, "a right rule is left as it is"
            deletion = (await store.history(wrong.id))[-1]
            assert deletion.kind == "delete" and deletion.reason.endswith("(simulated teacher)")
            assert "misled" in deletion.reason
        finally:
            close_libraries()


@pytest.mark.server
@pytest.mark.embeddings
def test_ted_experiences_compress_with_the_model_shows_then_applies_its_decisions(tmp_path: Path) -> None:
    family = _misconceived()
    other = next(f for f in SKILL_FAMILIES.values() if f.name != family.name and f.paraphrases)
    library = tmp_path / "library"
    items = paraphrase_items(tmp_path / "images")
    env = {"TED_EMBEDDINGS": "minilm", "TED_MERGE_THRESHOLD": "0.2", "TED_PRUNE_MIN_EVIDENCE": "1000"}

    async def fill() -> dict[str, str]:
        try:
            store = await open_library(Context(library=str(library), embeddings="minilm"))
            rule, wrong, skill, reworded = await store.add_many(
                [family.skill, family.wrong_advice[0], other.skill, other.paraphrases[0]]
            )
            await store.record_usage({wrong.id: UsageStats(retrieved=3, cited=3, cited_wrong=3)})
            return {"rule": rule.id, "wrong": wrong.id, "skill": skill.id, "reworded": reworded.id}
        finally:
            close_libraries()

    ids = asyncio.run(fill())
    with SimServer(World.from_items(items), config=SimConfig(seed=0)) as sim:
        args = ["experiences", "--library", str(library), "compress", "--with-model"]
        args += ["--teacher", "sim-teacher", "--teacher-url", sim.base_url, "--merge-threshold", "0.2"]
        shown = CliRunner().invoke(cli, [*args, "--dry-run"], env=env, catch_exceptions=False)
        assert shown.exit_code == 0, shown.output
        assert "nothing was changed" in shown.output and "delete E" in shown.output, shown.output
        assert family.wrong_advice[0][:40] in shown.output

        async def active() -> set[str]:
            try:
                store = await open_library(Context(library=str(library), embeddings="minilm"))
                return {e.id for e in await store.experiences()}
            finally:
                close_libraries()

        assert asyncio.run(active()) == set(ids.values()), "a dry run changes nothing"

        applied = CliRunner().invoke(cli, [*args, "--json"], env=env, catch_exceptions=False)
        assert applied.exit_code == 0, applied.output
        report = json.loads(applied.output)["report"]
        assert report["contradicted"] == 1 and report["merged"] >= 1, report
    left = asyncio.run(active())
    assert ids["wrong"] not in left and ids["rule"] in left
    assert not {ids["skill"], ids["reworded"]} <= left, "the skill and its rewording became one"
