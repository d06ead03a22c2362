"""The child process that runs latex2sympy and math-verify comparisons for `ted.tasks.scoring.bounded`.

sympy can take unbounded time or memory on hostile input (``2^{10^{10}}`` is computed eagerly), and
Python cannot interrupt that inside one thread, so comparisons run here, one JSON request per line on
standard input and one JSON answer per line on standard output; the parent kills this process when an
answer is late. Run as ``python -m ted.tasks.scoring.latex_worker``.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

from ted.tasks.scoring.printed_eval import evaluate_printed


def _number(text: str) -> Any:
    # MATH-V evaluates ``eval(str(latex2sympy(text)))``; see `evaluate_printed`.
    from latex2sympy2 import latex2sympy

    return evaluate_printed(str(latex2sympy(text)))


def _eval_tuple(s: str) -> str:
    # utils.py `eval_tuple`: evaluate each element of "(a,b,...)" or "[a,b,...]" rounded to 2
    # decimals; any failure leaves the whole text as it was.
    parts = s[1:-1].split(",")
    try:
        if s[0] == "(" and s[-1] == ")" and len(parts) > 1:
            values = [
                str(round(_number(sub), 2)) if "infty" not in sub and sub not in ("a", "-a") else sub
                for sub in parts
            ]
            return "(" + ",".join(values) + ")"
        if s[0] == "[" and s[-1] == "]" and len(parts) > 1:
            values = [
                str(round(_number(sub), 2)) if "infty" not in sub and sub not in ("a", "-a") else sub
                for sub in parts
            ]
            return "[" + ",".join(values) + "]"
    except Exception:
        return s
    return s


def official_equal(asw: str, gt_asw: str) -> bool:
    """utils.py `is_equal`: texts equal, tuples equal element-wise, or values equal to 2 decimals."""
    asw, gt_asw = asw.lower(), gt_asw.lower()
    if asw.replace(" ", "") == "" or gt_asw.replace(" ", "") == "":
        return False
    if gt_asw.strip() == asw.strip():
        return True
    asw, gt_asw = _eval_tuple(asw), _eval_tuple(gt_asw)
    if gt_asw == asw:
        return True
    try:
        return bool(round(_number(gt_asw), 2) == round(_number(asw), 2))
    except Exception:
        return False


def lenient_equal(golds: list[str], response: str) -> bool:
    """Whether math-verify finds the response's final answer equivalent to one of ``golds``."""
    from math_verify import parse, verify

    # No signal-based timeouts inside math-verify: the parent bounds this whole call.
    predicted = parse(response, parsing_timeout=None)
    if not predicted:
        return False
    for gold in golds:
        if not gold.strip():
            continue
        parsed = parse(gold, parsing_timeout=None) or parse(f"${gold}$", parsing_timeout=None)
        if parsed and verify(parsed, predicted, timeout_seconds=None):
            return True
    return False


def answer(request: dict[str, Any]) -> dict[str, Any]:
    """One request's answer: ``{"equal": bool}``, or ``{"missing": module}`` without a library."""
    try:
        if request["op"] == "official":
            return {"equal": official_equal(request["a"], request["b"])}
        return {"equal": lenient_equal(list(request["golds"]), request["response"])}
    except ModuleNotFoundError as exc:
        return {"missing": exc.name or str(exc)}


def main() -> None:
    """Serve requests until standard input closes."""
    # Libraries print (ANTLR version notes, parse errors): keep the answer channel to ourselves.
    channel = os.fdopen(os.dup(sys.stdout.fileno()), "w", buffering=1)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    for line in sys.stdin:
        if line.strip():
            channel.write(json.dumps(answer(json.loads(line))) + "\n")


if __name__ == "__main__":
    main()
