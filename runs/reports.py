"""Run reports: a folder with ``summary.json``, a Markdown ``report.md`` a person reads, and PNG plots.

Reports name the models and endpoints (never keys), the dataset and its split, the library and its
version, the settings, the results with their confidence intervals, the costs and the errors. A run on
the simulated endpoint carries a banner saying so.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pydantic import BaseModel

from ted.runs.markdown import (
    banner,
    costs_markdown,
    errors_markdown,
    interval,
    model_rows,
    percent,
    ratio,
    repeats,
    table,
)
from ted.runs.plots import BarGroup, CurvePoint, category_bars, learning_curve
from ted.runs.results import DatasetInfo, DistillResult, EvaluationResult, LibraryInfo, ModelInfo
from ted.tasks.metrics import Interval

SUMMARY_FILE = "summary.json"
REPORT_FILE = "report.md"
CURVE_FILE = "learning_curve.png"
CATEGORIES_FILE = "categories.png"


def _dataset_row(d: DatasetInfo) -> tuple[str, str]:
    return (
        "Dataset",
        f"`{d.path}` (format {d.format or 'detected'}, split {d.split or '-'}, {d.items} items)",
    )


def _library_row(library: LibraryInfo) -> tuple[str, str]:
    return (
        "Library",
        f"`{library.path}`: version {library.version}, {library.active} active experiences, "
        f"embeddings `{library.embeddings}`",
    )


def distill_markdown(summary: DistillResult) -> str:
    """The Markdown report of a distillation run."""
    s = summary
    d = s.dataset
    overview = [
        ("Status", f"{s.status} ({s.attempts} attempt{'s' if s.attempts != 1 else ''})"),
        ("Started", f"{s.started:%Y-%m-%d %H:%M:%S %Z}"),
        ("Finished", f"{s.finished:%Y-%m-%d %H:%M:%S %Z}" if s.finished else "-"),
        ("Running time", f"{s.seconds:.1f} s"),
        *model_rows(s.models),
        _dataset_row(d),
        (
            "Training split",
            f"{d.train_items} training items (train size {d.train_size}, seed {d.seed}); "
            f"{d.test_items} held out for `ted eval`",
        ),
        _library_row(s.library),
    ]
    settings = table(["Setting", "Value"], [(f"`{k}`", f"`{v}`") for k, v in s.settings.items()])
    curve = table(
        ["Step", "Epoch", "Items done", "Accuracy in the step", "Library size", "Library version"],
        [
            (
                p["step"] + 1,
                p["epoch"] + 1,
                p["items_done"],
                ratio(p["correct"] / p["graded"] if p["graded"] else None),
                p["library_size"],
                p["library_version"],
            )
            for p in s.curve
        ],
    )
    categories = table(
        ["Category", "Items", "Attempts", "Correct", "Accuracy"],
        [(c.category, c.items, c.attempts, c.correct, ratio(c.accuracy)) for c in s.categories],
    )
    if s.compressions:
        compressions = table(
            [
                "After step",
                "Merged",
                "Kept apart",
                "Contradicted",
                "Reviewed (deleted, corrected)",
                "Rewritten",
                "Pruned",
                "Evicted",
                "Library size",
            ],
            [
                (
                    c["step"],
                    c["merged"],
                    c.get("kept_apart", 0),
                    c.get("contradicted", 0),
                    f"{c.get('reviewed', 0)} ({c.get('review_deleted', 0)}, {c.get('review_corrected', 0)})",
                    c["rewritten"],
                    c["pruned"],
                    c["evicted"],
                    c["library_size"],
                )
                for c in s.compressions
            ],
        )
    else:
        compressions = "No compression ran."
    return (
        f"# TED distillation report: run {s.run_id}\n\n"
        f"{banner(s.simulated)}"
        f"{table(['', ''], overview)}\n\n"
        f"## Settings\n\n{settings}\n\n"
        "## Training\n\n"
        f"{s.items_done} item runs, {s.trajectories} student attempts, {s.correct} right: training accuracy "
        f"**{ratio(s.accuracy)}**; the teacher's own answers were right on "
        f"{percent(s.teacher_accuracy)} of the items. "
        "Training accuracy is measured while the library grows, on the items it learns from: it shows "
        "learning, not held-out quality; `ted eval` measures that.\n\n"
        f"![Learning curve]({CURVE_FILE})\n\n{curve}\n\n"
        f"### Per category\n\n{categories}\n\n"
        f"## Library upkeep\n\n{compressions}\n\n"
        f"## Costs\n\n{costs_markdown(s.costs)}\n"
        f"## Errors\n\n{errors_markdown(s.error_counts, s.errors)}\n"
        "## Next\n\n"
        f"Evaluate on the held-out items: `ted eval {d.path} --library {s.library.path}`\n"
    )


def _scoring_note(s: EvaluationResult) -> str:
    """Which scoring graded the answers, and how many verdicts were guesses or timed out."""
    scoring = s.settings.get("scoring", "official")
    note = f"Answers were graded with the **{scoring}** scoring"
    note += " (each benchmark's own harness)." if scoring == "official" else " (math-verify equivalence)."
    if s.guessed_answers:
        note += (
            f" {s.guessed_answers} unreadable answers were scored by the official harness's random "
            "guess (seeded)."
        )
    if s.timed_out_answers:
        note += f" {s.timed_out_answers} answer comparisons timed out and counted as wrong."
    return note + "\n\n"


def eval_markdown(summary: EvaluationResult) -> str:
    """The Markdown report of an evaluation."""
    s = summary
    d = s.dataset
    c = s.contamination
    overview = [
        ("Evaluated", f"{s.started:%Y-%m-%d %H:%M:%S %Z} ({s.seconds:.1f} s)"),
        *model_rows(s.models),
        _dataset_row(d),
        (
            "Test split",
            f"{d.test_items} held-out items (train size {d.train_size}, seed {d.seed})",
        ),
        _library_row(s.library),
    ]
    settings = table(["Setting", "Value"], [(f"`{k}`", f"`{v}`") for k, v in s.settings.items()])
    accuracy = table(
        ["Condition", "Accuracy [95% CI]", "Graded", "Failed", "Per repeat: mean ± sd (min-max)"],
        [
            (
                r.condition,
                interval(r.accuracy),
                r.graded,
                r.failed,
                repeats(r.repeats),
            )
            for r in s.conditions
        ],
    )
    if s.comparison is not None:
        t = s.comparison.test
        comparison = (
            f"Library minus baseline: **{s.comparison.difference.estimate:+.3f}** "
            f"[{s.comparison.difference.low:+.3f}, {s.comparison.difference.high:+.3f}] "
            f"(95% bootstrap interval over items).\n\n"
            f"{s.comparison.method} on {s.comparison.items} paired items: the library was better on "
            f"{t.second_better}, the baseline on {t.first_better}, {t.ties} tied; two-sided "
            f"**p = {t.p_value:.3g}**.\n"
        )
    else:
        comparison = "The baseline was not run (`--no-baseline`), so there is no paired comparison.\n"
    categories = table(
        ["Category", "Items", "Baseline [95% CI]", "Library [95% CI]", "Difference"],
        [
            (
                r.category,
                r.items,
                interval(r.baseline),
                interval(r.library),
                f"{r.library.estimate - r.baseline.estimate:+.3f}" if r.library and r.baseline else "-",
            )
            for r in s.categories
        ],
    )
    if c.removed:
        overlap = (
            f"{len(c.removed)} test items were training items of this library's runs and were left out: "
            f"{', '.join(c.removed[:20])}{' ...' if len(c.removed) > 20 else ''}."
        )
    else:
        overlap = "None of the test items was a training item of those runs."
    contamination = (
        "- The contamination guard was on: no experience learned from an item was injected while that "
        "item was evaluated.\n"
        f"- The test items were checked against the {c.training_ids} training items of the library's "
        f"{c.runs_checked} recorded distillation run{'s' if c.runs_checked != 1 else ''}. {overlap}\n"
    )
    return (
        f"# TED evaluation report: {s.eval_id}\n\n"
        f"{banner(s.simulated)}"
        f"{table(['', ''], overview)}\n\n"
        f"## Accuracy\n\n{accuracy}\n\n{comparison}\n"
        f"{s.experiences_injected} distinct experiences were injected at least once.\n\n"
        f"{_scoring_note(s)}"
        f"![Accuracy per category]({CATEGORIES_FILE})\n\n"
        f"## Per category\n\n{categories}\n\n"
        f"## Contamination\n\n{contamination}\n"
        f"## Settings\n\n{settings}\n\n"
        f"## Costs\n\n{costs_markdown(s.costs)}\n"
        f"## Errors\n\n{errors_markdown(s.error_counts, s.errors)}"
    )


def _subtitle(models: Sequence[ModelInfo], simulated: bool) -> str:
    names = " · ".join(f"{m.role} {m.model}" for m in models)
    return names + (" · SIMULATED MODELS" if simulated else "")


def draw_curve(summary: DistillResult, path: Path) -> Path:
    """The learning curve of a distillation run."""
    points = [
        CurvePoint(
            items=p["items_done"],
            accuracy=p["correct"] / p["graded"] if p["graded"] else None,
            library_size=p["library_size"],
        )
        for p in summary.curve
    ]
    title = f"Learning curve, run {summary.run_id}"
    return learning_curve(points, path, title=title, subtitle=_subtitle(summary.models, summary.simulated))


def draw_categories(summary: EvaluationResult, path: Path) -> Path:
    """Accuracy per category with and without the library."""

    def triple(value: Interval | None) -> tuple[float, float, float] | None:
        return None if value is None else (value.estimate, value.low, value.high)

    by_condition = {r.condition: r.accuracy for r in summary.conditions}
    groups = [
        BarGroup(
            "all",
            {name: triple(by_condition.get(name)) for name in ("baseline", "library")},
            summary.dataset.test_items - len(summary.contamination.removed),
        )
    ]
    groups += [
        BarGroup(r.category, {"baseline": triple(r.baseline), "library": triple(r.library)}, r.items)
        for r in summary.categories
    ]
    title = "Accuracy per category, with and without the library"
    return category_bars(groups, path, title=title, subtitle=_subtitle(summary.models, summary.simulated))


def _write(directory: Path, summary: BaseModel, markdown: str) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / SUMMARY_FILE).write_text(summary.model_dump_json(indent=2) + "\n", encoding="utf-8")
    (directory / REPORT_FILE).write_text(markdown, encoding="utf-8")


def write_distill_report(summary: DistillResult, directory: Path) -> Path:
    """Write the report folder of a distillation run; returns the folder."""
    _write(directory, summary, distill_markdown(summary))
    draw_curve(summary, directory / CURVE_FILE)
    return directory


def write_eval_report(summary: EvaluationResult, directory: Path) -> Path:
    """Write the report folder of an evaluation; returns the folder."""
    _write(directory, summary, eval_markdown(summary))
    draw_categories(summary, directory / CATEGORIES_FILE)
    return directory


def _demote(markdown: str) -> str:
    """Headings one level down, so that a report becomes a section of another."""
    return "\n".join("#" + line if line.startswith("#") else line for line in markdown.splitlines()) + "\n"


def write_combined_report(
    directory: Path,
    summary: BaseModel,
    *,
    preface: str,
    distilled: DistillResult,
    evaluated: EvaluationResult,
) -> Path:
    """One folder for a distillation and its evaluation (what `ted demo` writes)."""
    markdown = f"{preface}\n{_demote(distill_markdown(distilled))}\n{_demote(eval_markdown(evaluated))}"
    _write(directory, summary, markdown)
    draw_curve(distilled, directory / CURVE_FILE)
    draw_categories(evaluated, directory / CATEGORIES_FILE)
    return directory
