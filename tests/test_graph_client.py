"""The chat model sends the same request body as langchain-openai's, with less work per call."""

from __future__ import annotations

import json
from typing import Any

import httpx2
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_openai import ChatOpenAI

from ted.graph.models import chat_openai_class

IMAGE = "data:image/png;base64," + "iVBORw0KGgo" * 50
COMPLETION = {
    "id": "c",
    "object": "chat.completion",
    "created": 0,
    "model": "m",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
}


async def _body(kind: type[ChatOpenAI], **call: Any) -> dict[str, Any]:
    bodies: list[dict[str, Any]] = []

    def handler(request: httpx2.Request) -> httpx2.Response:
        bodies.append(json.loads(request.content))
        return httpx2.Response(200, json=COMPLETION)

    client = httpx2.AsyncClient(transport=httpx2.MockTransport(handler))
    model = kind(model="m", api_key="k", base_url="http://x/v1", http_async_client=client, **call)
    tool = {
        "type": "function",
        "function": {"name": "add", "parameters": {"type": "object", "properties": {}}},
    }
    messages = [
        SystemMessage("Be brief."),
        HumanMessage(
            [{"type": "text", "text": "What is shown?"}, {"type": "image_url", "image_url": {"url": IMAGE}}]
        ),
        AIMessage("", tool_calls=[{"name": "add", "args": {"text": "x"}, "id": "call_1"}]),
        ToolMessage("added E1", tool_call_id="call_1"),
    ]
    reply = await model.bind_tools([tool]).ainvoke(messages)
    assert reply.content == "ok"
    await client.aclose()
    return bodies[0]


async def test_requests_are_the_same_json() -> None:
    plain = await _body(chat_openai_class(), temperature=0.3, max_completion_tokens=64)
    usual = await _body(ChatOpenAI, temperature=0.3, max_completion_tokens=64)
    assert plain == usual
    assert plain["messages"][1]["content"][1]["image_url"]["url"] == IMAGE
