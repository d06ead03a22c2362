"""`ted score` and `ted.runs.score_responses`: a responses file scored against a dataset, as the
official harnesses count it, on the real dataset layouts (a MATH-V clone, its JSONL, HF parquet)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from cli_support import invoke
from PIL import Image

from ted.runs import score_responses
from ted.runs.errors import RunError

FIXTURE = json.loads((Path(__file__).parent / "data" / "mathvision_score_fixture.json").read_text())


def _jpeg(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 8), "white").save(path, "JPEG")


def mathv_clone(root: Path, rows: list[dict[str, Any]]) -> Path:
    """The MATH-V repository layout: data/test.jsonl (and its neighbours), images/ at the root."""
    (root / "data").mkdir(parents=True)
    (root / "data" / "test.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    (root / "data" / "testmini.jsonl").write_text(json.dumps(rows[0]) + "\n")
    # The repository keeps captions beside the test set; they are not a dataset split.
    (root / "data" / "gpt4v-captions.jsonl").write_text(json.dumps({"id": "1", "caption": "x"}) + "\n")
    for row in rows:
        _jpeg(root / row["image"])
    return root


def responses_file(path: Path, responses: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in responses))
    return path


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    return mathv_clone(tmp_path / "MATH-V", FIXTURE["rows"])


@pytest.fixture
def responses(tmp_path: Path) -> Path:
    return responses_file(tmp_path / "fixture.jsonl", FIXTURE["responses"])


def test_ted_score_prints_the_official_breakdown_exactly(clone: Path, responses: Path) -> None:
    result = invoke(["score", str(responses), "--data", str(clone), "--json"])
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["scoring"] == "official"
    # Every key and text of the fixture_result.json that MATH-V's evaluate.py wrote for these responses.
    assert summary["official_breakdown"] == FIXTURE["official_result"]
    per_subject = {group["name"]: f"{group['correct']}/{group['total']}" for group in summary["by_category"]}
    for subject, text in per_subject.items():
        assert FIXTURE["official_result"][subject].startswith(text + "=")
    assert summary["guessed"] == 0 and summary["unknown_count"] == 0 and summary["unanswered"] == 0


def test_ted_score_reads_the_jsonl_file_of_a_clone_too(clone: Path, responses: Path) -> None:
    result = score_responses(responses, clone / "data" / "test.jsonl")
    assert result.official_breakdown == FIXTURE["official_result"]
    assert result.accuracy.low <= result.accuracy.estimate <= result.accuracy.high


def test_ted_score_human_output_names_the_scoring(clone: Path, responses: Path) -> None:
    result = invoke(["score", str(responses), "--data", str(clone), "--scoring", "lenient"])
    assert result.exit_code == 0, result.stderr
    assert "scoring lenient" in result.stdout
    assert "by subject" in result.stdout and "by level" in result.stdout
    official = FIXTURE["official_result"]["-all"].split("/")[0]
    lenient = score_responses(responses, clone, scoring="lenient")
    assert lenient.correct >= int(official)


def test_hf_parquet_layouts(tmp_path: Path) -> None:
    rows = FIXTURE["rows"][:6]
    image = tmp_path / "a.jpg"
    _jpeg(image)
    png = {"bytes": image.read_bytes(), "path": "a.jpg"}
    mathvision = pa.table(
        {
            "id": [row["id"] for row in rows],
            "question": [row["question"] for row in rows],
            "options": [row["options"] for row in rows],
            "image": [row["image"] for row in rows],
            "decoded_image": [png] * len(rows),
            "answer": [row["answer"] for row in rows],
            "solution": [None] * len(rows),
            "level": [row["level"] for row in rows],
            "subject": [row["subject"] for row in rows],
        }
    )
    (tmp_path / "MathVision" / "data").mkdir(parents=True)
    pq.write_table(mathvision, tmp_path / "MathVision" / "data" / "test-00000-of-00001.parquet")
    given = responses_file(tmp_path / "mv.jsonl", FIXTURE["responses"][:6])
    result = score_responses(given, tmp_path / "MathVision")
    assert (result.benchmark, result.scored, result.unknown_count) == ("mathvision", 6, 0)

    puzzles = pa.table(
        {
            "id": ["p1", "p2", "p3"],
            "category": ["Algorithmic", "Spatial", "Spatial"],
            "image": [png] * 3,
            "question": ["Which?"] * 3,
            "options": [["Red", "Blue", "Green", "Yellow"], None, None],
            "answer": ["A", "B", "C"],
        }
    )
    (tmp_path / "VisualPuzzles" / "data").mkdir(parents=True)
    pq.write_table(puzzles, tmp_path / "VisualPuzzles" / "data" / "train-00000-of-00001.parquet")
    given = responses_file(
        tmp_path / "vp.jsonl",
        [
            {"id": "p1", "response": "It is Red."},
            {"id": "p2", "response": "Answer: B"},
            {"id": "p3", "response": "no idea"},
            {"id": "p9", "response": "Answer: A"},
        ],
    )
    official = score_responses(given, tmp_path / "VisualPuzzles")
    assert (official.benchmark, official.scored, official.guessed) == ("visualpuzzles", 3, 1)
    assert official.unknown_ids == ["p9"]
    assert [g.name for g in official.by_category] == ["Algorithmic", "Spatial"]
    assert score_responses(given, tmp_path / "VisualPuzzles", seed=0).items == official.items
    lenient = score_responses(given, tmp_path / "VisualPuzzles", scoring="lenient")
    assert lenient.guessed == 0 and lenient.items[2].answer is None


def test_bad_responses_are_clear_errors(tmp_path: Path, clone: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "1", "response": "x"}\n{"id": "1", "response": "y"}\n')
    with pytest.raises(RunError, match="line 2: id '1' appears twice"):
        score_responses(bad, clone)
    bad.write_text('{"id": "1"}\n')
    result = invoke(["score", str(bad), "--data", str(clone)])
    assert result.exit_code == 1
    assert "line 1: expected an object with 'id' and a text 'response'" in result.stderr
    bad.write_text('{"id": "nope", "response": "1"}\n')
    with pytest.raises(RunError, match="none of the 1 response ids"):
        score_responses(bad, clone)
