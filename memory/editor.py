"""`LibraryEditor`: one model's session of edits to the library (for one item, or one compression).

Models copy short labels (E1, E2, ...) reliably and mangle or invent UUIDs, so everything a model
reads and writes names experiences by label (`LabelBook`). The editor turns requests that speak in
labels (`ted.memory.operations`) into store calls with ids, provenance and operation ids, and answers
with a short message the model can read. Mistakes the model can fix (an unknown label, a second vote,
a text the screening refuses) raise `ToolInputError` with a message that says what to do. Texts are
screened with the library's rules plus the editor's own: its word limit and the fragments of the
item being learned from (`ted.memory.screening`); a refused text is recorded in the library's
refusals before the error is raised.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Literal

from ted.memory.errors import LibraryError, TextRefused, ToolInputError, UnknownLabel
from ted.memory.models import (
    Experience,
    OperationRecord,
    Origin,
    Provenance,
    RefusedKind,
    Status,
    UsageStats,
    normalize_tags,
    utility,
)
from ted.memory.operations import (
    SEARCH_TOOL,
    AddOp,
    DeleteOp,
    KeepApartOp,
    MergeOp,
    Operation,
    SearchQuery,
    ToolRequest,
    UpdateOp,
    VoteOp,
)
from ted.memory.screening import screen_text
from ted.prompts.framing import EXPERIENCE, frame

if TYPE_CHECKING:
    from ted.memory.store import ExperienceStore

_LABEL = re.compile(r"^\[?\s*([A-Za-z]+)\s*(\d+)\s*\]?$")


class LabelBook:
    """A two-way map between labels and experience ids, stable within one session.

    Example:
        >>> book = LabelBook()
        >>> book.label("0b6f-...")
        'E1'
        >>> book.resolve("[E1]")
        '0b6f-...'
    """

    def __init__(self, prefix: str = "E") -> None:
        self.prefix = prefix
        self._ids: dict[str, str] = {}
        self._labels: dict[str, str] = {}
        self._next = 1

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, str], prefix: str = "E") -> LabelBook:
        """A book that already holds ``mapping`` (label -> id), e.g. the labels injected into a prompt."""
        book = cls(prefix)
        for label, experience_id in mapping.items():
            match = _LABEL.match(label)
            if match is None or match.group(1).upper() != prefix.upper():
                raise ValueError(f"{label!r} is not a label of the form {prefix}<number>")
            canonical = f"{prefix}{int(match.group(2))}"
            book._ids[canonical] = experience_id
            book._labels.setdefault(experience_id, canonical)
            book._next = max(book._next, int(match.group(2)) + 1)
        return book

    def label(self, experience_id: str) -> str:
        """The label of an experience, assigning the next free one on first sight."""
        if experience_id not in self._labels:
            label = f"{self.prefix}{self._next}"
            self._next += 1
            self._labels[experience_id] = label
            self._ids[label] = experience_id
        return self._labels[experience_id]

    def resolve(self, label: str) -> str:
        """The experience id behind a label (``E3``, ``[E3]`` and ``e3`` all work).

        Raises:
            UnknownLabel: the label was never shown in this session.
        """
        text = label.strip()
        match = _LABEL.match(text)
        if match is not None and match.group(1).upper() == self.prefix.upper():
            found = self._ids.get(f"{self.prefix}{int(match.group(2))}")
            if found is not None:
                return found
        if text in self._labels:  # a model that copied a real id
            return text
        known = ", ".join(sorted(self._ids, key=lambda s: int(s[len(self.prefix) :]))) or "none yet"
        raise UnknownLabel(
            f"{label!r} is not a label you were shown (known labels: {known}); "
            f"use {SEARCH_TOOL} to find an experience and its label"
        )

    def as_mapping(self) -> dict[str, str]:
        """Label -> id, in label order (JSON-serialisable, e.g. for graph state)."""
        return dict(sorted(self._ids.items(), key=lambda pair: int(pair[0][len(self.prefix) :])))


class LibraryEditor:
    """Applies labelled operations from one model to a store.

    Args:
        store: The library.
        labels: Labels already shown to the model (e.g. the experiences injected into its prompt).
        source_items: Items this session learns from; recorded in the provenance of what it adds or changes.
        origin: Provenance origin of the texts it writes.
        student_model: Recorded on the experiences it adds.
        op_prefix: Prefix of every operation id, so that the same tool call id in another session (item,
            epoch) is a different operation.
        step: The run step, recorded in the journal.
        duplicate_threshold: An add whose nearest active experience is at least this similar adds nothing.
        max_words: The longest experience text accepted, in words.
        forbidden: Fragments of the item being learned from (its answer, its options) that no text
            may copy; `ted.memory.screening.item_fragments` makes them from an item.
    """

    def __init__(
        self,
        store: ExperienceStore,
        *,
        labels: LabelBook | None = None,
        source_items: Sequence[str] = (),
        origin: Origin = Origin.REFLECT,
        student_model: str | None = None,
        op_prefix: str = "",
        step: str | None = None,
        duplicate_threshold: float = 0.92,
        max_words: int = 60,
        forbidden: Sequence[str] = (),
    ) -> None:
        self.store = store
        self.labels = labels if labels is not None else LabelBook()
        self.source_items = list(source_items)
        self.origin = origin
        self.student_model = student_model
        self.op_prefix = op_prefix
        self.step = step
        self.duplicate_threshold = duplicate_threshold
        self.max_words = max_words
        self.forbidden = list(forbidden)
        self.votes: dict[str, Literal["helpful", "harmful"]] = {}

    # -- helpers -------------------------------------------------------------------------------

    async def _text(self, text: str, *, op_id: str, kind: RefusedKind, targets: Sequence[str] = ()) -> str:
        """The screened text; a refusal is recorded in the library, then raised for the model to fix."""
        try:
            return screen_text(text, max_words=self.max_words, forbidden=self.forbidden)
        except TextRefused as refused:
            await self.store.record_refusal(
                refused, op_id=op_id, kind=kind, text=text, experience_ids=targets, step=self.step
            )
            raise ToolInputError(str(refused)) from refused

    async def _active(self, label: str) -> Experience:
        experience = await self.store.get(self.labels.resolve(label))
        if experience.status is Status.ACTIVE:
            return experience
        if experience.superseded_by:
            newer = self.labels.label(experience.superseded_by)
            raise ToolInputError(f"{label} was merged into {newer}; act on {newer} instead")
        raise ToolInputError(f"{label} was deleted; it cannot be changed or voted on")

    def _replayed(self, record: OperationRecord) -> str:
        names = ", ".join(self.labels.label(i) for i in record.experience_ids)
        return f"already done earlier: {record.kind}" + (f" {names}" if names else "")

    # -- requests ------------------------------------------------------------------------------

    def prepare(self, requests: Sequence[ToolRequest]) -> None:
        """Start embedding the texts ``requests`` would write, before any of them is applied.

        A model's edits are applied one after another, each after a few lookups; embedding all of
        their texts at once, now, takes the embedding model off the way of each. Texts that would be
        refused are left for `perform` to refuse.
        """
        texts = []
        for request in requests:
            if isinstance(request, AddOp | UpdateOp | MergeOp):
                try:
                    texts.append(
                        screen_text(request.text, max_words=self.max_words, forbidden=self.forbidden)
                    )
                except TextRefused:
                    continue
        self.store.prefetch(texts)

    async def perform(self, request: ToolRequest, *, op_id: str) -> str:
        """Carry out one request of a model: a search, or an operation applied as ``op_prefix + op_id``.

        Raises:
            ToolInputError: the model can correct the request.
        """
        if isinstance(request, SearchQuery):
            return await self.search(request.query, k=request.k)
        if isinstance(request, AddOp | UpdateOp | DeleteOp | MergeOp | VoteOp | KeepApartOp):
            return await self.apply(request, op_id=op_id)
        raise TypeError(f"{type(request).__name__} is not a request the editor knows")

    async def apply(self, op: Operation, *, op_id: str) -> str:
        """Apply one operation as ``op_prefix + op_id``; applying the same id again changes nothing.

        Returns:
            A short message for the model, naming experiences by label.

        Raises:
            ToolInputError: the model can correct the call (unknown label, bad text, repeated vote ...).
        """
        full_id = self.op_prefix + op_id
        recorded = await self.store.find_operation(full_id)
        if recorded is not None:
            return self._replayed(recorded)
        try:
            return await self._apply(op, full_id)
        except ToolInputError:
            raise
        except LibraryError as exc:
            # Anything else the library refuses (a merge of one, an inactive experience ...)
            # is still something the model can act on.
            raise ToolInputError(str(exc)) from exc

    async def _apply(self, op: Operation, op_id: str) -> str:
        if isinstance(op, AddOp):
            return await self._add(op, op_id)
        if isinstance(op, UpdateOp):
            before = await self._active(op.label)
            kind: RefusedKind = "rewrite" if self.origin is Origin.REWRITE else "update"
            after = await self.store.update(
                before.id,
                text=await self._text(op.text, op_id=op_id, kind=kind, targets=[before.id]),
                origin=self.origin,
                source_items=self.source_items,
                op_id=op_id,
                reason=op.reason,
                step=self.step,
            )
            return f"updated {self.labels.label(after.id)}: {after.text}"
        if isinstance(op, DeleteOp):
            target = await self._active(op.label)
            await self.store.delete(target.id, op_id=op_id, reason=op.reason, step=self.step)
            return f"deleted {op.label}"
        if isinstance(op, MergeOp):
            return await self._merge(op, op_id)
        if isinstance(op, KeepApartOp):
            return await self._keep_apart(op, op_id)
        return await self._vote(op, op_id)

    async def _keep_apart(self, op: KeepApartOp, op_id: str) -> str:
        # A label merged earlier in the same answer stands for what it was merged into.
        ids: list[str] = []
        for label in op.labels:
            experience = await self.store.get(self.labels.resolve(label))
            while experience.status is not Status.ACTIVE and experience.superseded_by:
                experience = await self.store.get(experience.superseded_by)
            if experience.status is not Status.ACTIVE:
                raise ToolInputError(
                    f"{label} is {experience.status.value}; only active experiences are kept"
                )
            ids.append(experience.id)
        ids = list(dict.fromkeys(ids))
        if len(ids) < 2:
            raise ToolInputError("keeping apart needs at least two different experiences")
        await self.store.keep_apart(ids, op_id=op_id, reason=op.reason, step=self.step)
        return f"kept apart: {', '.join(self.labels.label(i) for i in ids)}"

    async def _add(self, op: AddOp, op_id: str) -> str:
        text = await self._text(op.text, op_id=op_id, kind="add")
        nearest = await self.store.search(text, k=1)
        if nearest and nearest[0].similarity >= self.duplicate_threshold:
            existing = nearest[0].experience
            label = self.labels.label(existing.id)
            await self.store.update(
                existing.id,
                tags=normalize_tags([*existing.tags, *op.tags]),
                origin=self.origin,
                source_items=self.source_items,
                op_id=op_id,
                reason="duplicate add" + (f": {op.reason}" if op.reason else ""),
                step=self.step,
            )
            return (
                f"not added: {label} already says this (similarity {nearest[0].similarity:.2f}), so this "
                f"item was recorded as a source of {label}. If your wording is better, update {label}."
            )
        added = await self.store.add(
            text,
            tags=op.tags,
            provenance=Provenance(origin=self.origin, source_items=self.source_items),
            student_model=self.student_model,
            op_id=op_id,
            reason=op.reason,
            step=self.step,
        )
        return f"added {self.labels.label(added.id)}: {added.text}"

    async def _merge(self, op: MergeOp, op_id: str) -> str:
        targets = [await self._active(label) for label in op.labels]
        ids = list(dict.fromkeys(t.id for t in targets))
        if len(ids) < 2:
            raise ToolInputError("a merge needs at least two different experiences; give two or more labels")
        merged = await self.store.merge(
            ids,
            await self._text(op.text, op_id=op_id, kind="merge", targets=ids),
            source_items=self.source_items,
            op_id=op_id,
            reason=op.reason,
            step=self.step,
        )
        names = ", ".join(self.labels.label(i) for i in ids)
        return f"merged {names} into {self.labels.label(merged.id)}: {merged.text}"

    async def _vote(self, op: VoteOp, op_id: str) -> str:
        target = await self.store.get(self.labels.resolve(op.label))
        if target.id in self.votes:
            raise ToolInputError(
                f"you already voted {self.votes[target.id]} on {op.label} for this item; "
                "one vote per experience"
            )
        delta = UsageStats(helpful=1) if op.vote == "helpful" else UsageStats(harmful=1)
        await self.store.record_usage({target.id: delta}, op_id=op_id, step=self.step)
        self.votes[target.id] = op.vote
        return f"recorded: {op.label} was {op.vote}"

    async def search(self, query: str, *, k: int = 5) -> str:
        """Search the library and describe the results by label, for a model to read."""
        if not query.strip():
            raise ToolInputError(
                "the query is empty; describe the situation or the skill you are looking for"
            )
        found = await self.store.search(query, k=k)
        if not found:
            return "The library holds no experiences yet."
        # Stored texts are data to the model, framed like the experiences of its prompt.
        return "\n".join(
            frame(
                EXPERIENCE,
                hit.experience.text,
                label=self.labels.label(hit.experience.id),
                similarity=f"{hit.similarity:.2f}",
                utility=f"{utility(hit.experience.stats):.2f}",
            )
            for hit in found
        )
