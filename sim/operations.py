"""Library operations as our pipeline reads them: tool calls, or JSON ``{"operations": [...]}``."""

from __future__ import annotations

import json
import random
from collections.abc import Collection
from typing import Any

from ted.sim.reply import Reply, ToolCall

# op -> (tool name, argument names in the order the tool declares them)
TOOLS: dict[str, tuple[str, tuple[str, ...]]] = {
    "add": ("add_experience", ("text", "tags", "reason")),
    "update": ("update_experience", ("label", "text", "reason")),
    "delete": ("delete_experience", ("label", "reason")),
    "merge": ("merge_experiences", ("labels", "text", "reason")),
    "vote": ("vote_experience", ("label", "vote", "reason")),
}

Operation = dict[str, Any]


def as_tool_calls(
    operations: list[Operation], offered: Collection[str], rng: random.Random
) -> list[ToolCall]:
    """One call per operation whose tool is on offer; operations without their tool are left out."""
    calls = []
    for operation in operations:
        name, arguments = TOOLS[operation["op"]]
        if name in offered:
            calls.append(
                ToolCall.make(rng, name, {key: operation[key] for key in arguments if key in operation})
            )
    return calls


def as_json(operations: list[Operation]) -> str:
    """The JSON-mode rendering of the operations."""
    return json.dumps({"operations": operations}, ensure_ascii=False)


def operations_reply(
    operations: list[Operation], *, offered: Collection[str], json_mode: bool, rng: random.Random, done: str
) -> Reply:
    """A reply that carries the operations: JSON content in JSON mode, else tool calls.

    Args:
        operations: What to do to the library.
        offered: Names of the tools the request offers.
        json_mode: Whether the request asks for JSON content.
        rng: Source of tool call ids.
        done: The final text when there is nothing to call.
    """
    if json_mode:
        return Reply(content=as_json(operations))
    calls = as_tool_calls(operations, offered, rng)
    return Reply(content=None if calls else done, tool_calls=calls)
