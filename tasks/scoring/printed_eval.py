"""Evaluate sympy's printed form of an expression as MATH-V's ``eval`` does, without ``eval``.

MATH-V's evaluation/utils.py compares answers with ``eval(str(latex2sympy(text)))`` in a module that
did ``from math import *``: ``sqrt(2)/2`` is a float, ``pi`` is math's pi, and a name that is not
there (``x``, ``E``, ``I``, ``oo``) raises. Model output is untrusted, so instead of ``eval`` this
walks the Python syntax tree of the printed text and allows only what such a printout contains:
numbers, arithmetic, comparisons, tuples, lists and sets, and calls of math's and a few builtins'
functions by name. Anything else raises `Refused`, which, like any error in MATH-V, means "not equal".
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable
from typing import Any

_NAMES: dict[str, Any] = {name: getattr(math, name) for name in dir(math) if not name.startswith("_")}
_NAMES.update(
    {
        function.__name__: function
        for function in (abs, round, min, max, pow, int, float, complex, bool, sum, divmod)
    }
)
_BINARY: dict[type[ast.operator], Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}
_UNARY: dict[type[ast.unaryop], Callable[[Any], Any]] = {
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
    ast.Not: operator.not_,
}
_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
}


class Refused(Exception):
    """The text is not something a sympy printout of a number evaluates from."""


def evaluate_printed(text: str) -> Any:
    """The value Python's ``eval`` would give ``text`` with math's names in scope.

    Raises:
        Refused: ``text`` uses syntax or a name outside what is allowed (see the module docstring).
        Exception: Whatever the evaluation itself raises (division by zero, overflow ...).
    """
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except (SyntaxError, ValueError) as exc:
        raise Refused(str(exc)) from None
    return _value(tree.body)


def _value(node: ast.expr) -> Any:
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool | int | float | complex):
            return node.value
        raise Refused(f"constant {node.value!r}")
    if isinstance(node, ast.Name):
        if node.id in _NAMES:
            return _NAMES[node.id]
        raise Refused(f"name {node.id!r} is not defined")
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _value(node.left), _value(node.right)
        return _BINARY[type(node.op)](left, right)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_value(node.operand))
    if isinstance(node, ast.Compare) and all(type(op) in _COMPARE for op in node.ops):
        left = _value(node.left)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = _value(right_node)
            if not _COMPARE[type(op)](left, right):
                return False
            left = right
        return True
    if isinstance(node, ast.Tuple):
        return tuple(_value(element) for element in node.elts)
    if isinstance(node, ast.List):
        return [_value(element) for element in node.elts]
    if isinstance(node, ast.Set):
        return {_value(element) for element in node.elts}
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        function = _value(node.func)
        if any(isinstance(argument, ast.Starred) for argument in node.args):
            raise Refused("starred argument")
        arguments = [_value(argument) for argument in node.args]
        keywords = {}
        for keyword in node.keywords:
            if keyword.arg is None:
                raise Refused("keyword unpacking")
            keywords[keyword.arg] = _value(keyword.value)
        return function(*arguments, **keywords)
    raise Refused(f"{type(node).__name__} is not allowed")
