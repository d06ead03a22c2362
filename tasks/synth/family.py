"""What a family of synthetic puzzles is, and the puzzle one of them makes."""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from PIL import Image

AnswerKind = Literal["choice", "number"]

LETTERS = "ABCDEFGH"


# Puzzles and families hold a PIL image and a function; they are plain dataclasses, not pydantic
# models, because they never travel as data (the generator turns them into `Item`s).
@dataclass(frozen=True)
class Puzzle:
    """One drawn puzzle.

    Attributes:
        question: The question text, without the options.
        answer: The option letter for multiple choice, else the number as text.
        options: Option texts in order (letters A, B, ... implied), or None for numeric answers.
        image: The picture the question is about.
        facts: What was drawn (counts, heights, time ...), kept as item metadata.
    """

    question: str
    answer: str
    options: tuple[str, ...] | None
    image: Image.Image
    facts: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Family:
    """A family of visual reasoning puzzles and the skill that makes them easy.

    Attributes:
        name: Identifier, used as the item category.
        title: A few words saying what the puzzles ask.
        skill: The canonical piece of advice that, when known, makes the puzzle easy.
        paraphrases: Rewordings of the skill, as a reflecting teacher would write them.
        keywords: Groups of word stems; a text carries the skill when every group has a stem in it.
        answer_kind: "choice" (an option letter) or "number".
        make: Draws one puzzle from a random generator.
        misconception: A wrong rule on the same topic, as a reference text (None: the family has none).
        wrong_advice: Wordings of the misconception, as a teacher who believes it writes them.
    """

    name: str
    title: str
    skill: str
    paraphrases: tuple[str, ...]
    keywords: tuple[tuple[str, ...], ...]
    answer_kind: AnswerKind
    make: Callable[[random.Random], Puzzle]
    misconception: str | None = None
    wrong_advice: tuple[str, ...] = ()

    @cached_property
    def _patterns(self) -> tuple[re.Pattern[str], ...]:
        # Stems match at the start of a word: "count" matches "counting", not "account".
        return tuple(
            re.compile(r"\b(?:" + "|".join(re.escape(stem) for stem in group) + ")", re.IGNORECASE)
            for group in self.keywords
        )

    def carries_skill(self, text: str) -> bool:
        """Whether ``text`` states this family's skill (every keyword group is present).

        A family without keywords (the skills catalogue) is recognised by meaning instead, never here.
        """
        return bool(self.keywords) and all(pattern.search(text) for pattern in self._patterns)


def multiple_choice(
    rng: random.Random, correct: str, distractors: Sequence[str]
) -> tuple[tuple[str, ...], str]:
    """Shuffle the correct option among distinct distractors.

    Returns:
        The option texts in order and the letter of the correct one.

    Raises:
        ValueError: If the options are not distinct or there are too many for the letters.
    """
    options = [correct, *distractors]
    if len(set(options)) != len(options) or len(options) > len(LETTERS):
        raise ValueError(f"options must be distinct and at most {len(LETTERS)}: {options}")
    rng.shuffle(options)
    return tuple(options), LETTERS[options.index(correct)]
