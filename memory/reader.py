"""`LibraryReader`: the read side of the experience library (records, history, similarity search).

`ExperienceStore` extends it with opening, the index upkeep and every change; nothing here writes.
"""

from __future__ import annotations

import asyncio
import builtins
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from ted.memory import changes
from ted.memory.database import LibraryDatabase
from ted.memory.errors import ExperienceNotFound
from ted.memory.index import VectorIndex, Vectors, tag_filter, to_array
from ted.memory.models import (
    Experience,
    JournalEntry,
    OperationRecord,
    Refusal,
    ScoredExperience,
    Status,
)

NEIGHBOUR_LINKS = 8
"""Nearest neighbours recorded for each experience when it is indexed."""

RECENT_EMBEDDINGS = 1024
"""Texts whose embeddings a store keeps at hand."""


def _score_lists(
    ids: Sequence[str], vectors: Vectors, lists: Sequence[Sequence[str]], k: int
) -> builtins.list[builtins.list[tuple[str, float]]]:
    """Each list's first ``k`` members among ``ids``, with their cosine similarity to its owner.

    ``lists[n]`` belongs to ``ids[n]``, whose vector is ``vectors[n]``. The work is vectorised over
    all pairs (members found by binary search, dot products in slices): a library of 100k
    experiences has close to a million of them.
    """
    result: builtins.list[builtins.list[tuple[str, float]]] = [[] for _ in ids]
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


class LibraryReader:
    """Reads and searches one library; see `ExperienceStore` for how to open one."""

    def __init__(
        self,
        path: Path,
        *,
        database: LibraryDatabase,
        index: VectorIndex,
        embeddings: Embeddings,
        embedding_model: str,
        student_model: str | None,
    ) -> None:
        self.path = path
        self.embedding_model = embedding_model
        self.student_model = student_model
        self.embeddings = embeddings
        self._db = database
        self._index = index
        self._version = 0
        # Recently embedded texts: a duplicate check embeds a text that `add` embeds again right after.
        self._recent: OrderedDict[str, builtins.list[float]] = OrderedDict()

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

    # -- reads -----------------------------------------------------------------------------------

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

    async def list(self, *, status: Status | None = Status.ACTIVE) -> builtins.list[Experience]:
        """Experiences with ``status`` (every experience for None), oldest first."""
        return await asyncio.to_thread(self._db.list_experiences, status)

    async def count(self, *, status: Status | None = Status.ACTIVE) -> int:
        """How many experiences have ``status`` (all of them for None)."""
        return await asyncio.to_thread(self._db.count, status)

    async def history(self, id: str) -> builtins.list[JournalEntry]:
        """Every recorded change of one experience, oldest first.

        Raises:
            ExperienceNotFound: the journal never saw this id.
        """
        entries = await asyncio.to_thread(self._db.history, id)
        if not entries:
            raise ExperienceNotFound(f"no experience with id {id!r} in library {self.path}")
        return entries

    async def refusals(self, experience_id: str | None = None) -> builtins.list[Refusal]:
        """Writes the library refused for their text, oldest first.

        Args:
            experience_id: Only the refused writes that targeted this experience (None: all of them).
        """
        found = await asyncio.to_thread(self._db.refusals)
        if experience_id is None:
            return found
        return [r for r in found if experience_id in r.experience_ids]

    async def find_operation(self, op_id: str) -> OperationRecord | None:
        """The record of an applied operation, or None if ``op_id`` was never applied."""
        found = await asyncio.to_thread(self._db.operation, op_id)
        return None if found is None else found[0]

    async def active_vectors(self) -> tuple[builtins.list[str], Vectors]:
        """Ids and vectors (an (n, d) float32 array) of every active experience, ordered by id."""
        rows = await asyncio.to_thread(self._db.active_vectors)
        if not rows:
            return [], np.zeros((0, 0), dtype=np.float32)
        return [i for i, _ in rows], to_array([v for _, v in rows])

    async def search(
        self,
        query: str,
        *,
        k: int = 5,
        tags: Sequence[str] | None = None,
        exclude_items: Iterable[str] = (),
        candidates: int | None = None,
    ) -> builtins.list[ScoredExperience]:
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
        vector = to_array([await self.embed(query)])
        tags = changes.normalize_tags(tags) if tags else None
        return await self.search_vectors(
            vector, k=k, tags=tags, exclude_items=exclude_items, candidates=candidates
        )

    async def embed(self, text: str) -> builtins.list[float]:
        """The embedding of ``text``, from a small cache of recent texts when possible."""
        if (cached := self._recent.get(text)) is not None:
            self._recent.move_to_end(text)
            return cached
        vector = await self.embeddings.aembed_query(text)
        self._recent[text] = vector
        if len(self._recent) > RECENT_EMBEDDINGS:
            self._recent.popitem(last=False)
        return vector

    async def search_vectors(
        self,
        vector: Vectors,
        *,
        k: int = 5,
        tags: Sequence[str] | None = None,
        exclude_items: Iterable[str] = (),
        candidates: int | None = None,
    ) -> builtins.list[ScoredExperience]:
        """`search` with a query vector (a (1, d) array) that the caller already computed."""
        return await asyncio.to_thread(
            self._search, vector, k, tags, frozenset(exclude_items), candidates or k
        )

    def _search(
        self, vector: Vectors, k: int, tags: Sequence[str] | None, exclude: frozenset[str], wanted: int
    ) -> builtins.list[ScoredExperience]:
        if k <= 0:
            return []
        where = tag_filter(tags)
        n = max(k, wanted)
        while True:
            hits = self._index.query(vector, n, where)[0]
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

    async def neighbours(
        self, vectors: Vectors, *, k: int, batch: int = 500
    ) -> builtins.list[builtins.list[tuple[str, float]]]:
        """For each row of ``vectors``, its ``k`` nearest active experiences as (id, cosine similarity).

        Queries go to the index in batches: this is how near-duplicates are found without comparing
        all pairs.
        """

        def run() -> builtins.list[builtins.list[tuple[str, float]]]:
            found: builtins.list[builtins.list[tuple[str, float]]] = []
            for start in range(0, len(vectors), batch):
                found.extend(self._index.query(vectors[start : start + batch], k))
            return found

        return await asyncio.to_thread(run)

    async def neighbour_lists(
        self, ids: Sequence[str], vectors: Vectors, *, k: int
    ) -> builtins.list[builtins.list[tuple[str, float]]]:
        """Like `neighbours` for the active experiences ``ids`` (rows of ``vectors``), from stored lists.

        Each experience's nearest neighbours are recorded when it is indexed, so this reads them and
        computes the similarities from ``vectors`` instead of querying the index again; only
        experiences without a current list (or ``k`` above `NEIGHBOUR_LINKS`) are queried.
        """
        if k > NEIGHBOUR_LINKS:
            return await self.neighbours(vectors, k=k)

        def run() -> builtins.list[builtins.list[tuple[str, float]]]:
            stored = self._db.active_neighbours()
            missing = [i for i in ids if i not in stored]
            if missing:
                row = {experience_id: n for n, experience_id in enumerate(ids)}
                for start in range(0, len(missing), 500):
                    chunk = missing[start : start + 500]
                    hits = self._index.query(vectors[[row[i] for i in chunk]], NEIGHBOUR_LINKS + 1)
                    for i, found in zip(chunk, hits, strict=True):
                        stored[i] = [o for o, _ in found if o != i]
            return _score_lists(ids, vectors, [stored[i] for i in ids], k)

        return await asyncio.to_thread(run)

    async def nearest(self, text: str, *, k: int = 1) -> builtins.list[ScoredExperience]:
        """The ``k`` active experiences closest to ``text`` (for duplicate checks)."""
        return await self.search(text, k=k)
