"""The data of the experience library: experiences, usage and utility, journal, refusals, backups.

The utility score says how useful an experience has proved, from its usage statistics. It is the
mean of a Beta posterior over "this experience helps", starting from a uniform prior (one
pseudo-observation each way), so an experience without evidence scores exactly 0.5 and a few
observations cannot push it to the extremes::

    positive = 2 * helpful + cited_correct
    negative = 2 * harmful + cited_wrong + 0.1 * max(0, retrieved - cited)
    utility  = (positive + 1) / (positive + negative + 2)          # in (0, 1)

- A teacher vote weighs twice a citation: it is an explicit judgement by the stronger model, while a
  citation in a correct (or wrong) trajectory is only a correlation.
- Being retrieved and then ignored is weak evidence of irrelevance: ten uncited retrievals count
  as one negative observation.

`evidence` is ``positive + negative``, the weighted number of observations behind the score; pruning
acts only on experiences with enough of it.

`shows_harm` says whether usage has already pointed at an experience as misleading, however little
evidence there is: a harmful vote, or more citations in wrong answers than in right ones. Compression
has the compress model review such an experience (correct it, delete it, or leave it when the misses
had other causes) instead of waiting for enough evidence to prune it.

Retrieval ranks by `trust`, the same score without the ignored retrievals::

    trust = (positive + 1) / (positive + 2 * harmful + cited_wrong + 2)

Being ignored says an experience was not about the question at hand, not that it misleads: an
experience that often fills the last places of prompts for other questions piles up ignored
retrievals, and ranking by utility let it fall below advice that was merely retrieved less, even for
its own questions (measured by the retrieval ablations, bench/ablations.py). Pruning still counts
them: an experience nobody ever uses goes.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

VOTE_WEIGHT = 2.0
"""Weight of one helpful / harmful teacher vote."""

CITATION_WEIGHT = 1.0
"""Weight of one citation in a trajectory graded correct / wrong."""

IGNORED_WEIGHT = 0.1
"""Weight of one retrieval that no trajectory cited (a negative observation)."""

PRIOR = 1.0
"""Pseudo-observations on each side; with no evidence the utility is 0.5."""


def utc_now() -> datetime:
    """The current time, timezone-aware in UTC (every timestamp of the library uses it)."""
    return datetime.now(UTC)


def normalize_tags(tags: Iterable[str]) -> list[str]:
    """Tags as the library stores them: stripped, lower-cased and de-duplicated, in their first order."""
    return list(dict.fromkeys(t.strip().lower() for t in tags if t.strip()))


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


def _positive(stats: UsageStats) -> float:
    return VOTE_WEIGHT * stats.helpful + CITATION_WEIGHT * stats.cited_correct


def _negative(stats: UsageStats) -> float:
    ignored = max(0, stats.retrieved - stats.cited)
    return VOTE_WEIGHT * stats.harmful + CITATION_WEIGHT * stats.cited_wrong + IGNORED_WEIGHT * ignored


def utility(stats: UsageStats) -> float:
    """Smoothed usefulness in (0, 1); 0.5 when there is no evidence. See the module docstring."""
    positive, negative = _positive(stats), _negative(stats)
    return (positive + PRIOR) / (positive + negative + 2 * PRIOR)


def trust(stats: UsageStats) -> float:
    """How far an experience has proved right when used, in (0, 1); 0.5 with no evidence (see above)."""
    positive = _positive(stats)
    negative = VOTE_WEIGHT * stats.harmful + CITATION_WEIGHT * stats.cited_wrong
    return (positive + PRIOR) / (positive + negative + 2 * PRIOR)


def evidence(stats: UsageStats) -> float:
    """The weighted number of observations behind `utility` (0 for an unused experience)."""
    return _positive(stats) + _negative(stats)


def shows_harm(stats: UsageStats) -> bool:
    """Whether usage points at it as misleading: a harmful vote, or more wrong citations than right ones."""
    return stats.harmful > 0 or stats.cited_wrong > stats.cited_correct


def harm_record(stats: UsageStats) -> str:
    """The usage that bears on harm, in words: "cited in 3 wrong answers, 1 right; 1 harmful vote"."""
    answers = "answer" if stats.cited_wrong == 1 else "answers"
    record = f"cited in {stats.cited_wrong} wrong {answers}, {stats.cited_correct} right"
    if stats.harmful:
        record += f"; {stats.harmful} harmful vote{'' if stats.harmful == 1 else 's'}"
    return record


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


class LibraryStats(BaseModel):
    """The size, version, models and usage of a library (`ExperienceStore.stats`)."""

    library: Path = Field(description="The library folder.")
    version: int = Field(description="The library version.")
    embedding_model: str
    student_model: str | None
    counts: dict[str, int] = Field(description="How many experiences have each status.")
    usage: UsageStats = Field(description="The usage counts of the active experiences, summed.")
    mean_utility: float | None = Field(description="Mean utility of the active experiences (None: none).")
    tags: dict[str, int] = Field(description="Active experiences per tag, most frequent first.")


class Timeline(BaseModel):
    """The recorded changes of one experience and the writes to it that were refused, by time."""

    experience_id: str
    events: list[JournalEntry | Refusal] = Field(
        description="Journal entries and refusals, oldest first; at equal times, journal entries first."
    )


class Backup(BaseModel):
    """A copy of a library's journal in its ``backups/`` folder (`ExperienceStore.backup`)."""

    path: Path = Field(description="The backup file.")
    at: datetime = Field(description="When it was made (UTC).")
    version: int = Field(description="The library version it holds.")


class RepairResult(BaseModel):
    """What `ted.memory.repair_library` found and did."""

    library: Path = Field(description="The library folder.")
    journal_damage: str | None = Field(
        description="What was wrong with the journal (None: it was healthy and left as it was)."
    )
    restored_from: Backup | None = Field(description="The backup the journal was restored from.")
    damaged_journal: Path | None = Field(description="Where the damaged journal went (kept, not deleted).")
    lost_operations: int | None = Field(
        description="Operations recorded after the backup, lost with the damaged journal (None: unknown)."
    )
    index_rebuilt: str | None = Field(description="How the vector index was rebuilt (None: it was healthy).")
    version: int = Field(description="The library version after the repair.")
    experiences: int = Field(description="Active experiences after the repair.")
