"""The world the simulated models know: puzzles by question text, their families and answers."""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from pathlib import Path
from types import MappingProxyType

from ted.prompts.framing import defuse
from ted.sim.errors import WorldError
from ted.sim.meaning import Reader
from ted.tasks.items import Item
from ted.tasks.synth import FAMILIES, SKILL_FAMILIES, Family
from ted.tasks.synth.family import LETTERS

# Lookups slide a window of this many characters over the request text, so finding an item costs
# one dictionary probe per character whatever the size of the world.
KEY_LENGTH = 32


class World:
    """Items the simulated models recognise by their question text.

    Question texts must be unique: a request names its puzzle by quoting the question. Prompts frame
    the question as data (`ted.prompts.framing.frame`), which defuses it; a question that defusing
    changes (a chat token, a control character) is recognised in its defused form too.
    """

    def __init__(self, items: Iterable[Item]) -> None:
        by_question: dict[str, Item] = {}
        for item in items:
            if not item.question:
                raise WorldError(f"item {item.id} has an empty question; the world finds items by question")
            if item.question in by_question:
                raise WorldError(
                    f"items {by_question[item.question].id} and {item.id} have the same question text; "
                    "the world needs unique questions"
                )
            by_question[item.question] = item
        self._items = by_question
        # What a request may quote -> the question it stands for.
        self._quoted = {question: question for question in by_question}
        for question in by_question:
            self._quoted.setdefault(defuse(question).strip(), question)
        self._quoted.pop("", None)
        self._key_length = min([KEY_LENGTH, *(len(quoted) for quoted in self._quoted)])
        self._by_key: dict[str, list[str]] = {}
        for quoted in self._quoted:
            self._by_key.setdefault(quoted[: self._key_length], []).append(quoted)
        families = {f.name: f for item in by_question.values() if (f := self.family_of(item)) is not None}
        self.reader = Reader(families.values())
        """Reads advice against the families of this world (`ted.sim.meaning`)."""

    @classmethod
    def from_items(cls, items: Iterable[Item]) -> World:
        """A world of these items."""
        return cls(items)

    @classmethod
    def from_dataset(cls, path: str | Path) -> World:
        """A world of the items of a dataset, read by `ted.tasks.load_dataset` (format detected).

        For a synthetic dataset, ``path`` is the folder that `ted.tasks.synth.generate` wrote.

        Raises:
            DatasetError: If the dataset cannot be read (the message names the file and row).
            WorldError: If two items share a question text.
        """
        from ted.tasks import load_dataset

        return cls(load_dataset(path))

    @property
    def items(self) -> Mapping[str, Item]:
        """Items by question text."""
        return MappingProxyType(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def find(self, text: str) -> Item | None:
        """The item whose question appears verbatim in ``text`` (the longest, if several), else None.

        A question also counts as appearing when its defused form does.
        """
        found: str | None = None
        size = self._key_length
        for start in range(len(text) - size + 1):
            candidates = self._by_key.get(text[start : start + size])
            if not candidates:
                continue
            for quoted in candidates:
                if text.startswith(quoted, start) and (found is None or len(quoted) > len(found)):
                    found = quoted
        return self._items[self._quoted[found]] if found is not None else None

    @staticmethod
    def family_of(item: Item) -> Family | None:
        """The synthetic family of an item (from its metadata or category), if it has one."""
        name = item.metadata.get("family", item.category)
        if not isinstance(name, str):
            return None
        return FAMILIES.get(name) or SKILL_FAMILIES.get(name)

    @staticmethod
    def family_of_name(name: str) -> Family | None:
        """The synthetic family of this name (classic or skills catalogue), if there is one."""
        return FAMILIES.get(name) or SKILL_FAMILIES.get(name)

    @staticmethod
    def wrong_answer(item: Item, rng: random.Random) -> str:
        """A plausible answer that differs from the ground truth: another option, or a nearby number."""
        answer = item.answer.strip()
        if item.options:
            letters = [letter for letter in LETTERS[: len(item.options)] if letter != answer.upper()]
            if letters:
                return rng.choice(letters)
        try:
            value = float(answer)
        except ValueError:
            return f"not {answer}"
        step = 5 if value >= 20 and value % 5 == 0 else 1
        offsets = [k * step for k in (-3, -2, -1, 1, 2, 3) if value + k * step >= 0]
        wrong = value + rng.choice(offsets)
        return str(int(wrong)) if wrong == int(wrong) else f"{wrong:g}"
