"""The library's source of truth: experiences, vectors and the operation journal in one SQLite file.

Every change runs as one ``BEGIN IMMEDIATE`` transaction, which is an atomic compare-and-set across
threads and processes: the operation id is checked, the current records are read, the new records and
their journal entries are written, and the touched ids are queued for the vector index, all or
nothing. The Chroma index is derived data, rebuilt from here whenever it lags (see `VectorIndex`).

Tables: ``experiences`` (current state, one JSON document per id), ``vectors`` (float32 vectors keyed
by the sha256 of the text, so a restored old text needs no new embedding), ``journal`` (one row per
change of one experience, with before and after; its ``seq`` is the library version), ``operations``
(one row per applied operation id, with its result), ``index_pending`` (ids whose index entry may
be stale), ``neighbours`` (each active experience's nearest neighbours when its text was last
indexed: derived data, kept with the index, from which near-duplicates are found without queries)
and ``refusals`` (writes refused for their text, one row per refused text of an operation; outside the
journal, so a refusal never changes the library version). ``CREATE TABLE IF NOT EXISTS`` gives a
library made before a table existed that table when it is opened.

A damaged file (truncated, overwritten) raises `JournalDamaged` wherever SQLite notices it, and
opening checks the file against the size its header records, so a truncated journal is refused
before any read can return part of it.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ted.memory.errors import JournalDamaged, LibraryError
from ted.memory.models import Experience, JournalEntry, OperationRecord, Refusal, Status, utc_now

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS experiences (
    id TEXT PRIMARY KEY, status TEXT NOT NULL, text_sha TEXT NOT NULL, data TEXT NOT NULL);
-- Covers the active ids and their text hashes, so listing active vectors never reads the documents.
CREATE INDEX IF NOT EXISTS experiences_by_status ON experiences (status, id, text_sha);
CREATE TABLE IF NOT EXISTS vectors (text_sha TEXT PRIMARY KEY, vector BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS journal (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, op_id TEXT NOT NULL, kind TEXT NOT NULL,
    experience_id TEXT NOT NULL, before TEXT, after TEXT, reason TEXT NOT NULL, step TEXT, at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS journal_by_experience ON journal (experience_id, seq);
CREATE TABLE IF NOT EXISTS operations (
    op_id TEXT PRIMARY KEY, kind TEXT NOT NULL, result TEXT NOT NULL,
    first_seq INTEGER, last_seq INTEGER, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS index_pending (id TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS neighbours (id TEXT PRIMARY KEY, ids TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS refusals (
    op_id TEXT NOT NULL, position INTEGER NOT NULL, kind TEXT NOT NULL, targets TEXT NOT NULL,
    text TEXT NOT NULL, reason TEXT NOT NULL, message TEXT NOT NULL, step TEXT, at TEXT NOT NULL,
    PRIMARY KEY (op_id, position));
"""

REFUSED_TEXT_CHARS = 2000
"""How much of a refused text is kept."""


# SQLITE_CORRUPT and SQLITE_NOTADB (primary codes; extended codes carry them in the low byte).
_DAMAGE_CODES = (11, 26)


def is_damage(exc: sqlite3.DatabaseError) -> bool:
    """Whether SQLite reported ``exc`` because the file itself is damaged (not locked, not full)."""
    code = getattr(exc, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in _DAMAGE_CODES


def truncation(path: Path) -> str | None:
    """Why the SQLite file at ``path`` is shorter than its header says, or None if it is not.

    SQLite reads a missing page as zeros and only complains when a query reaches it, so a truncated
    file could answer some reads; its header records the database size, which makes the check cheap.
    """
    with path.open("rb") as file:
        header = file.read(100)
    if len(header) < 100:
        return f"it is {len(header)} bytes long, shorter than a SQLite header"
    page_size = int.from_bytes(header[16:18], "big")
    page_size = 65536 if page_size == 1 else page_size
    pages = int.from_bytes(header[28:32], "big")
    # The recorded size is valid when the change counter matches the version-valid-for number.
    if header[24:28] != header[92:96] or not pages:
        return None
    size = path.stat().st_size
    if size < pages * page_size:
        return f"it is {size} bytes long but holds {pages} pages of {page_size} bytes"
    return None


def journal_damaged(path: Path, problem: object) -> JournalDamaged:
    """The error for a damaged journal file, saying what to do about it."""
    return JournalDamaged(
        f"the journal of library {path.parent} ({path.name}) is damaged: {problem}; run "
        f"`ted experiences repair --library {path.parent}` to restore it from its last backup"
    )


def text_sha(text: str) -> str:
    """The key of a text's vector."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _load(data: str | None) -> Experience | None:
    return None if data is None else Experience.model_validate_json(data)


class Transaction:
    """The writes of one operation; created by `LibraryDatabase.apply`."""

    def __init__(self, connection: sqlite3.Connection, op_id: str) -> None:
        self._connection = connection
        self.op_id = op_id
        self.touched: dict[str, None] = {}
        self.seqs: list[int] = []

    def get(self, experience_id: str) -> Experience | None:
        """The current state of an experience inside this transaction."""
        row = self._connection.execute(
            "SELECT data FROM experiences WHERE id = ?", (experience_id,)
        ).fetchone()
        return _load(row[0]) if row else None

    def has_vector(self, sha: str) -> bool:
        """Whether a vector for this text hash is stored."""
        return (
            self._connection.execute("SELECT 1 FROM vectors WHERE text_sha = ?", (sha,)).fetchone()
            is not None
        )

    def put_vector(self, sha: str, vector: bytes) -> None:
        """Store the vector of a text (kept forever: rollback may bring the text back)."""
        self._connection.execute("INSERT OR IGNORE INTO vectors VALUES (?, ?)", (sha, vector))

    def write(
        self,
        kind: str,
        experience_id: str,
        before: Experience | None,
        after: Experience | None,
        *,
        reason: str = "",
        step: str | None = None,
        reindex: bool = True,
    ) -> None:
        """Replace the record of one experience (None removes it) and journal the change.

        ``reindex=False`` is for changes the vector index does not see (usage counts).
        """
        if after is None:
            self._connection.execute("DELETE FROM experiences WHERE id = ?", (experience_id,))
        else:
            self._connection.execute(
                "INSERT OR REPLACE INTO experiences VALUES (?, ?, ?, ?)",
                (experience_id, after.status.value, text_sha(after.text), after.model_dump_json()),
            )
        cursor = self._connection.execute(
            "INSERT INTO journal (op_id, kind, experience_id, before, after, reason, step, at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                self.op_id,
                kind,
                experience_id,
                None if before is None else before.model_dump_json(),
                None if after is None else after.model_dump_json(),
                reason,
                step,
                utc_now().isoformat(),
            ),
        )
        assert cursor.lastrowid is not None
        self.seqs.append(cursor.lastrowid)
        if reindex:
            self.touched[experience_id] = None

    def states_at(self, version: int) -> dict[str, Experience | None]:
        """For every experience changed after ``version``: its state at that version (None: absent)."""
        rows = self._connection.execute(
            "SELECT experience_id, before FROM journal WHERE seq IN "
            "(SELECT MIN(seq) FROM journal WHERE seq > ? GROUP BY experience_id) ORDER BY seq",
            (version,),
        ).fetchall()
        return {experience_id: _load(before) for experience_id, before in rows}


class LibraryDatabase:
    """Thread-safe access to the library's SQLite file (one connection, guarded by a lock)."""

    def __init__(self, path: Path, *, create: bool = True) -> None:
        """Open the file at ``path`` (creating it if ``create``).

        Raises:
            JournalDamaged: the file is missing (and ``create`` is false), truncated or not a database.
        """
        self.path = path
        self._lock = threading.RLock()
        if not create and not path.is_file():
            raise journal_damaged(path, "the file is missing")
        if path.is_file() and (problem := truncation(path)):
            raise journal_damaged(path, problem)
        self._connection = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=60)
        try:
            with self._guard():
                self._connection.execute("PRAGMA journal_mode=WAL")
                # WAL + NORMAL stays consistent after a crash; the last commits may be lost on power failure.
                self._connection.execute("PRAGMA synchronous=NORMAL")
                self._connection.executescript(_SCHEMA)
        except BaseException:
            self._connection.close()
            raise

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._connection.close()

    @contextmanager
    def _guard(self) -> Iterator[None]:
        """Raise `JournalDamaged` for what SQLite reports as a damaged file."""
        try:
            yield
        except sqlite3.DatabaseError as exc:
            if is_damage(exc):
                raise journal_damaged(self.path, exc) from exc
            raise

    @contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        with self._lock, self._guard():
            yield self._connection

    def backup_to(self, target: Path) -> None:
        """Copy the database, with its latest commits, to a new file (SQLite's online backup).

        Raises:
            JournalDamaged: the journal is damaged (nothing sensible can be copied).
        """
        with self._read() as db:
            destination = sqlite3.connect(target)
            try:
                db.backup(destination)
                # A standalone file: readable without -wal and -shm files, even read-only.
                destination.execute("PRAGMA journal_mode=DELETE")
            finally:
                destination.close()

    # -- reads ---------------------------------------------------------------------------------

    def get(self, experience_id: str) -> Experience | None:
        """The current state of one experience, or None."""
        with self._read() as db:
            row = db.execute("SELECT data FROM experiences WHERE id = ?", (experience_id,)).fetchone()
        return _load(row[0]) if row else None

    def get_many(self, ids: Iterable[str]) -> dict[str, Experience]:
        """The current state of the given experiences that exist, by id."""
        wanted = list(dict.fromkeys(ids))
        found: dict[str, Experience] = {}
        with self._read() as db:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                marks = ",".join("?" * len(chunk))
                for row in db.execute(f"SELECT data FROM experiences WHERE id IN ({marks})", chunk):
                    experience = Experience.model_validate_json(row[0])
                    found[experience.id] = experience
        return found

    def list_experiences(self, status: Status | None) -> list[Experience]:
        """All experiences with ``status`` (all of them for None), oldest first."""
        with self._read() as db:
            if status is None:
                rows = db.execute("SELECT data FROM experiences").fetchall()
            else:
                rows = db.execute("SELECT data FROM experiences WHERE status = ?", (status.value,)).fetchall()
        experiences = [Experience.model_validate_json(row[0]) for row in rows]
        experiences.sort(key=lambda e: (e.created_at, e.id))
        return experiences

    def count(self, status: Status | None) -> int:
        """How many experiences have ``status`` (all of them for None)."""
        with self._read() as db:
            if status is None:
                row = db.execute("SELECT COUNT(*) FROM experiences").fetchone()
            else:
                row = db.execute(
                    "SELECT COUNT(*) FROM experiences WHERE status = ?", (status.value,)
                ).fetchone()
        return int(row[0])

    def ids_with_prefix(self, prefix: str, limit: int = 2) -> list[str]:
        """Ids that start with ``prefix`` (at most ``limit``)."""
        escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        with self._read() as db:
            rows = db.execute(
                "SELECT id FROM experiences WHERE id LIKE ? ESCAPE '\\' ORDER BY id LIMIT ?",
                (escaped + "%", limit),
            ).fetchall()
        return [row[0] for row in rows]

    def index_entries(self, ids: Iterable[str]) -> dict[str, tuple[Experience, bytes]]:
        """Active experiences among ``ids`` with their vectors (what the index should hold for them)."""
        wanted = list(dict.fromkeys(ids))
        found: dict[str, tuple[Experience, bytes]] = {}
        with self._read() as db:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                marks = ",".join("?" * len(chunk))
                rows = db.execute(
                    "SELECT e.data, v.vector FROM experiences e JOIN vectors v ON v.text_sha = e.text_sha "
                    f"WHERE e.status = 'active' AND e.id IN ({marks})",
                    chunk,
                )
                for data, vector in rows:
                    experience = Experience.model_validate_json(data)
                    found[experience.id] = (experience, vector)
        return found

    def active_vectors(self) -> list[tuple[str, bytes]]:
        """(id, vector) of every active experience, ordered by id."""
        with self._read() as db:
            rows = db.execute(
                "SELECT e.id, v.vector FROM experiences e JOIN vectors v ON v.text_sha = e.text_sha "
                "WHERE e.status = 'active' ORDER BY e.id"
            ).fetchall()
        return [(row[0], row[1]) for row in rows]

    def active_ids(self) -> set[str]:
        """Ids of every active experience."""
        with self._read() as db:
            return {row[0] for row in db.execute("SELECT id FROM experiences WHERE status = 'active'")}

    def vectors(self, shas: Iterable[str]) -> dict[str, bytes]:
        """Stored vectors for the given text hashes."""
        wanted = list(dict.fromkeys(shas))
        found: dict[str, bytes] = {}
        with self._read() as db:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                marks = ",".join("?" * len(chunk))
                for sha, vector in db.execute(
                    f"SELECT text_sha, vector FROM vectors WHERE text_sha IN ({marks})", chunk
                ):
                    found[sha] = vector
        return found

    def version(self) -> int:
        """The library version: the number of the last journal entry (0 for a new library)."""
        with self._read() as db:
            row = db.execute("SELECT MAX(seq) FROM journal").fetchone()
        return int(row[0] or 0)

    def kept_apart(self) -> list[list[str]]:
        """The groups of experience ids that a keep_apart operation recorded, oldest first."""
        with self._read() as db:
            rows = db.execute(
                "SELECT op_id, experience_id FROM journal WHERE kind = 'keep_apart' ORDER BY seq"
            ).fetchall()
        groups: dict[str, list[str]] = {}
        for op_id, experience_id in rows:
            groups.setdefault(op_id, []).append(experience_id)
        return list(groups.values())

    def history(self, experience_id: str) -> list[JournalEntry]:
        """Every journal entry of one experience, oldest first."""
        with self._read() as db:
            rows = db.execute(
                "SELECT seq, op_id, kind, experience_id, before, after, reason, step, at FROM journal "
                "WHERE experience_id = ? ORDER BY seq",
                (experience_id,),
            ).fetchall()
        return [
            JournalEntry(
                seq=seq,
                op_id=op_id,
                kind=kind,
                experience_id=eid,
                before=_load(before),
                after=_load(after),
                reason=reason,
                step=step,
                at=at,
            )
            for seq, op_id, kind, eid, before, after, reason, step, at in rows
        ]

    def operation(self, op_id: str) -> tuple[OperationRecord, list[Experience]] | None:
        """An applied operation and the experiences it returned, or None if ``op_id`` is unknown."""
        with self._read() as db:
            return self._operation(db, op_id)

    @staticmethod
    def _operation(db: sqlite3.Connection, op_id: str) -> tuple[OperationRecord, list[Experience]] | None:
        row = db.execute(
            "SELECT kind, result, first_seq, last_seq, at FROM operations WHERE op_id = ?", (op_id,)
        ).fetchone()
        if row is None:
            return None
        kind, result, first_seq, last_seq, at = row
        results = [Experience.model_validate(item) for item in json.loads(result)]
        record = OperationRecord(
            op_id=op_id,
            kind=kind,
            experience_ids=[e.id for e in results],
            first_seq=first_seq,
            last_seq=last_seq,
            at=at,
        )
        return record, results

    def get_meta(self, key: str) -> str | None:
        """A value of the library's key/value metadata."""
        with self._read() as db:
            row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        """Set a value of the library's key/value metadata."""
        with self._read() as db:
            db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def pending_index(self) -> list[str]:
        """Ids whose index entry may be stale."""
        with self._read() as db:
            return [row[0] for row in db.execute("SELECT id FROM index_pending")]

    def clear_pending(self, ids: Iterable[str]) -> None:
        """Forget ids whose index entry is now current."""
        with self._read() as db:
            db.executemany("DELETE FROM index_pending WHERE id = ?", [(i,) for i in ids])

    def active_neighbours(self) -> dict[str, list[str]]:
        """The stored neighbour lists (kept for active experiences only, current with the index)."""
        with self._read() as db:
            rows = db.execute("SELECT id, ids FROM neighbours").fetchall()
        return {experience_id: listed.split() for experience_id, listed in rows}

    def set_neighbours(self, rows: Iterable[tuple[str, list[str]]], *, retired: Iterable[str] = ()) -> None:
        """Store (id, neighbour ids) rows, replacing older lists, and drop the lists of ``retired`` ids."""
        with self._read() as db:
            db.executemany(
                "INSERT OR REPLACE INTO neighbours VALUES (?, ?)",
                [(experience_id, " ".join(listed)) for experience_id, listed in rows],
            )
            db.executemany("DELETE FROM neighbours WHERE id = ?", [(i,) for i in retired])

    def refusals(self, *, op_id: str | None = None) -> list[Refusal]:
        """The recorded refusals (of one operation, if ``op_id`` is given), oldest first."""
        query = "SELECT op_id, position, kind, targets, text, reason, message, step, at FROM refusals"
        with self._read() as db:
            if op_id is None:
                rows = db.execute(f"{query} ORDER BY rowid").fetchall()
            else:
                rows = db.execute(f"{query} WHERE op_id = ? ORDER BY rowid", (op_id,)).fetchall()
        return [
            Refusal(
                op_id=row_op_id,
                position=position,
                kind=kind,
                experience_ids=json.loads(targets),
                text=text,
                reason=reason,
                message=message,
                step=step,
                at=at,
            )
            for row_op_id, position, kind, targets, text, reason, message, step, at in rows
        ]

    # -- writes --------------------------------------------------------------------------------

    def record_refusal(self, refusal: Refusal) -> Refusal:
        """Keep a refusal, unless its operation and position were recorded before; returns the kept one.

        A resumed run that repeats a refused operation thus records it once. The journal is not
        touched, so the library version stays as it was.
        """
        with self._read() as db:
            db.execute(
                "INSERT OR IGNORE INTO refusals VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    refusal.op_id,
                    refusal.position,
                    refusal.kind,
                    json.dumps(refusal.experience_ids),
                    refusal.text[:REFUSED_TEXT_CHARS],
                    refusal.reason.value,
                    refusal.message,
                    refusal.step,
                    refusal.at.isoformat(),
                ),
            )
        return next(r for r in self.refusals(op_id=refusal.op_id) if r.position == refusal.position)

    def apply(
        self, op_id: str, kind: str, change: Callable[[Transaction], list[Experience]]
    ) -> tuple[list[Experience], list[str], bool]:
        """Run ``change`` as operation ``op_id`` in one transaction, unless that id was applied before.

        Returns:
            The experiences the operation returns (the recorded ones on a repeat), the ids whose index
            entries must be refreshed, and whether the operation was applied now.

        Raises:
            LibraryError: ``op_id`` was used before for another kind of operation.
        """
        with self._lock, self._guard():
            db = self._connection
            db.execute("BEGIN IMMEDIATE")
            try:
                recorded = self._operation(db, op_id)
                if recorded is not None:
                    db.execute("COMMIT")
                    record, results = recorded
                    if record.kind != kind:
                        raise LibraryError(
                            f"operation id {op_id!r} was already used for a {record.kind}, not a {kind}; "
                            "use a new operation id"
                        )
                    return results, [], False
                transaction = Transaction(db, op_id)
                results = change(transaction)
                db.execute(
                    "INSERT INTO operations VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        op_id,
                        kind,
                        json.dumps([e.model_dump(mode="json") for e in results]),
                        min(transaction.seqs, default=None),
                        max(transaction.seqs, default=None),
                        utc_now().isoformat(),
                    ),
                )
                db.executemany(
                    "INSERT OR IGNORE INTO index_pending VALUES (?)", [(i,) for i in transaction.touched]
                )
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        return results, list(transaction.touched), True
