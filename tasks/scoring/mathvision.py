r"""MathVision (MATH-V): the official prompt, answer extraction and matching.

Extraction follows MATH-V's evaluation/evaluate.py, in its order:

1. a response ending in `` X.`` or `` (X).``, or starting with ``X`` or ``(X)`` on its own line,
   answers with the letter X (A-E);
2. when the text after the last ``is `` is a number, that number is the answer;
3. without a ``\boxed{``: keep what follows the last "the final answer is", "the answer is", "the
   correct answer is" or "the answer should be" (also capitalised), up to the end of its line or
   sentence; with several ``\boxed{``: keep the last one;
4. normalise it (`ted.tasks.scoring.math_answer.clean_math_answer`).

An item is correct when the extracted answer equals the ground truth, or, for multiple choice, the
text of the correct option (see `math_equal`).
"""

from __future__ import annotations

from collections.abc import Sequence

from ted.tasks.scoring.math_answer import clean_math_answer, math_equal

INSTRUCTION = (
    'Please solve the problem and put your answer in one "\\boxed{}". '
    'If it is a multiple choice question, only one letter is allowed in the "\\boxed{}".'
)
_FLAGS = ("the final answer is", "the answer is", "the correct answer is", "the answer should be")
_LETTERS = "ABCDE"


def options_in_image(options: Sequence[str] | None) -> bool:
    """Whether the options are just their letters, i.e. drawn in the image."""
    return bool(options) and [option.strip() for option in options or ()] == list(
        _LETTERS[: len(options or ())]
    )


def format_question(question: str, options: Sequence[str] | None) -> str:
    """The question followed by ``(A) ...`` lines, unless the options are only drawn in the image."""
    if not options or options_in_image(options):
        return question
    lines = [f"({chr(ord('A') + index)}) {option}" for index, option in enumerate(options)]
    return question + "\n" + "\n".join(lines)


def instruction(*, has_options: bool) -> str:
    """MATH-V's chain-of-thought instruction (the same for both kinds of question)."""
    return INSTRUCTION


def _is_number(text: str) -> bool:
    try:
        value = float(text)
    except ValueError:
        return False
    return value == value  # NaN is not an answer


def _cut_after_flags(text: str) -> str:
    for flag in _FLAGS:
        for variant in (flag, flag.replace("the", "The")):
            found = variant in text
            text = text.split(variant)[-1].strip()
            if found:
                text = text.split("\n")[0].split(". ")[0]
    return text


def extract(response: str, options: Sequence[str] | None = None) -> str | None:
    """Return the normalised answer MATH-V would read from ``response``, or None when empty."""
    text = response.strip()
    for letter in _LETTERS:
        if text.endswith((f" {letter}.", f" ({letter}).")) or text.startswith(
            (f"{letter}\n", f"({letter})\n", f"({letter}) {letter}\n")
        ):
            text = letter
    tail = text.split("is ")[-1].rstrip(".")
    if _is_number(tail):
        text = tail
    if "oxed{" not in text:
        text = _cut_after_flags(text)
    elif text.count("oxed{") > 1:
        text = "\\boxed{" + text.split("oxed{")[-1]
    answer = clean_math_answer(text)
    return answer or None


def is_correct(extracted: str | None, answer: str, options: Sequence[str] | None = None) -> bool:
    """Whether the extracted answer matches the ground-truth letter or the correct option's text."""
    if extracted is None:
        return False
    if math_equal(clean_math_answer(answer), extracted):
        return True
    letter = answer.strip().upper()
    if options and len(letter) == 1 and "A" <= letter < chr(ord("A") + len(options)):
        option_text = clean_math_answer(options[ord(letter) - ord("A")])
        return math_equal(option_text, extracted)
    return False
