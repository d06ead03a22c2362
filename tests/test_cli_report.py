"""Reports: statistics of evaluation records, Markdown, the report folder, and the live progress lines.

The charts themselves are tested in ``test_cli_plots.py``.
"""

from __future__ import annotations

import io
import random
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image
from rich.console import Console

from ted.cli.progress import DistillProgress, EvalProgress
from ted.graph.state import BatchProgress, ItemResult, Usage
from ted.runs.answers import Answer
from ted.runs.costs import PriceTable, cost_report
from ted.runs.reports import distill_markdown, eval_markdown, write_distill_report, write_eval_report
from ted.runs.results import (
    CategoryTraining,
    Contamination,
    DatasetInfo,
    DistillResult,
    EvaluationResult,
    LibraryInfo,
    ModelInfo,
)
from ted.runs.statistics import analyse

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
MODELS = [ModelInfo(role="student", model="qwen-vl", endpoint="http://localhost:8000/v1")]
DATASET = DatasetInfo(
    path="/data/puzzles",
    format="jsonl",
    split=None,
    items=20,
    train_size=10,
    seed=0,
    train_items=10,
    test_items=10,
)
LIBRARY = LibraryInfo(path="/lib", version=42, active=7, embeddings="hash-256", student_model="qwen-vl")


def _record(item: int, condition: str, correct: bool, repeat: int = 0, error: str | None = None) -> Answer:
    return Answer(
        item_id=f"i{item}",
        category="even" if item % 2 == 0 else "odd",
        condition=condition,  # type: ignore[typeddict-item]
        repeat=repeat,
        answer="A",
        correct=correct,
        injected=["e1"] if condition == "library" else [],
        cited=[],
        error=error,
    )


# Library right on items 0-7, baseline on 0-1 and 8; item 9 failed once in the baseline.
RECORDS = [
    *(_record(i, "library", i < 8) for i in range(10)),
    *(_record(i, "baseline", i in (0, 1, 8), error="timeout" if i == 9 else None) for i in range(10)),
]


def _eval_summary(tmp_path: Path) -> EvaluationResult:
    conditions, categories, comparison = analyse(RECORDS, ("library", "baseline"))
    return EvaluationResult(
        eval_id="eval-test",
        simulated=False,
        started=NOW,
        finished=NOW,
        seconds=1.5,
        models=MODELS,
        dataset=DATASET,
        library=LIBRARY,
        settings={"scoring": "official", "repeats": 1},
        contamination=Contamination(guard=True, runs_checked=1, training_ids=10, removed=[]),
        conditions=conditions,
        categories=categories,
        comparison=comparison,
        library_accuracy=conditions[0].accuracy.estimate,
        baseline_accuracy=conditions[1].accuracy.estimate,
        experiences_injected=1,
        guessed_answers=3,
        costs=cost_report([], PriceTable()),
        error_counts={"student: timeout": 1},
        errors=[{"item_id": "i9", "stage": "student", "kind": "timeout", "message": "no answer in 120 s"}],
        report_dir=str(tmp_path / "eval"),
    )


def test_analyse_pairs_items_and_leaves_failed_answers_out() -> None:
    conditions, categories, comparison = analyse(RECORDS, ("library", "baseline"))
    library, baseline = conditions
    assert (library.accuracy.estimate, library.graded, library.failed) == (0.8, 10, 0)
    assert (baseline.accuracy.n, baseline.graded, baseline.failed) == (9, 9, 1)
    assert baseline.accuracy.estimate == pytest.approx(3 / 9)
    assert comparison is not None and comparison.items == 9
    # Paired over items 0-8: library better on 2-7, baseline better on 8.
    assert (comparison.test.second_better, comparison.test.first_better, comparison.test.ties) == (6, 1, 2)
    assert comparison.test.p_value == pytest.approx(2 * 8 / 128)
    assert comparison.difference.estimate == pytest.approx(5 / 9)
    assert [(c.category, c.items) for c in categories] == [("even", 5), ("odd", 5)]
    assert categories[1].baseline is not None and categories[1].baseline.n == 4


def test_analyse_with_repeats_uses_the_sign_test_and_reports_spread() -> None:
    records = [
        _record(i, condition, (i + repeat) % 3 != 0 if condition == "library" else repeat == 0, repeat)
        for i in range(6)
        for condition in ("library", "baseline")
        for repeat in range(3)
    ]
    conditions, _, comparison = analyse(records, ("library", "baseline"))
    assert comparison is not None and comparison.method.startswith("Exact sign test")
    assert conditions[0].repeats.n == 3 and conditions[1].repeats.mean == pytest.approx(1 / 3)
    assert conditions[1].repeats.min == 0.0 and conditions[1].repeats.max == 1.0


def test_eval_report_names_what_a_reader_needs(tmp_path: Path) -> None:
    summary = _eval_summary(tmp_path)
    markdown = eval_markdown(summary)
    for expected in (
        "`qwen-vl` at http://localhost:8000/v1",
        "`/data/puzzles`",
        "version 42",
        "McNemar's exact test on 9 paired items",
        "p = 0.125",
        "| even | 5 |",
        "contamination guard was on",
        "`i9` (student, timeout)",
        "graded with the **official** scoring",
        "3 unreadable answers were scored by the official harness's random guess",
    ):
        assert expected in markdown, expected
    assert "SIMULATED" not in markdown
    folder = write_eval_report(summary, Path(summary.report_dir))
    assert sorted(p.name for p in folder.iterdir()) == ["categories.png", "report.md", "summary.json"]
    with Image.open(folder / "categories.png") as image:
        assert (image.format, image.size) == ("PNG", (960, 540))
    assert EvaluationResult.model_validate_json((folder / "summary.json").read_text()) == summary


def test_distill_report_has_curve_costs_and_a_banner_when_simulated(tmp_path: Path) -> None:
    usage = [Usage(stage="student", model="qwen-vl", input_tokens=1000, output_tokens=100)]
    curve = [
        BatchProgress(step=0, epoch=0, items_done=4, correct=2, graded=8, library_size=3, library_version=3),
        BatchProgress(step=1, epoch=0, items_done=8, correct=6, graded=8, library_size=5, library_version=9),
    ]
    summary = DistillResult(
        run_id="run-1",
        status="finished",
        simulated=True,
        started=NOW,
        finished=NOW,
        seconds=12.0,
        attempts=2,
        models=MODELS,
        dataset=DATASET,
        library=LIBRARY,
        settings={"rollouts": 2},
        items_done=8,
        trajectories=16,
        correct=8,
        accuracy=0.5,
        teacher_accuracy=1.0,
        categories=[CategoryTraining(category="even", items=8, attempts=16, correct=8, accuracy=0.5)],
        curve=[dict(point) for point in curve],
        compressions=[],
        costs=cost_report(
            usage, PriceTable.model_validate({"models": {"qwen-vl": {"input": 1, "output": 1}}})
        ),
        error_counts={},
        errors=[],
        report_dir=str(tmp_path / "run"),
    )
    markdown = distill_markdown(summary)
    assert "SIMULATED MODELS" in markdown and "finished (2 attempts)" in markdown
    assert "| 2 | 1 | 8 | 0.750 | 5 | 9 |" in markdown
    assert "$0.0011" in markdown and "No failures were recorded." in markdown
    folder = write_distill_report(summary, Path(summary.report_dir))
    with Image.open(folder / "learning_curve.png") as image:
        assert (image.format, image.size) == ("PNG", (960, 540))


def _line_console() -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    return Console(file=buffer, width=200, force_terminal=False), buffer


def test_distill_progress_prints_a_line_per_batch_and_counts_usage_once() -> None:
    console, buffer = _line_console()
    result = ItemResult(
        item_id="a",
        category=None,
        epoch=0,
        rollouts=2,
        correct=1,
        graded=2,
        teacher_correct=True,
        injected=[],
        operations=[],
        failed=False,
    )
    usage = [Usage(stage="student", model="qwen-vl", input_tokens=1500, output_tokens=500)]
    prices = PriceTable.model_validate({"models": {"qwen-vl": {"input": 1000, "output": 1000}}})
    with DistillProgress(total_items=4, total_batches=2, prices=prices, console=console) as progress:
        progress.on_event(("distill_item:1",), "student", {"usage": usage})
        progress.on_event(("distill_item:1",), "student", {"usage": usage})
        progress.on_event(("distill_item:1",), "record", {"results": [result]})
        point = BatchProgress(
            step=0, epoch=0, items_done=2, correct=1, graded=2, library_size=3, library_version=4
        )
        loop_step = {"results": [result], "usage": usage * 2, "errors": [], "progress": [point]}
        progress.on_event((), "distill_items", loop_step)
    assert buffer.getvalue() == (
        "step 1/2: 2/4 items · 2 trajectories · accuracy 0.50 · library 3 · 4.0k tokens · $4.00\n"
    )


def test_resumed_progress_starts_from_the_checkpoint() -> None:
    console, buffer = _line_console()
    point = BatchProgress(
        step=0, epoch=0, items_done=2, correct=2, graded=4, library_size=2, library_version=2
    )
    initial = {
        "run_id": "r",
        "results": [],
        "progress": [point],
        "compressions": [],
        "usage": [],
        "errors": [],
    }
    with DistillProgress(
        total_items=4, total_batches=2, prices=PriceTable(), initial=initial, console=console
    ) as p:  # type: ignore[arg-type]
        # The resumed run replays the step it had saved; the count must not move past it.
        p.on_event((), "distill_items", {"progress": [point]})
    assert buffer.getvalue().startswith("step 1/2: 2/4 items")


def test_eval_progress_prints_quarters() -> None:
    console, buffer = _line_console()
    with EvalProgress(total=4, console=console) as progress:
        for record in RECORDS[:2] + RECORDS[10:12]:
            progress.on_answer(record)
    lines = buffer.getvalue().splitlines()
    assert len(lines) == 4
    assert lines[-1] == "evaluated 4/4 answers · library 1.00 · baseline 1.00"


def test_answers_carry_guesses_and_timeouts_from_the_grader() -> None:
    from ted.runs.answers import _answer
    from ted.tasks import Item

    item = Item(id="p1", question="Which?", answer="A", benchmark="visualpuzzles")
    trajectory = {
        "index": 0,
        "response": "no idea",
        "answer": "C",
        "correct": False,
        "cited": [],
        "error": None,
        "guessed": True,
    }
    answer = _answer(item, "baseline", 0, {"trajectories": [trajectory], "injected": []})
    assert (answer["guessed"], answer["timed_out"]) == (True, False)


def test_accuracy_over_repeats_is_counted_exactly() -> None:
    # Every repeat gets 18 of 36 right, so accuracy is exactly 0.5; the items' shares (thirds) added as
    # floats come to 0.4999999999999998 for this draw.
    draw = random.Random(1)
    right = [set(draw.sample(range(36), 18)) for _ in range(3)]
    records = [_record(i, "library", i in right[repeat], repeat) for i in range(36) for repeat in range(3)]
    (library,) = analyse(records, ("library",))[0]
    assert library.repeats.min == library.repeats.max == 0.5
    assert library.accuracy.estimate == 0.5
