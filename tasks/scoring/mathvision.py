r"""MathVision (MATH-V): the official prompt, answer extraction and matching.

``official`` follows MATH-V's evaluation/evaluate.py (`evaluate`) exactly, in its order:

1. a response ending in `` X.`` or `` (X).``, or starting with ``X`` or ``(X)`` on its own line,
   answers with the letter X (A-E);
2. when the text after the last ``is `` is a number (anything ``float`` reads), that is the answer;
3. without a ``\boxed{``: keep what follows the last "the final answer is", "the answer is", "the
   correct answer is" or "the answer should be" (also capitalised), up to the end of its line or
   sentence; with several ``\boxed{``: keep the last one;
4. `find_math_answer`, then ``(a)``/``{a}`` become ``a`` and a trailing ``.``/leading ``:`` go.

The item is correct when ``is_equal(answer, read)`` or ``is_equal(option_text, read)``: the ground
truth and the correct option's text are compared raw, as the dataset has them (`bounded.official_equal`).

``lenient`` also accepts a response whose final answer math-verify finds equivalent to the ground
truth or the correct option's text.
"""

from __future__ import annotations

from collections.abc import Sequence

from ted.tasks.scoring import bounded
from ted.tasks.scoring.math_answer import find_math_answer
from ted.tasks.scoring.verdict import Scoring, Verdict

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
    # evaluate.py's `is_number`: whatever ``float`` accepts ("nan", "1e5", "1_000" too).
    try:
        float(text)
    except ValueError:
        return False
    return True


def _cut_after_flags(text: str) -> str:
    for flag in _FLAGS:
        for variant in (flag, flag.replace("the", "The")):
            found = variant in text
            text = text.split(variant)[-1].strip()
            if found:
                text = text.split("\n")[0].split(". ")[0]
    return text


def read_answer(response: str) -> str:
    """The answer MATH-V's `evaluate` reads in ``response`` (its ``model_answer``; may be empty)."""
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
    answer = find_math_answer(text)
    for letter in "abcde":
        answer = answer.replace(f"({letter})", letter)
    for letter in "abcde":
        answer = answer.replace(f"{{{letter}}}", letter)
    return answer.rstrip(".").lstrip(":").strip()


def extract(response: str, options: Sequence[str] | None = None) -> str | None:
    """Return the answer MATH-V reads from ``response``, or None when it reads nothing."""
    return read_answer(response) or None


def option_value(answer: str, options: Sequence[str] | None) -> str:
    """evaluate.py's ``gt_answer_value``: the correct option's text, raw ('' without options)."""
    if not options:
        return ""
    index = ord(answer) - ord("A") if len(answer) == 1 else -1
    return options[index] if 0 <= index < len(options) else ""


def grade(
    response: str,
    answer: str,
    options: Sequence[str] | None = None,
    *,
    scoring: Scoring = "official",
    seed: int = 0,
    timeout: float = bounded.DEFAULT_TIMEOUT,
) -> Verdict:
    """Grade ``response`` against the ground truth ``answer`` (a letter when there are options)."""
    read = read_answer(response)
    value = option_value(answer, options)
    by_answer = bounded.official_equal(answer, read, timeout)
    by_value = by_answer if by_answer.equal else bounded.official_equal(value, read, timeout)
    correct = by_answer.equal or by_value.equal
    timed_out = (by_answer.timed_out or by_value.timed_out) and not correct
    if not correct and scoring == "lenient":
        golds = tuple(gold for gold in (answer, value) if gold)
        lenient = bounded.lenient_equal(golds, response, timeout)
        correct, timed_out = lenient.equal, timed_out or lenient.timed_out
    return Verdict(read or None, correct, timed_out=timed_out)
