"""Graph state: plain JSON-friendly TypedDicts, so checkpoints and the API carry them unchanged.

Items travel as dicts in the shape of ``ted.tasks.Item``: validated once where they enter a graph,
then read back without validating again (`ted.graph.items`). Lists that several parallel nodes write
to (trajectories, usage, errors, results) are merged with ``operator.add``.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, Literal, NotRequired

from langchain_core.messages import AnyMessage
from langgraph.graph.message import add_messages
from typing_extensions import TypedDict


class InjectedExperience(TypedDict):
    """An experience placed in the student's prompt."""

    label: str
    """Short label the student cites, E1, E2, ..."""
    id: str
    text: str
    similarity: float


Stage = Literal["student", "teacher", "reflect", "compress"]


class Usage(TypedDict):
    """Tokens of one model call, for cost accounting by stage."""

    stage: Stage
    model: str
    input_tokens: int
    output_tokens: int


class ErrorRecord(TypedDict):
    """A failure recorded against an item instead of stopping the run."""

    item_id: str
    stage: str
    kind: str
    message: str


class Trajectory(TypedDict):
    """One graded student attempt."""

    index: int
    response: str
    answer: str | None
    """What the scorer read as the final answer (None: nothing parseable)."""
    correct: bool
    cited: list[str]
    """Labels of injected experiences the student said it used."""
    error: str | None
    """Set when the model call failed; such attempts are not graded."""
    guessed: NotRequired[bool]
    """The answer is the official harness's random guess for an unreadable response (VisualPuzzles)."""
    timed_out: NotRequired[bool]
    """A comparison missed its deadline and counted as not equal."""


class TeacherSolution(TypedDict):
    """The teacher's own solution, graded like a student's."""

    response: str
    answer: str | None
    correct: bool
    error: str | None


class Reflection(TypedDict):
    """What a reflection did to the library."""

    mode: Literal["tools", "json", "skipped", "failed"]
    operations: list[str]
    """One line per library operation, as reported back to the model."""


class PlannedOperation(TypedDict):
    """One library operation of a JSON-mode answer, kept in state until it is applied."""

    id: str
    """``json-0``, ``json-1`` ...: the library operation id is the editor's prefix plus this."""
    operation: dict[str, Any]
    """The operation as JSON, with its ``op`` (``ted.memory.Operation``)."""


class ItemResult(TypedDict):
    """Summary of one item's distillation step, for progress and reports."""

    item_id: str
    category: str | None
    epoch: int
    rollouts: int
    correct: int
    """Student attempts that were right."""
    graded: int
    """Student attempts that produced an answer (failed calls excluded)."""
    teacher_correct: bool | None
    injected: list[str]
    operations: list[str]
    failed: bool


# Per-item distillation graph -------------------------------------------------------------------------


class ItemInput(TypedDict):
    """Input of the per-item distillation graph."""

    item: dict[str, Any]
    """A labelled item in the shape of ted.tasks.Item (question, answer, options, images, ...)."""
    op_prefix: NotRequired[str]
    """Prefix of the library operation ids, unique per run, epoch and item (set by the dataset loop)."""
    epoch: NotRequired[int]
    compress_in_item: NotRequired[bool]
    """Compress after this item when the library is over its cap (the dataset loop compresses itself)."""


class ItemState(ItemInput):
    """Working state of the per-item distillation graph."""

    images: NotRequired[list[str]]
    """The item's images as prepared data URLs (resized once, shared by every call)."""
    injected: NotRequired[list[InjectedExperience]]
    trajectories: Annotated[list[Trajectory], operator.add]
    teacher: NotRequired[TeacherSolution]
    messages: Annotated[list[AnyMessage], add_messages]
    """The reflection conversation in ``tools`` mode (tool calls and their results)."""
    planned: NotRequired[list[PlannedOperation]]
    """The operations of a ``json`` mode reflection, until ``apply_tools`` applies them."""
    labels: NotRequired[dict[str, str]]
    """Labels the reflecting model has seen, label -> experience id."""
    applied: NotRequired[list[str]]
    """What the reflection's successful edits reported so far, one line each."""
    reflect_rounds: NotRequired[int]
    reflect_mode: NotRequired[Literal["tools", "json"]]
    reflection: NotRequired[Reflection]
    """Set when the reflection is over (done, skipped or failed); ``record`` reads it."""
    compress_due: NotRequired[bool]
    results: Annotated[list[ItemResult], operator.add]
    usage: Annotated[list[Usage], operator.add]
    errors: Annotated[list[ErrorRecord], operator.add]


class ItemOutput(TypedDict):
    """What one item's distillation reports to its caller."""

    results: list[ItemResult]
    usage: list[Usage]
    errors: list[ErrorRecord]


class StudentTask(TypedDict):
    """What one student rollout needs (sent to each parallel student node)."""

    item: dict[str, Any]
    images: list[str]
    injected: list[InjectedExperience]
    index: NotRequired[int]


# Dataset loop ----------------------------------------------------------------------------------------


class DistillInput(TypedDict):
    """Input of the dataset-level distillation graph."""

    items: list[dict[str, Any]]
    """Training items in the shape of ted.tasks.Item."""
    epochs: NotRequired[int]
    """Passes over the items (default 1)."""
    batch_size: NotRequired[int]
    """Items per point of the learning curve; compression is considered at each point (default 8)."""
    window: NotRequired[int]
    """Items in flight at most; a new one starts as soon as one finishes (default: batch_size)."""
    schedule: NotRequired[Literal["stream", "batches"]]
    """``stream`` (default): a window of items in flight; ``batches``: batch after batch, each waiting
    for its slowest item (the schedule of earlier versions, for comparison)."""
    seed: NotRequired[int]
    """Seed of the per-epoch item order (default 0)."""
    run_id: NotRequired[str]
    """Names the run in library operation ids (default: generated)."""


class BatchProgress(TypedDict):
    """One point of the learning curve."""

    step: int
    epoch: int
    items_done: int
    correct: int
    graded: int
    library_size: int
    library_version: int


class CompressionReport(TypedDict):
    """What one compression did."""

    step: int
    merged: int
    rewritten: int
    pruned: int
    evicted: int
    library_size: int
    operations: list[str]
    kept_apart: NotRequired[int]
    """Candidate groups the compress model kept apart (in whole or in part), with a reason."""
    contradicted: NotRequired[int]
    """Experiences the compress model deleted because they contradicted another and had misled."""
    reviewed: NotRequired[int]
    """Experiences whose usage showed harm (without the evidence to prune them), shown to the compress
    model for review."""
    review_deleted: NotRequired[int]
    """Of those, deleted by the compress model as wrong advice."""
    review_corrected: NotRequired[int]
    """Of those, corrected (their text rewritten) by the compress model."""


class DistillState(DistillInput):
    """Working state of the dataset loop."""

    started: NotRequired[int]
    """Units (epoch and item) started so far, in the run's order (`ted.graph.schedule.units`)."""
    running: NotRequired[list[int]]
    """Positions of the units in flight when the last step ended (a resume starts them again)."""
    finished: NotRequired[int]
    """Units finished and recorded in ``results``."""
    items_since_compress: NotRequired[int]
    compress_due: NotRequired[bool]
    results: Annotated[list[ItemResult], operator.add]
    progress: Annotated[list[BatchProgress], operator.add]
    compressions: Annotated[list[CompressionReport], operator.add]
    usage: Annotated[list[Usage], operator.add]
    errors: Annotated[list[ErrorRecord], operator.add]


class DistillOutput(TypedDict):
    """What a distillation run reports."""

    run_id: str
    results: list[ItemResult]
    progress: list[BatchProgress]
    compressions: list[CompressionReport]
    usage: list[Usage]
    errors: list[ErrorRecord]


# Solve graph -----------------------------------------------------------------------------------------


class SolveInput(TypedDict):
    """Input of the solve graph."""

    item: dict[str, Any]
    """A question in the shape of ted.tasks.Item; `answer` is optional and, when given, grades the reply."""
    use_library: NotRequired[bool]
    """Inject retrieved experiences (default true); false gives the baseline student."""


class SolveState(SolveInput):
    """Working state of the solve graph."""

    images: NotRequired[list[str]]
    injected: NotRequired[list[InjectedExperience]]
    trajectories: Annotated[list[Trajectory], operator.add]
    usage: Annotated[list[Usage], operator.add]
    errors: Annotated[list[ErrorRecord], operator.add]


class SolveOutput(TypedDict):
    """The student's answer and the experiences it was given."""

    injected: list[InjectedExperience]
    trajectories: list[Trajectory]
    usage: list[Usage]
    errors: list[ErrorRecord]
