"""Token counts without a tokenizer: about four characters a token, plus a fixed count per image."""

from __future__ import annotations

import json
import math

from ted.sim.reply import Reply
from ted.sim.request import ChatRequest

CHARS_PER_TOKEN = 4
MESSAGE_OVERHEAD = 4


def count_text(text: str) -> int:
    """Tokens in a piece of text."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def prompt_tokens(request: ChatRequest, *, image_tokens: int) -> int:
    """Tokens of the prompt: message texts, earlier tool calls, images and tool definitions."""
    total = 0
    for message in request.messages:
        total += MESSAGE_OVERHEAD + count_text(message.text) + message.images * image_tokens
        total += sum(count_text(json.dumps(call)) for call in message.tool_calls)
    total += sum(count_text(json.dumps(tool)) for tool in request.tools.values())
    return total


def completion_tokens(reply: Reply) -> int:
    """Tokens of one reply: its text and its tool calls."""
    total = count_text(reply.content or "")
    total += sum(count_text(call.name) + count_text(call.arguments) for call in reply.tool_calls)
    return max(total, 1)
