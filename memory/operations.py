"""The library operations a model may ask for, as validated data.

Tool calls and JSON-mode answers carry the same operations; `LibraryEditor` applies both through one
code path. Field descriptions are part of the prompt: the model reads them in the tool or JSON schema.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

_LABEL = "The label of an experience as shown to you, such as E3."
_REASON = "One short sentence: why this change helps the student."


class AddOp(BaseModel):
    """Add a new experience to the library."""

    op: Literal["add"] = "add"
    text: str = Field(
        description="The experience: one short, general, actionable rule for similar problems, "
        "without details of this particular item."
    )
    tags: list[str] = Field(default_factory=list, description="Subjects or categories it applies to.")
    reason: str = Field(default="", description=_REASON)


class UpdateOp(BaseModel):
    """Replace the text of an experience with a better one."""

    op: Literal["update"] = "update"
    label: str = Field(description=_LABEL)
    text: str = Field(description="The improved experience, still short, general and actionable.")
    reason: str = Field(default="", description=_REASON)


class DeleteOp(BaseModel):
    """Delete an experience that is wrong or misleading."""

    op: Literal["delete"] = "delete"
    label: str = Field(description=_LABEL)
    reason: str = Field(default="", description=_REASON)


class MergeOp(BaseModel):
    """Replace two or more experiences that say the same thing by one."""

    op: Literal["merge"] = "merge"
    labels: list[str] = Field(
        min_length=2, description="The labels of the experiences to merge (two or more)."
    )
    text: str = Field(description="The merged experience, keeping everything useful from each.")
    reason: str = Field(default="", description=_REASON)


class VoteOp(BaseModel):
    """Say whether an experience shown to the student helped or misled it on this item."""

    op: Literal["vote"] = "vote"
    label: str = Field(description=_LABEL)
    vote: Literal["helpful", "harmful"] = Field(description="helpful if it led towards the right answer.")
    reason: str = Field(default="", description=_REASON)


Operation = Annotated[AddOp | UpdateOp | DeleteOp | MergeOp | VoteOp, Field(discriminator="op")]


class LibraryOperations(BaseModel):
    """Changes to the experience library, applied in order. An empty list changes nothing."""

    operations: list[Operation] = Field(
        default_factory=list,
        description="The operations, each with an `op` of add, update, delete, merge or vote.",
    )
