"""Choosing the experiences for a prompt: rank by similarity and utility, pack into a token budget.

Four strategies, so that what the ranking is worth can be measured (ablations):

- ``default``: the nearest neighbours re-ranked by similarity and utility, packed (`retrieve`);
- ``similarity``: the same without utility (``utility_weight`` 0);
- ``random``: ``k`` experiences drawn at random from the library, whatever the question (seeded by
  the query, so the same question gets the same draw), packed;
- ``all``: the whole library, most similar first, with no ``k`` and no token budget.

Every strategy keeps the contamination guard (``exclude_items``).
"""

from __future__ import annotations

import hashlib
import math
import random
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Literal

from ted.memory.models import ScoredExperience, trust

if TYPE_CHECKING:
    from ted.memory.store import ExperienceStore

_PIECE = re.compile(r"\w+|[^\w\s]")

Strategy = Literal["default", "similarity", "random", "all"]
STRATEGIES: tuple[Strategy, ...] = ("default", "similarity", "random", "all")
"""The retrieval strategies; ``default`` is the one TED uses, the others are ablations."""

LINE_OVERHEAD = 4
"""Tokens an injected line costs beyond its text: the ``[E12] `` label and the newline."""


def estimate_tokens(text: str) -> int:
    """Estimate how many tokens ``text`` costs in a prompt, without a tokenizer (works offline).

    The estimate is the larger of two rules of thumb for BPE tokenizers on English: one token per four
    characters, and 1.3 tokens per word or punctuation mark. Taking the larger errs on the side of
    fewer experiences rather than an overflowing prompt; code and numbers, which split into more
    pieces, are caught by the second rule.
    """
    if not text:
        return 0
    pieces = len(_PIECE.findall(text))
    return max(1, math.ceil(max(len(text) / 4, pieces * 1.3)))


def rank(candidates: Iterable[ScoredExperience], *, utility_weight: float = 0.3) -> list[ScoredExperience]:
    """Order candidates by ``(1 - w) * similarity + w * trust``, best first (ties: by id).

    Trust (`ted.memory.models.trust`: utility without the ignored retrievals) is 0.5 for an unproven
    experience, so ``w`` shifts proven ones up or down by at most ``w / 2`` against new ones.
    """
    if not 0.0 <= utility_weight <= 1.0:
        raise ValueError(f"utility_weight must be between 0 and 1, got {utility_weight}")
    scored = [
        c.model_copy(
            update={"score": (1 - utility_weight) * c.similarity + utility_weight * trust(c.experience.stats)}
        )
        for c in candidates
    ]
    return sorted(scored, key=lambda c: (-c.score, c.experience.id))


def pack(ranked: Sequence[ScoredExperience], *, k: int, token_budget: int) -> list[ScoredExperience]:
    """Take experiences in rank order while they fit: at most ``k``, and within ``token_budget`` in total.

    An experience too long for the budget left is skipped and a shorter one further down may still
    fit. Each one costs ``estimate_tokens(text) + LINE_OVERHEAD``.
    """
    chosen: list[ScoredExperience] = []
    left = token_budget
    for candidate in ranked:
        if len(chosen) >= k:
            break
        cost = estimate_tokens(candidate.experience.text) + LINE_OVERHEAD
        if cost <= left:
            chosen.append(candidate)
            left -= cost
    return chosen


async def retrieve(
    store: ExperienceStore,
    query: str,
    *,
    k: int = 5,
    token_budget: int = 600,
    exclude_items: Iterable[str] = (),
    utility_weight: float = 0.3,
    min_similarity: float = 0.0,
    tags: Sequence[str] | None = None,
    strategy: Strategy = "default",
) -> list[ScoredExperience]:
    """The experiences to inject for ``query``: search a wider pool, rank, drop weak matches, pack.

    The pool is ``max(4k, 20)`` nearest neighbours, so that a useful experience slightly less similar
    than a useless one can still make it. ``exclude_items`` is the contamination guard (see
    `ExperienceStore.search`). ``strategy`` picks an ablation instead (see the module docstring);
    ``random`` and ``all`` ignore ``min_similarity``, and ``all`` ignores ``k`` and the budget.

    Raises:
        ValueError: An unknown strategy.
    """
    if strategy not in STRATEGIES:
        raise ValueError(f"unknown retrieval strategy {strategy!r}; use one of {', '.join(STRATEGIES)}")
    if strategy in ("random", "all"):
        size = await store.count()
        if size == 0 or (strategy == "random" and (k <= 0 or token_budget <= 0)):
            return []
        everything = await store.search(query, k=size, tags=tags, exclude_items=exclude_items)
        if strategy == "all":
            return everything
        seed = int.from_bytes(hashlib.sha256(query.encode()).digest()[:8], "big")
        drawn = random.Random(seed).sample(everything, len(everything))
        return pack(drawn, k=k, token_budget=token_budget)
    if k <= 0 or token_budget <= 0:
        return []
    weight = 0.0 if strategy == "similarity" else utility_weight
    pool = await store.search(query, k=max(4 * k, 20), tags=tags, exclude_items=exclude_items)
    relevant = [c for c in pool if c.similarity >= min_similarity]
    return pack(rank(relevant, utility_weight=weight), k=k, token_budget=token_budget)
