"""Short labels (E1, E2, ...) that stand for experience ids in everything a model reads and writes.

Models copy short labels reliably and mangle or invent UUIDs, so prompts and tool results show
labels, and tool arguments are resolved back to ids here.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from ted.memory.errors import UnknownLabel
from ted.memory.operations import SEARCH_TOOL

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

    def items(self) -> list[tuple[str, str]]:
        """(label, id) pairs in label order."""
        return sorted(self._ids.items(), key=lambda pair: int(pair[0][len(self.prefix) :]))

    def as_mapping(self) -> dict[str, str]:
        """Label -> id, in label order (JSON-serialisable, e.g. for graph state)."""
        return dict(self.items())

    def __contains__(self, experience_id: object) -> bool:
        return experience_id in self._labels

    def __len__(self) -> int:
        return len(self._ids)
