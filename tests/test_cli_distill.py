"""`ted distill`, `ted eval` and `ted solve` through the command line, against the simulated endpoint."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_support import STUDENT, invoke, model_args, simulated, synth_dataset
from PIL import Image

from ted.runs import all_runs

pytestmark = [pytest.mark.server, pytest.mark.slow]

SECRET = "sk-test-this-key-must-never-be-written"


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    return synth_dataset(tmp_path / "data", n=24, seed=1)


def test_distill_then_eval_write_their_reports(dataset: Path, tmp_path: Path) -> None:
    library = tmp_path / "library"
    env = {"TED_STUDENT_API_KEY": SECRET, "OPENAI_API_KEY": SECRET}
    with simulated(dataset, seed=3, p_student_base=0.1, p_student_skill=1.0) as sim:
        distilled = invoke(
            [
                "distill",
                str(dataset),
                "--library",
                str(library),
                *model_args(sim.base_url),
                "--train-size",
                "12",
                "--seed",
                "5",
                "--rollouts",
                "2",
                "--batch",
                "4",
                "--embeddings",
                "hash",
                "--json",
            ],
            env=env,
        )
        assert distilled.exit_code == 0, distilled.stderr
        summary = json.loads(distilled.stdout)
        evaluated = invoke(
            [
                "eval",
                str(dataset),
                "--library",
                str(library),
                *model_args(sim.base_url, teacher=False),
                "--json",
            ],
            env=env,
        )
        assert evaluated.exit_code == 0, evaluated.stderr
        result = json.loads(evaluated.stdout)

    # The distillation report.
    assert summary["status"] == "finished" and summary["simulated"] is True
    assert summary["items_done"] == 12 and summary["trajectories"] == 24
    assert [point["items_done"] for point in summary["curve"]] == [4, 8, 12]
    assert summary["library"]["active"] > 0 and summary["library"]["version"] > 0
    stages = {row["stage"] for row in summary["costs"]["rows"]}
    assert {"student", "teacher", "reflect", "embeddings"} <= stages
    report = Path(summary["report_dir"])
    assert report == library / "reports" / summary["run_id"]
    markdown = (report / "report.md").read_text()
    for expected in (
        "SIMULATED MODELS",
        STUDENT,
        "sim-teacher",
        str(dataset),
        f"version {summary['library']['version']}",
    ):
        assert expected in markdown
    with Image.open(report / "learning_curve.png") as image:
        assert image.format == "PNG" and image.width >= 800
    assert json.loads((report / "summary.json").read_text())["run_id"] == summary["run_id"]
    [record] = all_runs(library)
    assert record.status == "finished" and len(record.train_ids) == 12

    # The evaluation takes the split from the run record and keeps its items apart from training.
    assert result["dataset"]["train_size"] == 12 and result["dataset"]["seed"] == 5
    assert result["dataset"]["test_items"] == 12
    assert result["contamination"] == {"guard": True, "runs_checked": 1, "training_ids": 12, "removed": []}
    assert {c["condition"] for c in result["conditions"]} == {"library", "baseline"}
    assert result["library_accuracy"] > result["baseline_accuracy"]
    assert result["comparison"]["method"] == "McNemar's exact test"
    assert 0.0 <= result["comparison"]["test"]["p_value"] <= 1.0
    assert {c["category"] for c in result["categories"]} <= {
        "count_shapes",
        "bar_heights",
        "clock_reading",
        "grid_paths",
        "odd_one_out",
        "polygon_angles",
    }
    eval_report = Path(result["report_dir"])
    markdown = (eval_report / "report.md").read_text()
    assert "McNemar" in markdown and "contamination guard was on" in markdown
    with Image.open(eval_report / "categories.png") as image:
        assert image.format == "PNG"
    # Keys are read from the environment and never written anywhere.
    for path in [*report.iterdir(), *eval_report.iterdir(), *(library / "runs").iterdir()]:
        if path.suffix in {".json", ".md"}:
            assert SECRET not in path.read_text()


def test_eval_leaves_out_items_the_library_trained_on(dataset: Path, tmp_path: Path) -> None:
    library = tmp_path / "library"
    with simulated(dataset) as sim:
        assert (
            invoke(
                [
                    "distill",
                    str(dataset),
                    "--library",
                    str(library),
                    *model_args(sim.base_url),
                    "--train-size",
                    "6",
                    "--rollouts",
                    "1",
                    "--batch",
                    "6",
                    "--embeddings",
                    "hash",
                    "--json",
                ]
            ).exit_code
            == 0
        )
        # Another seed gives another split: some of its test items were training items.
        result = invoke(
            [
                "eval",
                str(dataset),
                "--library",
                str(library),
                *model_args(sim.base_url, teacher=False),
                "--train-size",
                "6",
                "--seed",
                "99",
                "--no-baseline",
                "--json",
            ]
        )
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    trained = set(all_runs(library)[0].train_ids)
    removed = set(summary["contamination"]["removed"])
    assert removed and removed <= trained
    assert summary["comparison"] is None and summary["baseline_accuracy"] is None
    assert summary["conditions"][0]["graded"] == 18 - len(removed)
    assert "were training items" in result.stderr


def test_eval_with_seeds_reports_mean_and_spread(dataset: Path, tmp_path: Path) -> None:
    library = tmp_path / "library"
    with simulated(dataset) as sim:
        assert (
            invoke(
                [
                    "distill",
                    str(dataset),
                    "--library",
                    str(library),
                    *model_args(sim.base_url),
                    "--train-size",
                    "12",
                    "--rollouts",
                    "1",
                    "--batch",
                    "12",
                    "--embeddings",
                    "hash",
                ]
            ).exit_code
            == 0
        )
        result = invoke(
            [
                "eval",
                str(dataset),
                "--library",
                str(library),
                *model_args(sim.base_url, teacher=False),
                "--seeds",
                "3",
                "--json",
            ]
        )
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["settings"]["repeats"] == 3 and summary["settings"]["solve_temperature"] == 0.7
    for condition in summary["conditions"]:
        assert condition["answers"] == 36 and condition["repeats"]["n"] == 3
        assert condition["repeats"]["min"] <= condition["accuracy"]["estimate"] <= condition["repeats"]["max"]
    assert summary["comparison"]["method"] == "Exact sign test on per-item mean accuracy"


def test_solve_answers_with_the_experiences_it_used(dataset: Path, tmp_path: Path) -> None:
    library = tmp_path / "library"
    item = json.loads((dataset / "items.jsonl").read_text().splitlines()[0])
    with simulated(dataset, p_student_skill=1.0) as sim:
        assert (
            invoke(
                [
                    "distill",
                    str(dataset),
                    "--library",
                    str(library),
                    *model_args(sim.base_url),
                    "--train-size",
                    "18",
                    "--rollouts",
                    "2",
                    "--batch",
                    "6",
                    "--embeddings",
                    "hash",
                ]
            ).exit_code
            == 0
        )
        args = [
            "solve",
            "--library",
            str(library),
            *model_args(sim.base_url, teacher=False),
            "--question",
            item["question"],
            "--image",
            str(dataset / item["images"][0]),
        ]
        args += [option for text in item.get("options") or [] for option in ("--option", text)]
        result = invoke([*args, "--answer", item["answer"], "--json"])
        shown = invoke(args)
    assert result.exit_code == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["question"] == item["question"]
    assert answer["answer"] is not None and "Answer:" in answer["response"]
    assert isinstance(answer["correct"], bool)
    for experience in answer["experiences"]:
        assert set(experience) >= {"label", "id", "text", "similarity", "cited"}
    assert shown.exit_code == 0 and "answer:" in shown.stdout
