"""Searches racing writes: the first writes into a new library, and writes by another process."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from cli_support import run_ted

import ted.memory.index
from ted.memory import ExperienceStore, LibraryError
from ted.memory.embeddings import HashEmbeddings

pytestmark = [pytest.mark.slow]


async def _search(store: ExperienceStore) -> None:
    for _ in range(30):
        await store.search("count the shapes", k=3)


async def test_searches_racing_the_first_writes_never_fail(tmp_path: Path) -> None:
    # Without coordination, about one trial in ten failed with "Nothing found on disk".
    for trial in range(100):
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


@pytest.mark.parametrize("attempts", [1, ted.memory.index.QUERY_ATTEMPTS])
async def test_a_client_that_searched_before_another_process_wrote(
    tmp_path: Path, attempts: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ted.memory.index, "QUERY_ATTEMPTS", attempts)
    library = tmp_path / "library"
    store = await ExperienceStore.aopen(library, embeddings=HashEmbeddings())
    try:
        assert await store.search("count the shapes", k=3) == []
        texts = tmp_path / "texts.jsonl"
        texts.write_text(
            "".join(json.dumps({"text": f"Count each shape once ({n})."}) + "\n" for n in range(3))
        )
        imported = run_ted(["experiences", "import", str(texts), "--library", str(library)])
        assert imported.returncode == 0, imported.stderr
        if attempts == 1:
            # The race itself: this client's view of the collection is stale.
            with pytest.raises(LibraryError, match="Nothing found on disk"):
                await store.search("count the shapes", k=3)
        else:
            # A fresh client reads what the other process wrote.
            found = await store.search("count the shapes", k=3)
            assert sorted(s.experience.text for s in found) == [
                f"Count each shape once ({n})." for n in range(3)
            ]
    finally:
        store.close()


async def test_one_library_through_two_spellings_of_its_path(tmp_path: Path) -> None:
    real, link = tmp_path / "library", tmp_path / "link"
    first = await ExperienceStore.aopen(real, embeddings=HashEmbeddings())
    link.symlink_to(real)
    second = await ExperienceStore.aopen(link, embeddings=HashEmbeddings())
    try:
        assert first.path == second.path == real.resolve()
        for trial in range(20):
            await asyncio.gather(
                first.add(f"Count each shape once ({trial})."),
                _search(second),
                second.add(f"Read the hour hand first ({trial})."),
                _search(first),
            )
        assert await first.count() == await second.count() == 40
    finally:
        first.close()
        second.close()
