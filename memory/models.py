"""The data of the experience library: experiences, provenance, statistics, journal entries, refusals."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


def utc_now() -> datetime:
    """The current time, timezone-aware in UTC (every timestamp of the library uses it)."""
    return datetime.now(UTC)


class Status(StrEnum):
    """Life cycle of an experience. Only active experiences are retrieved."""

    ACTIVE = "active"
    SUPERSEDED = "superseded"
    DELETED = "deleted"


class Origin(StrEnum):
    """How the current text of an experience came to be."""

    REFLECT = "reflect"
    MERGE = "merge"
    REWRITE = "rewrite"
    IMPORT = "import"
    MANUAL = "manual"


class UsageStats(BaseModel):
    """How an experience fared when it was used. Also used as a delta in `record_usage`."""

    retrieved: int = Field(default=0, ge=0, description="Times it was injected into a student prompt.")
    cited: int = Field(default=0, ge=0, description="Times a student trajectory cited it.")
    cited_correct: int = Field(default=0, ge=0, description="Citations in trajectories graded correct.")
    cited_wrong: int = Field(default=0, ge=0, description="Citations in trajectories graded wrong.")
    helpful: int = Field(default=0, ge=0, description="Teacher votes that it helped.")
    harmful: int = Field(default=0, ge=0, description="Teacher votes that it misled.")

    def __add__(self, other: UsageStats) -> UsageStats:
        return UsageStats(**{name: getattr(self, name) + getattr(other, name) for name in _STAT_FIELDS})

    def is_zero(self) -> bool:
        """Whether every count is zero."""
        return not any(getattr(self, name) for name in _STAT_FIELDS)


_STAT_FIELDS: tuple[str, ...] = tuple(UsageStats.model_fields)


class Provenance(BaseModel):
    """Where an experience came from."""

    origin: Origin = Field(description="How the current text was made.")
    source_items: list[str] = Field(default_factory=list, description="Ids of the items it was learned from.")
    merged_from: list[str] = Field(default_factory=list, description="Ids of the experiences merged into it.")
    run: str | None = Field(default=None, description="The run that produced it, if known.")


class Experience(BaseModel):
    """One short, general, actionable piece of advice for the student model."""

    id: str = Field(description="Stable identifier (a UUID).")
    text: str = Field(description="The advice itself.")
    tags: list[str] = Field(default_factory=list, description="Subjects or categories it applies to.")
    status: Status = Field(default=Status.ACTIVE, description="Only active experiences are retrieved.")
    version: int = Field(
        default=1,
        description="Bumped by every change of text, tags or status (not by usage counts); only goes up.",
    )
    created_at: datetime = Field(default_factory=utc_now)
    updated_at: datetime = Field(default_factory=utc_now)
    provenance: Provenance = Field(default_factory=lambda: Provenance(origin=Origin.MANUAL))
    student_model: str | None = Field(default=None, description="The student model it was learned for.")
    stats: UsageStats = Field(default_factory=UsageStats)
    superseded_by: str | None = Field(default=None, description="The experience it was merged into, if any.")


class ScoredExperience(BaseModel):
    """A search result: the experience, its cosine similarity to the query and its ranking score."""

    model_config = ConfigDict(frozen=True)

    experience: Experience
    similarity: float = Field(description="Cosine similarity between query and experience, in [-1, 1].")
    score: float = Field(description="Ranking score; equals the similarity until `rank` mixes in utility.")


class JournalEntry(BaseModel):
    """One change of one experience, as recorded in the journal."""

    seq: int = Field(description="Position in the journal; the library version right after this change.")
    op_id: str = Field(description="The operation this change belongs to (one operation may change several).")
    kind: str = Field(
        description="add, update, rewrite, delete, merge, supersede, usage, import or rollback."
    )
    experience_id: str
    before: Experience | None = Field(
        description="The experience before the change; None if it did not exist."
    )
    after: Experience | None = Field(description="The experience after the change; None if it was removed.")
    reason: str = ""
    step: str | None = Field(default=None, description="The run step that made the change, if any.")
    at: datetime


class OperationRecord(BaseModel):
    """An applied operation, looked up by its id (how a resumed run knows what is already done)."""

    op_id: str
    kind: str
    experience_ids: list[str] = Field(description="Experiences the operation returned, in order.")
    first_seq: int | None = Field(
        description="First journal entry of the operation; None if it changed nothing."
    )
    last_seq: int | None
    at: datetime


class RefusalReason(StrEnum):
    """Why the library refused to store a text (see `ted.memory.screening`)."""

    EMPTY = "empty"
    TOO_LONG = "too_long"
    TOO_MANY_WORDS = "too_many_words"
    CONTROL_CHARACTER = "control_character"
    CHAT_TOKEN = "chat_token"
    ROLE_PREFIX = "role_prefix"
    DELIMITER = "delimiter"
    ITEM_LEAK = "item_leak"


RefusedKind = Literal["add", "update", "merge", "rewrite", "import"]
"""The operations that write experience text, and so can be refused."""


class Refusal(BaseModel):
    """A write the library refused because of its text; kept apart from the journal (no version)."""

    op_id: str = Field(description="The operation that was refused.")
    position: int = Field(
        default=0, description="Which text of the operation (an add of many, an import), from 0."
    )
    kind: RefusedKind = Field(description="add, update, merge, rewrite or import.")
    experience_ids: list[str] = Field(
        default_factory=list,
        description="The experiences the write targeted (the imported id for an import; none for an add).",
    )
    text: str = Field(description="The refused text, cut to its first 2,000 characters.")
    reason: RefusalReason
    message: str = Field(description="What the writer was told to do instead.")
    step: str | None = Field(default=None, description="The run step that tried the write, if any.")
    at: datetime


class InsertResult(BaseModel):
    """What `ExperienceStore.insert` did."""

    added: list[Experience] = Field(description="The experiences added, in the order given.")
    refused: list[Refusal] = Field(description="The experiences refused for their text, with the reasons.")
