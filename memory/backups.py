"""Backups of a library's journal, in ``<library>/backups/``, and SQLite's checks of journal files.

A backup is made with SQLite's online backup API, so it is consistent while the library is in use.
It is written under a temporary name, checked (``PRAGMA quick_check``) and only then renamed to
``journal-<UTC time>-v<version>.sqlite``: a file with that name is a finished copy, and a damaged
journal never pushes a good backup out. The newest `KEPT` backups are kept; older ones are removed
as new ones are made. Distillation runs back up at their start and end, and ``ted experiences
import`` and ``compress`` before they change anything; `ted.memory.repair_library` restores from
the newest backup that passes ``PRAGMA integrity_check``.
"""

from __future__ import annotations

import os
import re
import sqlite3
import uuid
from datetime import UTC, datetime
from pathlib import Path

from ted.memory.database import LibraryDatabase, is_damage, journal_damaged, truncation
from ted.memory.models import Backup, utc_now

BACKUPS_DIR = "backups"
KEPT = 5
"""Backups kept per library."""

_NAME = re.compile(r"^journal-(\d{8}T\d{12})Z-v(\d+)\.sqlite$")
_STAMP = "%Y%m%dT%H%M%S%f"


def list_backups(folder: Path) -> list[Backup]:
    """The finished backups of the library in ``folder``, newest first."""
    found = []
    for path in (folder / BACKUPS_DIR).glob("journal-*.sqlite"):
        if match := _NAME.match(path.name):
            at = datetime.strptime(match[1], _STAMP).replace(tzinfo=UTC)
            found.append(Backup(path=path, at=at, version=int(match[2])))
    found.sort(key=lambda b: (b.at, b.version), reverse=True)
    return found


def file_problem(path: Path, *, full: bool) -> str | None:
    """What is wrong with the SQLite file at ``path`` (None: nothing), without changing it.

    ``full`` runs ``PRAGMA integrity_check`` (every page and index), else the faster ``quick_check``.
    """
    if not path.is_file():
        return "the file is missing"
    if problem := truncation(path):
        return problem
    try:
        connection = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True)
        try:
            rows = connection.execute(f"PRAGMA {'integrity_check' if full else 'quick_check'}").fetchall()
        finally:
            connection.close()
    except sqlite3.DatabaseError as exc:
        return str(exc)
    messages = [str(row[0]) for row in rows]
    return None if messages == ["ok"] else "; ".join(messages[:3])


def summary(path: Path) -> tuple[int, int]:
    """The library version and the number of active experiences in the journal file at ``path``."""
    connection = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True)
    try:
        version = connection.execute("SELECT MAX(seq) FROM journal").fetchone()[0]
        active = connection.execute("SELECT COUNT(*) FROM experiences WHERE status = 'active'").fetchone()[0]
    finally:
        connection.close()
    return int(version or 0), int(active)


def operations_after(path: Path, version: int) -> int | None:
    """How many operations the journal file at ``path`` recorded after ``version`` (None: unreadable)."""
    try:
        connection = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True)
        try:
            query = "SELECT COUNT(*) FROM operations WHERE first_seq > ?"
            row = connection.execute(query, (version,)).fetchone()
        finally:
            connection.close()
    except sqlite3.DatabaseError:
        return None
    return int(row[0])


def make_backup(database: LibraryDatabase, folder: Path, *, keep: int = KEPT) -> Backup | None:
    """Back up the journal of the library in ``folder``; None when the newest backup holds this version.

    Raises:
        JournalDamaged: the journal is damaged (its copy fails the check); no backup is removed.
    """
    existing = list_backups(folder)
    if existing and existing[0].version == database.version():
        return None
    (folder / BACKUPS_DIR).mkdir(exist_ok=True)
    temporary = folder / BACKUPS_DIR / f".journal-{uuid.uuid4().hex}.tmp"
    try:
        database.backup_to(temporary)
        if problem := file_problem(temporary, full=False):
            raise journal_damaged(database.path, f"its backup copy fails SQLite's check ({problem})")
        version, _ = summary(temporary)
        at = utc_now()
        path = folder / BACKUPS_DIR / f"journal-{at.strftime(_STAMP)}Z-v{version}.sqlite"
        os.replace(temporary, path)
    except sqlite3.DatabaseError as exc:
        if is_damage(exc):
            raise journal_damaged(database.path, exc) from exc
        raise
    finally:
        temporary.unlink(missing_ok=True)
    for old in list_backups(folder)[max(keep, 1) :]:
        old.path.unlink(missing_ok=True)
    return Backup(path=path, at=at, version=version)
