"""Damaged libraries on disk: the index is rebuilt from the journal, the journal restored from a backup."""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from ted.memory import ExperienceStore, Status, repair_library
from ted.memory.backups import BACKUPS_DIR, list_backups
from ted.memory.embeddings import HashEmbeddings
from ted.memory.errors import JournalDamaged

pytestmark = pytest.mark.slow

# Past Chroma's HNSW sync threshold (1000), so the HNSW files are the only copy of the vectors: below
# it, Chroma keeps them in its log too and a lost HNSW file goes unnoticed.
SIZE = 1200
CLUSTERS = 120
DIMENSIONS = 64


def _clustered(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Vectors in tight clusters (so every query has clear nearest neighbours) and one query per cluster."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(CLUSTERS, DIMENSIONS))
    members = np.repeat(centres, SIZE // CLUSTERS, axis=0)
    vectors = members + 0.15 * rng.normal(size=members.shape)
    queries = centres[:12] + 0.05 * rng.normal(size=(12, DIMENSIONS))
    return vectors.astype(np.float32), queries.astype(np.float32)


def _open(path: Path) -> ExperienceStore:
    return ExperienceStore.open(path, embeddings=HashEmbeddings(DIMENSIONS), create=False)


async def _results(store: ExperienceStore, queries: np.ndarray) -> list[list[str]]:
    return [[h.experience.id for h in await store.search_vectors(q[None, :], k=5)] for q in queries]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    """A closed library of SIZE clustered experiences, and the queries."""
    import asyncio

    path = tmp_path_factory.mktemp("damage") / "library"
    vectors, queries = _clustered(seed=3)

    async def build() -> None:
        store = await ExperienceStore.aopen(path, embeddings=HashEmbeddings(DIMENSIONS))
        try:
            for start in range(0, SIZE, 400):
                texts = [f"experience {n}" for n in range(start, start + 400)]
                await store.add_many(texts, vectors=vectors[start : start + 400])
        finally:
            store.close()

    asyncio.run(build())
    return path, queries


@pytest.fixture
def library(built: tuple[Path, np.ndarray], tmp_path: Path) -> Path:
    """A fresh copy of the built library."""
    copy = tmp_path / "library"
    shutil.copytree(built[0], copy)
    return copy


def _aside(library: Path, pattern: str) -> list[Path]:
    """What was moved aside in the library folder."""
    return sorted(library.glob(pattern))


def _segment(library: Path) -> Path:
    [folder] = [p for p in (library / "chroma").iterdir() if p.is_dir()]
    return folder


def _truncate_index_db(library: Path) -> None:
    os.truncate(library / "chroma" / "chroma.sqlite3", 20_000)


def _garbage_index_db(library: Path) -> None:
    (library / "chroma" / "chroma.sqlite3").write_bytes(np.random.default_rng(0).bytes(60_000))


def _delete_hnsw(library: Path) -> None:
    for file in _segment(library).iterdir():
        file.unlink()


def _truncate_hnsw(library: Path) -> None:
    os.truncate(_segment(library) / "data_level0.bin", 4096)


def _garbage_hnsw_header(library: Path) -> None:
    (_segment(library) / "header.bin").write_bytes(np.random.default_rng(1).bytes(100))


DAMAGE: dict[str, Callable[[Path], None]] = {
    "chroma.sqlite3 truncated": _truncate_index_db,
    "chroma.sqlite3 garbage": _garbage_index_db,
    "HNSW files deleted": _delete_hnsw,
    "HNSW data truncated": _truncate_hnsw,
    "HNSW header garbage": _garbage_hnsw_header,
}


@pytest.mark.parametrize("damage", DAMAGE)
async def test_a_damaged_index_is_rebuilt_on_open_with_the_same_results(
    damage: str, library: Path, built: tuple[Path, np.ndarray], caplog: pytest.LogCaptureFixture
) -> None:
    queries = built[1]
    with _open(library) as store:
        before = await _results(store, queries)
        assert store.index_rebuilt is None
    DAMAGE[damage](library)

    with caplog.at_level(logging.WARNING, logger="ted.memory"):
        store = _open(library)
    try:
        [record] = [r for r in caplog.records if r.name == "ted.memory"]
        assert "\n" not in record.getMessage()
        assert "rebuilt it from the journal (1200 experiences)" in record.getMessage()
        assert store.index_rebuilt == record.getMessage()
        assert await _results(store, queries) == before
    finally:
        store.close()
    [aside] = _aside(library, "chroma.damaged-*")
    assert aside.is_dir()  # kept, not deleted
    with _open(library) as again:  # the rebuilt index is healthy
        assert again.index_rebuilt is None
        assert await _results(again, queries) == before


async def test_an_index_that_fails_at_the_first_query_is_rebuilt_then(
    library: Path, built: tuple[Path, np.ndarray], caplog: pytest.LogCaptureFixture
) -> None:
    queries = built[1]
    with _open(library) as store:
        before = await _results(store, queries)
        _truncate_index_db(library)  # while the library is open: the next search meets it
        with caplog.at_level(logging.WARNING, logger="ted.memory"):
            assert await _results(store, queries) == before
        assert store.index_rebuilt is not None and "malformed" in store.index_rebuilt
        assert len(caplog.records) == 1
        [added] = await store.add_many(["a new experience"], vectors=queries[:1])
        assert (await store.search_vectors(queries[:1], k=1))[0].experience.id == added.id
    assert len(_aside(library, "chroma.damaged-*")) == 1


async def test_a_healthy_index_that_raises_is_not_rebuilt(library: Path) -> None:
    def failing() -> None:
        raise ValueError("boom")

    with _open(library) as store:
        # A failure that the check of the index does not confirm is raised as it is.
        with pytest.raises(ValueError, match="boom"):
            store._recovery.use(failing, locked=False)
        assert store.index_rebuilt is None
    assert not _aside(library, "chroma.damaged-*")


def test_a_busy_index_or_a_passing_doubt_never_leads_to_a_rebuild(
    library: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _open(library) as store:
        verdicts = iter(["it looks damaged", None])
        checks: list[object] = []

        def check(database: object) -> str | None:
            checks.append(database)
            return next(verdicts)

        monkeypatch.setattr(store._index, "check", check)

        def busy() -> None:
            raise RuntimeError("error returned from database: (code: 5) database is locked")

        with pytest.raises(RuntimeError, match="database is locked"):
            store._recovery.use(busy, locked=False)
        assert not checks  # a busy database is in use, not damaged: no check at all

        def failing() -> None:
            raise RuntimeError("Error loading hnsw index")

        # The first check says damaged, the second (a moment later) says healthy: the error stands.
        with pytest.raises(RuntimeError, match="hnsw"):
            store._recovery.use(failing, locked=False)
        assert len(checks) == 2 and store.index_rebuilt is None
    assert not _aside(library, "chroma.damaged-*")


@pytest.mark.parametrize("damage", ["truncated", "garbage", "missing"])
def test_a_damaged_journal_is_one_error_that_says_what_to_do(library: Path, damage: str) -> None:
    journal = library / "journal.sqlite"
    if damage == "truncated":
        os.truncate(journal, 50_000)
    elif damage == "garbage":
        journal.write_bytes(b"not a database at all " * 4000)
    else:
        journal.unlink()
    with pytest.raises(JournalDamaged) as raised:
        _open(library)
    message = str(raised.value)
    assert "\n" not in message
    assert f"ted experiences repair --library {library}" in message
    assert not journal.exists() or damage != "missing"  # opening never creates an empty journal


async def test_backups_are_consistent_skipped_when_current_and_rotated(library: Path) -> None:
    with _open(library) as store:
        first = await store.backup()
        assert first is not None and first.version == await store.current_version()
        assert await store.backup() is None  # nothing changed since
        for n in range(3):
            await store.add_many([f"later {n}"], vectors=np.full((1, DIMENSIONS), n + 1, dtype=np.float32))
            assert await store.backup(keep=2) is not None
    kept = list_backups(library)
    assert [b.version for b in kept] == [first.version + 3, first.version + 2]
    for backup in kept:
        connection = sqlite3.connect(backup.path)
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        connection.close()
    assert not [p for p in (library / BACKUPS_DIR).iterdir() if p.name.endswith(".tmp")]


async def test_repair_restores_the_last_good_backup_and_the_library_works_again(
    library: Path, built: tuple[Path, np.ndarray]
) -> None:
    queries = built[1]
    with _open(library) as store:
        before = await _results(store, queries)
        backup = await store.backup()
        assert backup is not None
        for n in range(3):  # lost with the journal: made after the backup
            await store.add_many([f"later {n}"], vectors=np.full((1, DIMENSIONS), n + 1, dtype=np.float32))
    # An older backup is damaged too: the newest good one is chosen, whatever its age.
    (library / BACKUPS_DIR / "journal-20000101T000000000000Z-v1.sqlite").write_bytes(b"junk")
    os.truncate(library / "journal.sqlite", 100_000)

    result = await repair_library(library, embeddings=HashEmbeddings(DIMENSIONS))
    assert result.journal_damage is not None and "bytes long" in result.journal_damage
    assert result.restored_from == backup
    assert result.experiences == SIZE and result.version == backup.version
    assert result.lost_operations in (None, 3)
    assert result.damaged_journal is not None and result.damaged_journal.is_file()
    assert result.index_rebuilt is not None
    with _open(library) as store:
        assert store.index_rebuilt is None
        assert await store.count(status=Status.ACTIVE) == SIZE
        assert await _results(store, queries) == before
        await store.add_many(["after the repair"], vectors=np.ones((1, DIMENSIONS), dtype=np.float32))

    again = await repair_library(library, embeddings=HashEmbeddings(DIMENSIONS))
    assert again.journal_damage is None and again.restored_from is None and again.index_rebuilt is None


async def test_repair_of_a_healthy_library_changes_nothing(library: Path) -> None:
    def snapshot() -> dict[str, tuple[int, int]]:
        return {
            str(p.relative_to(library)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in library.rglob("*")
            if p.is_file()
        }

    before = snapshot()
    result = await repair_library(library, embeddings=HashEmbeddings(DIMENSIONS))
    assert result.journal_damage is None and result.restored_from is None and result.index_rebuilt is None
    assert result.experiences == SIZE
    assert sorted(snapshot()) == sorted(before)
    assert snapshot()["journal.sqlite"] == before["journal.sqlite"]


async def test_repair_without_a_good_backup_changes_nothing(library: Path) -> None:
    os.truncate(library / "journal.sqlite", 50_000)
    with pytest.raises(JournalDamaged, match=r"there is no backup in .*nothing was changed"):
        await repair_library(library, embeddings=HashEmbeddings(DIMENSIONS))
    assert (library / "journal.sqlite").stat().st_size == 50_000
    assert not _aside(library, "journal.damaged-*")
