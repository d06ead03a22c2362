"""Compression of the library: a deterministic plan (no model involved), and applying it.

`plan_compression` proposes, from embeddings and usage statistics only:

- clusters: groups of near-duplicates (cosine >= ``merge_threshold``) to merge into one each;
- prune: experiences with at least ``min_evidence`` evidence and utility <= ``max_utility``;
- evict: over ``cap``, the least useful remaining singletons (lowest utility, then least recently
  changed), counting each cluster as the one experience it will become;
- review: experiences whose usage shows harm (`ted.memory.models.shows_harm`: a harmful vote, or
  more citations in wrong answers than in right ones) without the evidence to prune them yet;
- rewrite: experiences longer than ``max_words`` words.

An experience appears in at most one of these lists (prune, then clusters, then evict, then review,
then rewrite): a verbose experience that misled is reviewed, since rewriting it would keep its advice.

`apply_plan` carries out the parts of a plan that need no model, through the journal: merges (each
cluster keeps the text of its most useful member), then deletions; rewriting the verbose entries is a
model's job (`ted.graph.compression`), and so is reviewing: whether advice that misled is wrong
(to correct or delete) or right (its misses had other causes) is not in the numbers, so without a
model the review list is only shown. Every change has an operation id derived from the plan, so
applying the same plan twice changes the library once; members that changed status since the plan was
made are left alone, and so is a merge whose text the library refuses (the refusal is recorded and
listed in the result).

Near-duplicates come from nearest-neighbour lists, never from all pairs: each active experience's few
nearest neighbours are recorded when it is indexed, and every pair at or above the threshold is a
link. Links join clusters in order of decreasing similarity (union-find), and a link that would make a
cluster larger than ``max_cluster`` is dropped, so a chain of loosely related texts (A~B, B~C, C~D ...)
cannot snowball into one merge. The cost grows with the number of experiences times the neighbours
asked for, not with its square.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field

from ted.memory.errors import TextRefused
from ted.memory.models import Experience, Refusal, Status, evidence, harm_record, shows_harm, utility

MERGE_THRESHOLD = 0.55
"""Similarity at which experiences become candidates for a merge that a model confirms (MiniLM).

Calibrated with `bench/merge_calibration.py` on a paraphrase set (`ted.tasks.synth.paraphrase_groups`:
29 groups, each a skill and its rewordings, and 24 wrong rules on the same topics). With
all-MiniLM-L6-v2 the weakest link that still connects a paraphrase group is 0.59 (at 0.8 only 17 of
the 29 groups are connected), while texts of different groups reach 0.95: no threshold separates
them. So the threshold connects every group (0.55, a margin of 0.04) and the compress model decides
which candidates say the same thing (`ted.graph.compression`); with the simulated model, all 29 groups
end as one experience each and no merge mixes distinct advice.
"""

UNCONFIRMED_MERGE_THRESHOLD = 0.8
"""The default when nothing confirms a merge (`plan_compression`, `ted experiences compress`)."""

if TYPE_CHECKING:
    from ted.memory.store import ExperienceStore


class CompressionPlan(BaseModel):
    """What compression would do; ids only, so a plan can be shown, stored and applied later."""

    version: int = Field(default=0, description="Library version the plan was made at.")
    clusters: list[list[str]] = Field(
        default_factory=list, description="Near-duplicates to merge; the first member is the most useful."
    )
    prune: list[str] = Field(default_factory=list, description="Proven low-utility experiences to delete.")
    evict: list[str] = Field(
        default_factory=list, description="Least useful experiences to delete over the cap."
    )
    review: list[str] = Field(
        default_factory=list,
        description="Experiences whose usage shows harm, for a model to correct, delete or leave.",
    )
    rewrite: list[str] = Field(default_factory=list, description="Experiences too long to inject cheaply.")
    reasons: dict[str, str] = Field(default_factory=dict, description="Why, per experience id.")
    similarities: dict[str, tuple[float, float]] = Field(
        default_factory=dict,
        description="Per cluster, under its first member's id: its lowest and highest link similarity.",
    )


class CompressionResult(BaseModel):
    """What `apply_plan` did."""

    merged: list[tuple[list[str], str]] = Field(
        default_factory=list, description="(old ids, new id) per merge."
    )
    pruned: list[str] = Field(default_factory=list)
    evicted: list[str] = Field(default_factory=list)
    skipped: list[str] = Field(default_factory=list, description="Parts left alone, with the reason.")
    refused: list[Refusal] = Field(
        default_factory=list, description="Merges left undone because their text was refused."
    )


class _Components:
    def __init__(self, ids: Iterable[str]) -> None:
        self.parent = {i: i for i in ids}
        self.size = dict.fromkeys(self.parent, 1)

    def find(self, item: str) -> str:
        root = item
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[item] != root:  # path compression
            self.parent[item], item = root, self.parent[item]
        return root

    def join(self, a: str, b: str, max_size: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra == rb or self.size[ra] + self.size[rb] > max_size:
            return
        if (self.size[ra], rb) < (self.size[rb], ra):
            ra, rb = rb, ra
        self.parent[rb] = ra
        self.size[ra] += self.size[rb]


def similar_pairs(
    ids: Sequence[str], neighbours: Sequence[Sequence[tuple[str, float]]], threshold: float
) -> list[tuple[float, str, str]]:
    """Distinct pairs (similarity, a, b) with a < b and similarity >= threshold, most similar first."""
    known = set(ids)
    best: dict[tuple[str, str], float] = {}
    for source, hits in zip(ids, neighbours, strict=True):
        for other, similarity in hits:
            if other == source or other not in known or similarity < threshold:
                continue
            pair = (source, other) if source < other else (other, source)
            best[pair] = max(similarity, best.get(pair, similarity))
    return sorted(((s, a, b) for (a, b), s in best.items()), key=lambda t: (-t[0], t[1], t[2]))


def clusters_from_pairs(
    pairs: Iterable[tuple[float, str, str]],
    *,
    max_size: int = 8,
    sort_key: Callable[[str], Any] | None = None,
) -> list[list[str]]:
    """Union-find over pairs (most similar first), capped at ``max_size`` members per cluster.

    Members are sorted by ``sort_key`` (default: the id), clusters by their first member, so the result
    is deterministic for the same input.
    """
    pairs = list(pairs)
    components = _Components(i for _, a, b in pairs for i in (a, b))
    for _, a, b in pairs:
        components.join(a, b, max_size)
    groups: dict[str, list[str]] = {}
    for item in components.parent:
        groups.setdefault(components.find(item), []).append(item)
    key = sort_key or (lambda item: item)
    clusters = [sorted(group, key=key) for group in groups.values() if len(group) > 1]
    return sorted(clusters, key=lambda c: key(c[0]))


def _usefulness(experience: Experience) -> tuple[float, float, str, str]:
    """Sort key: most useful first (utility, then evidence), then oldest, then id."""
    return (
        -utility(experience.stats),
        -evidence(experience.stats),
        experience.created_at.isoformat(),
        experience.id,
    )


async def plan_compression(
    store: ExperienceStore,
    *,
    merge_threshold: float = UNCONFIRMED_MERGE_THRESHOLD,
    min_evidence: float = 5,
    max_utility: float = 0.25,
    cap: int | None = None,
    max_words: int = 40,
    neighbours: int = 8,
    max_cluster: int = 8,
) -> CompressionPlan:
    """Plan a compression of the active experiences; see the module docstring for the rules."""
    version = await store.current_version()
    active = {e.id: e for e in await store.experiences()}
    reasons: dict[str, str] = {}
    prune = sorted(
        (e for e in active.values() if evidence(e.stats) >= min_evidence and utility(e.stats) <= max_utility),
        key=_usefulness,
        reverse=True,
    )
    for e in prune:
        reasons[e.id] = f"utility {utility(e.stats):.2f} after {evidence(e.stats):.1f} evidence"
    pruned = {e.id for e in prune}

    ids, vectors = await store.active_vectors()
    hits: list[list[tuple[str, float]]] = (
        await store.neighbour_lists(ids, vectors, k=neighbours) if ids else []
    )
    keep = [(i, h) for i, h in zip(ids, hits, strict=True) if i not in pruned and i in active]
    pairs = similar_pairs([i for i, _ in keep], [h for _, h in keep], merge_threshold)
    apart = {frozenset((a, b)) for group in await store.kept_apart() for a in group for b in group if a != b}
    pairs = [(s, a, b) for s, a, b in pairs if frozenset((a, b)) not in apart]
    clusters = clusters_from_pairs(pairs, max_size=max_cluster, sort_key=lambda i: _usefulness(active[i]))
    cluster_of = {member: n for n, cluster in enumerate(clusters) for member in cluster}
    links: dict[int, list[float]] = {}
    for similarity, a, b in pairs:
        if a in cluster_of and cluster_of[a] == cluster_of.get(b):
            links.setdefault(cluster_of[a], []).append(similarity)
    similarities: dict[str, tuple[float, float]] = {}
    for n, cluster in enumerate(clusters):
        low, high = min(links[n]), max(links[n])
        similarities[cluster[0]] = (low, high)
        for member in cluster:
            reasons[member] = f"near-duplicates (similarity {low:.2f} to {high:.2f}), keep {cluster[0]}"
    clustered = {i for c in clusters for i in c}

    evict: list[str] = []
    after = len(active) - len(pruned) - sum(len(c) - 1 for c in clusters)
    if cap is not None and after > cap:
        singles = [e for e in active.values() if e.id not in pruned and e.id not in clustered]
        singles.sort(key=lambda e: (utility(e.stats), e.updated_at.isoformat(), e.id))
        for e in singles[: after - cap]:
            evict.append(e.id)
            reasons[e.id] = f"over the cap of {cap}: utility {utility(e.stats):.2f}"

    taken = pruned | clustered | set(evict)
    review = [
        e.id
        for e in sorted(active.values(), key=lambda e: (e.created_at, e.id))
        if e.id not in taken and shows_harm(e.stats)
    ]
    for i in review:
        reasons[i] = f"misled: {harm_record(active[i].stats)}"
    taken |= set(review)
    rewrite = [
        e.id
        for e in sorted(active.values(), key=lambda e: (e.created_at, e.id))
        if len(e.text.split()) > max_words and e.id not in taken
    ]
    for i in rewrite:
        reasons[i] = f"{len(active[i].text.split())} words, over {max_words}"
    return CompressionPlan(
        version=version,
        clusters=clusters,
        prune=[e.id for e in prune],
        evict=evict,
        review=review,
        rewrite=rewrite,
        reasons=reasons,
        similarities=similarities,
    )


def _key(ids: Sequence[str]) -> str:
    return hashlib.sha256("|".join(sorted(ids)).encode()).hexdigest()[:16]


async def apply_plan(
    store: ExperienceStore, plan: CompressionPlan, *, op_prefix: str = "", step: str | None = None
) -> CompressionResult:
    """Carry out ``plan`` without a model: merges, then prunes and evictions, each journaled.

    Each cluster keeps the text of its most useful active member; ``plan.review`` and ``plan.rewrite``
    are left alone (they need a model).

    Args:
        store: The library.
        plan: A plan from `plan_compression`.
        op_prefix: Prefix of the operation ids (they also contain the plan's version and content).
        step: The run step, recorded in the journal.
    """
    result = CompressionResult()
    prefix = f"{op_prefix}compress@{plan.version}/"
    for n, cluster in enumerate(plan.clusters):
        found = [await store.get(i) for i in cluster]
        members = sorted((e for e in found if e.status is Status.ACTIVE), key=_usefulness)
        if len(members) < 2:
            result.skipped.append(f"cluster {n}: fewer than two members still active")
            continue
        ids = [e.id for e in members]
        try:
            merged = await store.merge(
                ids,
                members[0].text,
                op_id=f"{prefix}merge/{_key(ids)}",
                reason=plan.reasons.get(ids[0], "near-duplicates"),
                step=step,
            )
        except TextRefused as refused:
            result.skipped.append(f"cluster {n}: text refused ({refused.reason.value})")
            if refused.refusal is not None:
                result.refused.append(refused.refusal)
            continue
        result.merged.append((ids, merged.id))
    for kind, ids, done in (("prune", plan.prune, result.pruned), ("evict", plan.evict, result.evicted)):
        for experience_id in ids:
            current = await store.get(experience_id)
            if current.status is not Status.ACTIVE:
                result.skipped.append(f"{kind} {experience_id}: no longer active")
                continue
            await store.delete(
                experience_id,
                op_id=f"{prefix}{kind}/{experience_id}",
                reason=plan.reasons.get(experience_id, kind),
                step=step,
            )
            done.append(experience_id)
    return result
