"""What a simulated model answers, before it becomes an HTTP response."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass, field
from typing import Any


@dataclass
class ToolCall:
    """One function call, its arguments as the JSON text a model writes."""

    id: str
    name: str
    arguments: str

    @classmethod
    def make(cls, rng: random.Random, name: str, arguments: dict[str, Any]) -> ToolCall:
        """A call with a fresh id drawn from ``rng`` (so ids are reproducible)."""
        return cls(id=f"call_{rng.getrandbits(64):016x}", name=name, arguments=json.dumps(arguments))


@dataclass
class Reply:
    """One choice of a completion: text, tool calls, or both."""

    content: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)

    @property
    def finish_reason(self) -> str:
        """The OpenAI finish reason: ``tool_calls`` when the reply calls tools, else ``stop``."""
        return "tool_calls" if self.tool_calls else "stop"
