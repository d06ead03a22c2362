r"""Normalise and compare math answers the way the MathVision evaluation does.

Follows MATH-V's ``find_math_answer`` and ``is_equal`` (evaluation/utils.py): lowercase, take the
last ``\boxed{}``, keep what follows the last ``=`` or ``\approx``, drop spacing, ``\text``,
``\left``/``\right``, degree signs, units and percent signs, normalise ``\frac``, ``\sqrt`` and
``a/b``; two answers are equal when their texts match, when tuples match element by element after
rounding to 2 decimals, or when both evaluate to numbers that are equal once rounded to 2 decimals.

Deliberate differences, all in the direction of reading what the model clearly meant:
``\boxed{}`` is matched with balanced braces instead of a greedy pattern; units inside ``\text{}``
and unicode ``°``/``π``/``√`` are understood; ``\frac12`` is repaired even without a ``\sqrt``;
``1,000`` is a thousands separator; and the ground truth goes through the same normalisation as the
prediction (MATH-V relies on latex2sympy to read raw ground-truth LaTeX; we evaluate without it).
"""

from __future__ import annotations

import re

from ted.tasks.scoring.expression import evaluate

_UNIT = (
    r"(?:sq\.?)?(?:mm|cm|dm|km|m|in|inch|inches|ft|feet|foot|yd|yards?|units?|degrees?|deg|rad|radians?"
    r"|g|kg|l|ml|s|sec|seconds?|min|minutes?|h|hrs?|hours?|days?|years?|cents?|dollars?|euros?)"
    r"(?:\^\{?[23]\}?|²|³)?"
)
_TRAILING_TEXT_GROUP = re.compile(r"(?<=[\d}.)])\\(?:text|mathrm|mbox|textrm|operatorname)\{[^{}]*\}$")
_TRAILING_UNIT = re.compile(rf"(?<=[\d}}.)]){_UNIT}$")
_THOUSANDS = re.compile(r"^-?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_INTEGER_FRACTION = re.compile(r"^(-?\d+)/(\d+)$")
_LETTER_WRAPPERS = [(f"({letter})", letter) for letter in "abcde"] + [
    (f"{{{letter}}}", letter) for letter in "abcde"
]


def last_boxed(text: str) -> str | None:
    r"""Return the content of the last ``\boxed{...}`` (braces balanced), or None without one."""
    start = text.rfind("oxed{")
    if start < 0:
        return None
    position = start + len("oxed{")
    depth = 1
    for index in range(position, len(text)):
        if text[index] == "{":
            depth += 1
        elif text[index] == "}":
            depth -= 1
            if depth == 0:
                return text[position:index]
    return text[position:]


def _fix_sqrt(text: str) -> str:
    return re.sub(r"\\sqrt(\w)", r"\\sqrt{\1}", text)


def _fix_fracs(text: str) -> str:
    text = re.sub(r"\\frac(\d)(\d)", r"\\frac{\1}{\2}", text)
    text = re.sub(r"\\frac(\d)\{", r"\\frac{\1}{", text)
    return re.sub(r"\\frac\{([^{}]*)\}(\d)", r"\\frac{\1}{\2}", text)


def _strip_units(text: str) -> str:
    previous = None
    while previous != text:
        previous = text
        text = _TRAILING_TEXT_GROUP.sub("", text)
        text = _TRAILING_UNIT.sub("", text)
    return text


def clean_math_answer(text: str) -> str:
    """Normalise one answer (already cut out of a response) for comparison."""
    text = text.lower().replace("{}", "")
    boxed = last_boxed(text)
    answer = boxed if boxed is not None else text
    closing, opening = answer.find("}"), answer.find("{")
    if closing != -1 and (opening == -1 or closing < opening):
        answer = answer.split("}")[0]
    answer = answer.replace("≈", r"\approx").split("=")[-1].split(r"\approx")[-1]

    for spacing in (" ", "\n", r"\,", r"\;", r"\:", r"\!", r"\quad", r"\displaystyle"):
        answer = answer.replace(spacing, "")
    answer = answer.replace("∞", r"\infty").replace(r"+\infty", r"\infty").replace("\\\\", "\\")
    answer = answer.replace("bmatrix", "pmatrix").replace(r"\left", "").replace(r"\right", "")
    answer = answer.replace("tfrac", "frac").replace("dfrac", "frac")
    answer = answer.replace(r"\$", "").replace("$", "")
    for degree in (r"^{\circ}", r"^\circ", "°", r"\degree", r"\circ"):
        answer = answer.replace(degree, "")
    answer = answer.replace(r"\%", "").replace("%", "")
    answer = _strip_units(answer)
    for wrapper in (r"\text", r"\mathrm", r"\mbox", r"\textrm", r"\textbf", r"\mathbf"):
        answer = answer.replace(wrapper, "")

    answer = answer.replace("{.", "{0.")
    if answer.startswith("."):
        answer = "0" + answer
    answer = _fix_fracs(_fix_sqrt(answer))
    if _THOUSANDS.match(answer):
        answer = answer.replace(",", "")
    if answer == "0.5":
        answer = r"\frac{1}{2}"
    fraction = _INTEGER_FRACTION.match(answer)
    if fraction:
        answer = rf"\frac{{{fraction.group(1)}}}{{{fraction.group(2)}}}"
    for wrapped, letter in _LETTER_WRAPPERS:
        answer = answer.replace(wrapped, letter)
    return answer.rstrip(".").lstrip(":").strip()


def _rounded(text: str) -> float | None:
    value = evaluate(text)
    return None if value is None else round(value, 2)


def _elements(text: str) -> list[str] | None:
    """Split ``(a,b,...)`` or ``[a,b,...]`` into rounded elements; None when not a tuple."""
    if len(text) < 2 or (text[0], text[-1]) not in (("(", ")"), ("[", "]")):
        return None
    parts = text[1:-1].split(",")
    if len(parts) < 2:
        return None
    elements = []
    for part in parts:
        value = _rounded(part) if "infty" not in part else None
        elements.append(part if value is None else repr(value))
    return elements


def math_equal(expected: str, predicted: str) -> bool:
    """Whether two cleaned answers are equal under MathVision's rules."""
    expected, predicted = expected.lower().strip(), predicted.lower().strip()
    if not expected or not predicted:
        return False
    if expected == predicted:
        return True
    expected_elements, predicted_elements = _elements(expected), _elements(predicted)
    if expected_elements is not None or predicted_elements is not None:
        return expected_elements == predicted_elements
    expected_value, predicted_value = _rounded(expected), _rounded(predicted)
    return expected_value is not None and expected_value == predicted_value
