"""`ted demo`: the README's first command, offline, with the bundled MiniLM embeddings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_support import error_line, invoke, run_ted
from PIL import Image


@pytest.mark.slow
@pytest.mark.server
@pytest.mark.embeddings
def test_demo_distils_evaluates_and_reports_with_simulated_models(tmp_path: Path) -> None:
    workdir = tmp_path / "demo"
    result = run_ted(["demo", "--workdir", str(workdir), "--json"])
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["simulated"] is True
    assert summary["library_accuracy"] > summary["baseline_accuracy"]
    assert summary["p_value"] < 0.05
    assert (summary["train_items"], summary["test_items"]) == (48, 48)
    assert "SIMULATED MODELS" in result.stderr and str(workdir) in result.stderr

    report = Path(summary["report_dir"])
    assert report == workdir / "report"
    markdown = (report / "report.md").read_text()
    assert markdown.startswith("# TED demo report\n\n> **SIMULATED MODELS")
    assert "What this run shows" in markdown and "What it does not show" in markdown
    assert "## TED distillation report" in markdown and "## TED evaluation report" in markdown
    for name in ("learning_curve.png", "categories.png"):
        with Image.open(report / name) as image:
            assert image.format == "PNG"
    assert (
        json.loads((report / "summary.json").read_text())["library_accuracy"] == summary["library_accuracy"]
    )
    # The separate reports of the two steps are in the library, as after `ted distill` and `ted eval`.
    assert (Path(summary["distill_report_dir"]) / "report.md").is_file()
    assert (Path(summary["eval_report_dir"]) / "categories.png").is_file()
    assert summary["distill"]["library"]["embeddings"] != "hash-256"


def test_demo_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    (tmp_path / "something.txt").write_text("keep me")
    result = invoke(["demo", "--workdir", str(tmp_path)])
    assert result.exit_code == 1
    assert "is not empty" in error_line(result)
