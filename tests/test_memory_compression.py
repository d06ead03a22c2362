"""Compression planning (deterministic, no model) and applying plans through the journal."""

from __future__ import annotations

import pytest
from memory_fixtures import hash_embeddings_fixture, store_fixture  # noqa: F401

from ted.memory import ExperienceStore, Status, UsageStats, apply_plan, plan_compression
from ted.memory.compression import CompressionPlan, similar_pairs
from ted.memory.index import NEIGHBOUR_LINKS
from ted.memory.models import Origin

# Hash embeddings score texts by shared content words, so these families are near-duplicates.
UNITS = [
    "Check the units of every quantity before comparing the options.",
    "Check units of every quantity before comparing options.",
    "Always check the units of every quantity before comparing the options.",
]
SIDES = [
    "Count the polygon sides before using the angle sum formula.",
    "Count polygon sides before using the angle sum formula!",
]
OTHERS = [
    "Draw a diagram when the question describes motion.",
    "Parity rules out options when the total must be odd.",
    "Read the last sentence of the question twice.",
]


async def add_all(store: ExperienceStore, texts: list[str]) -> list[str]:
    return [e.id for e in await store.add_many(texts)]


async def test_clusters_are_found_and_merged(store: ExperienceStore) -> None:
    units = await add_all(store, UNITS)
    sides = await add_all(store, SIDES)
    others = await add_all(store, OTHERS)
    await store.record_usage({units[2]: UsageStats(helpful=2)})
    plan = await plan_compression(store, merge_threshold=0.8)
    assert sorted(map(sorted, plan.clusters)) == sorted([sorted(units), sorted(sides)])
    units_cluster = next(c for c in plan.clusters if units[0] in c)
    assert units_cluster[0] == units[2]  # the most useful member comes first
    assert not set(others) & {i for c in plan.clusters for i in c}
    assert plan.prune == [] and plan.evict == [] and plan.rewrite == []
    assert "near-duplicates" in plan.reasons[units[0]]

    result = await apply_plan(store, plan)
    assert len(result.merged) == 2
    texts = {e.text for e in await store.experiences()}
    # Each cluster keeps its most useful member's text; SIDES[0] is older, so it wins the tie.
    assert texts == {UNITS[2], SIDES[0], *OTHERS}
    merged = next(e for e in await store.experiences() if e.text == UNITS[2])
    assert merged.provenance.origin is Origin.MERGE and sorted(merged.provenance.merged_from) == sorted(units)
    assert merged.stats.helpful == 2
    assert all(e.status is Status.SUPERSEDED for e in await store.experiences(status=Status.SUPERSEDED))

    version = store.version
    again = await apply_plan(store, plan)  # applying the same plan twice changes nothing more
    assert store.version == version and again.merged == [] and len(again.skipped) == 2


async def test_prune_and_evict_and_leave_rewrites_to_a_model(store: ExperienceStore) -> None:
    ids = await add_all(store, [*OTHERS, "Keep going. " * 30])
    motion, parity, last, verbose = ids
    await store.record_usage(
        {
            motion: UsageStats(
                retrieved=10, cited=3, cited_wrong=3, harmful=1
            ),  # evidence 6.7, utility ~0.12
            parity: UsageStats(harmful=1),  # too little evidence to prune
            last: UsageStats(helpful=3),
        }
    )
    plan = await plan_compression(store, min_evidence=5, max_utility=0.25, cap=2, max_words=40)
    assert plan.prune == [motion]
    assert plan.evict == [parity]  # 3 left after pruning, cap 2: the least useful goes
    assert plan.rewrite == [verbose]
    assert "utility 0.1" in plan.reasons[motion] and "over the cap of 2" in plan.reasons[parity]
    result = await apply_plan(store, plan, op_prefix="c1/", step="compress 1")
    assert (result.pruned, result.evicted) == ([motion], [parity])
    assert {e.text for e in await store.experiences()} == {OTHERS[2], ("Keep going. " * 30).strip()}
    assert (await store.get(verbose)).version == 1, "rewriting is the compress model's job"
    history = await store.history(motion)
    assert (
        history[-1].kind == "delete"
        and history[-1].op_id.startswith("c1/compress@")
        and history[-1].step == "compress 1"
    )


async def test_advice_whose_usage_shows_harm_is_listed_for_review(store: ExperienceStore) -> None:
    wordy = "Draw a diagram, label it and keep going. " * 8
    ids = await add_all(store, [*OTHERS, SIDES[0], wordy])
    motion, parity, last, sides, verbose = ids
    await store.record_usage(
        {
            motion: UsageStats(harmful=1),  # one harmful vote: evidence 2, far too little to prune
            parity: UsageStats(retrieved=3, cited=3, cited_wrong=2, cited_correct=1),  # misled more often
            last: UsageStats(retrieved=2, cited=2, cited_wrong=1, cited_correct=1, helpful=1),  # no harm
            sides: UsageStats(retrieved=9, cited=9, cited_wrong=7, harmful=1),  # enough evidence: pruned
            verbose: UsageStats(harmful=1),  # verbose, but reviewed rather than rewritten
        }
    )
    plan = await plan_compression(store, min_evidence=5, max_utility=0.25, max_words=40)
    assert plan.prune == [sides]
    assert plan.review == [motion, parity, verbose]  # oldest first; the pruned one is not listed twice
    assert plan.rewrite == []
    assert plan.reasons[motion] == "misled: cited in 0 wrong answers, 0 right; 1 harmful vote"
    assert plan.reasons[parity] == "misled: cited in 2 wrong answers, 1 right"

    result = await apply_plan(store, plan)
    assert result.pruned == [sides]
    assert {e.id for e in await store.experiences()} == {motion, parity, last, verbose}, (
        "review needs a model"
    )


async def test_pruned_experiences_are_not_merged(store: ExperienceStore) -> None:
    units = await add_all(store, UNITS[:2])
    await store.record_usage({units[0]: UsageStats(harmful=5)})
    plan = await plan_compression(store, merge_threshold=0.8)
    assert plan.prune == [units[0]] and plan.clusters == []


async def test_cluster_size_is_capped(store: ExperienceStore) -> None:
    await add_all(store, [f"Check the units of every quantity, case {n}." for n in range(6)])
    plan = await plan_compression(store, merge_threshold=0.5, max_cluster=3)
    assert [len(c) for c in plan.clusters] == [3, 3]


async def test_empty_library(store: ExperienceStore) -> None:
    plan = await plan_compression(store, cap=10)
    assert plan == CompressionPlan(version=0)
    assert (await apply_plan(store, plan)).merged == []


async def test_stale_plan_skips_what_changed(store: ExperienceStore) -> None:
    units = await add_all(store, UNITS[:2])
    plan = await plan_compression(store, merge_threshold=0.8)
    await store.delete(units[0])
    result = await apply_plan(store, plan)
    assert result.merged == [] and result.skipped == ["cluster 0: fewer than two members still active"]


def test_plan_round_trips_as_json() -> None:
    plan = CompressionPlan(version=3, clusters=[["a", "b"]], prune=["c"], reasons={"c": "low"})
    assert CompressionPlan.model_validate_json(plan.model_dump_json()) == plan
    with pytest.raises(ValueError):
        CompressionPlan.model_validate({"clusters": "nope"})


async def test_stored_neighbour_lists_find_what_fresh_queries_find(store: ExperienceStore) -> None:
    # Added one by one, interleaved, so each pair is linked from the list of its later member.
    for text in [UNITS[0], OTHERS[0], SIDES[0], UNITS[1], OTHERS[1], SIDES[1], UNITS[2], OTHERS[2]]:
        await store.add(text)
    ids, vectors = await store.active_vectors()
    stored = await store.neighbour_lists(ids, vectors, k=8)
    fresh = await store.neighbour_lists(ids, vectors, k=NEIGHBOUR_LINKS + 1)  # beyond the lists: queried
    from_lists = {(a, b): score for score, a, b in similar_pairs(ids, stored, 0.8)}
    from_queries = {(a, b): score for score, a, b in similar_pairs(ids, fresh, 0.8)}
    assert from_lists.keys() == from_queries.keys() and len(from_lists) == 4  # 3 unit pairs, 1 sides pair
    assert all(abs(from_lists[pair] - from_queries[pair]) < 1e-5 for pair in from_lists)


async def test_a_rewritten_text_gets_a_fresh_neighbour_list(store: ExperienceStore) -> None:
    first = await store.add(UNITS[0])
    other = await store.add(OTHERS[0])
    await store.update(other.id, text=UNITS[1])  # now a near-duplicate of the first
    plan = await plan_compression(store, merge_threshold=0.8)
    assert plan.clusters == [sorted([first.id, other.id], key=lambda i: 0 if i == first.id else 1)]


async def test_neighbour_lists_leave_out_retired_experiences(store: ExperienceStore) -> None:
    units = await add_all(store, UNITS)
    await store.delete(units[1])
    ids, vectors = await store.active_vectors()
    lists = await store.neighbour_lists(ids, vectors, k=8)
    assert units[1] not in {other for found in lists for other, _ in found}
