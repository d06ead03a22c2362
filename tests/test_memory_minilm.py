"""The store with the real bundled all-MiniLM-L6-v2: duplicate clusters and search quality."""

from __future__ import annotations

import asyncio
import gc
import math
import os
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from memory_fixtures import minilm_fixture  # noqa: F401

import ted.memory.minilm as ted_minilm
from ted.memory import ExperienceStore, plan_compression
from ted.memory.editor import LibraryEditor
from ted.memory.minilm import (
    BULK_TEXTS,
    WEIGHTS_SHA256,
    WORKER_NICENESS,
    MiniLMEmbeddings,
    _model_path,
    _verify,
    _worker,
    load_encoder,
)
from ted.memory.operations import AddOp

pytestmark = [pytest.mark.embeddings, pytest.mark.slow]

# Families of paraphrases (MiniLM scores them 0.7 to 0.9 within a family) and unrelated singletons
# (below 0.4 against everything else).
FAMILIES = [
    [
        "Check the units of every quantity before comparing the answer options.",
        "Before comparing the options, make sure all quantities use the same units.",
        "Always convert quantities to the same units before you compare the choices.",
    ],
    [
        "Count the sides of the polygon before applying the interior angle sum formula.",
        "Before using the angle-sum formula, count how many sides the polygon has.",
        "Make sure you know the number of sides of a polygon before computing its interior angle sum.",
    ],
    [
        "When a figure is symmetric, use the symmetry to halve the work.",
        "Exploit the symmetry of a symmetric figure to reduce the computation by half.",
    ],
]
SINGLES = [
    "Read every option before answering; the first plausible one is often a trap.",
    "In clock problems, the hour hand moves half a degree per minute.",
    "For probability questions, list the sample space before counting favourable outcomes.",
    "If a sequence grows quickly, check whether each term doubles the previous one.",
]
QUERIES = {
    "Are the quantities in the same units?": FAMILIES[0],
    "How many sides does this polygon have?": FAMILIES[1],
    "What angle do the clock hands make at 3:30?": [SINGLES[1]],
    "The shape is symmetric about its diagonal.": FAMILIES[2],
    "Two dice are thrown; what is the chance the sum is seven?": [SINGLES[2]],
    "What is the next term of 3, 6, 12, 24?": [SINGLES[3]],
}


def test_bundled_weights_are_verified_and_vectors_normalised(minilm: MiniLMEmbeddings) -> None:
    assert len(WEIGHTS_SHA256) == 64
    _verify(_model_path())  # raises if the weights were tampered with
    vector = minilm.embed_query("Check the units.")
    assert len(vector) == 384
    assert math.isclose(sum(x * x for x in vector), 1.0, rel_tol=1e-4)
    assert minilm.embed_documents([]) == []


def test_the_loaded_model_is_left_out_of_full_collections(minilm: MiniLMEmbeddings) -> None:
    minilm.embed_query("Check the units.")
    # Frozen with the model: hundreds of thousands of objects a full collection would walk again.
    assert gc.get_freeze_count() > 100_000


async def _library(path: Path, embeddings: MiniLMEmbeddings) -> tuple[ExperienceStore, dict[str, str]]:
    store = await ExperienceStore.aopen(path, embeddings=embeddings)
    texts = [t for family in FAMILIES for t in family] + SINGLES
    added = await store.add_many(texts)
    return store, {e.text: e.id for e in added}


async def test_paraphrases_cluster_and_unrelated_do_not(tmp_path: Path, minilm: MiniLMEmbeddings) -> None:
    store, ids = await _library(tmp_path / "lib", minilm)
    try:
        plan = await plan_compression(store, merge_threshold=0.7)
        found = sorted(sorted(cluster) for cluster in plan.clusters)
        expected = sorted(sorted(ids[t] for t in family) for family in FAMILIES)
        assert found == expected
        assert not {ids[t] for t in SINGLES} & {i for c in plan.clusters for i in c}
    finally:
        store.close()


async def test_search_ranks_the_relevant_experience_first(tmp_path: Path, minilm: MiniLMEmbeddings) -> None:
    store, _ = await _library(tmp_path / "lib", minilm)
    try:
        for query, relevant in QUERIES.items():
            hits = await store.search(query, k=3)
            assert hits[0].experience.text in relevant, query
            assert hits[0].similarity > 0.3
    finally:
        store.close()


async def test_default_embeddings_are_minilm_and_a_paraphrase_is_not_added_twice(
    tmp_path: Path, minilm: MiniLMEmbeddings
) -> None:
    store = await ExperienceStore.aopen(tmp_path / "lib")  # no embeddings given: the bundled MiniLM
    try:
        assert store.embedding_model == "all-MiniLM-L6-v2"
        editor = LibraryEditor(store, duplicate_threshold=0.85)
        assert (await editor.apply(AddOp(text=FAMILIES[0][0]), op_id="a")).startswith("added E1")
        message = await editor.apply(
            AddOp(text="Check the units of all quantities before comparing answer options."), op_id="b"
        )
        assert message.startswith("not added: E1 already says this")
        assert await store.count() == 1
    finally:
        store.close()


async def test_async_embedding_does_not_block_the_event_loop(minilm: MiniLMEmbeddings) -> None:
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.001)

    task = asyncio.create_task(ticker())
    await minilm.aembed_documents([f"sentence number {n} about geometry" for n in range(400)])
    task.cancel()
    assert ticks > 10


@pytest.mark.skipif(sys.platform != "linux", reason="thread priorities are per thread on Linux only")
def test_the_encoding_thread_runs_at_a_lower_priority(minilm: MiniLMEmbeddings) -> None:
    minilm.embed_query("warm up")
    own = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    worker = _worker().submit(lambda: os.getpriority(os.PRIO_PROCESS, threading.get_native_id())).result()
    assert worker == min(19, own + WORKER_NICENESS)


def test_small_passes_leave_a_core_to_the_event_loop(minilm: MiniLMEmbeddings) -> None:
    import torch

    minilm.embed_query("warm up")
    encoder = load_encoder(minilm.batch_size)
    cores = ted_minilm._torch_threads
    assert cores is not None
    seen: list[tuple[int, int]] = []
    module = encoder._module

    def counting(*inputs: Any) -> Any:
        seen.append((len(inputs[0]), torch.get_num_threads()))
        return module(*inputs)

    encoder._module = counting
    try:
        texts = [f"how many red circles are in picture {n}?" for n in range(BULK_TEXTS)]
        small = asyncio.run(minilm.aembed_documents(texts[:8]))
        bulk = asyncio.run(minilm.aembed_documents(texts))
    finally:
        encoder._module = module
    assert seen == [(8, max(1, cores - 1)), (BULK_TEXTS, cores)]
    assert np.allclose(small, bulk[:8], atol=1e-5), "the thread count leaves the vectors as they were"


async def test_concurrent_queries_share_forward_passes(
    minilm: MiniLMEmbeddings, monkeypatch: pytest.MonkeyPatch
) -> None:
    texts = [f"how many red circles are in picture {n}?" for n in range(12)]
    expected = [minilm.embed_query(text) for text in texts]
    passes: list[int] = []
    encode = minilm._coalescer._encode

    def counting(batch: list[str]) -> list[list[float]]:
        passes.append(len(batch))
        return encode(batch)  # type: ignore[no-any-return]

    monkeypatch.setattr(minilm._coalescer, "_encode", counting)
    vectors = await asyncio.gather(*(minilm.aembed_query(text) for text in texts))

    assert sum(passes) == len(texts)
    assert len(passes) < len(texts), "concurrent requests were batched"
    for got, want in zip(vectors, expected, strict=True):
        assert np.allclose(got, want, atol=1e-5)


def test_traced_encoder_matches_sentence_transformers(minilm: MiniLMEmbeddings) -> None:
    from ted.memory.minilm import load_model

    texts = [
        "a",
        "How many red circles are in the picture?",
        "word " * 400,  # truncated at the model's 256 tokens
        "The interior angles of a polygon with n sides add up to (n - 2) x 180 degrees.",
    ]
    reference = load_model().encode(texts, normalize_embeddings=True, convert_to_numpy=True)
    together = np.asarray(minilm.embed_documents(texts))
    alone = np.asarray([minilm.embed_query(text) for text in texts])
    assert np.abs(together - reference).max() < 1e-5
    assert np.abs(alone - reference).max() < 1e-5
