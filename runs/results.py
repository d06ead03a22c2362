"""The results of runs: what `distill`, `evaluate`, `solve` and `demo` return, and reports are made of.

Each result is a pydantic model (``summary.json`` is its JSON, and ``ted ... --json`` prints it) that
carries accuracy with confidence intervals, the paired comparison, costs and recorded errors, and can
write its report folder (`write_report`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field

from ted.runs.costs import CostReport
from ted.tasks.metrics import Interval, PairedTest, Spread

if TYPE_CHECKING:
    from ted.graph import Context
    from ted.graph.context import Role
    from ted.memory import ExperienceStore

SIMULATED_BANNER = (
    "SIMULATED MODELS: the student and the teacher were the built-in simulated endpoint. This run shows "
    "that the pipeline works end to end (distillation, library upkeep, evaluation, reports); it does "
    "not show how well TED works with real models."
)


class ModelInfo(BaseModel):
    """A model and where it was served (never its key)."""

    role: str
    model: str
    endpoint: str

    @classmethod
    def of(cls, context: Context, roles: Iterable[Role]) -> list[ModelInfo]:
        """Model name and endpoint of each role of ``context``."""
        from ted.graph.models import model_spec

        infos = []
        for role in roles:
            spec = model_spec(context, role)
            infos.append(cls(role=role, model=spec.model, endpoint=spec.base_url or "api.openai.com"))
        return infos


class DatasetInfo(BaseModel):
    """The dataset and the split a run used."""

    path: str
    format: str | None
    split: str | None = Field(description="The dataset's own split (e.g. MathVision testmini).")
    limit: int | None = None
    items: int = Field(description="Items loaded.")
    train_size: int
    seed: int = Field(description="Seed of the train/test split.")
    train_items: int
    test_items: int


class LibraryInfo(BaseModel):
    """The experience library a run wrote or read."""

    path: str
    version: int = Field(description="Journal position: bumped by every change.")
    active: int = Field(description="Active experiences.")
    embeddings: str
    student_model: str | None

    @classmethod
    async def of(cls, store: ExperienceStore) -> LibraryInfo:
        """Describe ``store`` as it is now."""
        return cls(
            path=str(store.path),
            version=await store.current_version(),
            active=await store.count(),
            embeddings=store.embedding_model,
            student_model=store.student_model,
        )


class CategoryTraining(BaseModel):
    """Training accuracy of the student's attempts in one category."""

    category: str
    items: int
    attempts: int
    correct: int
    accuracy: float | None


class DistillResult(BaseModel):
    """What a distillation run did: training accuracy, the learning curve, the library, costs, errors."""

    kind: Literal["distill"] = "distill"
    run_id: str
    status: str
    simulated: bool
    started: datetime
    finished: datetime | None
    seconds: float = Field(description="Wall time spent running, over all attempts.")
    attempts: int = Field(description="1 plus the number of resumes.")
    models: list[ModelInfo]
    dataset: DatasetInfo
    library: LibraryInfo
    settings: dict[str, Any]
    items_done: int
    trajectories: int
    correct: int
    accuracy: float | None = Field(description="Share of graded student attempts that were right.")
    teacher_accuracy: float | None
    categories: list[CategoryTraining]
    curve: list[dict[str, Any]] = Field(
        description="One point every batch_size items (and at the end): items done, accuracy, library size."
    )
    compressions: list[dict[str, Any]]
    costs: CostReport
    error_counts: dict[str, int] = Field(description="Recorded failures by stage and kind.")
    errors: list[dict[str, Any]] = Field(description="The first recorded failures.")
    report_dir: str = Field(description="Where `write_report` writes by default.")

    def write_report(self, directory: str | Path | None = None) -> Path:
        """Write ``summary.json``, ``report.md`` and the learning curve; returns the folder."""
        from ted.runs.reports import write_distill_report

        return write_distill_report(self, Path(directory or self.report_dir))


class ConditionResult(BaseModel):
    """Accuracy of the student under one condition."""

    condition: str
    accuracy: Interval = Field(description="Mean over items of each item's share of right answers.")
    answers: int
    graded: int
    failed: int = Field(description="Answers whose model call failed; they are not graded.")
    repeats: Spread = Field(description="Accuracy of each repeat: its mean and spread.")
    versus_library: Comparison | None = Field(
        default=None,
        description="For a condition other than ``library``: the paired comparison with the library's "
        "default retrieval on the same items (first = this condition, second = library).",
    )


class CategoryResult(BaseModel):
    """Accuracy per condition in one category."""

    category: str
    items: int
    library: Interval | None
    baseline: Interval | None


class Comparison(BaseModel):
    """A paired comparison of two conditions on the same items (the library against the baseline)."""

    items: int
    method: str
    test: PairedTest = Field(description="first = baseline (or the other condition), second = library.")
    difference: Interval = Field(
        description="Library minus baseline (or the other condition) accuracy, bootstrapped over items."
    )


class Contamination(BaseModel):
    """How the evaluation was kept apart from training."""

    guard: bool = Field(description="No experience learned from an item is injected when it is evaluated.")
    runs_checked: int = Field(description="Recorded distillation runs of the library.")
    training_ids: int = Field(description="Distinct training items those runs used.")
    removed: list[str] = Field(description="Test items that were training items, left out.")


class EvaluationResult(BaseModel):
    """The student with and without the library on held-out items: accuracy, intervals, paired test."""

    kind: Literal["eval"] = "eval"
    eval_id: str
    simulated: bool
    started: datetime
    finished: datetime
    seconds: float
    models: list[ModelInfo]
    dataset: DatasetInfo
    library: LibraryInfo
    settings: dict[str, Any]
    contamination: Contamination
    conditions: list[ConditionResult]
    categories: list[CategoryResult]
    comparison: Comparison | None
    library_accuracy: float | None
    baseline_accuracy: float | None
    experiences_injected: int = Field(description="Distinct experiences injected at least once.")
    guessed_answers: int = Field(
        default=0, description="Unreadable answers scored by the official harness's random guess."
    )
    timed_out_answers: int = Field(
        default=0, description="Answers whose comparison missed its deadline and counted as wrong."
    )
    costs: CostReport
    error_counts: dict[str, int]
    errors: list[dict[str, Any]]
    item_scores: dict[str, dict[str, float]] = Field(
        default_factory=dict,
        description="Per condition, each graded item's share of right answers (to pool evaluations).",
    )
    report_dir: str = Field(description="Where `write_report` writes by default.")

    def write_report(self, directory: str | Path | None = None) -> Path:
        """Write ``summary.json``, ``report.md`` and the per-category chart; returns the folder."""
        from ted.runs.reports import write_eval_report

        return write_eval_report(self, Path(directory or self.report_dir))


class DemoResult(BaseModel):
    """What a demo run showed, and what it did not."""

    kind: Literal["demo"] = "demo"
    simulated: bool = True
    baseline_accuracy: float | None
    library_accuracy: float | None
    difference: Interval | None = Field(description="Library minus baseline, bootstrapped over items.")
    p_value: float | None = Field(description="McNemar's exact test, library against baseline.")
    train_items: int
    test_items: int
    library_size: int
    seconds: float
    workdir: str
    library: str
    report_dir: str
    distill_report_dir: str
    eval_report_dir: str
    shows: list[str]
    does_not_show: list[str]
    distill: DistillResult
    eval: EvaluationResult
    world: str = Field(default="classic", description="The simulated world: classic or skills.")
    families: int = Field(default=6, description="Puzzle families of the world.")
    wrong_advice: WrongAdvice | None = Field(
        default=None, description="Skills world: what became of the wrong advice the teacher planted."
    )


class WrongAdvice(BaseModel):
    """Wrong advice the simulated teacher added to the library, and what became of it by the end.

    Counted by the simulated world's own reading of every experience the library ever held (`ted.sim`),
    so it is a fact about the simulation, not something the pipeline was told.
    """

    planted: int = Field(description="Experiences ever in the library that state a misconception.")
    deleted: int = Field(
        description="Of those, deleted (pruned, evicted, contradicted or reviewed in compression)."
    )
    superseded: int = Field(description="Of those, merged or rewritten into advice that is not wrong.")
    active: int = Field(description="Of those, still active and still wrong at the end.")
    unproven: int = Field(
        default=0,
        description="Of the active ones, those whose usage never showed harm (no harmful vote, no more "
        "citations in wrong answers than in right ones; `ted.memory.models.shows_harm`): nothing in the "
        "run pointed at them.",
    )
    cited_wrong: int = Field(default=0, description="Their citations in trajectories graded wrong.")
    cited_correct: int = Field(default=0, description="Their citations in trajectories graded correct.")
    harmful_votes: int = Field(default=0, description="Harmful votes the reflecting teacher gave them.")


class InjectedExperienceResult(BaseModel):
    """An experience that was in the student's prompt, and whether the student said it used it."""

    label: str
    id: str
    text: str
    similarity: float
    cited: bool


class SolveResult(BaseModel):
    """The student's answer to one question, with the experiences it was given."""

    item_id: str
    answer: str | None = Field(description="What the scorer read as the final answer.")
    correct: bool | None = Field(description="Graded against the item's answer; None when it had none.")
    response: str
    experiences: list[InjectedExperienceResult]
    usage: list[dict[str, Any]]
    errors: list[dict[str, Any]] = Field(description="Recorded failures (a failed model call).")
