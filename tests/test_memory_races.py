"""Searches racing writes: the first writes into a new library, and writes by another process."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import sqlite3
import warnings
from pathlib import Path
from typing import Any

import pytest
from cli_support import run_ted

import ted.memory.index
import ted.memory.store
from ted.memory import ExperienceStore, LibraryError
from ted.memory.embeddings import HashEmbeddings
from ted.memory.library import JOURNAL_NAME
from ted.memory.store import INDEX_AFTER_S

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


async def _queued_behind_the_lock(store: ExperienceStore, writes: list[Any]) -> list[Any]:
    """Start ``writes`` while the write lock is held, as if another write were in progress."""
    with store._lock:
        tasks = [asyncio.ensure_future(write) for write in writes]
        for _ in range(200):
            await asyncio.sleep(0.01)
            if len(store._queue) == len(writes):
                break
        assert len(store._queue) == len(writes)
    return await asyncio.gather(*tasks, return_exceptions=True)


async def test_queued_writes_are_each_applied_and_indexed_together_at_the_next_search(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ted.memory.store, "INDEX_AFTER_S", 3600.0)  # a read comes first
    store = await ExperienceStore.aopen(tmp_path / "library", embeddings=HashEmbeddings())
    try:
        await store.add("A first rule, so that the collection exists.")
        await store.search("first rule", k=1)  # indexes it
        upserts: list[int] = []
        upsert = store._index.upsert
        monkeypatch.setattr(
            store._index, "upsert", lambda entries: (upserts.append(len(entries)), upsert(entries))
        )
        texts = [f"Rule {n}: count the {n} shapes in each row." for n in range(6)]
        added = await _queued_behind_the_lock(
            store, [store.add(text, op_id=f"op-{n}") for n, text in enumerate(texts)]
        )
        assert [experience.text for experience in added] == texts
        assert upserts == []  # the writers did not wait on the index
        assert sorted(store._db.pending_index()) == sorted(e.id for e in added)
        for text, experience in zip(texts, added, strict=True):
            found = await store.search(text, k=1)
            assert found[0].experience.id == experience.id
            assert (await store.find_operation(f"op-{texts.index(text)}")) is not None
        assert upserts == [6]  # one upsert, at the first search, for all six
        assert store._db.pending_index() == []
    finally:
        store.close()


async def test_changes_still_pending_are_indexed_when_the_store_closes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ted.memory.store, "INDEX_AFTER_S", 3600.0)  # the store closes first
    path = tmp_path / "library"
    store = await ExperienceStore.aopen(path, embeddings=HashEmbeddings())
    added = await store.add("Count each shape once.")
    assert store._db.pending_index() == [added.id]
    store.close()
    with contextlib.closing(sqlite3.connect(path / JOURNAL_NAME)) as journal:
        assert journal.execute("SELECT id FROM index_pending").fetchall() == []
    reopened = await ExperienceStore.aopen(path, embeddings=HashEmbeddings())
    try:
        assert reopened._index.count() == 1
    finally:
        reopened.close()


async def test_a_write_that_fails_in_a_queued_batch_fails_alone(tmp_path: Path) -> None:
    store = await ExperienceStore.aopen(tmp_path / "library", embeddings=HashEmbeddings())
    try:
        taken = await store.add("Read the hour hand first.", op_id="taken")
        outcomes = await _queued_behind_the_lock(
            store,
            [
                store.add("Count each shape once.", op_id="fresh-1"),
                # The id was used by an add: refused, whatever the rest of the batch does.
                store.update(taken.id, text="Read the minute hand first.", op_id="taken"),
                store.add("Check the units before comparing.", op_id="fresh-2"),
            ],
        )
        assert isinstance(outcomes[1], LibraryError)
        assert "already used" in str(outcomes[1])
        assert [o.text for o in (outcomes[0], outcomes[2])] == [
            "Count each shape once.",
            "Check the units before comparing.",
        ]
        assert await store.count() == 3
        assert (await store.get(taken.id)).text == "Read the hour hand first."
    finally:
        store.close()


async def _taken_in(store: ExperienceStore) -> bool:
    for _ in range(200):
        await asyncio.sleep(INDEX_AFTER_S)
        if not store._db.pending_index() and not store._taking_in:
            return True
    return False


async def test_writes_are_taken_into_the_index_soon_after_without_a_read(tmp_path: Path) -> None:
    store = await ExperienceStore.aopen(tmp_path / "library", embeddings=HashEmbeddings())
    try:
        added = await store.add("Count each shape once.")
        assert store._db.pending_index() == [added.id]  # the writer did not wait on the index
        assert await _taken_in(store)
        assert store._index.count() == 1
        assert [hit.experience.id for hit in await store.search("count each shape", k=1)] == [added.id]
    finally:
        store.close()


def test_a_take_in_left_due_by_an_ended_event_loop_does_not_hold_back_the_next(tmp_path: Path) -> None:
    store = ExperienceStore.open(tmp_path / "library", embeddings=HashEmbeddings())
    try:
        first = asyncio.run(store.add("Count each shape once."))  # the loop ends before it is due
        assert store._db.pending_index() == [first.id]

        async def second() -> bool:
            await store.add("Read the hour hand first.")
            return await _taken_in(store)

        assert asyncio.run(second())
        assert store._index.count() == 2
    finally:
        store.close()


def test_a_take_in_due_in_the_last_turn_of_its_loop_leaves_nothing_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(ted.memory.store, "INDEX_AFTER_S", 3600.0)  # due only when the test says
    store = ExperienceStore.open(tmp_path / "library", embeddings=HashEmbeddings())
    loop = asyncio.new_event_loop()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            added = loop.run_until_complete(store.add("Count each shape once."))

            async def last_turn(store: ExperienceStore) -> None:
                await loop.shutdown_default_executor()  # as asyncio.run does before it closes the loop
                store._start_take_in()  # the take-in's timer fires in the loop's last turn

            loop.run_until_complete(last_turn(store))
            assert not store._taking_in, "a take-in made as its loop ended is left behind"
            assert store._db.pending_index() == [added.id]  # for the next read
        finally:
            loop.close()
            store.close()
        del store
        gc.collect()
    assert [str(w.message) for w in caught] == []


async def test_a_take_in_that_fails_leaves_the_changes_pending_for_the_next_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await ExperienceStore.aopen(tmp_path / "library", embeddings=HashEmbeddings())
    try:
        follow = store._index.follow_pending
        failures: list[int] = []

        def unavailable(database: Any) -> None:
            failures.append(1)
            raise RuntimeError("the index is unavailable")

        started: list[asyncio.Future[None]] = []

        class Recorded(set[asyncio.Future[None]]):
            def add(self, task: asyncio.Future[None]) -> None:
                started.append(task)
                super().add(task)

        monkeypatch.setattr(store._index, "follow_pending", unavailable)
        monkeypatch.setattr(store, "_taking_in", Recorded())
        added = await store.add("Count each shape once.")
        for _ in range(200):
            await asyncio.sleep(INDEX_AFTER_S)
            if started:
                break
        await asyncio.gather(*started)  # the take-in ran and raised nothing
        assert failures
        assert store._db.pending_index() == [added.id]
        monkeypatch.setattr(store._index, "follow_pending", follow)
        assert [hit.experience.id for hit in await store.search("count each shape", k=1)] == [added.id]
        assert store._db.pending_index() == []
    finally:
        store.close()
