"""`repair_library`: bring a damaged library back from its last good backup.

The journal (``journal.sqlite``) is the source of truth and the vector index is derived from it. A
journal that is missing, cut short or fails ``PRAGMA integrity_check`` is moved aside (to
``journal.damaged-<UTC time>.sqlite``, with its ``-wal`` and ``-shm`` files: nothing is deleted) and
the newest backup that passes the check takes its place; the index, which followed the lost
operations too, is then rebuilt from the restored journal. A healthy journal is left as it is; the
library is opened, which rebuilds a damaged index (see `ExperienceStore.open`).
"""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path

from langchain_core.embeddings import Embeddings

from ted.memory.backups import BACKUPS_DIR, file_problem, list_backups, operations_after
from ted.memory.errors import JournalDamaged, LibraryNotFound
from ted.memory.index import VectorIndex
from ted.memory.library import CHROMA_DIR, JOURNAL_NAME, MANIFEST_NAME, read_manifest
from ted.memory.models import Backup, RepairResult, utc_now
from ted.memory.store import ExperienceStore


async def repair_library(
    path: str | Path, *, embeddings: Embeddings | None = None, chroma_url: str | None = None
) -> RepairResult:
    """Check the library in folder ``path`` and restore its journal from the last good backup if damaged.

    Args:
        path: The library folder.
        embeddings: The embeddings to open it with (None: its recorded model).
        chroma_url: The Chroma server holding its index, if it is not embedded.

    Raises:
        LibraryNotFound: no library at ``path``.
        JournalDamaged: the journal is damaged and no backup passes the check; nothing was changed.
    """
    folder = await asyncio.to_thread(lambda: Path(path).expanduser().absolute())
    damage, restored, damaged_journal, lost, moved_index = await asyncio.to_thread(
        _restore, folder, embedded=chroma_url is None
    )
    store = await ExperienceStore.aopen(folder, embeddings=embeddings, chroma_url=chroma_url, create=False)
    try:
        rebuilt = store.index_rebuilt
        if damage is not None:
            if chroma_url is not None:
                await store.rebuild_index()
            kept = f" (the old one is in {moved_index.name})" if moved_index is not None else ""
            rebuilt = f"rebuilt from the restored journal{kept}"
        return RepairResult(
            library=folder,
            journal_damage=damage,
            restored_from=restored,
            damaged_journal=damaged_journal,
            lost_operations=lost,
            index_rebuilt=rebuilt,
            version=await store.current_version(),
            experiences=await store.count(),
        )
    finally:
        store.close()


def _restore(
    folder: Path, *, embedded: bool
) -> tuple[str | None, Backup | None, Path | None, int | None, Path | None]:
    """Put the newest good backup in place of a damaged journal.

    Returns:
        What was wrong with the journal (None: nothing, and nothing was done), the backup restored,
        where the damaged journal went, how many operations it had after the backup (None: unknown),
        and where the embedded index went.
    """
    manifest = read_manifest(folder)
    if manifest is None:
        raise LibraryNotFound(f"no experience library at {folder} (no {MANIFEST_NAME}); check the path")
    journal = folder / JOURNAL_NAME
    damage = file_problem(journal, full=True)
    if damage is None:
        return None, None, None, None, None
    restored = _good_backup(folder, journal, damage)
    lost = operations_after(journal, restored.version) if journal.is_file() else None
    damaged_journal = _set_aside(journal)
    _copy(restored.path, journal)
    moved_index = None
    if embedded:
        # The index followed the operations the backup lacks: it is rebuilt from the backup.
        index = VectorIndex(folder=folder / CHROMA_DIR, url=None, collection=manifest.collection)
        moved_index = index.set_aside("replaced")
    return damage, restored, damaged_journal, lost, moved_index


def _good_backup(folder: Path, journal: Path, damage: str) -> Backup:
    """The newest backup that passes ``PRAGMA integrity_check``."""
    found = list_backups(folder)
    for backup in found:
        if file_problem(backup.path, full=True) is None:
            return backup
    checked = f"none of the {len(found)} backups in" if found else "there is no backup in"
    raise JournalDamaged(
        f"the journal of library {folder} ({journal.name}) is damaged ({damage}) and {checked} "
        f"{folder / BACKUPS_DIR} passes SQLite's integrity check; nothing was changed. Recover what "
        "is still readable with `sqlite3 journal.sqlite .recover`, or import an export into a new library"
    )


def _set_aside(journal: Path) -> Path | None:
    """Move the damaged journal and its WAL files to ``journal.damaged-<UTC time>.sqlite``."""
    if not journal.is_file():
        return None
    stamp = utc_now().strftime("%Y%m%dT%H%M%SZ")
    target = journal.with_name(f"{journal.stem}.damaged-{stamp}{journal.suffix}")
    n = 1
    while target.exists():
        n += 1
        target = journal.with_name(f"{journal.stem}.damaged-{stamp}-{n}{journal.suffix}")
    # The WAL files go first: a -wal left beside the restored file would be replayed into it.
    for suffix in ("-wal", "-shm"):
        companion = journal.with_name(journal.name + suffix)
        if companion.exists():
            os.replace(companion, target.with_name(target.name + suffix))
    os.replace(journal, target)
    return target


def _copy(source: Path, target: Path) -> None:
    """Copy ``source`` to ``target`` atomically (a half-copied journal is never in place)."""
    temporary = target.with_name(f".{target.name}.restoring")
    shutil.copyfile(source, temporary)
    os.replace(temporary, target)
