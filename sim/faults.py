"""Faults a real model server shows: rate limits, errors, timeouts and malformed outputs."""

from __future__ import annotations

import json
import random
from typing import Literal

from openai.types.chat import ChatCompletionMessage
from openai.types.chat.chat_completion_message_function_tool_call import Function

from ted.sim.config import MalformedKind, SimConfig
from ted.sim.wire import ChatRequest, assistant, function_calls

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
    reply: ChatCompletionMessage, request: ChatRequest, config: SimConfig, rng: random.Random
) -> tuple[ChatCompletionMessage, MalformedKind | None]:
    """Spoil a reply the way models do, with one of the allowed kinds that applies to it.

    - ``bad_arguments``: a tool call whose arguments are cut off, so they are not JSON;
    - ``wrong_arguments``: a tool call whose arguments are JSON but lack a field;
    - ``invalid_json``: JSON-mode content cut off, so it is not JSON;
    - ``empty``: no content and no tool calls.

    Returns:
        The spoiled reply and its kind; the reply unchanged and None when no allowed kind applies.
    """
    calls = function_calls(reply)
    applicable: list[MalformedKind] = ["empty"]
    if calls:
        applicable += ["bad_arguments", "wrong_arguments"]
    if request.json_mode and reply.content:
        applicable.append("invalid_json")
    allowed = [kind for kind in applicable if kind in config.malformed_kinds]
    if not allowed:
        return reply, None
    kind = rng.choice(sorted(allowed))
    if kind == "empty":
        return assistant(""), kind
    if kind == "invalid_json":
        content = reply.content or ""
        return assistant(content[: len(content) // 2]), kind
    index = rng.randrange(len(calls))
    call = calls[index]
    arguments = call.function.arguments
    if kind == "bad_arguments":
        arguments = arguments[: max(1, len(arguments) // 2)]
    else:
        parsed = json.loads(arguments)
        if parsed:
            parsed.pop(next(iter(parsed)))
        else:
            parsed = {"unexpected": True}
        arguments = json.dumps(parsed)
    calls[index] = call.model_copy(
        update={"function": Function(name=call.function.name, arguments=arguments)}
    )
    return assistant(reply.content, calls), kind
