"""The public Python API (`ted.runs`): distill, evaluate, solve and the demo, with their result objects."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_support import simulated, synth_dataset

from ted.graph import Context, close_libraries
from ted.runs import (
    DatasetSplit,
    Demo,
    DistillRun,
    RunError,
    all_runs,
    distill,
    evaluate,
    held_out_split,
    run_demo,
    solve,
)
from ted.runs.records import save_run
from ted.tasks import Item, load_dataset

pytestmark = [pytest.mark.server, pytest.mark.slow]


def _context(library: Path, url: str, **settings: object) -> Context:
    return Context(
        library=str(library),
        embeddings="hash",
        student_model="sim-student",
        teacher_model="sim-teacher",
        student_base_url=url,
        teacher_base_url=url,
        **settings,  # type: ignore[arg-type]
    )


async def test_distill_then_evaluate_return_results_that_write_their_reports(tmp_path: Path) -> None:
    dataset = synth_dataset(tmp_path / "data", n=32, seed=2)
    data = DatasetSplit.of(dataset, train_size=16, seed=1)
    events: list[str] = []
    try:
        with simulated(dataset, seed=3, p_student_base=0.1, p_student_skill=1.0) as sim:
            context = _context(tmp_path / "library", sim.base_url, rollouts=2)
            run = await distill(
                data, context, batch_size=8, on_event=lambda ns, node, update: events.append(node)
            )
            result = await evaluate(data, context)
    finally:
        close_libraries()

    assert run.status == "finished" and run.simulated and run.items_done == 16
    assert run.library.active > 0 and run.accuracy is not None
    assert run.dataset.path == str(dataset.resolve()) and run.dataset.test_items == 16
    assert "distill_items" in events and "record" in events
    [record] = all_runs(tmp_path / "library")
    assert record.run_id == run.run_id and record.status == "finished"

    # The held-out half, with and without the library, paired.
    assert result.dataset.test_items == 16 and not result.contamination.removed
    assert {c.condition for c in result.conditions} == {"library", "baseline"}
    assert result.library_accuracy is not None and result.baseline_accuracy is not None
    assert result.library_accuracy > result.baseline_accuracy
    assert result.comparison is not None and result.comparison.method == "McNemar's exact test"
    low, high = result.comparison.difference.low, result.comparison.difference.high
    assert low <= result.library_accuracy - result.baseline_accuracy <= high
    assert result.costs.input_tokens > 0 and result.error_counts == {}

    folder = result.write_report(tmp_path / "report")
    summary = json.loads((folder / "summary.json").read_text())
    assert summary["kind"] == "eval" and summary["library_accuracy"] == result.library_accuracy
    assert (folder / "report.md").is_file() and (folder / "categories.png").is_file()
    assert run.write_report().is_dir() and (Path(run.report_dir) / "learning_curve.png").is_file()


async def test_evaluation_takes_the_split_of_the_librarys_run(tmp_path: Path) -> None:
    dataset = synth_dataset(tmp_path / "data", n=20, seed=5)
    library = tmp_path / "library"
    try:
        with simulated(dataset) as sim:
            context = _context(library, sim.base_url, rollouts=1)
            await distill(DatasetSplit.of(dataset, train_size=12, seed=7), context, batch_size=6)
    finally:
        close_libraries()
    split = held_out_split(dataset, library)
    assert (split.train_size, split.seed) == (12, 7), "what the library's run held out"
    assert held_out_split(dataset, library, train_size=4).train_size == 4


async def test_items_given_directly_and_a_resume_that_changes_more_than_endpoints(tmp_path: Path) -> None:
    dataset = synth_dataset(tmp_path / "data", n=8, seed=6)
    items = load_dataset(dataset)
    library = tmp_path / "library"
    try:
        with simulated(dataset) as sim:
            context = _context(library, sim.base_url, rollouts=1)
            run = await distill(items[:4], context, batch_size=4, preflight=False)
            answer = await solve(items[5], context)
            baseline = await solve(items[5].model_copy(update={"answer": ""}), context, use_library=False)
    finally:
        close_libraries()
    assert run.dataset.path == "(items given in Python)" and run.items_done == 4
    assert answer.item_id == items[5].id and isinstance(answer.correct, bool) and answer.response
    assert all(e.label.startswith("E") for e in answer.experiences)
    assert baseline.experiences == [] and baseline.correct is None

    [record] = all_runs(library)
    record.status = "interrupted"
    save_run(library, record)
    with pytest.raises(RunError, match="not rollouts"):
        await DistillRun.resume(library, endpoints={"rollouts": 9})
    resumed = await DistillRun.resume(library, endpoints={"student_base_url": "http://127.0.0.1:9/v1"})
    assert resumed.context.student_base_url == "http://127.0.0.1:9/v1" and resumed.context.rollouts == 1


async def test_the_demo_runs_through_the_same_calls(tmp_path: Path) -> None:
    result = await run_demo(
        Demo(tmp_path / "demo", train=8, test=8, rollouts=2, embeddings="hash", latency=0.0)
    )
    assert result.simulated and result.train_items == 8 and result.test_items == 8
    assert result.eval.comparison is not None
    report = Path(result.report_dir) / "report.md"
    assert "SIMULATED MODELS" in report.read_text()
    assert Item.model_validate_json((tmp_path / "demo" / "data" / "items.jsonl").read_text().splitlines()[0])


def test_eval_help_shows_the_librarys_repeat_temperature() -> None:
    from ted.cli.evaluate import REPEAT_TEMPERATURE_SHOWN
    from ted.runs.evaluation import DEFAULT_REPEAT_TEMPERATURE

    assert REPEAT_TEMPERATURE_SHOWN == DEFAULT_REPEAT_TEMPERATURE
