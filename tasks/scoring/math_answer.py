r"""MATH-V's answer normalisation, reimplemented faithfully: ``find_math_answer`` and its helpers.

Follows ``find_math_answer``, ``_strip_string``, ``_fix_fracs``, ``_fix_a_slash_b``,
``_remove_right_units`` and ``_fix_sqrt`` of MATH-V's evaluation/utils.py, quirks included (the greedy
``\boxed{`` pattern, ``_fix_fracs`` applied only when the answer has a ``sqrt``, units removed only as
the literal strings ``m^3``, ``km`` and ``units``): a verdict must be the official one, not a better one.
"""

from __future__ import annotations

import re

_BOXED = re.compile(r"oxed{(.*)}", flags=re.S)


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


def _fix_fracs(string: str) -> str:
    # utils.py `_fix_fracs`: brace the one-character numerator/denominator of ``\frac``.
    substrs = string.split("\\frac")
    new_str = substrs[0]
    for substr in substrs[1:]:
        new_str += "\\frac"
        if len(substr) > 0 and substr[0] == "{":
            new_str += substr
            continue
        if len(substr) < 2:
            return string
        a, b = substr[0], substr[1]
        if b != "{":
            new_str += "{" + a + "}{" + b + "}" + substr[2:]
        else:
            new_str += "{" + a + "}" + b + substr[2:]
    return new_str


def _fix_a_slash_b(string: str) -> str:
    # utils.py `_fix_a_slash_b`: "3/4" (integers, written plainly) becomes \frac{3}{4}.
    parts = string.split("/")
    if len(parts) != 2:
        return string
    try:
        a, b = int(parts[0]), int(parts[1])
    except ValueError:
        return string
    if string != f"{a}/{b}":
        return string
    return "\\frac{" + str(a) + "}{" + str(b) + "}"


def _fix_sqrt(string: str) -> str:
    # utils.py `_fix_sqrt`: brace a one-character ``\sqrt`` argument.
    if "\\sqrt" not in string:
        return string
    splits = string.split("\\sqrt")
    new_string = splits[0]
    for split in splits[1:]:
        if len(split) > 0 and split[0] != "{":
            new_string += "\\sqrt{" + split[0] + "}" + split[1:]
        else:
            new_string += "\\sqrt" + split
    return new_string


def _strip_string(string: str) -> str:
    # utils.py `_strip_string`, step by step.
    string = string.replace("\n", "").replace("\\!", "").replace("\\\\", "\\")
    string = string.replace("tfrac", "frac").replace("dfrac", "frac")
    string = string.replace("\\left", "").replace("\\right", "")
    string = string.replace("^{\\circ}", "").replace("^\\circ", "")
    string = string.replace("\\$", "").replace("$", "")
    string = string.split("\\text{ ")[0]  # `_remove_right_units`
    string = string.replace("\\%", "")
    string = string.replace(" .", " 0.").replace("{.", "{0.")
    if len(string) == 0:
        return string
    if string[0] == ".":
        string = "0" + string
    if len(string.split("=")) == 2:
        string = string.split("=")[-1]
    if len(string.split("\\approx")) == 2:
        string = string.split("\\approx")[-1]
    if "sqrt" in string:
        string = _fix_sqrt(string)
    string = string.replace(" ", "")
    if "sqrt" in string:
        string = _fix_fracs(string)
    if string == "0.5":
        string = "\\frac{1}{2}"
    return _fix_a_slash_b(string)


def find_math_answer(s: str) -> str:
    r"""MATH-V's ``find_math_answer``: the normalised final answer in ``s`` (lowercased)."""
    s = s.lower()
    if "{}" in s:
        s = s.replace("{}", "")
    found = _BOXED.findall(s)
    ans = found[-1] if found else s
    if ans.find("}") != -1 and (ans.find("{") == -1 or ans.find("}") < ans.find("{")):
        ans = ans.split("}")[0]
    ans = ans.split("=")[-1]
    ans = ans.split("\\approx")[-1]
    ans = ans.replace(" ", "").replace("\\,", "").replace("∞", "\\infty")
    ans = ans.replace("+\\infty", "\\infty").replace("\\\\", "\\").replace("\n", "")
    ans = ans.replace("\\text", "").replace("\\mbox", "").replace("bmatrix", "pmatrix")
    ans = ans.replace("\\left", "").replace("\\right", "").replace("^{\\circ}", "")
    ans = ans.replace("^\\circ", "").replace("{m}^3", "").replace("m^3", "")
    ans = ans.replace("{units}", "").replace("units", "").replace("{km}", "").replace("km", "")
    return _strip_string(ans)
