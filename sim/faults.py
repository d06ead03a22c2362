"""Faults a real model server shows: rate limits, errors, timeouts and malformed outputs."""

from __future__ import annotations

import json
import random
from typing import Literal

from ted.sim.config import MalformedKind, SimConfig
from ted.sim.reply import Reply, ToolCall
from ted.sim.request import ChatRequest

Fault = Literal["429", "500", "timeout", "malformed"]


def draw_fault(config: SimConfig, rng: random.Random) -> Fault | None:
    """Which fault, if any, strikes a request (one draw against the cumulative rates)."""
    rates: tuple[tuple[Fault, float], ...] = (
        ("429", config.rate_429),
        ("500", config.rate_500),
        ("timeout", config.rate_timeout),
        ("malformed", config.rate_malformed),
    )
    draw = rng.random()
    for fault, rate in rates:
        if draw < rate:
            return fault
        draw -= rate
    return None


def malform(
    reply: Reply, request: ChatRequest, config: SimConfig, rng: random.Random
) -> tuple[Reply, MalformedKind | None]:
    """Spoil a reply the way models do, with one of the allowed kinds that applies to it.

    - ``bad_arguments``: a tool call whose arguments are cut off, so they are not JSON;
    - ``wrong_arguments``: a tool call whose arguments are JSON but lack a field;
    - ``invalid_json``: JSON-mode content cut off, so it is not JSON;
    - ``empty``: no content and no tool calls.

    Returns:
        The spoiled reply and its kind; the reply unchanged and None when no allowed kind applies.
    """
    applicable: list[MalformedKind] = ["empty"]
    if reply.tool_calls:
        applicable += ["bad_arguments", "wrong_arguments"]
    if request.json_mode and reply.content:
        applicable.append("invalid_json")
    allowed = [kind for kind in applicable if kind in config.malformed_kinds]
    if not allowed:
        return reply, None
    kind = rng.choice(sorted(allowed))
    if kind == "empty":
        return Reply(content=""), kind
    if kind == "invalid_json":
        content = reply.content or ""
        return Reply(content=content[: len(content) // 2]), kind
    index = rng.randrange(len(reply.tool_calls))
    call = reply.tool_calls[index]
    if kind == "bad_arguments":
        arguments = call.arguments[: max(1, len(call.arguments) // 2)]
    else:
        parsed = json.loads(call.arguments)
        if parsed:
            parsed.pop(next(iter(parsed)))
        else:
            parsed = {"unexpected": True}
        arguments = json.dumps(parsed)
    calls = list(reply.tool_calls)
    calls[index] = ToolCall(id=call.id, name=call.name, arguments=arguments)
    return Reply(content=reply.content, tool_calls=calls), kind
