"""VisualPuzzles: the official prompt and the ``Answer: X`` cascade of its lmms-eval task.

Patterns are tried in order; each returns the last match that is a valid choice (A-D):
``Answer: (X)``; ``Answer: X`` not preceded by "Final "; ``Answer: X``; ``(X)``; ``X)``; ``{X}``;
``$X$``; `` X.``; and a bare `` X`` when the whole response is at most 5 characters. With text
options, "answer: <option text>" names that option, else the option whose text appears last wins.
Like the official code, ``Answer: X`` reads the first letter after the colon, and is case-sensitive.

One deliberate difference: where the official code guesses a random letter when nothing matches,
we return None and score the response as wrong, so that scores are deterministic.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

INSTRUCTION = (
    "Solve the multiple-choice question and then answer with the option letter from the given choices. "
    "The last line of your response should be of the following format: 'Answer: $LETTER' (without quotes) "
    "where LETTER is one of options. Think step by step before answering."
)
CHOICES = ("A", "B", "C", "D")
_PATTERNS = (
    re.compile(r"Answer:\s*\(([A-Za-z])\)"),
    re.compile(r"(?<!Final )Answer:\s*([A-Za-z])"),
    re.compile(r"Answer:\s*([A-Za-z])"),
    re.compile(r"\(([A-Za-z])\)"),
    re.compile(r"([A-Za-z])\)"),
    re.compile(r"\{([A-Za-z])\}"),
    re.compile(r"\$([A-Za-z])\$"),
    re.compile(r" ([A-Da-d])\."),
)
_BARE_LETTER = re.compile(r" ([A-Da-d])")
_SHORT_RESPONSE = 5


def format_question(question: str, options: Sequence[str] | None) -> str:
    """``Question: ...`` and its options, as the lmms-eval task renders them."""
    text = "Question: " + question.strip()
    if options is None:
        return text + "\nOptions: Choose from (A) (B) (C) (D) in the image."
    lines = [f"({chr(ord('A') + index)}) {option}" for index, option in enumerate(options)]
    return text + "\nOptions:\n" + "\n".join(lines)


def instruction(*, has_options: bool) -> str:
    """The chain-of-thought instruction of the ``VisualPuzzles_cot`` task."""
    return INSTRUCTION


def _last_choice(matches: list[str]) -> str | None:
    for match in reversed(matches):
        if match.upper() in CHOICES:
            return match.upper()
    return None


def extract(response: str, options: Sequence[str] | None = None) -> str | None:
    """Return the option letter the official cascade reads, or None when nothing matches."""
    for index, pattern in enumerate(_PATTERNS):
        # From the "X)" pattern on, the official code matches against the stripped response with a
        # leading space, so that " X." can match at the very start.
        text = response if index < 4 else " " + response.strip()
        choice = _last_choice(pattern.findall(text))
        if choice is not None:
            return choice
    padded = " " + response.strip()
    if len(padded) <= _SHORT_RESPONSE:
        choice = _last_choice(_BARE_LETTER.findall(padded))
        if choice is not None:
            return choice
    if options:
        return _choice_by_text(padded, options)
    return None


def _choice_by_text(response: str, options: Sequence[str]) -> str | None:
    lowered = response.lower()
    named = list(zip(CHOICES, options, strict=False))
    for letter, option in named:
        if f"answer: {option.lower()}" in lowered or f"answer:{option.lower()}" in lowered:
            return letter
    best, best_position = None, -1
    for letter, option in named:
        position = response.rfind(option) if option else -1
        if position > best_position:
            best, best_position = letter, position
    return best


def is_correct(extracted: str | None, answer: str, options: Sequence[str] | None = None) -> bool:
    """Exact (case-insensitive) match of the extracted letter with the answer letter."""
    return extracted is not None and extracted == answer.strip().upper()
