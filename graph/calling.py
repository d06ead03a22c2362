"""One model call with its token usage, or an explicit error record when it fails for good."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.runnables import Runnable

from ted.graph.errors import describe_model_error, safe_cause
from ted.graph.limits import endpoint_slots
from ted.graph.models import ModelSpec
from ted.graph.state import ErrorRecord, Stage, Usage


@dataclass
class Reply:
    """The outcome of one call: a message and its usage, or an error record."""

    message: AIMessage | None
    usage: list[Usage]
    errors: list[ErrorRecord]
    parsed: Any = None
    """The validated object, for structured output."""
    parsing_error: BaseException | None = None

    @property
    def text(self) -> str:
        """The reply's text content ("" when the call failed)."""
        return self.message.text if self.message is not None else ""


def usage_of(message: AIMessage, stage: Stage, model: str) -> Usage:
    """Token usage the endpoint reported for ``message`` (zeros when it reported none)."""
    reported: dict[str, Any] = dict(message.usage_metadata or {})
    return Usage(
        stage=stage,
        model=model,
        input_tokens=int(reported.get("input_tokens", 0)),
        output_tokens=int(reported.get("output_tokens", 0)),
    )


def _is_api_error(exc: BaseException) -> bool:
    import openai

    return isinstance(exc, openai.APIError)


async def call(
    runnable: Runnable[LanguageModelInput, Any],
    messages: Sequence[BaseMessage],
    *,
    spec: ModelSpec,
    stage: Stage,
    item_id: str,
    expect_text: bool = False,
) -> Reply:
    """Invoke ``runnable`` on ``messages``, within the limit of requests in flight to its endpoint.

    API failures left after the client's own retries become an ``ErrorRecord``; failures that would
    repeat on every item (authentication, unreachable server, no vision or tool support) are raised as
    ``ModelCallError`` so that a run stops instead of failing item after item. Any other exception is a
    bug and propagates unchanged. With ``expect_text``, a reply without text (an empty completion) is
    asked again up to ``spec.max_retries`` times, then recorded as an ``empty_reply`` error: it is a
    failure of the call, not a wrong answer.
    """
    usage: list[Usage] = []
    for _ in range(spec.max_retries + 1 if expect_text else 1):
        try:
            async with endpoint_slots(spec):
                message = await runnable.ainvoke(list(messages))
        except Exception as exc:
            if not _is_api_error(exc):
                raise
            error = describe_model_error(exc, spec)
            if error.fatal:
                raise error from safe_cause(exc, spec)
            record = ErrorRecord(item_id=item_id, stage=stage, kind=error.kind, message=str(error))
            return Reply(None, usage, [record])
        parsed, parsing_error = None, None
        if isinstance(message, dict) and "raw" in message:  # with_structured_output(..., include_raw=True)
            parsed, parsing_error = message.get("parsed"), message.get("parsing_error")
            message = message["raw"]
        if not isinstance(message, AIMessage):
            raise TypeError(f"expected an AIMessage from the {stage} model, got {type(message).__name__}")
        usage.append(usage_of(message, stage, spec.model))
        if not expect_text or message.text.strip():
            return Reply(message, usage, [], parsed, parsing_error)
    times = "once" if len(usage) == 1 else f"{len(usage)} times in a row"
    record = ErrorRecord(
        item_id=item_id,
        stage=stage,
        kind="empty_reply",
        message=f"the {stage} model ({spec.model}) sent an empty reply {times}",
    )
    return Reply(None, usage, [record])
