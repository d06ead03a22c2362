"""`ted data inspect` and `ted data synth`, in process and through the installed console script."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_tasks_schemas import (
    image_bytes,
    mathvision_row,
    visualpuzzles_row,
    write_jsonl,
    write_mathvision_parquet,
    write_visualpuzzles_parquet,
)

from ted.cli.main import cli


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["data", *args])
    return result.exit_code, result.stdout, result.stderr


def _generic(folder: Path, rows: list[dict[str, object]]) -> Path:
    (folder / "images").mkdir(parents=True, exist_ok=True)
    (folder / "images" / "a.png").write_bytes(image_bytes())
    return write_jsonl(folder / "items.jsonl", rows)  # type: ignore[arg-type]


GOOD = [
    {"question": "How many dots?", "answer": "3", "image": "images/a.png", "category": "counting"},
    {"question": "Which colour?", "answer": "A", "options": ["red", "blue"], "category": "colours"},
    {"question": "How many sides?", "answer": "4", "images": ["images/a.png"], "category": "counting"},
]


def test_inspect_prints_a_summary(tmp_path: Path) -> None:
    _generic(tmp_path, GOOD)
    code, out, err = _run("inspect", str(tmp_path))
    assert code == 0, err
    assert "jsonl (scored as generic)" in out
    assert "with images" in out and "counting" in out and "colours" in out
    assert err == ""


def test_inspect_json(tmp_path: Path) -> None:
    _generic(tmp_path, GOOD)
    code, out, _ = _run("inspect", str(tmp_path), "--json")
    assert code == 0
    summary = json.loads(out)
    assert summary["count"] == 3
    assert summary["benchmark"] == "generic"
    assert summary["categories"] == {"counting": 2, "colours": 1}
    assert (summary["with_images"], summary["with_options"], summary["problems"]) == (2, 1, [])


def test_inspect_reports_bad_rows_and_fails(tmp_path: Path) -> None:
    path = _generic(
        tmp_path,
        [
            *GOOD,
            {"question": "q", "answer": "C", "options": ["x", "y"]},
            {"question": "q", "answer": "1", "image": "../x.png"},
        ],
    )
    code, out, err = _run("inspect", str(tmp_path), "--json")
    assert code == 1
    summary = json.loads(out)
    assert summary["count"] == 3 and summary["problem_count"] == 2
    assert summary["problems"][0] == f"{path}, line 4: unknown answer letter 'C': the 2 options are A-B"
    assert err == f"ted: error: 2 rows have problems; the first: {summary['problems'][0]}\n"

    code, out, err = _run("inspect", str(tmp_path))
    assert code == 1 and "First problems" in out and "escapes the dataset folder" in out
    assert err.count("\n") == 1 and err.startswith("ted: error: 2 rows have problems")


def test_inspect_bad_dataset_is_one_line_without_traceback(tmp_path: Path) -> None:
    code, out, err = _run("inspect", str(tmp_path / "missing"))
    assert code == 1 and out == ""
    assert err == f"ted: error: {tmp_path / 'missing'}: no such file or folder\n"

    write_mathvision_parquet(tmp_path / "mv", [])
    code, _, err = _run("inspect", str(tmp_path / "mv"))
    assert code == 1 and err.endswith(": the file is empty (no rows)\n") and "Traceback" not in err


def test_inspect_named_dataset_without_datasets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "datasets", None)
    code, _, err = _run("inspect", "MathLLMs/MathVision")
    assert code == 1
    assert err.startswith(
        "ted: error: MathLLMs/MathVision: loading a dataset by name needs the optional 'datasets'"
    )


def test_inspect_benchmark_formats_split_and_limit(tmp_path: Path) -> None:
    write_visualpuzzles_parquet(tmp_path / "vp", [visualpuzzles_row(i) for i in range(1, 6)])
    code, out, _ = _run(
        "inspect", str(tmp_path / "vp"), "--format", "visualpuzzles", "--split", "train", "--json"
    )
    assert code == 0
    summary = json.loads(out)
    assert (summary["count"], summary["split"], summary["with_options"]) == (5, "train", 0)

    write_mathvision_parquet(tmp_path / "mv", [mathvision_row(str(i)) for i in range(1, 9)], split="testmini")
    code, out, _ = _run("inspect", str(tmp_path / "mv"), "--limit", "3", "--json")
    summary = json.loads(out)
    assert (code, summary["count"], summary["split"], summary["levels"]) == (0, 3, "testmini", {"2": 3})

    code, _, err = _run("inspect", str(tmp_path / "vp"), "--format", "csv")
    assert code == 2 and "Invalid value for '--format'" in err


def test_synth_then_inspect(tmp_path: Path) -> None:
    out_dir = tmp_path / "synthetic"
    code, out, err = _run("synth", str(out_dir), "--n", "12", "--seed", "5", "--json")
    assert code == 0, err
    written = json.loads(out)
    assert written["count"] == 12 and Path(written["path"]) == out_dir / "items.jsonl"

    code, out, err = _run("inspect", str(out_dir), "--json")
    assert code == 0, err
    summary = json.loads(out)
    assert summary["count"] == 12 and summary["with_images"] == 12 and summary["problems"] == []
    assert sum(summary["categories"].values()) == 12 and summary["categories"] == written["categories"]

    again = tmp_path / "again"
    assert _run("synth", str(again), "--n", "12", "--seed", "5")[0] == 0
    assert (again / "items.jsonl").read_text().replace(str(again), "") == (
        out_dir / "items.jsonl"
    ).read_text().replace(str(out_dir), "")


@pytest.mark.slow
def test_console_script_synth_then_inspect(tmp_path: Path) -> None:
    ted = Path(sys.executable).parent / "ted"
    out_dir = tmp_path / "synthetic"
    synth = subprocess.run(
        [str(ted), "data", "synth", str(out_dir), "--n", "10"], capture_output=True, text=True
    )
    assert synth.returncode == 0, synth.stderr
    inspect = subprocess.run(
        [str(ted), "data", "inspect", str(out_dir), "--json"], capture_output=True, text=True
    )
    assert inspect.returncode == 0, inspect.stderr
    assert json.loads(inspect.stdout)["count"] == 10

    broken = subprocess.run(
        [str(ted), "data", "inspect", str(tmp_path / "nope")], capture_output=True, text=True
    )
    assert broken.returncode == 1
    assert broken.stderr == f"ted: error: {tmp_path / 'nope'}: no such file or folder\n"
