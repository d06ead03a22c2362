"""What a model may ask of the library, as validated data: the one source of the memory tools.

Each request is a pydantic model whose class names its tool and describes it, and whose fields are
the tool's arguments. `ted.memory.tools` builds the LangChain tools and their schemas from these
models, JSON-mode answers are validated against them (`LibraryOperations`), and `operation_examples`
writes the JSON form a model is shown. Field descriptions are part of the prompt: the model reads them
in the tool schemas.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, ClassVar, Literal, get_args, get_origin

from pydantic import BaseModel, Field, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo

from ted.memory.errors import ToolInputError

SEARCH_TOOL = "search_experiences"
ADD_TOOL = "add_experience"
UPDATE_TOOL = "update_experience"
DELETE_TOOL = "delete_experience"
MERGE_TOOL = "merge_experiences"
VOTE_TOOL = "vote_experience"
KEEP_APART_TOOL = "keep_apart"

_LABEL = "The label of an experience as shown to you, such as E3."
_REASON = "One short sentence: why this change helps the student."


class ToolRequest(BaseModel):
    """One request a model makes of the library; each subclass is one memory tool."""

    tool_name: ClassVar[str]
    tool_description: ClassVar[str]
    """What the model reads about the tool; ``{max_words}`` is filled with the editor's word limit."""


class SearchQuery(ToolRequest):
    """Search the library for experiences relevant to a situation."""

    tool_name: ClassVar[str] = SEARCH_TOOL
    tool_description: ClassVar[str] = (
        "Search the experience library. Returns up to k experiences, each with its label (E1, E2, ...) "
        "for use in the other tools, its similarity to the query and its utility (0 to 1: how useful "
        "it has proved; 0.5 means not yet known)."
    )

    query: str = Field(description="What you are looking for: a situation, a skill or a mistake.")
    k: int = Field(default=5, ge=1, le=20, description="How many experiences to return (1 to 20).")


class AddOp(ToolRequest):
    """Add a new experience to the library."""

    tool_name: ClassVar[str] = ADD_TOOL
    tool_description: ClassVar[str] = (
        "Add one new experience: a short, general, actionable rule that would help a student solve "
        "similar problems (at most {max_words} words; no numbers or names from this particular item). "
        "If the library already holds an experience that says the same, nothing is added and you are "
        "told its label, so you can update it instead."
    )

    op: Literal["add"] = "add"
    text: str = Field(
        description="The experience: one short, general, actionable rule for similar problems, "
        "without details of this particular item."
    )
    tags: list[str] = Field(default_factory=list, description="Subjects or categories it applies to.")
    reason: str = Field(default="", description=_REASON)


class UpdateOp(ToolRequest):
    """Replace the text of an experience with a better one."""

    tool_name: ClassVar[str] = UPDATE_TOOL
    tool_description: ClassVar[str] = (
        "Replace the text of an existing experience, given by its label, with a better version: "
        "more correct, more general or clearer (at most {max_words} words)."
    )

    op: Literal["update"] = "update"
    label: str = Field(description=_LABEL, examples=["E1"])
    text: str = Field(description="The improved experience, still short, general and actionable.")
    reason: str = Field(default="", description=_REASON)


class DeleteOp(ToolRequest):
    """Delete an experience that is wrong or misleading."""

    tool_name: ClassVar[str] = DELETE_TOOL
    tool_description: ClassVar[str] = "Delete an experience, given by its label, that is wrong or misleading."

    op: Literal["delete"] = "delete"
    label: str = Field(description=_LABEL, examples=["E1"])
    reason: str = Field(default="", description=_REASON)


class MergeOp(ToolRequest):
    """Replace two or more experiences that say the same thing by one."""

    tool_name: ClassVar[str] = MERGE_TOOL
    tool_description: ClassVar[str] = (
        "Merge two or more experiences that say the same thing into one new experience with the text "
        "you give (at most {max_words} words). The old ones are retired; the new one gets a new label."
    )

    op: Literal["merge"] = "merge"
    labels: list[str] = Field(
        min_length=2,
        description="The labels of the experiences to merge (two or more).",
        examples=[["E1", "E2"]],
    )
    text: str = Field(description="The merged experience, keeping everything useful from each.")
    reason: str = Field(default="", description=_REASON)


class VoteOp(ToolRequest):
    """Say whether an experience shown to the student helped or misled it on this item."""

    tool_name: ClassVar[str] = VOTE_TOOL
    tool_description: ClassVar[str] = (
        "Record whether an experience that was shown to the student helped ('helpful') or misled "
        "('harmful') it on this item. One vote per experience."
    )

    op: Literal["vote"] = "vote"
    label: str = Field(description=_LABEL, examples=["E1"])
    vote: Literal["helpful", "harmful"] = Field(description="helpful if it led towards the right answer.")
    reason: str = Field(default="", description=_REASON)


class KeepApartOp(ToolRequest):
    """Decide that similar experiences give different advice, so that they are not merged."""

    tool_name: ClassVar[str] = KEEP_APART_TOOL
    tool_description: ClassVar[str] = (
        "Keep two or more experiences apart: they look alike but give different advice (or one of them "
        "is wrong), so merging them would lose or distort something. Say why in the reason. Nothing "
        "changes; the decision is recorded so that they are not proposed for merging again."
    )

    op: Literal["keep_apart"] = "keep_apart"
    labels: list[str] = Field(
        min_length=2,
        description="The labels of the experiences to keep apart (two or more).",
        examples=[["E1", "E2"]],
    )
    reason: str = Field(
        min_length=1, description="One short sentence: what each says that the other does not."
    )


Operation = Annotated[AddOp | UpdateOp | DeleteOp | MergeOp | VoteOp | KeepApartOp, Field(discriminator="op")]
"""A change to the library (or a recorded decision): the requests other than a search."""

OPERATION_TYPES: tuple[type[ToolRequest], ...] = (AddOp, UpdateOp, DeleteOp, MergeOp, VoteOp, KeepApartOp)
REQUEST_TYPES: tuple[type[ToolRequest], ...] = (SearchQuery, *OPERATION_TYPES)
TOOL_NAMES: tuple[str, ...] = tuple(kind.tool_name for kind in REQUEST_TYPES)
"""Every memory tool, in the order `create_memory_tools` returns them."""

_OPERATION: TypeAdapter[Operation] = TypeAdapter(Operation)


class LibraryOperations(BaseModel):
    """Changes to the experience library, applied in order. An empty list changes nothing."""

    operations: list[Operation] = Field(
        default_factory=list,
        description="The operations, each with an `op` of "
        + ", ".join(kind.model_fields["op"].default for kind in OPERATION_TYPES)
        + ".",
    )


def argument_fields(kind: type[ToolRequest]) -> dict[str, FieldInfo]:
    """The fields of a request that are its tool's arguments (all but the ``op`` discriminator)."""
    return {name: info for name, info in kind.model_fields.items() if name != "op"}


def describe_invalid(error: ValidationError) -> str:
    """What is wrong with a request's arguments, in a sentence the model can act on."""
    problems = "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'arguments'}: {e['msg']}" for e in error.errors()
    )
    return f"invalid arguments ({problems}); fix them and call the tool again"


def request_type(name: str, allowed: Sequence[type[ToolRequest]] = REQUEST_TYPES) -> type[ToolRequest]:
    """The request behind the tool ``name``.

    Raises:
        ToolInputError: ``name`` is not one of the ``allowed`` tools.
    """
    for kind in allowed:
        if kind.tool_name == name:
            return kind
    known = ", ".join(kind.tool_name for kind in allowed)
    raise ToolInputError(f"there is no tool named {name!r}; the tools are {known}")


def parse_request(
    name: str, arguments: Mapping[str, Any], allowed: Sequence[type[ToolRequest]] = REQUEST_TYPES
) -> ToolRequest:
    """The validated request of one tool call.

    Raises:
        ToolInputError: an unknown tool, or arguments that do not validate.
    """
    kind = request_type(name, allowed)
    try:
        return kind.model_validate({key: value for key, value in arguments.items() if key != "op"})
    except ValidationError as exc:
        raise ToolInputError(describe_invalid(exc)) from exc


def parse_operation(data: Mapping[str, Any]) -> Operation:
    """The validated operation of a JSON object with an ``op`` (e.g. one checkpointed in graph state).

    Raises:
        ToolInputError: the object is not a valid operation.
    """
    try:
        return _OPERATION.validate_python(data)
    except ValidationError as exc:
        raise ToolInputError(describe_invalid(exc)) from exc


def _example(info: FieldInfo) -> str:
    if info.examples:
        return json.dumps(info.examples[0])
    if get_origin(info.annotation) is Literal:
        return " or ".join(json.dumps(value) for value in get_args(info.annotation))
    if get_origin(info.annotation) is list:
        return '["..."]'
    return '"..."'


def operation_examples(kinds: Sequence[type[ToolRequest]]) -> str:
    """One line per operation: the JSON object a model writes for it, with placeholder values.

    Example:
        >>> print(operation_examples([DeleteOp]))
        {"op": "delete", "label": "E1", "reason": "..."}
    """
    lines = []
    for kind in kinds:
        parts = [f'"op": {json.dumps(kind.model_fields["op"].default)}']
        parts += [f"{json.dumps(name)}: {_example(info)}" for name, info in argument_fields(kind).items()]
        lines.append("{" + ", ".join(parts) + "}")
    return "\n".join(lines)
