"""JSON mode: library operations as one validated JSON answer, for endpoints without tool calling.

``Context.tool_mode`` chooses: ``tools`` binds the memory tools, ``json`` asks for a
``{"operations": [...]}`` object validated against `ted.memory.LibraryOperations`, and ``auto`` uses
tools until an endpoint rejects them, then JSON for that endpoint for the rest of the process.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage

from ted.graph.calling import call
from ted.graph.context import Context
from ted.graph.models import ModelSpec
from ted.graph.state import ErrorRecord, Stage, Usage
from ted.memory.operations import LibraryOperations, Operation

# Endpoints that rejected tool calling in this process; `auto` goes straight to JSON for them.
_without_tools: set[tuple[str, str | None]] = set()


def uses_json(context: Context, spec: ModelSpec) -> bool:
    """Whether library edits go through JSON operations rather than tool calls."""
    return context.tool_mode == "json" or (
        context.tool_mode == "auto" and (spec.model, spec.base_url) in _without_tools
    )


def remember_without_tools(spec: ModelSpec) -> None:
    """Note that ``spec``'s endpoint rejected tool calling, so `uses_json` answers yes for it from now on."""
    _without_tools.add((spec.model, spec.base_url))


@dataclass
class OperationsAnswer:
    """The operations a model answered with (None when no valid answer came), and what asking cost."""

    operations: list[Operation] | None
    usage: list[Usage]
    errors: list[ErrorRecord]


async def ask_for_operations(
    chat: BaseChatModel,
    messages: Sequence[BaseMessage],
    *,
    spec: ModelSpec,
    stage: Stage,
    item_id: str,
    retries: int,
) -> OperationsAnswer:
    """Ask ``chat`` for library operations as JSON; an invalid answer is sent back up to ``retries`` times.

    A failed call, or no valid answer after the retries, gives ``operations=None`` and the error records.
    """
    model = chat.with_structured_output(LibraryOperations, method="json_mode", include_raw=True)
    usage: list[Usage] = []
    problem: BaseException | None = None
    for _ in range(retries + 1):
        reply = await call(model, messages, spec=spec, stage=stage, item_id=item_id)
        usage.extend(reply.usage)
        if reply.message is None:
            return OperationsAnswer(None, usage, reply.errors)
        if reply.parsed is not None:
            return OperationsAnswer(list(reply.parsed.operations), usage, [])
        problem = reply.parsing_error
        messages = [
            *messages,
            reply.message,
            HumanMessage(f"That reply was not valid: {problem}. Reply again with only the JSON object."),
        ]
    tries = "1 try" if retries == 0 else f"{retries + 1} tries"
    record = ErrorRecord(
        item_id=item_id,
        stage=stage,
        kind="malformed_output",
        message=f"no valid operations from the {stage} model after {tries}: {problem}",
    )
    return OperationsAnswer(None, usage, [record])
