"""The writer lock of a library: one writer (a distillation run, a curation command) at a time.

The lock is a file in the library folder held with ``flock``. The operating system releases it when
the holding process ends, however it ends, so the lock of a crashed or killed run is simply taken by
the next writer: there is no stale lease to clean up. The file records who holds it, for the error
a second writer gets. Each claim opens the file anew, so two claims in one process exclude each other
too.

Readers (search, solve, evaluation, listing) take no lock. With a Chroma server the lock still lives in
the library folder, next to the journal, so it orders the writers of one machine; several processes
may search one library on a server at once.
"""

from __future__ import annotations

import json
import os
import socket
import sys
from pathlib import Path
from typing import IO, Any

from ted.memory.errors import LibraryError
from ted.memory.models import utc_now

LOCK_NAME = "writer.lock"


class LibraryBusy(LibraryError):
    """Another writer holds the library's writer lock.

    Attributes:
        holder: What the lock file says of the holder (``writer``, ``pid``, ``host``, ``since``).
    """

    def __init__(self, message: str, holder: dict[str, Any]) -> None:
        super().__init__(message)
        self.holder = holder


def _describe(holder: dict[str, Any]) -> str:
    text = str(holder.get("writer") or "another writer")
    if holder.get("pid"):
        host = holder.get("host")
        where = f" on {host}" if host and host != socket.gethostname() else ""
        since = f", since {holder['since']}" if holder.get("since") else ""
        text += f" (process {holder['pid']}{where}{since})"
    return text


class WriterLock:
    """An exclusive claim on a library folder, held until `release` (or the end of the process).

    Use it as a context manager, or call `acquire` and `release`::

        with WriterLock(folder, "run 20261201-1200-ab12"):
            ...  # the only writer of this library
    """

    def __init__(self, folder: str | Path, writer: str) -> None:
        self.folder = Path(folder).expanduser().resolve()
        self.writer = writer
        self._file: IO[str] | None = None

    @property
    def path(self) -> Path:
        """The lock file."""
        return self.folder / LOCK_NAME

    def holder(self) -> dict[str, Any]:
        """What the lock file says of its last holder (empty if nothing readable)."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8") or "{}")
        except (OSError, ValueError):
            return {}
        return data if isinstance(data, dict) else {}

    def acquire(self) -> WriterLock:
        """Claim the library, creating its folder if needed.

        Raises:
            LibraryBusy: Another writer holds it; the message names the holder.
        """
        if self._file is not None:
            return self
        import fcntl

        self.folder.mkdir(parents=True, exist_ok=True)
        # Opened without truncating: the holder's description must survive a refused attempt.
        handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 (held until release)
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            holder = self.holder()
            raise LibraryBusy(
                f"library {self.folder} is being written by {_describe(holder)}; wait for it to finish, "
                "or stop it first",
                holder,
            ) from None
        except BaseException:
            handle.close()
            raise
        record = {
            "writer": self.writer,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": utc_now().replace(microsecond=0).isoformat(),
            "command": " ".join(sys.argv[:3]),
        }
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps(record) + "\n")
        handle.flush()
        self._file = handle
        return self

    def release(self) -> None:
        """Give the library up (the lock file stays, naming its last holder)."""
        if self._file is not None:
            self._file.close()  # closing the descriptor releases the flock
            self._file = None

    @property
    def held(self) -> bool:
        """Whether this claim holds the lock now."""
        return self._file is not None

    def __enter__(self) -> WriterLock:
        return self.acquire()

    def __exit__(self, *exc_info: object) -> None:
        self.release()
