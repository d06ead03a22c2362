"""With the real MiniLM embeddings: paraphrases of a skill are near-duplicates, other texts are not.

The figures matter for distillation on synthetic puzzles: reflection proposes paraphrases, so they
must be similar enough for compression to merge them (but not exact copies), while different skills
and generic advice must stay apart.
"""

from __future__ import annotations

import itertools
import statistics
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from ted.tasks import Item
from ted.tasks.synth import DECOYS, FAMILIES, NOISE, generate_items

pytestmark = [pytest.mark.embeddings, pytest.mark.slow]

LOW, HIGH = 0.75, 0.92


@pytest.fixture(scope="module")
def vectors() -> Iterator[dict[str, np.ndarray]]:
    from ted.memory.minilm import MiniLMEmbeddings

    embeddings = MiniLMEmbeddings()
    texts = {name: [family.skill, *family.paraphrases] for name, family in FAMILIES.items()}
    texts["noise"] = list(NOISE)
    texts.update({f"decoy:{name}": list(decoys) for name, decoys in DECOYS.items()})
    texts.update({f"question:{name}": [item.question for item in _questions(name)] for name in FAMILIES})
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


def _questions(name: str) -> list[Item]:
    global _ITEMS
    if not _ITEMS:
        with tempfile.TemporaryDirectory() as folder:
            _ITEMS = generate_items(36, seed=11, image_dir=Path(folder))
    return [item for item in _ITEMS if item.category == name]


_ITEMS: list[Item] = []


def test_decoys_are_retrieved_for_their_family_but_are_no_near_duplicate_of_its_skill(
    vectors: dict[str, np.ndarray],
) -> None:
    for name in FAMILIES:
        decoys, skills, questions = vectors[f"decoy:{name}"], vectors[name], vectors[f"question:{name}"]
        assert float((decoys @ skills.T).max()) < 0.8, f"{name}: a decoy would be merged into the skill"
        relevance = decoys @ questions.T
        assert float(relevance.mean()) > 0.2, f"{name}: decoys must come up for their family's questions"
