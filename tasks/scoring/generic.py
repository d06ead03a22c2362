r"""The generic benchmark, for users' own data: a final ``Answer: ...`` line.

Reading a response: the last line of the form ``Answer: ...`` (``Final answer:``, markdown bold and
a full-width colon are fine); without one, the last ``\boxed{}``; without one, what follows the last
"the answer is". Nothing found means wrong.

Matching:
- multiple choice (options given): the option letter, written ``B``, ``(B)``, ``B.`` or ``B) text``,
  or the option's text itself;
- numbers: equal at the precision the ground truth is written with, so ``12`` accepts ``12.0`` and
  ``12.000001`` but not ``12.4``, and ``0.33`` accepts ``0.333`` and ``1/3``; fractions, thousands
  separators and ``\frac{a}{b}`` are read, and a percent sign or a trailing unit word is ignored;
- anything else: the texts match after Unicode normalisation, case folding, and collapsing spaces and
  surrounding quotes, brackets and end punctuation.

These rules are the format's own, so ``official`` means them; ``lenient`` also accepts a free-form
answer that math-verify finds equivalent to the ground truth.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from ted.tasks.scoring import bounded
from ted.tasks.scoring.math_answer import last_boxed
from ted.tasks.scoring.verdict import Scoring, Verdict

_ANSWER_LINE = re.compile(
    r"\banswer[ \t*_]*[:：][ \t]*(?P<answer>[^\n]*?)[ \t]*$",
    re.IGNORECASE | re.MULTILINE,
)
_THE_ANSWER_IS = re.compile(r"the (?:final )?answer is[:\s]*(?P<answer>[^\n]*)", re.IGNORECASE)
_LETTER_ONLY = re.compile(r"^\(?(?P<letter>[A-Za-z])\)?[.:]?$")
_LETTER_LEAD = re.compile(r"^(?:\((?P<paren>[A-Za-z])\)|(?P<bare>[A-Za-z])[.:)])\s+\S")
_NUMBER = re.compile(
    r"^(?P<sign>[-+−]?)\s*(?P<number>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+)"
    r"(?:\s*/\s*(?P<denominator>\d+(?:\.\d+)?))?\s*(?P<unit>%|[^\W\d_]{1,12}(?:\^?[23²³])?|°)?$"
)
_LATEX_FRACTION = re.compile(
    r"^(?P<sign>-?)\\[dt]?frac\{(?P<top>\d+(?:\.\d+)?)\}\{(?P<bottom>\d+(?:\.\d+)?)\}$"
)
_STRIP = " \t\n\"'`*_$.,;:!?()[]{}"


def format_question(question: str, options: Sequence[str] | None) -> str:
    """The question, then an ``Options:`` block with lettered options when there are any."""
    if not options:
        return question
    lines = [f"({chr(ord('A') + index)}) {option}" for index, option in enumerate(options)]
    return question + "\nOptions:\n" + "\n".join(lines)


def instruction(*, has_options: bool) -> str:
    """Ask for a final ``Answer: ...`` line: the option letter, or a number or short text."""
    if has_options:
        return (
            "Think step by step, then end your response with a final line of the form 'Answer: X', "
            "where X is the letter of the correct option."
        )
    return (
        "Think step by step, then end your response with a final line of the form 'Answer: <answer>', "
        "where <answer> is the final number (without units) or a short phrase."
    )


def extract(response: str, options: Sequence[str] | None = None) -> str | None:
    """Return the raw final answer of ``response`` (a letter for multiple choice), or None."""
    lines = _ANSWER_LINE.findall(response)
    candidates = [line for line in lines if line.strip(_STRIP)]
    if candidates:
        raw = candidates[-1]
    elif (boxed := last_boxed(response)) is not None:
        raw = boxed
    elif said := _THE_ANSWER_IS.findall(response):
        raw = said[-1]
    else:
        return None
    raw = raw.strip().strip("*_`").strip()
    if not options:
        return raw or None
    return _option_letter(raw, options)


def _option_letter(raw: str, options: Sequence[str]) -> str | None:
    """Read ``B``, ``(B)``, ``B.``, the text of an option, or ``B) text`` / ``(B) text``, in that order."""
    letters = [chr(ord("A") + index) for index in range(len(options))]
    raw = raw.strip("$*` ")
    only = _LETTER_ONLY.match(raw)
    if only and only.group("letter").upper() in letters:
        return only.group("letter").upper()
    wanted = normalize_text(raw)
    for letter, option in zip(letters, options, strict=True):
        if wanted and wanted == normalize_text(option):
            return letter
    lead = _LETTER_LEAD.match(raw)
    if lead:
        letter = (lead.group("paren") or lead.group("bare")).upper()
        if letter in letters:
            return letter
    return None


def normalize_text(text: str) -> str:
    """Fold case and Unicode forms, collapse spaces, strip quotes, brackets and end punctuation."""
    text = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(text.split()).strip(_STRIP)


def parse_number(text: str) -> tuple[float, int | None] | None:
    """Read a number and the count of decimals it is written with, or None when it is not one.

    The count is None for fractions, whose value is exact.
    """
    text = unicodedata.normalize("NFKC", text).strip().strip("$").strip()
    text = text.replace(r"\%", "%").replace("−", "-")
    fraction = _LATEX_FRACTION.match(text)
    if fraction:
        bottom = float(fraction.group("bottom"))
        if bottom == 0:
            return None
        value = float(fraction.group("top")) / bottom
        return (-value if fraction.group("sign") else value), None
    match = _NUMBER.match(text.rstrip("."))
    if match is None:
        return None
    digits = match.group("number").replace(",", "")
    value = float(digits)
    decimals: int | None = len(digits.split(".")[1]) if "." in digits else 0
    if match.group("denominator") is not None:
        denominator = float(match.group("denominator"))
        if denominator == 0:
            return None
        value, decimals = value / denominator, None
    if match.group("sign") in ("-", "−"):
        value = -value
    return value, decimals


def _numbers_match(expected: tuple[float, int | None], predicted: tuple[float, int | None]) -> bool:
    """Equal at the precision of the ground truth; an exact fraction accepts 2 or more decimals."""
    value, decimals = expected
    guess, guess_decimals = predicted
    if decimals is None and guess_decimals:
        tolerance = 0.5 * 10.0 ** (-max(guess_decimals, 2))
    elif decimals:
        tolerance = 0.5 * 10.0 ** (-decimals)
    else:
        tolerance = 1e-6 * max(1.0, abs(value))
    return abs(guess - value) <= tolerance + 1e-12


def _answer_letter(answer: str, options: Sequence[str]) -> str | None:
    letter = answer.strip().strip("()").upper()
    if len(letter) == 1 and "A" <= letter < chr(ord("A") + len(options)):
        return letter
    wanted = normalize_text(answer)
    for index, option in enumerate(options):
        if wanted and wanted == normalize_text(option):
            return chr(ord("A") + index)
    return None


def is_correct(extracted: str | None, answer: str, options: Sequence[str] | None = None) -> bool:
    """Whether the extracted answer matches the ground truth (see the module docstring)."""
    if extracted is None:
        return False
    if options:
        expected_letter = _answer_letter(answer, options)
        if expected_letter is not None:
            return extracted == expected_letter
    expected_number, predicted_number = parse_number(answer), parse_number(extracted)
    if predicted_number is None and "=" in extracted:
        predicted_number = parse_number(extracted.rsplit("=", 1)[1])
    if expected_number is not None and predicted_number is not None:
        return _numbers_match(expected_number, predicted_number)
    if expected_number is not None:
        return False
    return normalize_text(extracted) == normalize_text(answer)


def grade(
    response: str,
    answer: str,
    options: Sequence[str] | None = None,
    *,
    scoring: Scoring = "official",
    seed: int = 0,
    timeout: float = bounded.DEFAULT_TIMEOUT,
) -> Verdict:
    """Grade ``response`` under the rules above (and math-verify, when ``lenient``)."""
    extracted = extract(response, options)
    correct = is_correct(extracted, answer, options)
    if correct or scoring != "lenient" or options:
        return Verdict(extracted, correct)
    lenient = bounded.lenient_equal((answer,), response, timeout)
    return Verdict(extracted, lenient.equal, timed_out=lenient.timed_out)
