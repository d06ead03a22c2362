"""With the real MiniLM embeddings: paraphrases of a skill are near-duplicates, other texts are not.

The figures matter for distillation on synthetic puzzles: reflection proposes paraphrases, so they
must be similar enough for compression to merge them (but not exact copies), while different skills
and generic advice must stay apart.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Iterator

import numpy as np
import pytest

from ted.tasks.synth import FAMILIES, NOISE

pytestmark = [pytest.mark.embeddings, pytest.mark.slow]

LOW, HIGH = 0.75, 0.92


@pytest.fixture(scope="module")
def vectors() -> Iterator[dict[str, np.ndarray]]:
    from ted.memory import MiniLMEmbeddings

    embeddings = MiniLMEmbeddings()
    texts = {name: [family.skill, *family.paraphrases] for name, family in FAMILIES.items()}
    texts["noise"] = list(NOISE)
    yield {name: np.asarray(embeddings.embed_documents(group)) for name, group in texts.items()}


def _pairs(matrix: np.ndarray) -> list[float]:
    similarity = matrix @ matrix.T
    return [float(similarity[i, j]) for i, j in itertools.combinations(range(len(matrix)), 2)]


def test_paraphrases_of_a_skill_are_near_duplicates(vectors: dict[str, np.ndarray]) -> None:
    everything = []
    for name in FAMILIES:
        pairs = _pairs(vectors[name])
        everything += pairs
        assert min(pairs) >= 0.70, name
        assert max(pairs) <= 0.95, name
        assert LOW <= statistics.median(pairs) <= HIGH, name
    inside = sum(LOW <= value <= HIGH for value in everything) / len(everything)
    assert inside >= 0.9


def test_different_skills_and_noise_stay_apart(vectors: dict[str, np.ndarray]) -> None:
    for first, second in itertools.combinations(FAMILIES, 2):
        assert float((vectors[first] @ vectors[second].T).max()) < 0.5, (first, second)
    for name in FAMILIES:
        assert float((vectors[name] @ vectors["noise"].T).max()) < 0.5, name
