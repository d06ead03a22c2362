"""A scripted chat model for unit tests: replies come from a function of the messages and bound tools."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import Field

Script = Callable[[list[BaseMessage], list[str]], AIMessage]


class ScriptedChatModel(BaseChatModel):
    """Answers with ``script(messages, tool_names)`` and records every call.

    ``bind_tools`` returns a copy that knows the tool names, so a script can act like a tool-calling
    model; ``calls`` is shared between copies so a test can count all calls of one fake.
    """

    script: Script
    tool_names: list[str] = Field(default_factory=list)
    calls: list[dict[str, Any]] = Field(default_factory=list)
    latency: float = 0.0
    """Seconds each async call takes, as a real model's do (0: it answers at once)."""

    @property
    def _llm_type(self) -> str:
        return "scripted"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        self.calls.append({"messages": messages, "tools": list(self.tool_names), "kwargs": kwargs})
        reply = self.script(messages, list(self.tool_names))
        if reply.usage_metadata is None:
            words = sum(len(str(m.content).split()) for m in messages)
            reply.usage_metadata = {
                "input_tokens": words,
                "output_tokens": len(str(reply.content).split()),
                "total_tokens": words + len(str(reply.content).split()),
            }
        return ChatResult(generations=[ChatGeneration(message=reply)])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self.latency:
            await asyncio.sleep(self.latency)
        return self._generate(messages, stop, None, **kwargs)

    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> ScriptedChatModel:  # type: ignore[override]
        names = [
            t.name if isinstance(t, BaseTool) else convert_to_openai_tool(t)["function"]["name"]
            for t in tools
        ]
        return self.model_copy(update={"tool_names": names, "calls": self.calls})


def text_of(messages: Sequence[BaseMessage]) -> str:
    """All text of ``messages``, image parts left out."""
    parts = []
    for message in messages:
        if isinstance(message.content, str):
            parts.append(message.content)
        else:
            parts.extend(
                p["text"] for p in message.content if isinstance(p, dict) and p.get("type") == "text"
            )
    return "\n".join(parts)
