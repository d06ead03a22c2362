"""Using a library's embedded vector index, and rebuilding it from the journal when it is damaged.

The journal holds every active experience with its vector, so an embedded Chroma index that fails (on
open, or when a search fails) is moved aside and built again from it, with a warning on the
``ted.memory`` logger. A failure is taken for damage only when a check confirms it twice, a moment
apart: an index that another process is writing may look damaged once, while damage stays. A Chroma
server's failures are the server's, and are raised as they are.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from ted.memory.database import LibraryDatabase
from ted.memory.errors import LibraryError
from ted.memory.index import VectorIndex

CONFIRM_DAMAGE_SECONDS = 0.5
"""How long to wait before checking a damaged-looking index again, before rebuilding it."""

logger = logging.getLogger("ted.memory")
T = TypeVar("T")

# Chroma's messages for a SQLite file that another connection holds (SQLITE_BUSY, SQLITE_LOCKED).
_BUSY = ("database is locked", "database table is locked", "(code: 5)", "(code: 6)")


def _index_failure(exc: BaseException) -> bool:
    """Whether ``exc`` is a failure of Chroma that damage may explain.

    Not an interruption, not one of the library's errors, and not a busy database: a file that
    another connection holds is in use, not damaged.
    """
    if isinstance(exc, LibraryError) or any(busy in str(exc) for busy in _BUSY):
        return False
    # Chroma's Rust core reports some damage as a panic, which is not an Exception.
    return isinstance(exc, Exception) or type(exc).__name__ == "PanicException"


class IndexRecovery:
    """Uses ``index`` for the library at ``path``, rebuilding it from ``database`` if it is damaged.

    ``lock`` is the library's write lock, which a rebuild holds.

    Attributes:
        rebuilt: The warning given when the index was found damaged and rebuilt (None: it was not).
    """

    def __init__(
        self, index: VectorIndex, database: LibraryDatabase, lock: threading.Lock, path: Path
    ) -> None:
        self._index = index
        self._db = database
        self._lock = lock
        self._path = path
        self.rebuilt: str | None = None

    def reconcile(self) -> None:
        """Bring the index in line with the records (after a crash, or a new Chroma server).

        An embedded index that fails on the way, or fails `VectorIndex.check` after, is rebuilt. The
        caller holds the write lock.
        """
        if not self._index.embedded:
            self._index.reconcile(self._db)
            return
        try:
            self._index.reconcile(self._db)
        except BaseException as exc:
            if not _index_failure(exc):
                raise
            self._recover(exc)
            return
        self._recover(None)

    def use(self, operation: Callable[[], T], *, locked: bool) -> T:
        """``operation()``; if it fails because the embedded index is damaged, rebuild it and retry.

        ``locked``: the caller holds the write lock (a rebuild needs it).
        """
        try:
            return operation()
        except BaseException as exc:
            if not self._index.embedded or not _index_failure(exc):
                raise
            if locked:
                self._recover(exc)
            else:
                with self._lock:
                    self._recover(exc)
        return operation()

    def _recover(self, error: BaseException | None) -> None:
        """Rebuild the index if it is damaged (after ``error``, if any); otherwise raise ``error`` again.

        The check is made twice, a moment apart, with fresh clients: an index that another process is
        writing at that moment may look damaged once, while damage stays.
        """
        problem = self._problem(error)
        if problem is not None:
            time.sleep(CONFIRM_DAMAGE_SECONDS)
            self._index.close()
            if self._problem(None) is None:
                problem = None
        if problem is None:
            if error is not None:
                raise error
            return
        self._rebuild(problem)

    def _problem(self, error: BaseException | None) -> str | None:
        """What is wrong with the embedded index, after ``error`` (if any) came from using it."""
        if error is not None:
            self._index.close()  # a failed client may keep failing; the check gets a fresh one
        try:
            return self._index.check(self._db)
        except BaseException as exc:
            if not _index_failure(exc):
                raise
            # The first error says what is wrong; a client that failed once may fail differently.
            first = error or exc
            return " ".join(f"{type(first).__name__}: {first}".split())[:300]

    def _rebuild(self, problem: str) -> None:
        """Move the damaged embedded index aside and index every active experience again."""
        moved = self._index.set_aside("damaged")
        try:
            self._index.reconcile(self._db)
        except LibraryError:
            raise
        except Exception as exc:
            raise LibraryError(
                f"the vector index of library {self._path} was damaged ({problem}) and rebuilding it "
                f"failed: {exc}"
            ) from exc
        kept = f"moved it to {moved.name} and " if moved is not None else ""
        self.rebuilt = (
            f"the vector index of library {self._path} was damaged ({problem}); {kept}rebuilt it from "
            f"the journal ({self._index.count()} experiences)"
        )
        logger.warning("%s", self.rebuilt)
