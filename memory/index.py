"""The vector index: a Chroma collection holding the vectors of the active experiences.

The index is derived data. It holds exactly the active experiences, so a search needs no status
filter; superseded and deleted ones live on in SQLite (history, rollback). Metadata carries what a
query may filter on: ``tags`` and ``source_items`` (omitted when empty, which Chroma cannot store) and
``version``. Vectors are always passed in: no Chroma embedding function is ever configured or called
(the default one downloads a model).

Chroma runs embedded (`chromadb.PersistentClient` on the library folder) or, when a URL is given, as a
client of a Chroma server (``chroma run``), which lets a library outgrow one machine.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import numpy as np
import numpy.typing as npt

from ted.memory.errors import LibraryError
from ted.memory.heap import scrub_freed_memory
from ted.memory.models import Experience

# Chroma's defaults (ef_search 100, 16 neighbours) lose recall on dense text embeddings at 100k
# vectors; these keep recall@5 above 0.95 there at a few milliseconds per query (bench/memory_scale.py).
HNSW_CONFIGURATION: dict[str, Any] = {
    "space": "cosine",
    "ef_construction": 200,
    "ef_search": 64,
    "max_neighbors": 32,
}

Vectors = npt.NDArray[np.float32]


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
                hnsw = (collection.configuration or {}).get("hnsw") or {}
                if hnsw.get("ef_search") != HNSW_CONFIGURATION["ef_search"]:
                    collection.modify(configuration={"hnsw": {"ef_search": HNSW_CONFIGURATION["ef_search"]}})
                self._collection = collection
            return self._collection

    def close(self) -> None:
        """Release the Chroma client (embedded clients are shared per path and reference-counted)."""
        with self._lock:
            if self._client is not None and hasattr(self._client, "close"):
                self._client.close()
            self._client = self._collection = None

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
        """For each query vector, up to ``n_results`` (id, cosine similarity), most similar first."""
        if n_results <= 0 or len(vectors) == 0:
            return [[] for _ in range(len(vectors))]
        result = self._get().query(
            query_embeddings=vectors,
            n_results=n_results,
            where=dict(where) if where else None,
            include=["distances"],
        )
        return [
            [(i, 1.0 - float(d)) for i, d in zip(ids, distances, strict=True)]
            for ids, distances in zip(result["ids"], result["distances"], strict=True)
        ]
