"""Chat models for each role, created lazily from the ``Context`` and cached.

Every role talks to an OpenAI-compatible endpoint through langchain-openai's ``ChatOpenAI``, so OpenAI,
vLLM, Ollama, LM Studio and the built-in simulated endpoint all work the same way. Retries with
exponential backoff on rate limits, server errors and timeouts are the OpenAI client's own
(``max_retries``); it waits what a 429's ``Retry-After`` (or ``retry-after-ms``) asks, up to two minutes.
"""

from __future__ import annotations

import asyncio
import functools
import os
import weakref
from collections.abc import AsyncGenerator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ted.graph.context import Context, Role
from ted.graph.errors import ConfigurationError

if TYPE_CHECKING:
    from langchain_openai import ChatOpenAI

# Local servers (vLLM, Ollama, the simulator) accept any key, but the OpenAI client insists on one.
PLACEHOLDER_KEY = "not-needed"


@dataclass(frozen=True)
class ModelSpec:
    """Everything that identifies one configured chat model."""

    role: Role
    model: str
    base_url: str | None
    api_key_env: str | None
    temperature: float
    max_tokens: int
    timeout: float
    max_retries: int
    concurrency: int = 16
    """Most requests in flight to this model's endpoint (`ted.graph.limits`)."""


def model_spec(context: Context, role: Role, *, temperature: float | None = None) -> ModelSpec:
    """Read the settings of ``role`` from ``context``; compress falls back to the teacher.

    ``temperature`` overrides the role's configured temperature (solving uses greedy decoding).
    """
    spec = _configured_spec(context, role)
    return spec if temperature is None else replace(spec, temperature=temperature)


def _configured_spec(context: Context, role: Role) -> ModelSpec:
    if role == "student":
        return ModelSpec(
            role,
            context.student_model,
            context.student_base_url,
            context.student_api_key_env,
            context.student_temperature,
            context.student_max_tokens,
            context.timeout,
            context.max_retries,
            context.student_concurrency,
        )
    teacher = ModelSpec(
        role,
        context.teacher_model,
        context.teacher_base_url,
        context.teacher_api_key_env,
        context.teacher_temperature,
        context.teacher_max_tokens,
        context.timeout,
        context.max_retries,
        context.teacher_concurrency,
    )
    if role == "compress" and context.compress_model:
        return ModelSpec(
            role,
            context.compress_model,
            context.compress_base_url or context.teacher_base_url,
            context.compress_api_key_env or context.teacher_api_key_env,
            context.teacher_temperature,
            context.teacher_max_tokens,
            context.timeout,
            context.max_retries,
            context.teacher_concurrency,
        )
    return teacher


def resolve_api_key(spec: ModelSpec) -> str:
    """The API key for ``spec``: from its variable, a placeholder for self-hosted servers, else an error."""
    if spec.api_key_env and (key := os.environ.get(spec.api_key_env)):
        return key
    if spec.base_url:
        return PLACEHOLDER_KEY
    prefix = f"TED_{spec.role.upper()}"
    raise ConfigurationError(
        f"no endpoint configured for the {spec.role} model {spec.model!r}: set {prefix}_BASE_URL to an "
        f"OpenAI-compatible server (vLLM, Ollama, LM Studio, `ted sim serve`), or set "
        f"{spec.api_key_env or 'OPENAI_API_KEY'} to use api.openai.com"
    )


# Async HTTP clients belong to the event loop that created them, so both caches are per loop.
_cache: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[ModelSpec, ChatOpenAI]] = (
    weakref.WeakKeyDictionary()
)
_http_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, tuple[Any, ...]] = (
    weakref.WeakKeyDictionary()
)


def _http_client() -> Any:
    """One async HTTP client per event loop, shared by every model on it, closed with its loop.

    langchain-openai otherwise shares one async client per base URL across the whole process, and
    pooled connections belong to the loop that opened them: a second ``asyncio.run()`` (one CLI step
    after another, a host app) would fail with "Event loop is closed". Sharing it between models keeps
    one connection pool and one TLS context per loop (creating a TLS context costs tens of ms).

    The client sends through aiohttp (the OpenAI client's ``DefaultAioHttpClient``): httpx's pool
    checks every pooled connection for expiry on each request and each response, which with dozens
    of requests in flight cost more event-loop time per call than everything else on the way.
    """
    import openai

    loop = asyncio.get_running_loop()
    if loop not in _http_clients:
        client = openai.DefaultAioHttpClient()
        closer = _close_with_loop(client)
        # Run it to its `yield`: from then on the loop closes it when it shuts down its async generators
        # (`asyncio.run` does, as its last step), which closes the client's connections with the loop.
        started = asyncio.ensure_future(closer.asend(None))
        _http_clients[loop] = (client, closer, started)
    return _http_clients[loop][0]


async def _close_with_loop(client: Any) -> AsyncGenerator[None, None]:
    try:
        yield
    finally:
        await client.aclose()


@functools.cache
def chat_openai_class() -> type[ChatOpenAI]:
    """``ChatOpenAI`` that hands its messages and tools to the OpenAI client as they are, already JSON.

    The OpenAI client walks every request's parameters against their type annotations before it
    sends them (``maybe_transform``): for chat messages with images and tool calls that took about
    5 ms of CPU per call, most of the client stack's time, on the event loop that every item in flight
    shares. langchain-openai's messages and tool schemas are plain JSON already, so they go in
    ``extra_body``, which the client merges into the request body as it is; the request sent is the
    same JSON.
    """
    from langchain_core.messages import content
    from langchain_openai import ChatOpenAI

    # langchain-core works out the data block types from their TypedDicts' annotations every time it
    # formats a content block (about 2 ms per message with an image); they never change, so once.
    if not hasattr(content._get_data_content_block_types, "cache_info"):
        content._get_data_content_block_types = functools.cache(content._get_data_content_block_types)

    class PlainMessagesChatOpenAI(ChatOpenAI):
        def _get_request_payload(
            self, input_: Any, *, stop: list[str] | None = None, **kwargs: Any
        ) -> dict[str, Any]:
            payload: dict[str, Any] = super()._get_request_payload(input_, stop=stop, **kwargs)
            if "messages" in payload:  # the chat completions API (the responses API sends "input")
                plain = {"messages": payload["messages"]}
                if payload.get("tools"):
                    plain["tools"] = payload.pop("tools")
                payload["extra_body"] = {**(payload.get("extra_body") or {}), **plain}
                payload["messages"] = []
            return payload

    return PlainMessagesChatOpenAI


@functools.cache
def _sync_client() -> Any:
    """The synchronous HTTP client every ``ChatOpenAI`` is given (ted itself only calls models async).

    ``ChatOpenAI`` builds one when none is given, cached per base URL and timeout: the preflight's
    shorter timeout made the first model call of a run build a second one, TLS context included
    (about 30 ms on the way to the first answer). One per process instead; it is not tied to an event
    loop, so unlike the async client it can be shared.
    """
    import openai

    return openai.DefaultHttpxClient()


def build_chat_model(spec: ModelSpec) -> ChatOpenAI:
    """Create the ``ChatOpenAI`` client for ``spec`` on the running event loop (no network call)."""
    return chat_openai_class()(
        model=spec.model,
        base_url=spec.base_url,
        api_key=resolve_api_key(spec),
        temperature=spec.temperature,
        max_completion_tokens=spec.max_tokens,
        timeout=spec.timeout,
        max_retries=spec.max_retries,
        http_async_client=_http_client(),
        http_client=_sync_client(),
    )


def chat_model(context: Context, role: Role, *, temperature: float | None = None) -> ChatOpenAI:
    """The cached chat model of ``role`` for the running event loop."""
    spec = model_spec(context, role, temperature=temperature)
    loop = asyncio.get_running_loop()
    models = _cache.setdefault(loop, {})
    if spec not in models:
        models[spec] = build_chat_model(spec)
    return models[spec]
