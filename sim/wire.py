"""The JSON the OpenAI API sends: completions, stream chunks, model lists and errors."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

from ted.sim.reply import Reply

FINGERPRINT = "ted-sim"
OWNER = "ted-sim (simulated)"
STREAM_PIECE = 24


def _tool_calls(reply: Reply) -> list[dict[str, Any]]:
    return [
        {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}
        for call in reply.tool_calls
    ]


def usage(prompt_tokens: int, completion_tokens: int) -> dict[str, int]:
    """The usage block."""
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def completion(
    completion_id: str, model: str, replies: list[Reply], prompt_tokens: int, completion_tokens: int
) -> dict[str, Any]:
    """A ``chat.completion`` object with one choice per reply."""
    choices = []
    for index, reply in enumerate(replies):
        message: dict[str, Any] = {"role": "assistant", "content": reply.content, "refusal": None}
        if reply.tool_calls:
            message["tool_calls"] = _tool_calls(reply)
        choices.append(
            {"index": index, "message": message, "finish_reason": reply.finish_reason, "logprobs": None}
        )
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "system_fingerprint": FINGERPRINT,
        "choices": choices,
        "usage": usage(prompt_tokens, completion_tokens),
    }


def chunks(
    completion_id: str,
    model: str,
    replies: list[Reply],
    usage_block: dict[str, int] | None,
) -> Iterator[dict[str, Any]]:
    """The ``chat.completion.chunk`` objects of a streamed completion (text in small pieces)."""
    created = int(time.time())

    def chunk(choices: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
        return {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "system_fingerprint": FINGERPRINT,
            "choices": choices,
            **extra,
        }

    for index, reply in enumerate(replies):
        yield chunk([{"index": index, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])
        content = reply.content or ""
        for start in range(0, len(content), STREAM_PIECE):
            piece = content[start : start + STREAM_PIECE]
            yield chunk([{"index": index, "delta": {"content": piece}, "finish_reason": None}])
        for position, call in enumerate(reply.tool_calls):
            delta = {
                "tool_calls": [
                    {
                        "index": position,
                        "id": call.id,
                        "type": "function",
                        "function": {"name": call.name, "arguments": call.arguments},
                    }
                ]
            }
            yield chunk([{"index": index, "delta": delta, "finish_reason": None}])
        yield chunk([{"index": index, "delta": {}, "finish_reason": reply.finish_reason}])
    if usage_block is not None:
        yield chunk([], usage=usage_block)


def sse(event: dict[str, Any] | None) -> bytes:
    """One server-sent event; None gives the final ``[DONE]``."""
    data = "[DONE]" if event is None else json.dumps(event, ensure_ascii=False)
    return f"data: {data}\n\n".encode()


def models(names: tuple[str, ...]) -> dict[str, Any]:
    """The ``/v1/models`` list."""
    return {
        "object": "list",
        "data": [{"id": name, "object": "model", "created": 0, "owned_by": OWNER} for name in names],
    }


def error(message: str, kind: str, code: str | None = None) -> dict[str, Any]:
    """An OpenAI-style error body."""
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}
