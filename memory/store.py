"""`ExperienceStore`: the experience library, on SQLite (records, journal) and Chroma (vector index).

A library is a folder holding a manifest, the SQLite journal and the embedded Chroma index (see
`ted.memory.library`). Every change is one operation with an id. If that id is already in the journal,
the call changes nothing and returns the recorded result; that is how a resumed run avoids repeating an
operation. Every text an operation would store is screened first (`ted.memory.screening`): a refused
text changes nothing, is recorded (see `refusals`) and raises `TextRefused`; an import leaves out only
the refused experiences. Changes are atomic (one SQLite transaction, a compare-and-set even across
processes) and safe under many concurrent coroutines and threads. The vector index takes in the
committed changes in a worker thread a moment after they were written, or first when it is read (a
search, a compression's neighbour lists) or when the store closes, so that a write never waits on it and
a burst of writes costs one index update; changes a crash left out of it are taken in when the library
is opened again. An embedded index found damaged (on open, or when a search fails) is moved aside and
rebuilt from the journal, with a warning on the ``ted.memory`` logger (`ted.memory.index_recovery`).
`backup` copies the journal into ``backups/`` (see `ted.memory.backups`). An embedded Chroma index
belongs to one process at a time: processes that share a library should use a Chroma server. All methods
that touch disk, Chroma or a model run in worker threads and never block the event loop.

Example:
    >>> store = ExperienceStore.open("library", embeddings=get_embeddings("hash"))  # doctest: +SKIP
    >>> e = await store.add("Check the units before comparing options.", tags=["physics"])  # doctest: +SKIP
    >>> [hit.experience.id for hit in await store.search("units")]  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

from ted.memory import backups, changes
from ted.memory.database import Transaction, text_sha
from ted.memory.errors import EmbeddingMismatch, ExperienceNotFound, LibraryError, TextRefused
from ted.memory.index import Vectors, tag_filter, to_array
from ted.memory.index_recovery import IndexRecovery
from ted.memory.library import OpenedLibrary, open_library
from ted.memory.models import (
    Backup,
    Experience,
    InsertResult,
    JournalEntry,
    LibraryStats,
    OperationRecord,
    Origin,
    Provenance,
    Refusal,
    RefusedKind,
    ScoredExperience,
    Status,
    Timeline,
    UsageStats,
    normalize_tags,
    utc_now,
    utility,
)
from ted.memory.screening import screen_text
from ted.memory.text_vectors import TextVectors

INDEX_AFTER_S = 0.05
"""How long after a write the index takes it in, in a worker thread (unless a read has first): the
writer's next model call goes out first, and the next reader, an item starting or a compression, finds
the index up to date instead of making the Chroma upsert on its own way."""

logger = logging.getLogger("ted.memory")

# One write lock per library folder in this process, so that index updates follow commit order.
_WRITE_LOCKS: dict[Path, threading.Lock] = {}
_WRITE_LOCKS_GUARD = threading.Lock()


def _write_lock(path: Path) -> threading.Lock:
    with _WRITE_LOCKS_GUARD:
        return _WRITE_LOCKS.setdefault(path, threading.Lock())


@dataclass
class _QueuedWrite:
    """An operation waiting to be applied by whichever writer holds the write lock."""

    op_id: str
    kind: str
    change: Callable[[Transaction], list[Experience]]
    results: list[Experience] = field(default_factory=list)
    touched: bool = False
    """Whether it changed what the index holds."""
    error: BaseException | None = None
    done: bool = False


def _new_id() -> str:
    return str(uuid.uuid4())


class ExperienceStore:
    """The experience library. Create it with `ExperienceStore.open` (or `aopen` inside async code).

    Attributes:
        path: The library folder.
        embedding_model: The name of the embedding model every vector was made with.
        student_model: The student model the library is for, if recorded.
    """

    def __init__(self, library: OpenedLibrary) -> None:
        self.path = library.folder
        self.embedding_model = library.manifest.embedding_model
        self.student_model = library.student_model
        self._db = library.database
        self._index = library.index
        self._lock = _write_lock(self.path)
        # Writes waiting for the lock; the writer that takes it applies them all (`_write`).
        self._queue: list[_QueuedWrite] = []
        self._queue_guard = threading.Lock()
        self._version = 0
        self._recovery = IndexRecovery(self._index, self._db, self._lock, self.path)
        # Recent texts' embeddings, and those on their way (a search, a `prefetch`), shared by their waiters.
        self._texts = TextVectors(library.embeddings)
        # Whether this store has seen an active experience: until then a search first checks that
        # there is anything to find, and answers an empty library without embedding its query.
        self._held_any = False
        # The vector size found to match the library's (0: not checked yet).
        self._dimensions = 0
        # The index's catch-up after writes, due (a timer) or running (`_take_in_soon`).
        self._take_in: asyncio.TimerHandle | None = None
        self._take_in_loop: asyncio.AbstractEventLoop | None = None
        self._taking_in: set[asyncio.Future[None]] = set()
        self._closed = False

    @property
    def embeddings(self) -> Embeddings:
        """The embeddings that embed new texts and queries."""
        return self._texts.embeddings

    @property
    def index_rebuilt(self) -> str | None:
        """The warning given when this store found its index damaged and rebuilt it (None: it did not)."""
        return self._recovery.rebuilt

    @classmethod
    def open(
        cls,
        path: str | Path,
        *,
        embeddings: Embeddings | None = None,
        chroma_url: str | None = None,
        create: bool = True,
        student_model: str | None = None,
    ) -> ExperienceStore:
        """Open the library in folder ``path``, creating it if allowed.

        Args:
            path: The library folder.
            embeddings: The embeddings to use. None: the library's recorded model (MiniLM for a new one).
            chroma_url: URL of a Chroma server to hold the index instead of the embedded one.
            create: Create a new library when ``path`` holds none.
            student_model: The student model the library is for (recorded when the library has none).

        A damaged embedded index is moved aside and rebuilt from the journal (see `index_rebuilt`).

        Raises:
            LibraryNotFound: no library at ``path`` and ``create`` is false.
            EmbeddingMismatch: ``embeddings`` differ from the model the library was built with.
            JournalDamaged: the journal is missing or damaged (`ted.memory.repair_library` restores it).
        """
        store = cls(
            open_library(
                Path(path),
                embeddings=embeddings,
                chroma_url=chroma_url,
                create=create,
                student_model=student_model,
            )
        )
        try:
            store._reconcile()
        except BaseException:
            store.close()
            raise
        return store

    @classmethod
    async def aopen(
        cls,
        path: str | Path,
        *,
        embeddings: Embeddings | None = None,
        chroma_url: str | None = None,
        create: bool = True,
        student_model: str | None = None,
    ) -> ExperienceStore:
        """`open` in a worker thread (it reads files and may rebuild the index); same arguments."""
        return await asyncio.to_thread(
            lambda: cls.open(
                path, embeddings=embeddings, chroma_url=chroma_url, create=create, student_model=student_model
            )
        )

    def close(self) -> None:
        """Index the changes still pending, then release the Chroma client and the database connection.

        When the index cannot take them in now, they stay pending in the journal, and the next open
        of the library indexes them.
        """
        try:
            with self._lock:
                self._closed = True  # a catch-up still due finds the store closed and does nothing
                self._index.follow_pending(self._db)
        except Exception as exc:
            logger.warning(
                "library %s: the vector index is left behind the journal until it is opened again (%s)",
                self.path,
                exc,
            )
        finally:
            self._index.close()
            self._db.close()

    def __enter__(self) -> ExperienceStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @property
    def version(self) -> int:
        """The library version (the number of the last journal entry; 0 for an empty library).

        This is the version as of this store's opening, its own last change or its last
        `current_version` call; reading it never touches the disk, so it is safe inside an event loop
        (``langgraph dev`` rejects blocking calls there). Changes made through other store objects
        or processes show after `await store.current_version()`.
        """
        return self._version

    def _saw_version(self, version: int) -> int:
        self._version = max(self._version, version)
        return self._version

    async def current_version(self) -> int:
        """The library version read from the journal now (also refreshes `version`)."""
        return self._saw_version(await asyncio.to_thread(self._db.version))

    # -- records ---------------------------------------------------------------------------------

    async def get(self, id: str) -> Experience:
        """The experience with this id, whatever its status.

        Raises:
            ExperienceNotFound: no experience has this id.
        """
        experience = await asyncio.to_thread(self._db.get, id)
        if experience is None:
            raise ExperienceNotFound(f"no experience with id {id!r} in library {self.path}")
        return experience

    async def resolve_id(self, id_or_prefix: str) -> str:
        """The full id of the experience whose id is or starts with ``id_or_prefix``.

        Raises:
            ExperienceNotFound: no id matches, or more than one does.
        """
        matches = await asyncio.to_thread(self._db.ids_with_prefix, id_or_prefix.strip())
        if id_or_prefix in matches or len(matches) == 1:
            return id_or_prefix if id_or_prefix in matches else matches[0]
        if not matches or not id_or_prefix.strip():
            raise ExperienceNotFound(f"no experience with id {id_or_prefix!r} in library {self.path}")
        raise ExperienceNotFound(
            f"id prefix {id_or_prefix!r} is ambiguous in library {self.path}; give more of it"
        )

    async def experiences(self, *, status: Status | None = Status.ACTIVE) -> list[Experience]:
        """Experiences with ``status`` (every experience for None), oldest first."""
        return await asyncio.to_thread(self._db.list_experiences, status)

    async def count(self, *, status: Status | None = Status.ACTIVE) -> int:
        """How many experiences have ``status`` (all of them for None)."""
        return await asyncio.to_thread(self._db.count, status)

    async def stats(self) -> LibraryStats:
        """Counts by status, and the summed usage, mean utility and tags of the active experiences."""
        everything = await self.experiences(status=None)
        active = [e for e in everything if e.status is Status.ACTIVE]
        return LibraryStats(
            library=self.path,
            version=await self.current_version(),
            embedding_model=self.embedding_model,
            student_model=self.student_model,
            counts={status.value: sum(e.status is status for e in everything) for status in Status},
            usage=sum((e.stats for e in active), UsageStats()),
            mean_utility=sum(utility(e.stats) for e in active) / len(active) if active else None,
            tags=dict(Counter(t for e in active for t in e.tags).most_common()),
        )

    async def history(self, id: str) -> list[JournalEntry]:
        """Every recorded change of one experience, oldest first.

        Raises:
            ExperienceNotFound: the journal never saw this id.
        """
        entries = await asyncio.to_thread(self._db.history, id)
        if not entries:
            raise ExperienceNotFound(f"no experience with id {id!r} in library {self.path}")
        return entries

    async def refusals(self, experience_id: str | None = None) -> list[Refusal]:
        """Writes the library refused for their text, oldest first.

        Args:
            experience_id: Only the refused writes that targeted this experience (None: all of them).
        """
        found = await asyncio.to_thread(self._db.refusals)
        if experience_id is None:
            return found
        return [r for r in found if experience_id in r.experience_ids]

    async def timeline(self, id_or_prefix: str) -> Timeline:
        """The `history` of one experience and its `refusals`, merged by time.

        ``id_or_prefix`` is resolved like `resolve_id`; an id no longer in the library (removed by a
        rollback, or refused on import) is taken as given, since its records remain.

        Raises:
            ExperienceNotFound: neither the journal nor the refusals know this id.
        """
        try:
            experience_id = await self.resolve_id(id_or_prefix)
        except ExperienceNotFound:
            experience_id = id_or_prefix
        refused = await self.refusals(experience_id)
        try:
            entries = await self.history(experience_id)
        except ExperienceNotFound:
            if not refused:
                raise
            entries = []
        events: list[JournalEntry | Refusal] = [*entries, *refused]
        # Sorting is stable, so at equal times the journal's entries come first, in their order.
        events.sort(key=lambda event: event.at)
        return Timeline(experience_id=experience_id, events=events)

    async def find_operation(self, op_id: str) -> OperationRecord | None:
        """The record of an applied operation, or None if ``op_id`` was never applied."""
        found = await asyncio.to_thread(self._db.operation, op_id)
        return None if found is None else found[0]

    # -- similarity ------------------------------------------------------------------------------

    async def search(
        self,
        query: str,
        *,
        k: int = 5,
        tags: Sequence[str] | None = None,
        exclude_items: Iterable[str] = (),
        candidates: int | None = None,
    ) -> list[ScoredExperience]:
        """The ``k`` active experiences most similar to ``query``, best first.

        Args:
            query: The text to match.
            k: How many results at most.
            tags: Only experiences carrying at least one of these tags (compared lower-cased).
            exclude_items: Leave out experiences learned from any of these item ids (the contamination
                guard: an evaluated item never sees advice distilled from itself).
            candidates: How many nearest neighbours to ask the index for before filtering (default
                ``k``; grown automatically while filters leave fewer than ``k``).
        """
        if not self._held_any:
            if await self.count() == 0:
                return []
            self._held_any = True
        vector = to_array([await self._texts.query(query)])
        tags = normalize_tags(tags) if tags else None
        return await self.search_vectors(
            vector, k=k, tags=tags, exclude_items=exclude_items, candidates=candidates
        )

    def prefetch(self, texts: Iterable[str]) -> None:
        """Start embedding ``texts`` now; a search for one of them, or a write of it, finds it ready.

        For callers that know what comes next: the dataset loop embeds the questions of the items it
        starts next while the items in flight wait on their models, and an editor embeds the texts of a
        model's edits while it looks up what they change. Call it on the event loop that will use them.
        """
        self._texts.prefetch(texts)

    async def search_vectors(
        self,
        vector: Vectors,
        *,
        k: int = 5,
        tags: Sequence[str] | None = None,
        exclude_items: Iterable[str] = (),
        candidates: int | None = None,
    ) -> list[ScoredExperience]:
        """`search` with a query vector (a (1, d) array) that the caller already computed."""
        return await asyncio.to_thread(
            self._search, vector, k, tags, frozenset(exclude_items), candidates or k
        )

    def _search(
        self, vector: Vectors, k: int, tags: Sequence[str] | None, exclude: frozenset[str], wanted: int
    ) -> list[ScoredExperience]:
        if k <= 0:
            return []
        where = tag_filter(tags)
        n = max(k, wanted)
        while True:
            # Under the write lock: a query racing the first vector written into an empty collection
            # fails in Chroma ("Nothing found on disk"), and the index must not move mid-query.
            with self._lock:
                try:
                    hits = self._recovery.use(partial(self._query, vector, n, where), locked=True)[0]
                except LibraryError:
                    raise
                except Exception as exc:
                    raise LibraryError(f"the search of {self.path} failed: {exc}") from exc
            records = self._db.get_many(i for i, _ in hits)
            results = [
                ScoredExperience(experience=e, similarity=s, score=s)
                for i, s in hits
                if (e := records.get(i)) is not None
                and e.status is Status.ACTIVE
                and not exclude.intersection(e.provenance.source_items)
            ]
            if len(results) >= k or len(hits) < n:
                return results[:k]
            n *= 4

    def _query(self, vector: Vectors, n: int, where: dict[str, Any] | None) -> list[list[tuple[str, float]]]:
        self._index.follow_pending(self._db)
        return self._index.query(vector, n, where)

    async def active_vectors(self) -> tuple[list[str], Vectors]:
        """Ids and vectors (an (n, d) float32 array) of every active experience, ordered by id."""
        rows = await asyncio.to_thread(self._db.active_vectors)
        if not rows:
            return [], np.zeros((0, 0), dtype=np.float32)
        return [i for i, _ in rows], to_array([v for _, v in rows])

    async def neighbour_lists(
        self, ids: Sequence[str], vectors: Vectors, *, k: int
    ) -> list[list[tuple[str, float]]]:
        """For each active experience of ``ids`` (rows of ``vectors``), its ``k`` nearest active ones.

        Each comes as (id, cosine similarity), read from the lists recorded when the experiences were
        indexed (see `VectorIndex.neighbour_lists`): this is how near-duplicates are found without
        comparing all pairs.
        """

        def lists() -> list[list[tuple[str, float]]]:
            with self._lock:
                self._index.follow_pending(self._db)
            return self._index.neighbour_lists(self._db, ids, vectors, k)

        return await asyncio.to_thread(self._recovery.use, lists, locked=False)

    async def backup(self, *, keep: int = backups.KEPT) -> Backup | None:
        """Copy the journal to ``backups/`` with SQLite's online backup, keeping the newest ``keep`` copies.

        Safe while the library is in use. Nothing is copied when the newest backup already holds
        the current version (None is returned then). `ted.memory.repair_library` restores the newest
        backup that passes SQLite's integrity check.

        Raises:
            JournalDamaged: the journal is damaged; the backups already made are left as they are.
        """
        return await asyncio.to_thread(backups.make_backup, self._db, self.path, keep=keep)

    async def rebuild_index(self) -> Path | None:
        """Index every active experience again, from the journal's vectors, into a new empty index.

        The embedded index folder is moved to ``chroma.replaced-<UTC time>`` (kept, not deleted); a
        Chroma server's collection is dropped and made again. Nothing is embedded again.

        Returns:
            Where the embedded index went (None: a Chroma server, or there was none).
        """
        return await asyncio.to_thread(self._replace_index)

    def _replace_index(self) -> Path | None:
        with self._lock:
            moved = self._index.reset("replaced")
            self._index.reconcile(self._db)
            return moved

    # -- the write path --------------------------------------------------------------------------

    def _reconcile(self) -> None:
        """Bring the vector index in line with the records (`IndexRecovery.reconcile`)."""
        with self._lock:
            self._saw_version(self._db.version())
            self._recovery.reconcile()

    def _write(
        self, op_id: str, kind: str, change: Callable[[Transaction], list[Experience]]
    ) -> _QueuedWrite:
        """Apply one operation, together with the writes queued beside it.

        Each operation is its own transaction, which records the experiences it changed as pending for
        the index; whichever writer holds the write lock applies every operation queued while it
        waited. The index takes the changes in `INDEX_AFTER_S` later, or at its next read if that comes
        first (`VectorIndex.follow_pending`): a Chroma upsert costs a few ms of CPU whatever its size,
        with the GIL held, so it is made once for a burst of writes and not on the way of the writers,
        whose next model calls go out first.
        """
        write = _QueuedWrite(op_id, kind, change)
        with self._queue_guard:
            self._queue.append(write)
        with self._lock:
            if not write.done:
                with self._queue_guard:
                    batch, self._queue = self._queue, []
                self._write_batch(batch)
        if write.error is not None:
            raise write.error
        return write

    def _write_batch(self, batch: list[_QueuedWrite]) -> None:
        try:
            for write in batch:
                try:
                    write.results, touched, _ = self._db.apply(write.op_id, write.kind, write.change)
                    write.touched = bool(touched)
                except BaseException as exc:
                    write.error = exc
            self._saw_version(self._db.version())
        except BaseException as exc:
            # Nothing is known of the writes of this batch: each of them fails with what went wrong.
            for write in batch:
                write.error = write.error or exc
            raise
        finally:
            for write in batch:
                write.done = True

    async def _apply(
        self, op_id: str | None, kind: str, change: Callable[[Transaction], list[Experience]]
    ) -> list[Experience]:
        write = await asyncio.to_thread(self._write, op_id or _new_id(), kind, change)
        if write.touched:
            self._take_in_soon()
        return write.results

    def _take_in_soon(self) -> None:
        """Have the index take in the pending changes `INDEX_AFTER_S` from now, in a worker thread.

        Reads take pending changes in first anyway (`_query`); this does it while the items wait on
        their models. A failure leaves the changes pending for the next read, which reports it.
        """
        loop = asyncio.get_running_loop()
        if self._closed or (self._take_in is not None and self._take_in_loop is loop):
            return  # one is due already (a timer of a loop that has ended never fires: replace it)
        self._take_in, self._take_in_loop = loop.call_later(INDEX_AFTER_S, self._start_take_in), loop

    def _start_take_in(self) -> None:
        self._take_in = None
        try:
            # Straight to the executor, not through a task: made in the last turns of its event loop, a
            # task may never run (its coroutine left unawaited), or fail with nobody to see it.
            future = asyncio.get_running_loop().run_in_executor(None, self._follow_pending)
        except RuntimeError:
            return  # the loop is shutting its executor down; the next read takes the changes in
        self._taking_in.add(future)
        future.add_done_callback(self._taking_in.discard)

    def _follow_pending(self) -> None:
        try:
            with self._lock:
                if not self._closed:
                    self._index.follow_pending(self._db)
        except Exception as exc:
            logger.debug(
                "library %s: the index takes its pending changes in at the next read (%s)", self.path, exc
            )

    async def _replay(self, op_id: str | None, kind: str) -> list[Experience] | None:
        """The recorded result of operation ``op_id`` if it was applied before, else None."""
        if op_id is None or await asyncio.to_thread(self._db.operation, op_id) is None:
            return None
        return await self._apply(op_id, kind, lambda t: [])

    async def record_refusal(
        self,
        refused: TextRefused,
        *,
        op_id: str,
        kind: RefusedKind,
        text: str,
        experience_ids: Sequence[str] = (),
        position: int = 0,
        step: str | None = None,
    ) -> Refusal:
        """Record a write refused for its text, once per ``op_id`` and ``position``; sets ``refused.refusal``.

        The store calls it for what its own screening refuses; a writer with rules of its own (the
        editor's word limit and item fragments) calls it for those. The library version stays as it was.

        Args:
            refused: The refusal, with its reason and message.
            op_id: The refused operation.
            kind: add, update, merge, rewrite or import.
            text: The refused text (the first 2,000 characters are kept).
            experience_ids: The experiences the write targeted.
            position: Which text of the operation was refused, for operations with several.
            step: The run step, if any.
        """
        refusal = Refusal(
            op_id=op_id,
            position=position,
            kind=kind,
            experience_ids=list(experience_ids),
            text=text,
            reason=refused.reason,
            message=str(refused),
            step=step,
            at=utc_now(),
        )
        refused.refusal = await asyncio.to_thread(self._db.record_refusal, refusal)
        return refused.refusal

    async def _screened(
        self, text: str, *, op_id: str, kind: RefusedKind, experience_ids: Sequence[str], step: str | None
    ) -> str:
        """``text`` as stored, after screening; a refusal is recorded, then raised."""
        try:
            return screen_text(text)
        except TextRefused as refused:
            await self.record_refusal(
                refused, op_id=op_id, kind=kind, text=text, experience_ids=experience_ids, step=step
            )
            raise

    async def _vectors(self, texts: Sequence[str]) -> dict[str, bytes]:
        """Vectors (float32 bytes) by text hash; texts seen before are not embedded again."""
        shas = [text_sha(t) for t in texts]
        known = await asyncio.to_thread(self._db.vectors, shas)
        missing = list(dict.fromkeys(t for t, s in zip(texts, shas, strict=True) if s not in known))
        if missing:
            # Texts embedded lately or on their way (a duplicate check, `prefetch`) are not embedded again.
            fresh = to_array(await self._texts.documents(missing))
            await self._checked_dimensions(fresh.shape[1])
            known.update({text_sha(t): row.tobytes() for t, row in zip(missing, fresh, strict=True)})
        return known

    async def _checked_dimensions(self, dimensions: int) -> None:
        """`_check_dimensions`, once per store: a library's dimensions never change once recorded."""
        if dimensions != self._dimensions:
            await asyncio.to_thread(self._check_dimensions, dimensions)
            self._dimensions = dimensions

    def _check_dimensions(self, dimensions: int) -> None:
        recorded = self._db.get_meta("dimensions")
        if recorded is None:
            self._db.set_meta("dimensions", str(dimensions))
        elif int(recorded) != dimensions:
            raise EmbeddingMismatch(
                f"the embeddings return {dimensions} dimensions but library {self.path} holds "
                f"{recorded}-dimensional vectors of {self.embedding_model}"
            )

    # -- changes ---------------------------------------------------------------------------------

    async def add(
        self,
        text: str,
        *,
        tags: Sequence[str] = (),
        provenance: Provenance | None = None,
        student_model: str | None = None,
        op_id: str | None = None,
        reason: str = "",
        step: str | None = None,
    ) -> Experience:
        """Add a new active experience (provenance defaults to a manual origin).

        Raises:
            TextRefused: the text was refused (and the refusal recorded); nothing was added.
        """
        added = await self.add_many(
            [text],
            tags=[tags],
            provenance=provenance,
            student_model=student_model,
            op_id=op_id,
            reason=reason,
            step=step,
        )
        return added[0]

    async def add_many(
        self,
        texts: Sequence[str],
        *,
        tags: Sequence[Sequence[str]] | None = None,
        provenance: Provenance | None = None,
        student_model: str | None = None,
        vectors: Sequence[Sequence[float]] | Vectors | None = None,
        op_id: str | None = None,
        reason: str = "",
        step: str | None = None,
    ) -> list[Experience]:
        """Add many experiences in one operation (one transaction, one index batch).

        ``vectors``, if given, are used instead of embedding the texts (bulk loads, benchmarks).

        Raises:
            TextRefused: a text was refused; every refused text is recorded, none of the texts is added.
        """
        replayed = await self._replay(op_id, "add")
        if replayed is not None:
            # Already applied: no need to screen or embed anything, the journal has the result.
            return replayed
        op_id = op_id or _new_id()
        if tags is not None and len(tags) != len(texts):
            raise LibraryError(f"add_many got {len(texts)} texts but {len(tags)} tag lists")
        cleaned: list[str] = []
        refusals: list[TextRefused] = []
        for position, text in enumerate(texts):
            try:
                cleaned.append(screen_text(text))
            except TextRefused as refused:
                await self.record_refusal(
                    refused, op_id=op_id, kind="add", text=text, position=position, step=step
                )
                refusals.append(refused)
        if refusals:
            raise refusals[0]
        if vectors is None:
            by_sha = await self._vectors(cleaned)
        else:
            array = to_array(vectors)
            await self._checked_dimensions(array.shape[1])
            by_sha = {text_sha(t): row.tobytes() for t, row in zip(cleaned, array, strict=True)}
        origin = provenance or Provenance(origin=Origin.MANUAL)
        experiences = [
            Experience(
                id=_new_id(),
                text=text,
                tags=normalize_tags(tags[n] if tags is not None else ()),
                provenance=origin.model_copy(deep=True),
                student_model=student_model or self.student_model,
            )
            for n, text in enumerate(cleaned)
        ]
        return await self._apply(
            op_id,
            "add",
            lambda t: changes.insert(t, experiences, by_sha, kind="add", reason=reason, step=step),
        )

    async def insert(
        self, experiences: Sequence[Experience], *, op_id: str | None = None, reason: str = ""
    ) -> InsertResult:
        """Import complete experiences (ids, statistics, provenance kept); ids already present are skipped.

        An experience whose text is refused is left out and its refusal recorded; the others are
        imported, as one operation.

        Returns:
            The experiences added, and the refusals (on a repeat of ``op_id``: the recorded ones).
        """
        replayed = await self._replay(op_id, "import")
        if op_id is not None and replayed is not None:
            recorded = await asyncio.to_thread(self._db.refusals, op_id=op_id)
            return InsertResult(added=replayed, refused=recorded)
        op_id = op_id or _new_id()
        present = await asyncio.to_thread(self._db.get_many, [e.id for e in experiences])
        accepted: list[Experience] = []
        refused: list[Refusal] = []
        for position, experience in enumerate(experiences):
            if experience.id in present:
                continue  # skipped: an experience already in the library is neither screened nor changed
            try:
                accepted.append(experience.model_copy(update={"text": screen_text(experience.text)}))
            except TextRefused as exc:
                refusal = await self.record_refusal(
                    exc,
                    op_id=op_id,
                    kind="import",
                    text=experience.text,
                    experience_ids=[experience.id],
                    position=position,
                )
                refused.append(refusal)
        by_sha = await self._vectors([e.text for e in accepted])
        added = await self._apply(
            op_id,
            "import",
            lambda t: changes.insert(t, accepted, by_sha, kind="import", reason=reason, step=None),
        )
        return InsertResult(added=added, refused=refused)

    async def update(
        self,
        id: str,
        *,
        text: str | None = None,
        tags: Sequence[str] | None = None,
        expected_version: int | None = None,
        origin: Origin = Origin.MANUAL,
        source_items: Sequence[str] = (),
        op_id: str | None = None,
        reason: str = "",
        step: str | None = None,
    ) -> Experience:
        """Change the text and/or tags of an active experience; ``source_items`` are added to its provenance.

        A new text sets the provenance origin to ``origin``. Usage counts never change the version.

        Raises:
            ExperienceNotFound: no experience has this id.
            InactiveExperience: the experience was superseded or deleted.
            VersionConflict: ``expected_version`` is given and the experience has moved on.
            TextRefused: the new text was refused (and the refusal recorded); nothing changed.
        """
        replayed = await self._replay(op_id, "update")
        if replayed is not None:
            return replayed[0]
        op_id = op_id or _new_id()
        kind: RefusedKind = "rewrite" if origin is Origin.REWRITE else "update"
        new_text = (
            None
            if text is None
            else await self._screened(text, op_id=op_id, kind=kind, experience_ids=[id], step=step)
        )
        # Embed before the transaction, which must stay short and never wait for a model.
        by_sha = {} if new_text is None else await self._vectors([new_text])

        def change(t: Transaction) -> list[Experience]:
            if new_text is not None:
                t.put_vector(text_sha(new_text), by_sha[text_sha(new_text)])
            return [
                changes.update(
                    t,
                    id,
                    text=new_text,
                    tags=tags,
                    source_items=source_items,
                    expected_version=expected_version,
                    origin=origin,
                    reason=reason,
                    step=step,
                )
            ]

        return (await self._apply(op_id, "update", change))[0]

    async def delete(
        self, id: str, *, op_id: str | None = None, reason: str = "", step: str | None = None
    ) -> Experience:
        """Soft-delete an experience: it leaves the index but stays in the library and its history."""
        results = await self._apply(
            op_id, "delete", lambda t: [changes.delete(t, id, reason=reason, step=step)]
        )
        return results[0]

    async def merge(
        self,
        ids: Sequence[str],
        text: str,
        *,
        tags: Sequence[str] | None = None,
        source_items: Sequence[str] = (),
        op_id: str | None = None,
        reason: str = "",
        step: str | None = None,
    ) -> Experience:
        """Merge active experiences into a new one with ``text``; the old ones become superseded.

        The new experience has origin merge, ``merged_from`` = ``ids``, the union of their source items
        (plus ``source_items``) and tags (unless ``tags`` is given), and the sum of their usage counts.

        Raises:
            TextRefused: the text was refused (and the refusal recorded); nothing changed.
        """
        distinct = list(dict.fromkeys(ids))
        if len(distinct) < 2:
            raise LibraryError("a merge needs at least two different experiences")
        replayed = await self._replay(op_id, "merge")
        if replayed is not None:
            return replayed[0]
        op_id = op_id or _new_id()
        cleaned = await self._screened(text, op_id=op_id, kind="merge", experience_ids=distinct, step=step)
        by_sha = await self._vectors([cleaned])
        merged = Experience(
            id=_new_id(),
            text=cleaned,
            tags=normalize_tags(tags or ()),
            provenance=Provenance(origin=Origin.MERGE, source_items=list(source_items)),
            student_model=self.student_model,
        )

        def change(t: Transaction) -> list[Experience]:
            t.put_vector(text_sha(cleaned), by_sha[text_sha(cleaned)])
            return [changes.merge(t, distinct, merged, reason=reason, step=step)]

        return (await self._apply(op_id, "merge", change))[0]

    async def keep_apart(
        self, ids: Sequence[str], *, op_id: str | None = None, reason: str, step: str | None = None
    ) -> None:
        """Record that these active experiences give different advice, so compression keeps them apart.

        Nothing changes but the journal (kind ``keep_apart``, with the reason); `kept_apart` reads it.

        Raises:
            LibraryError: fewer than two different experiences, or one of them is not active.
        """
        distinct = list(dict.fromkeys(ids))
        if len(distinct) < 2:
            raise LibraryError("keeping apart needs at least two different experiences")

        def change(t: Transaction) -> list[Experience]:
            changes.keep_apart(t, distinct, reason=reason, step=step)
            return []

        await self._apply(op_id, "keep_apart", change)

    async def kept_apart(self) -> list[list[str]]:
        """Every group of experiences recorded as giving different advice (`keep_apart`), oldest first."""
        return await asyncio.to_thread(self._db.kept_apart)

    async def record_usage(
        self, deltas: Mapping[str, UsageStats], *, op_id: str | None = None, step: str | None = None
    ) -> None:
        """Add usage counts to experiences, atomically and journaled (they do not change versions)."""
        frozen = {i: d.model_copy() for i, d in deltas.items()}

        def change(t: Transaction) -> list[Experience]:
            changes.record_usage(t, frozen, step=step)
            return []

        await self._apply(op_id, "usage", change)

    async def rollback(
        self, version: int, *, op_id: str | None = None, reason: str = "", step: str | None = None
    ) -> None:
        """Bring the whole library back to its state at ``version`` (itself a journaled operation).

        Raises:
            LibraryError: ``version`` is negative or later than the current version.
        """
        latest = await self.current_version()
        if not 0 <= version <= latest:
            raise LibraryError(f"cannot roll back to version {version}: the library is at version {latest}")

        def change(t: Transaction) -> list[Experience]:
            changes.rollback(t, version, reason=reason or f"rollback to version {version}", step=step)
            return []

        await self._apply(op_id, "rollback", change)
