"""The vector index: a Chroma collection holding the vectors of the active experiences.

The index is derived data. It holds exactly the active experiences, so a search needs no status
filter; superseded and deleted ones live on in SQLite (history, rollback). It follows the records
(`VectorIndex.follow`, `VectorIndex.reconcile`) and, as it does, records each experience's nearest
neighbours in the database, from which near-duplicates are found without a query per experience
(`VectorIndex.neighbour_lists`). Metadata carries what a query may filter on: ``tags`` and
``source_items`` (omitted when empty, which Chroma cannot store) and ``version``. Vectors are always
passed in: no Chroma embedding function is ever configured or called (the default one downloads a
model).

Chroma runs embedded (`chromadb.PersistentClient` on the library folder) or, when a URL is given, as a
client of a Chroma server (``chroma run``), which lets a library outgrow one machine.

Because the index is derived, a damaged embedded index is rebuilt rather than repaired: `check`
finds damage that Chroma does not report (its HNSW files lost or cut short make queries return
nothing, while the counts, kept in SQLite, still look right), `set_aside` moves the damaged folder
out of the way, and `reconcile` fills the new index from the records.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np
import numpy.typing as npt

from ted.memory.database import LibraryDatabase
from ted.memory.errors import LibraryError
from ted.memory.heap import scrub_freed_memory
from ted.memory.models import Experience, Status, utc_now

# Chroma's defaults (ef_search 100, 16 neighbours) lose recall on dense text embeddings at 100k
# vectors; these keep recall@5 above 0.95 there at a few milliseconds per query (bench/memory_scale.py).
HNSW_CONFIGURATION: dict[str, Any] = {
    "space": "cosine",
    "ef_construction": 200,
    "ef_search": 64,
    "max_neighbors": 32,
}

# Chroma's warning for a collection that computes no embeddings of its own (ours never does).
LEGACY_FUNCTION_WARNING = "legacy embedding function config"

Vectors = npt.NDArray[np.float32]

QUERY_ATTEMPTS = 3
"""Tries of one search, reopening the Chroma client between them."""

NEIGHBOUR_LINKS = 8
"""Nearest neighbours recorded for each experience when it is indexed."""

CHECKED_ENTRIES = 16
"""Active experiences whose own vector `VectorIndex.check` looks up in the index."""


def to_array(vectors: Sequence[bytes] | Sequence[Sequence[float]] | Vectors) -> Vectors:
    """Stack stored (float32 bytes) or fresh (float lists, arrays) vectors into an (n, d) float32 array."""
    if isinstance(vectors, np.ndarray):
        return np.ascontiguousarray(vectors, dtype=np.float32).reshape(len(vectors), -1)
    if len(vectors) and isinstance(vectors[0], bytes | bytearray | memoryview):
        return np.stack([np.frombuffer(v, dtype=np.float32) for v in vectors])  # type: ignore[arg-type]
    return np.asarray(vectors, dtype=np.float32).reshape(len(vectors), -1)


def _metadata(experience: Experience) -> dict[str, Any]:
    # None removes a key that an earlier upsert set (Chroma merges metadata on upsert).
    return {
        "version": experience.version,
        "tags": list(experience.tags) or None,
        "source_items": list(experience.provenance.source_items) or None,
    }


def tag_filter(tags: Sequence[str] | None) -> dict[str, Any] | None:
    """A Chroma ``where`` clause matching experiences that carry at least one of ``tags``."""
    if not tags:
        return None
    clauses: list[dict[str, Any]] = [{"tags": {"$contains": tag}} for tag in dict.fromkeys(tags)]
    return clauses[0] if len(clauses) == 1 else {"$or": clauses}


def _connect(folder: Path | None, url: str | None) -> Any:
    import chromadb
    from chromadb.config import Settings

    settings = Settings(anonymized_telemetry=False)
    if url is None:
        assert folder is not None
        scrub_freed_memory()  # no stale process memory (API keys) in the index files
        return chromadb.PersistentClient(path=str(folder), settings=settings)
    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise LibraryError(f"Chroma URL {url!r} is not an http(s) URL such as http://127.0.0.1:8000")
    port = parsed.port or (443 if parsed.scheme == "https" else 8000)
    try:
        return chromadb.HttpClient(
            host=parsed.hostname, port=port, ssl=parsed.scheme == "https", settings=settings
        )
    except Exception as exc:  # chromadb raises plain Exception/ValueError when the server is unreachable
        raise LibraryError(f"cannot reach the Chroma server at {url}: {exc}") from exc


def _close_server_connections(client: Any) -> None:
    """Close the connection pools of a Chroma server's client, which the client's ``close`` leaves open.

    chromadb's HTTP client, and the admin client it makes for itself, each keep an ``httpx.Client``
    that nothing closes: a process that opens and closes libraries on a server (a served graph, one run
    after another) would hold their sockets until the garbage collector found them.
    """
    for owner in (client, getattr(client, "_admin_client", None)):
        session = getattr(getattr(owner, "_server", None), "_session", None)
        if session is not None and callable(getattr(session, "close", None)):
            session.close()


def _release_embedded(folder: Path) -> None:
    """Make sure no Chroma system of this process still works on ``folder``, before it is moved.

    Embedded clients share one system per path, counted by chromadb's shared-system registry; a
    client that failed to start (a damaged ``chroma.sqlite3``) can leave its system registered with
    no count, and the next client for the path would reuse it, still bound to the moved files.

    Raises:
        LibraryError: another client of this process still uses the folder.
    """
    from chromadb.api.shared_system_client import SharedSystemClient

    key = str(folder)
    if getattr(SharedSystemClient, "_identifier_to_refcount", {}).get(key, 0) > 0:
        raise LibraryError(
            f"the index of library {folder.parent} needs rebuilding, but another store in this process "
            "holds it open; close it and open the library again"
        )
    stale = getattr(SharedSystemClient, "_identifier_to_system", {}).pop(key, None)
    if stale is not None:
        # A system that failed to start may fail to stop; it is dropped either way.
        with contextlib.suppress(Exception):
            stale.stop()


def _score_lists(
    ids: Sequence[str], vectors: Vectors, lists: Sequence[Sequence[str]], k: int
) -> list[list[tuple[str, float]]]:
    """Each list's first ``k`` members among ``ids``, with their cosine similarity to its owner.

    ``lists[n]`` belongs to ``ids[n]``, whose vector is ``vectors[n]``. The work is vectorised over
    all pairs (members found by binary search, dot products in slices): a library of 100k
    experiences has close to a million of them.
    """
    result: list[list[tuple[str, float]]] = [[] for _ in ids]
    members = np.asarray([member for listed in lists for member in listed], dtype=str)
    if not len(ids) or not len(members):
        return result
    order = np.argsort(np.asarray(ids, dtype=str))
    sorted_ids = np.asarray(ids, dtype=str)[order]
    position = np.minimum(np.searchsorted(sorted_ids, members), len(ids) - 1)
    known = sorted_ids[position] == members
    owners = np.repeat(np.arange(len(ids)), [len(listed) for listed in lists])[known]
    targets = order[position[known]]
    # At most k known members per list, in list order (owners are sorted).
    rank = np.arange(len(owners)) - np.searchsorted(owners, owners)
    owners, targets = owners[rank < k], targets[rank < k]
    norms = np.linalg.norm(vectors, axis=1)
    unit = vectors / np.where(norms == 0, 1.0, norms)[:, None]
    cosines = np.concatenate(
        [
            np.einsum("ij,ij->i", unit[owners[n : n + 4096]], unit[targets[n : n + 4096]])
            for n in range(0, len(owners), 4096)
        ]
        or [np.zeros(0)]
    )
    for owner, target, cosine in zip(owners.tolist(), targets.tolist(), cosines.tolist(), strict=True):
        result[owner].append((ids[target], cosine))
    return result


class VectorIndex:
    """The Chroma collection of one library; the client is created on first use."""

    def __init__(self, *, folder: Path | None, url: str | None, collection: str) -> None:
        self.folder, self.url, self.collection_name = folder, url, collection
        self._lock = threading.Lock()
        self._client: Any = None
        self._collection: Any = None

    def _get(self) -> Any:
        with self._lock:
            if self._collection is None:
                self._client = _connect(self.folder, self.url)
                collection = self._client.get_or_create_collection(
                    self.collection_name,
                    embedding_function=None,
                    configuration={"hnsw": dict(HNSW_CONFIGURATION)},
                    metadata={"application": "ted-distill"},
                )
                # An existing collection keeps the settings it was created with; the search breadth is
                # the one that may still change, so older libraries get the current recall.
                # The raw JSON: the parsed `configuration` warns (DeprecationWarning) about the "legacy"
                # embedding function Chroma records for a collection created without one, as ours are.
                hnsw = (collection.configuration_json or {}).get("hnsw") or {}
                if hnsw.get("ef_search") != HNSW_CONFIGURATION["ef_search"]:
                    # The filter is the whole process's for that moment: once, when an older library
                    # is first opened.
                    with warnings.catch_warnings():
                        warnings.filterwarnings("ignore", LEGACY_FUNCTION_WARNING, DeprecationWarning)
                        collection.modify(
                            configuration={"hnsw": {"ef_search": HNSW_CONFIGURATION["ef_search"]}}
                        )
                self._collection = collection
            return self._collection

    @property
    def embedded(self) -> bool:
        """Whether the index lives in the library folder (not on a Chroma server)."""
        return self.folder is not None

    def close(self) -> None:
        """Release the Chroma client (embedded clients are shared per path and reference-counted)."""
        with self._lock:
            if self._client is not None and hasattr(self._client, "close"):
                self._client.close()
                _close_server_connections(self._client)
            self._client = self._collection = None

    def set_aside(self, label: str) -> Path | None:
        """Move the embedded index folder to ``chroma.<label>-<UTC time>``; the next use starts afresh.

        Returns:
            Where the folder went (None: there was no folder).

        Raises:
            LibraryError: this is not an embedded index, or another client in this process still
                holds it (moving it would leave that client writing to the moved folder).
        """
        if self.folder is None:
            raise LibraryError("a Chroma server's index is not a folder of the library")
        self.close()
        _release_embedded(self.folder)
        if not self.folder.exists():
            return None
        stamp = utc_now().strftime("%Y%m%dT%H%M%SZ")
        target = self.folder.with_name(f"{self.folder.name}.{label}-{stamp}")
        n = 1
        while target.exists():
            n += 1
            target = self.folder.with_name(f"{self.folder.name}.{label}-{stamp}-{n}")
        os.replace(self.folder, target)
        return target

    def reset(self, label: str) -> Path | None:
        """Start an empty index: set the embedded folder aside (`set_aside`), or drop the server's collection.

        Returns:
            Where the embedded folder went (None: a server, or no folder).
        """
        if self.folder is not None:
            return self.set_aside(label)
        self._get()
        with self._lock:
            self._client.delete_collection(self.collection_name)
            self._collection = None
        return None

    def check(self, database: LibraryDatabase) -> str | None:
        """What is wrong with the index, or None when a sample of the records finds itself in it.

        The index must hold as many entries as there are active experiences, and each of up to
        `CHECKED_ENTRIES` of them (spread over the ids) must come back, or an identical vector
        must, when its own vector is the query. A healthy index finds them all; an index whose
        HNSW files were lost or cut short finds few or none, while Chroma raises no error.
        """
        active = sorted(database.active_ids())
        count = self.count()
        if count != len(active):
            return f"it holds {count} entries for {len(active)} active experiences"
        if not active:
            return None
        step = max(1, len(active) // CHECKED_ENTRIES)
        entries = database.index_entries(active[::step][:CHECKED_ENTRIES])
        if not entries:
            return None
        ids = list(entries)
        hits = self.query(to_array([entries[i][1] for i in ids]), min(4, count))
        found = sum(
            any(other == i or similarity > 0.9999 for other, similarity in listed)
            for i, listed in zip(ids, hits, strict=True)
        )
        # HNSW search is approximate, so a healthy index may rarely miss one.
        if found < len(ids) - len(ids) // 4:
            return f"its search found {found} of {len(ids)} experiences by their own vectors"
        return None

    def upsert(self, entries: Sequence[tuple[Experience, bytes]]) -> None:
        """Add or refresh the index entries of active experiences."""
        if not entries:
            return
        collection = self._get()
        batch = int(getattr(self._client, "get_max_batch_size", lambda: 5000)())
        for start in range(0, len(entries), batch):
            chunk = entries[start : start + batch]
            collection.upsert(
                ids=[e.id for e, _ in chunk],
                embeddings=to_array([v for _, v in chunk]),
                metadatas=[_metadata(e) for e, _ in chunk],
            )

    def delete(self, ids: Iterable[str]) -> None:
        """Remove entries (ids that are not in the index are ignored)."""
        wanted = list(ids)
        if wanted:
            self._get().delete(ids=wanted)

    def count(self) -> int:
        """Number of entries."""
        return int(self._get().count())

    def all_ids(self) -> set[str]:
        """Every id in the index."""
        collection, ids, offset = self._get(), set(), 0
        while True:
            page = collection.get(include=[], limit=5000, offset=offset)["ids"]
            ids.update(page)
            if len(page) < 5000:
                return ids
            offset += len(page)

    def query(
        self, vectors: Vectors, n_results: int, where: Mapping[str, Any] | None = None
    ) -> list[list[tuple[str, float]]]:
        """For each query vector, up to ``n_results`` (id, cosine similarity), most similar first.

        A failed query is tried again with a fresh client (`QUERY_ATTEMPTS` in all); the first
        failure is raised as it came.
        """
        if n_results <= 0 or len(vectors) == 0:
            return [[] for _ in range(len(vectors))]
        first: Exception | None = None
        for attempt in range(QUERY_ATTEMPTS):
            try:
                result = self._get().query(
                    query_embeddings=vectors,
                    n_results=n_results,
                    where=dict(where) if where else None,
                    include=["distances"],
                )
                break
            except Exception as exc:  # Chroma raises its own errors and plain ones alike
                # A client that read the collection before another process wrote it can hold a stale
                # view of its segments ("Nothing found on disk"); a fresh client reads them again.
                first = first or exc
                self.close()
                if attempt + 1 == QUERY_ATTEMPTS:
                    raise first from None  # the first failure says most; the store tells damage apart
                time.sleep(0.05 * (attempt + 1))
        return [
            [(i, 1.0 - float(d)) for i, d in zip(ids, distances, strict=True)]
            for ids, distances in zip(result["ids"], result["distances"], strict=True)
        ]

    def neighbours(self, vectors: Vectors, k: int, *, batch: int = 500) -> list[list[tuple[str, float]]]:
        """For each row of ``vectors``, its ``k`` nearest entries as (id, cosine similarity), in batches."""
        found: list[list[tuple[str, float]]] = []
        for start in range(0, len(vectors), batch):
            found.extend(self.query(vectors[start : start + batch], k))
        return found

    def follow(self, database: LibraryDatabase, ids: Iterable[str]) -> None:
        """Bring the entries of ``ids`` in line with the records, and forget that they were pending."""
        wanted = list(dict.fromkeys(ids))
        for start in range(0, len(wanted), 5000):
            chunk = wanted[start : start + 5000]
            entries = database.index_entries(chunk)
            retired = [i for i in chunk if i not in entries]
            self.upsert(list(entries.values()))
            self.delete(retired)
            self._link(database, entries, retired)
            database.clear_pending(chunk)

    def follow_pending(self, database: LibraryDatabase) -> None:
        """Take in the changes the records mark as pending for the index (none: nothing to do)."""
        self.follow(database, database.pending_index())

    def reconcile(self, database: LibraryDatabase) -> None:
        """Catch up with the records after a crash, or on a new Chroma server: pending ids, then any gap."""
        self.follow_pending(database)
        if self.count() != database.count(Status.ACTIVE):
            indexed, wanted = self.all_ids(), database.active_ids()
            self.delete(indexed - wanted)
            self.follow(database, wanted - indexed)

    def _link(
        self,
        database: LibraryDatabase,
        entries: Mapping[str, tuple[Experience, bytes]],
        retired: Sequence[str],
    ) -> None:
        """Record the nearest neighbours of freshly indexed experiences; forget those of retired ones.

        A pair of near-duplicates is found from the list of whichever of the two was indexed later, so
        planning a compression reads these lists instead of querying the index for every experience.
        """
        ids = list(entries)
        rows: list[tuple[str, list[str]]] = []
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            hits = self.query(to_array([entries[i][1] for i in chunk]), NEIGHBOUR_LINKS + 1)
            for i, found in zip(chunk, hits, strict=True):
                rows.append((i, [other for other, _ in found if other != i][:NEIGHBOUR_LINKS]))
        database.set_neighbours(rows, retired=retired)

    def neighbour_lists(
        self, database: LibraryDatabase, ids: Sequence[str], vectors: Vectors, k: int
    ) -> list[list[tuple[str, float]]]:
        """Like `neighbours` for the active experiences ``ids`` (rows of ``vectors``), from stored lists.

        Each experience's nearest neighbours are recorded when it is indexed, so this reads them and
        computes the similarities from ``vectors`` instead of querying the index again; only
        experiences without a current list (or ``k`` above `NEIGHBOUR_LINKS`) are queried.
        """
        if k > NEIGHBOUR_LINKS:
            return self.neighbours(vectors, k)
        stored = database.active_neighbours()
        missing = [i for i in ids if i not in stored]
        if missing:
            row = {experience_id: n for n, experience_id in enumerate(ids)}
            for start in range(0, len(missing), 500):
                chunk = missing[start : start + 500]
                hits = self.query(vectors[[row[i] for i in chunk]], NEIGHBOUR_LINKS + 1)
                for i, found in zip(chunk, hits, strict=True):
                    stored[i] = [o for o, _ in found if o != i]
        return _score_lists(ids, vectors, [stored[i] for i in ids], k)
