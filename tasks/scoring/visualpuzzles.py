"""VisualPuzzles: the official prompt and the ``Answer: X`` cascade of its lmms-eval task.

Patterns are tried in order; each returns the last match that is a valid choice (A-D):
``Answer: (X)``; ``Answer: X`` not preceded by "Final "; ``Answer: X``; ``(X)``; ``X)``; ``{X}``;
``$X$``; `` X.``; and a bare `` X`` when the whole response is at most 5 characters. With text
options, "answer: <option text>" names that option, else the option whose text appears last wins.
Like the official code, ``Answer: X`` reads the first letter after the colon, and is case-sensitive;
option texts are searched as written (only the response is lowercased for "answer: <option text>").

``official`` follows ``parse_response`` and ``VisualPuzzles_process_result`` of lmms-eval's
VisualPuzzles task (lmms_eval/tasks/VisualPuzzles/utils.py in neulab/VisualPuzzles): when nothing
matches it guesses a random letter. The guess is seeded by the response and a run seed, so a run is
reproducible, and the verdict says it was a guess. ``lenient`` does not guess (an unreadable response
is wrong) and matches option texts regardless of case.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence

from ted.tasks.scoring.verdict import Scoring, Verdict

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
    # Official: ``if match in all_choices or match.upper() in all_choices: return match`` (a lowercase
    # letter is returned as it is; the final comparison ignores case).
    for match in reversed(matches):
        if match.upper() in CHOICES:
            return match.upper()
    return None


def read_letter(response: str, options: Sequence[str] | None, *, scoring: Scoring = "official") -> str | None:
    """The letter ``parse_response`` reads, before any guess; None when nothing matches."""
    response = response.strip()  # `VisualPuzzles_process_result` strips the prediction first
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
    if options is not None:
        return _choice_by_text(padded, options, ignore_case=scoring == "lenient")
    return None


def _choice_by_text(response: str, options: Sequence[str], *, ignore_case: bool) -> str | None:
    lowered = response.lower()
    named = list(zip(CHOICES, options, strict=False))
    for letter, option in named:
        wanted = option.lower() if ignore_case else option
        if f"answer: {wanted}" in lowered or f"answer:{wanted}" in lowered:
            return letter
    haystack = lowered if ignore_case else response
    best, best_position = None, -1
    for letter, option in named:
        position = haystack.rfind(option.lower() if ignore_case else option)
        if position > best_position:
            best, best_position = letter, position
    return best


def guess(response: str, seed: int = 0) -> str:
    """The official fallback, ``random.choice(all_choices)``, seeded by ``seed`` and the response."""
    return random.Random(f"{seed}\x00{response}").choice(CHOICES)


def extract(response: str, options: Sequence[str] | None = None) -> str | None:
    """Return the option letter the official cascade reads, or None when it would guess."""
    return read_letter(response, options)


def grade(
    response: str,
    answer: str,
    options: Sequence[str] | None = None,
    *,
    scoring: Scoring = "official",
    seed: int = 0,
    timeout: float = 0.0,
) -> Verdict:
    """Grade ``response``: exact match, ignoring case, of the letter read (or guessed) with ``answer``."""
    letter = read_letter(response, options, scoring=scoring)
    if letter is None and scoring == "official":
        guessed = guess(response, seed)
        return Verdict(guessed, guessed.lower() == answer.strip().lower(), guessed=True)
    return Verdict(letter, letter is not None and letter.lower() == answer.strip().lower())
