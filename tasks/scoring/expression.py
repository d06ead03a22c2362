r"""Evaluate a small LaTeX or plain arithmetic expression to a number, without `eval`.

Covers what math answers are written with: integers and decimals, ``+ - * /``, ``\cdot``,
``\times``, ``\div``, powers, ``\frac{a}{b}``, ``\sqrt{x}`` and ``\sqrt[n]{x}``, ``\pi``,
parentheses and braces, and implicit products such as ``2\sqrt{3}`` or ``4\pi``. Anything else
(variables, ``\infty``, lists) is not a number and gives None, so the caller falls back to text.
"""

from __future__ import annotations

import math
import re

_MAX_LENGTH = 300
_MAX_MAGNITUDE = 1e100
_TOKEN = re.compile(r"\s*(\d+(?:\.\d*)?|\.\d+|\\[a-zA-Z]+|pi|[-+*/^(){}\[\]])")
_UNICODE = {"π": r"\pi", "√": r"\sqrt", "×": r"\times", "·": r"\cdot", "÷": r"\div", "−": "-"}
_IGNORED = {r"\left", r"\right", r"\displaystyle"}
_SPACING = (r"\,", r"\!", r"\;", r"\:")
_PRODUCT = {"*", r"\cdot", r"\times"}
_QUOTIENT = {"/", r"\div"}
_COMMAND_ALIASES = {r"\dfrac": r"\frac", r"\tfrac": r"\frac", "pi": r"\pi"}
_ATOM_START = {"(", "{", r"\pi", r"\frac", r"\sqrt"}


class _NotANumber(Exception):
    """The text is not an expression this evaluator understands."""


def _tokens(text: str) -> list[str]:
    for symbol, command in _UNICODE.items():
        text = text.replace(symbol, f" {command} ")
    for spacing in _SPACING:
        text = text.replace(spacing, " ")
    tokens: list[str] = []
    position = 0
    text = text.strip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None:
            raise _NotANumber
        token = _COMMAND_ALIASES.get(match.group(1), match.group(1))
        if token not in _IGNORED:
            tokens.append(token)
        position = match.end()
        while position < len(text) and text[position].isspace():
            position += 1
    return tokens


def _checked(value: float) -> float:
    if not math.isfinite(value) or abs(value) > _MAX_MAGNITUDE:
        raise _NotANumber
    return value


class _Parser:
    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.position = 0

    def peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None or (expected is not None and token != expected):
            raise _NotANumber
        self.position += 1
        return token

    def expression(self) -> float:
        value = self.term()
        while self.peek() in ("+", "-"):
            operator = self.take()
            right = self.term()
            value = _checked(value + right if operator == "+" else value - right)
        return value

    def term(self) -> float:
        value = self.unary()
        while True:
            token = self.peek()
            if token in _PRODUCT:
                self.take()
                value = _checked(value * self.unary())
            elif token in _QUOTIENT:
                self.take()
                divisor = self.unary()
                if divisor == 0:
                    raise _NotANumber
                value = _checked(value / divisor)
            elif token is not None and (token in _ATOM_START or token[0].isdigit() or token[0] == "."):
                value = _checked(value * self.power())
            else:
                return value

    def unary(self) -> float:
        if self.peek() in ("+", "-"):
            sign = -1.0 if self.take() == "-" else 1.0
            return sign * self.unary()
        return self.power()

    def power(self) -> float:
        base = self.atom()
        if self.peek() != "^":
            return base
        self.take()
        exponent = self.group() if self.peek() == "{" else self.unary()
        if abs(exponent) > 1000:
            raise _NotANumber
        try:
            return _checked(math.pow(base, exponent))
        except (OverflowError, ValueError) as exc:
            raise _NotANumber from exc

    def group(self) -> float:
        self.take("{")
        value = self.expression()
        self.take("}")
        return value

    def atom(self) -> float:
        token = self.take()
        if token[0].isdigit() or token[0] == ".":
            return float(token)
        if token == r"\pi":
            return math.pi
        if token in ("(", "{"):
            value = self.expression()
            self.take(")" if token == "(" else "}")
            return value
        if token == r"\frac":
            numerator = self.group()
            denominator = self.group()
            if denominator == 0:
                raise _NotANumber
            return _checked(numerator / denominator)
        if token == r"\sqrt":
            return self.root()
        raise _NotANumber

    def root(self) -> float:
        degree = 2.0
        if self.peek() == "[":
            self.take("[")
            degree = self.expression()
            self.take("]")
        radicand = self.group() if self.peek() == "{" else self.atom()
        if degree == 0:
            raise _NotANumber
        if radicand < 0:
            odd = degree == int(degree) and int(degree) % 2 == 1
            if not odd:
                raise _NotANumber
            return -_checked(math.pow(-radicand, 1 / degree))
        return _checked(math.pow(radicand, 1 / degree))


def evaluate(text: str) -> float | None:
    """Evaluate ``text`` as a number, or return None when it is not a plain numeric expression."""
    if not text or len(text) > _MAX_LENGTH:
        return None
    try:
        parser = _Parser(_tokens(text))
        value = parser.expression()
        if parser.peek() is not None:
            return None
        return value
    except _NotANumber:
        return None
