"""The OpenAI chat completions wire format, through the `openai` package's types.

A request body is checked by hand, so that a 400 names the field at fault, and reduced to a
`ChatRequest`. Replies are openai's own models: a simulated model answers with a
`ChatCompletionMessage`, and the server sends a `ChatCompletion`, `ChatCompletionChunk` events, a
list of `Model` or an `ErrorObject`. They are serialised with the fields that were set, so the JSON
carries what the OpenAI API sends (``content: null`` beside tool calls) and nothing else.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from openai.types import CompletionUsage, ErrorObject, Model
from openai.types.chat import (
    ChatCompletion,
    ChatCompletionChunk,
    ChatCompletionMessage,
    ChatCompletionMessageFunctionToolCall,
    ChatCompletionMessageToolCallUnion,
)
from openai.types.chat.chat_completion import Choice
from openai.types.chat.chat_completion_chunk import Choice as ChunkChoice
from openai.types.chat.chat_completion_chunk import (
    ChoiceDelta,
    ChoiceDeltaToolCall,
    ChoiceDeltaToolCallFunction,
)
from openai.types.chat.chat_completion_message_function_tool_call import Function
from openai.types.shared_params import FunctionDefinition
from pydantic import BaseModel

from ted.sim.errors import SimError

SYSTEM_ROLES = ("system", "developer")
FINGERPRINT = "ted-sim"
OWNER = "ted-sim (simulated)"
# Streamed text goes out in pieces of this many characters, as a decoding model's would.
STREAM_PIECE = 24

FinishReason = Literal["stop", "tool_calls"]


class BadRequest(SimError):
    """The body is not a valid chat completions request (the server answers 400)."""


@dataclass(frozen=True)
class Message:
    """One message of a request, reduced to what the simulated models read."""

    role: str
    text: str
    images: int = 0
    tool_calls: list[dict[str, Any]] = field(default_factory=list)


def _text_of(content: Any) -> tuple[str, int]:
    """The text of a message's content and how many images it holds."""
    if content is None:
        return "", 0
    if isinstance(content, str):
        return content, 0
    if not isinstance(content, list):
        raise BadRequest("message content must be a string or a list of content parts")
    texts, images = [], 0
    for part in content:
        if not isinstance(part, dict):
            raise BadRequest("each content part must be an object with a 'type'")
        if part.get("type") == "text":
            texts.append(str(part.get("text", "")))
        elif part.get("type") == "image_url":
            images += 1
    return "\n".join(texts), images


def _message(raw: Any) -> Message:
    if not isinstance(raw, dict) or not isinstance(raw.get("role"), str):
        raise BadRequest("each message must be an object with a 'role'")
    text, images = _text_of(raw.get("content"))
    return Message(raw["role"], text, images, list(raw.get("tool_calls") or []))


def _tools(raw: Any) -> dict[str, FunctionDefinition]:
    """The offered functions by name."""
    problem = "each tool must be {'type': 'function', 'function': {'name': ...}}"
    if not isinstance(raw, list):
        raise BadRequest(problem)
    tools: dict[str, FunctionDefinition] = {}
    for tool in raw:
        function = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise BadRequest(problem)
        # Kept whole: its size counts towards the prompt tokens.
        tools[function["name"]] = cast(FunctionDefinition, function)
    return tools


def _usable(tools: dict[str, FunctionDefinition], choice: Any) -> dict[str, FunctionDefinition]:
    """The tools ``tool_choice`` leaves callable: none for "none", the named one when one is forced."""
    if choice == "none":
        return {}
    if isinstance(choice, dict):
        function = choice.get("function")
        name = function.get("name") if isinstance(function, dict) else None
        return {name: tools[name]} if isinstance(name, str) and name in tools else {}
    return tools


def _json_schema(response_format: Any) -> tuple[str | None, dict[str, Any] | None]:
    """The response format's type, and its schema for ``json_schema``."""
    kind = response_format.get("type") if isinstance(response_format, dict) else None
    if kind != "json_schema":
        return kind if isinstance(kind, str) else None, None
    described = response_format.get("json_schema")
    schema = described.get("schema") if isinstance(described, dict) else None
    if not isinstance(schema, dict):
        raise BadRequest("response_format json_schema needs json_schema.schema")
    return kind, schema


@dataclass(frozen=True)
class ChatRequest:
    """A checked chat completions request."""

    model: str
    messages: list[Message]
    tools: dict[str, FunctionDefinition] = field(default_factory=dict)
    """Every function on offer, by name."""
    usable_tools: dict[str, FunctionDefinition] = field(default_factory=dict)
    """The functions the model may call, after ``tool_choice``."""
    response_format: str | None = None
    json_schema: dict[str, Any] | None = None
    stream: bool = False
    include_usage: bool = False
    n: int = 1
    temperature: float | None = None

    @classmethod
    def parse(cls, body: Any) -> ChatRequest:
        """Check the body of a request.

        Raises:
            BadRequest: If a required field is missing or has the wrong shape.
        """
        if not isinstance(body, dict):
            raise BadRequest("the request body must be a JSON object")
        model = body.get("model")
        if not isinstance(model, str) or not model:
            raise BadRequest("'model' is required and must be a string")
        raw_messages = body.get("messages")
        if not isinstance(raw_messages, list) or not raw_messages:
            raise BadRequest("'messages' is required and must be a non-empty list")
        messages = [_message(raw) for raw in raw_messages]
        tools = _tools(body.get("tools") or [])
        response_format, schema = _json_schema(body.get("response_format"))
        n = body.get("n")
        n = 1 if n is None else n
        if not isinstance(n, int) or not 1 <= n <= 16:
            raise BadRequest("'n' must be an integer from 1 to 16")
        temperature = body.get("temperature")
        stream_options = body.get("stream_options")
        return cls(
            model=model,
            messages=messages,
            tools=tools,
            usable_tools=_usable(tools, body.get("tool_choice")),
            response_format=response_format,
            json_schema=schema,
            stream=bool(body.get("stream")),
            include_usage=isinstance(stream_options, dict) and bool(stream_options.get("include_usage")),
            n=n,
            temperature=float(temperature) if isinstance(temperature, int | float) else None,
        )

    @property
    def json_mode(self) -> bool:
        """Whether the reply must be JSON content."""
        return self.response_format in ("json_object", "json_schema")

    @property
    def stochastic(self) -> bool:
        """Whether identical requests may get different answers (temperature above zero or unset)."""
        return self.temperature is None or self.temperature > 0

    @property
    def has_tool_results(self) -> bool:
        """Whether tool results came back after the last user message (the tool loop's later turns)."""
        for message in reversed(self.messages):
            if message.role == "tool":
                return True
            if message.role == "user":
                return False
        return False

    def text(self, *roles: str) -> str:
        """The text of the messages with these roles (all messages when none is given), in order."""
        return "\n".join(message.text for message in self.messages if not roles or message.role in roles)


def assistant(
    content: str | None = None, tool_calls: Sequence[ChatCompletionMessageFunctionToolCall] = ()
) -> ChatCompletionMessage:
    """A reply as the API writes it: content (null beside tool calls), no refusal, tool calls if any."""
    if not tool_calls:
        return ChatCompletionMessage(role="assistant", content=content, refusal=None)
    calls: list[ChatCompletionMessageToolCallUnion] = list(tool_calls)
    return ChatCompletionMessage(role="assistant", content=content, refusal=None, tool_calls=calls)


def tool_call(
    rng: random.Random, name: str, arguments: dict[str, Any]
) -> ChatCompletionMessageFunctionToolCall:
    """A function call whose id is drawn from ``rng``, so that ids repeat with the seed."""
    return ChatCompletionMessageFunctionToolCall(
        id=f"call_{rng.getrandbits(64):016x}",
        type="function",
        function=Function(name=name, arguments=json.dumps(arguments)),
    )


def function_calls(message: ChatCompletionMessage) -> list[ChatCompletionMessageFunctionToolCall]:
    """The function calls of a reply (the only kind of tool call the simulated models make)."""
    return [
        call for call in message.tool_calls or [] if isinstance(call, ChatCompletionMessageFunctionToolCall)
    ]


def finish_reason(message: ChatCompletionMessage) -> FinishReason:
    """``tool_calls`` when the reply calls tools, else ``stop``."""
    return "tool_calls" if message.tool_calls else "stop"


def usage(prompt_tokens: int, completion_tokens: int) -> CompletionUsage:
    """The usage block."""
    return CompletionUsage(
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        total_tokens=prompt_tokens + completion_tokens,
    )


def completion(
    completion_id: str, model: str, replies: list[ChatCompletionMessage], tokens: CompletionUsage
) -> ChatCompletion:
    """A ``chat.completion`` with one choice per reply."""
    choices = [
        Choice(index=index, message=reply, finish_reason=finish_reason(reply), logprobs=None)
        for index, reply in enumerate(replies)
    ]
    return ChatCompletion(
        id=completion_id,
        object="chat.completion",
        created=int(time.time()),
        model=model,
        system_fingerprint=FINGERPRINT,
        choices=choices,
        usage=tokens,
    )


def chunks(
    completion_id: str, model: str, replies: list[ChatCompletionMessage], tokens: CompletionUsage | None
) -> Iterator[ChatCompletionChunk]:
    """The ``chat.completion.chunk`` events of a streamed completion; usage last, when asked for."""
    created = int(time.time())

    def chunk(choices: list[ChunkChoice]) -> ChatCompletionChunk:
        return ChatCompletionChunk(
            id=completion_id,
            object="chat.completion.chunk",
            created=created,
            model=model,
            system_fingerprint=FINGERPRINT,
            choices=choices,
        )

    def delta(index: int, change: ChoiceDelta, reason: FinishReason | None = None) -> ChatCompletionChunk:
        return chunk([ChunkChoice(index=index, delta=change, finish_reason=reason)])

    for index, reply in enumerate(replies):
        yield delta(index, ChoiceDelta(role="assistant", content=""))
        content = reply.content or ""
        for start in range(0, len(content), STREAM_PIECE):
            yield delta(index, ChoiceDelta(content=content[start : start + STREAM_PIECE]))
        for position, call in enumerate(function_calls(reply)):
            function = ChoiceDeltaToolCallFunction(name=call.function.name, arguments=call.function.arguments)
            streamed = ChoiceDeltaToolCall(index=position, id=call.id, type="function", function=function)
            yield delta(index, ChoiceDelta(tool_calls=[streamed]))
        yield delta(index, ChoiceDelta(), finish_reason(reply))
    if tokens is not None:
        # Only the last chunk carries usage: the key is absent from the others, not null.
        yield chunk([]).model_copy(update={"usage": tokens})


def dump(body: BaseModel) -> dict[str, Any]:
    """The JSON object of a response model: the fields that were set, null ones included."""
    return body.model_dump(mode="json", exclude_unset=True)


def sse(event: ChatCompletionChunk | None) -> bytes:
    """One server-sent event; None gives the final ``[DONE]``."""
    data = "[DONE]" if event is None else event.model_dump_json(exclude_unset=True)
    return f"data: {data}\n\n".encode()


def models(names: Sequence[str]) -> dict[str, Any]:
    """The ``/v1/models`` list."""
    listed = [Model(id=name, object="model", created=0, owned_by=OWNER) for name in names]
    return {"object": "list", "data": [dump(model) for model in listed]}


def error(message: str, kind: str, code: str | None = None) -> dict[str, Any]:
    """An OpenAI error body."""
    return {"error": dump(ErrorObject(message=message, type=kind, param=None, code=code))}
