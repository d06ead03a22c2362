"""Reading an OpenAI chat completions request, and telling which role and kind of work it is."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

from ted.prompts.framing import ATTEMPT, CORRECT_ANSWER, MERGE_GROUP, PROBLEM, REWRITE_GROUP, framed
from ted.sim.errors import SimError

Role = Literal["student", "teacher"]
Kind = Literal["solve", "reflect", "compress", "structured"]

REFLECT_TOOL = "add_experience"
COMPRESS_TOOL = "merge_experiences"
SYSTEM_ROLES = ("system", "developer")


class BadRequest(SimError):
    """The request is not a valid chat completions request (the server answers 400)."""


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


@dataclass(frozen=True)
class Message:
    """One message, reduced to what the simulated world reads."""

    role: str
    text: str
    images: int = 0
    tool_calls: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class ChatRequest:
    """A parsed chat completions request."""

    body: dict[str, Any]
    model: str
    messages: list[Message]
    tools: dict[str, dict[str, Any]]
    tool_choice: Any
    response_format: str | None
    json_schema: dict[str, Any] | None
    stream: bool
    include_usage: bool
    n: int
    temperature: float | None

    @classmethod
    def parse(cls, body: Any) -> ChatRequest:
        """Validate the body of a request.

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
        messages = []
        for raw in raw_messages:
            if not isinstance(raw, dict) or not isinstance(raw.get("role"), str):
                raise BadRequest("each message must be an object with a 'role'")
            text, images = _text_of(raw.get("content"))
            messages.append(Message(raw["role"], text, images, list(raw.get("tool_calls") or [])))
        tools = {}
        for tool in body.get("tools") or []:
            function = tool.get("function") if isinstance(tool, dict) else None
            if not isinstance(function, dict) or not isinstance(function.get("name"), str):
                raise BadRequest("each tool must be {'type': 'function', 'function': {'name': ...}}")
            tools[function["name"]] = function
        response_format = body.get("response_format")
        format_type = response_format.get("type") if isinstance(response_format, dict) else None
        schema = None
        if format_type == "json_schema":
            described = (response_format or {}).get("json_schema")
            schema = described.get("schema") if isinstance(described, dict) else None
            if not isinstance(schema, dict):
                raise BadRequest("response_format json_schema needs json_schema.schema")
        n = body.get("n", 1) if body.get("n") is not None else 1
        if not isinstance(n, int) or not 1 <= n <= 16:
            raise BadRequest("'n' must be an integer from 1 to 16")
        temperature = body.get("temperature")
        stream_options = body.get("stream_options")
        if not isinstance(stream_options, dict):
            stream_options = {}
        return cls(
            body=body,
            model=model,
            messages=messages,
            tools=tools,
            tool_choice=body.get("tool_choice"),
            response_format=format_type,
            json_schema=schema,
            stream=bool(body.get("stream")),
            include_usage=bool(stream_options.get("include_usage")),
            n=n,
            temperature=float(temperature) if isinstance(temperature, int | float) else None,
        )

    @property
    def role(self) -> Role:
        """The student when the model name says so, else the teacher."""
        return "student" if "student" in self.model.lower() else "teacher"

    @property
    def json_mode(self) -> bool:
        """Whether the reply must be JSON content."""
        return self.response_format in ("json_object", "json_schema")

    @property
    def images(self) -> int:
        """How many images the messages hold."""
        return sum(message.images for message in self.messages)

    @property
    def stochastic(self) -> bool:
        """Whether identical requests may get different answers (temperature above zero or unset)."""
        return self.temperature is None or self.temperature > 0

    def text(self, *roles: str) -> str:
        """The text of the messages with these roles (all messages when none is given), in order."""
        return "\n".join(message.text for message in self.messages if not roles or message.role in roles)

    @property
    def first_system_line(self) -> str:
        """The first line of the first system message, or an empty string."""
        for message in self.messages:
            if message.role in SYSTEM_ROLES:
                return message.text.strip().split("\n", 1)[0]
        return ""

    @property
    def problem(self) -> str:
        """The content of the problem frames of the user messages, else all their text (unframed requests)."""
        user = self.text("user")
        frames = [content for _, content in framed(PROBLEM, user)]
        return "\n".join(frames) if frames else user

    def shows(self, *tags: str) -> bool:
        """Whether the user messages hold a frame with one of these tags."""
        user = self.text("user")
        return any(framed(tag, user) for tag in tags)

    @property
    def has_tool_results(self) -> bool:
        """Whether tool results came back after the last user message (the tool loop's later turns)."""
        for message in reversed(self.messages):
            if message.role == "tool":
                return True
            if message.role == "user":
                return False
        return False

    @property
    def usable_tools(self) -> dict[str, dict[str, Any]]:
        """The tools the model may call: none when tool_choice is "none", the forced one when forced."""
        if self.tool_choice == "none":
            return {}
        if isinstance(self.tool_choice, dict):
            name = (self.tool_choice.get("function") or {}).get("name")
            return {name: self.tools[name]} if name in self.tools else {}
        return self.tools

    @property
    def kind(self) -> Kind:
        """Which work the request asks for, decided as our pipeline asks for it.

        Memory tools on offer decide first (add_experience: reflect; merge_experiences alone: compress);
        then JSON mode, by the frames the prompt shows (merge or rewrite groups: compress; a correct
        answer or graded attempts: reflect), else by the first line of the system message ("reflect"
        or "compress"), else a structured answer; other tools on offer also mean a structured answer;
        everything else is a puzzle to solve.
        """
        tools = self.usable_tools
        if REFLECT_TOOL in tools:
            return "reflect"
        if COMPRESS_TOOL in tools:
            return "compress"
        if self.json_mode:
            if self.shows(MERGE_GROUP, REWRITE_GROUP):
                return "compress"
            if self.shows(CORRECT_ANSWER, ATTEMPT):
                return "reflect"
            line = self.first_system_line
            if re.search(r"\breflect", line, re.IGNORECASE):
                return "reflect"
            if re.search(r"\bcompress", line, re.IGNORECASE):
                return "compress"
            return "structured"
        if tools:
            return "structured"
        return "solve"
