"""Applying a model's library edits, for reflection and compression alike, through one path.

A model asks for edits in one of two forms: tool calls (``tools`` mode), or JSON operations (``json``
mode), planned under the ids ``json-0``, ``json-1`` ... so that graph state can keep them until they
are applied. Either way each edit becomes a request of `ted.memory.operations` that
`LibraryEditor.perform` carries out under the editor's operation id prefix plus the edit's id, so an
edit applied again (a resumed run re-running a step) changes the library once. A tool the role does
not offer, arguments that do not validate and any mistake the editor reports become an error
outcome; in ``tools`` mode the model reads it as the tool's result in its next round.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from langchain_core.messages import ToolCall, ToolMessage

from ted.graph.state import PlannedOperation
from ted.memory.editor import LibraryEditor
from ted.memory.errors import ToolInputError
from ted.memory.operations import (
    AddOp,
    DeleteOp,
    KeepApartOp,
    MergeOp,
    Operation,
    SearchQuery,
    ToolRequest,
    UpdateOp,
    VoteOp,
    parse_operation,
    parse_request,
    request_type,
)

REFLECT_OPERATIONS: tuple[type[ToolRequest], ...] = (VoteOp, AddOp, UpdateOp, DeleteOp, MergeOp)
"""What a reflection may change, in the order its JSON protocol lists them."""
REFLECT_TOOLS: tuple[type[ToolRequest], ...] = (SearchQuery, *REFLECT_OPERATIONS)
COMPRESS_OPERATIONS: tuple[type[ToolRequest], ...] = (MergeOp, DeleteOp, KeepApartOp, UpdateOp)
"""What a compression may do: merge (part of) a group, delete a member that contradicts another and
misled the students, keep (part of) a group apart, rewrite a verbose one, delete or correct a reviewed
one whose advice is wrong."""
COMPRESS_TOOLS = COMPRESS_OPERATIONS


def tool_names(kinds: Sequence[type[ToolRequest]]) -> tuple[str, ...]:
    """The names of the tools for ``kinds``, e.g. to bind their schemas."""
    return tuple(kind.tool_name for kind in kinds)


@dataclass(frozen=True)
class Outcome:
    """What one edit did: the text the model reads, and whether the edit failed."""

    call_id: str
    text: str
    failed: bool

    def tool_message(self) -> ToolMessage:
        """The outcome as the result of its tool call."""
        status = "error" if self.failed else "success"
        return ToolMessage(self.text, tool_call_id=self.call_id, status=status)


def succeeded(outcomes: Sequence[Outcome]) -> list[str]:
    """What the successful edits reported, one line each."""
    return [outcome.text for outcome in outcomes if not outcome.failed]


def plan_operations(operations: Sequence[Operation]) -> list[PlannedOperation]:
    """JSON operations as a plan for graph state, under the ids ``json-0``, ``json-1`` ..."""
    return [
        PlannedOperation(id=f"json-{n}", operation=operation.model_dump(mode="json"))
        for n, operation in enumerate(operations)
    ]


def _parsed(parsers: Iterable[Callable[[], ToolRequest]]) -> list[ToolRequest]:
    """The requests that parse; `_apply` reports the others, in their turn."""
    requests = []
    for parse in parsers:
        try:
            requests.append(parse())
        except ToolInputError:
            continue
    return requests


async def _apply(editor: LibraryEditor, call_id: str, parse: Callable[[], ToolRequest]) -> Outcome:
    try:
        if not call_id:
            raise ToolInputError("the call has no id; make it again")
        text = await editor.perform(parse(), op_id=call_id)
    except ToolInputError as exc:
        return Outcome(call_id, f"Error: {exc}", failed=True)
    return Outcome(call_id, text, failed=False)


def _planned_request(operation: Mapping[str, Any], allowed: Sequence[type[ToolRequest]]) -> ToolRequest:
    parsed = parse_operation(operation)
    request_type(parsed.tool_name, allowed)  # refuses an operation the role does not offer
    return parsed


def prepare_tool_calls(
    editor: LibraryEditor, calls: Sequence[ToolCall], allowed: Sequence[type[ToolRequest]]
) -> None:
    """Start embedding the texts ``calls`` would write (`LibraryEditor.prepare`); nothing is applied."""
    editor.prepare(_parsed(partial(parse_request, call["name"], call["args"], allowed) for call in calls))


async def apply_tool_calls(
    editor: LibraryEditor, calls: Sequence[ToolCall], allowed: Sequence[type[ToolRequest]]
) -> list[Outcome]:
    """Carry out tool calls in order, each under its call id."""
    prepare_tool_calls(editor, calls, allowed)
    return [
        await _apply(editor, call["id"] or "", partial(parse_request, call["name"], call["args"], allowed))
        for call in calls
    ]


async def apply_planned(
    editor: LibraryEditor, planned: Sequence[PlannedOperation], allowed: Sequence[type[ToolRequest]]
) -> list[Outcome]:
    """Carry out planned JSON operations in order, each under its planned id."""
    editor.prepare(_parsed(partial(_planned_request, step["operation"], allowed) for step in planned))
    return [
        await _apply(editor, step["id"], partial(_planned_request, step["operation"], allowed))
        for step in planned
    ]
