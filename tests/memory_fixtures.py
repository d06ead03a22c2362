"""Fixtures and helpers shared by the tests of ted.memory.

Test modules import the fixture functions (``*_fixture``); pytest registers them under their ``name``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from ted.memory import ExperienceStore
from ted.memory.embeddings import HashEmbeddings
from ted.memory.minilm import MiniLMEmbeddings


@pytest.fixture(name="hash_embeddings")
def hash_embeddings_fixture() -> HashEmbeddings:
    return HashEmbeddings(256)


@pytest.fixture(name="store")
async def store_fixture(tmp_path: Path, hash_embeddings: HashEmbeddings) -> AsyncIterator[ExperienceStore]:
    """A new embedded library with model-free embeddings."""
    opened = await ExperienceStore.aopen(
        tmp_path / "library", embeddings=hash_embeddings, student_model="student-1"
    )
    yield opened
    opened.close()


@pytest.fixture(name="minilm", scope="session")
def minilm_fixture() -> Iterator[MiniLMEmbeddings]:
    """The real MiniLM embeddings; the model is loaded once per process."""
    embeddings = MiniLMEmbeddings()
    embeddings.embed_query("warm up")
    yield embeddings


def open_store(path: Path, **options: object) -> ExperienceStore:
    """Open a library with hash embeddings unless told otherwise."""
    options.setdefault("embeddings", HashEmbeddings(256))
    return ExperienceStore.open(path, **options)  # type: ignore[arg-type]
