"""Searches racing the first writes into a new library (a Chroma reader on an empty segment)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from ted.memory import ExperienceStore
from ted.memory.embeddings import HashEmbeddings

pytestmark = [pytest.mark.slow]


async def _search(store: ExperienceStore) -> None:
    for _ in range(30):
        await store.search("count the shapes", k=3)


async def test_searches_racing_the_first_writes_never_fail(tmp_path: Path) -> None:
    # Without coordination, about one trial in ten failed with "Nothing found on disk".
    for trial in range(40):
        store = await ExperienceStore.aopen(tmp_path / f"library-{trial}", embeddings=HashEmbeddings())
        try:
            await asyncio.gather(
                store.add(f"Count each shape once ({trial})."),
                _search(store),
                _search(store),
                store.add(f"Read the hour hand first ({trial})."),
            )
            assert await store.count() == 2
        finally:
            store.close()
