"""The chat model sends the same request body as langchain-openai's, with less work per call, and its
HTTP client lives and closes with its event loop."""

from __future__ import annotations

import asyncio
import gc
import json
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx2
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_openai import ChatOpenAI

from ted.graph.models import ModelSpec, build_chat_model, chat_openai_class

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


@contextmanager
def _completion_server() -> Iterator[str]:
    """A local HTTP server that answers every POST with one chat completion."""

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["Content-Length"]))
            body = json.dumps(COMPLETION).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()


def test_each_event_loop_has_its_own_client_closed_with_it() -> None:
    spec = ModelSpec("student", "m", None, None, 0.0, 16, 10.0, 0)
    clients = []

    async def ask(url: str) -> str:
        model = build_chat_model(replace(spec, base_url=url))
        reply = await model.ainvoke("Hello?")
        clients.append(model.http_async_client)
        return str(reply.content)

    with _completion_server() as url, warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        assert asyncio.run(ask(url)) == "ok"
        assert asyncio.run(ask(url)) == "ok"  # a second loop: its own client, not the closed one
        gc.collect()
    assert clients[0] is not clients[1]
    assert all(client.is_closed for client in clients)
