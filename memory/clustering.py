"""Clusters of near-duplicate experiences from nearest-neighbour lists (never from all pairs).

Each active experience asks the index for its few nearest neighbours; every pair at or above the
threshold is a link. Links join clusters in order of decreasing similarity (union-find), and a link
that would make a cluster larger than ``max_size`` is dropped, so a chain of loosely related texts
(A~B, B~C, C~D ...) cannot snowball into one merge. The cost grows with the number of experiences
times the neighbours asked for, not with its square.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any


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
