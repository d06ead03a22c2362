"""Structured answers: JSON that follows a schema, and calls of tools the pipeline did not name."""

from __future__ import annotations

import json
from typing import Any

from ted.sim.solve import Solution

MAX_DEPTH = 6


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    reference = schema.get("$ref")
    if isinstance(reference, str) and reference.startswith("#/"):
        target: Any = root
        for part in reference[2:].split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        return target if isinstance(target, dict) else {}
    for key in ("anyOf", "oneOf", "allOf"):
        options = schema.get(key)
        if isinstance(options, list):
            # Prefer a branch that is not null: Optional fields get a value.
            for option in options:
                if isinstance(option, dict) and option.get("type") != "null":
                    return _resolve(option, root)
    return schema


def _value(
    name: str, schema: dict[str, Any], root: dict[str, Any], solution: Solution | None, depth: int
) -> Any:
    schema = _resolve(schema, root)
    kind = schema.get("type")
    lowered = name.lower()
    if schema.get("enum"):
        choices = schema["enum"]
        if solution is not None and solution.answer in choices:
            return solution.answer
        return choices[0]
    if solution is not None and "answer" in lowered:
        if kind in ("integer", "number"):
            try:
                number = float(solution.answer)
            except ValueError:
                return 0
            return int(number) if kind == "integer" else number
        return solution.answer
    if solution is not None and any(word in lowered for word in ("reason", "explan", "rational", "thought")):
        return solution.reasoning
    if (
        solution is not None
        and kind == "array"
        and any(word in lowered for word in ("experience", "cite", "label"))
    ):
        return solution.cited
    if kind == "object" and depth < MAX_DEPTH:
        return fill(schema, root, solution, depth + 1)
    defaults: dict[str, Any] = {
        "string": "simulated",
        "integer": 0,
        "number": 0.0,
        "boolean": True,
        "array": [],
        "object": {},
        "null": None,
    }
    return defaults.get(kind if isinstance(kind, str) else "string", "simulated")


def fill(
    schema: dict[str, Any],
    root: dict[str, Any] | None = None,
    solution: Solution | None = None,
    depth: int = 0,
) -> dict[str, Any]:
    """An object for a JSON schema with every required property set (all of them if none is required).

    Fields named like an answer get the solution's answer, reasoning-like fields its reasoning, and
    arrays of experiences or labels the cited labels; everything else gets a plain value of its type.
    """
    root = root if root is not None else schema
    schema = _resolve(schema, root)
    properties = schema.get("properties") or {}
    required = schema.get("required") or list(properties)
    return {
        name: _value(name, properties.get(name) or {}, root, solution, depth)
        for name in required
        if isinstance(name, str)
    }


def json_answer(schema: dict[str, Any] | None, solution: Solution | None) -> str:
    """JSON content: the schema filled in, or ``{"answer", "reasoning"}`` when there is no schema."""
    if schema is not None:
        return json.dumps(fill(schema, solution=solution))
    if solution is None:
        return json.dumps({"answer": "unknown", "reasoning": "Simulated model: no puzzle of the world here."})
    return json.dumps({"answer": solution.answer, "reasoning": solution.reasoning})
