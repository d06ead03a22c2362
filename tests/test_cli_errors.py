"""The errors a newcomer meets: each one clear line on stderr and a non-zero exit, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from cli_support import (
    STUB_MODEL,
    error_line,
    invoke,
    model_args,
    simulated,
    stub_url,
    synth_dataset,
    text_only_server,
)
from conftest import free_port

from ted.memory import ExperienceStore
from ted.memory.embeddings import HashEmbeddings


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    return synth_dataset(tmp_path / "data", n=6)


@pytest.fixture
def library(tmp_path: Path) -> Path:
    """An existing, empty library (hash embeddings)."""
    path = tmp_path / "library"
    ExperienceStore.open(path, embeddings=HashEmbeddings()).close()
    return path


def _distill(dataset: Path, library: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = invoke(
        [
            "distill",
            str(dataset),
            "--library",
            str(library),
            "--train-size",
            "2",
            "--embeddings",
            "hash",
            *args,
        ],
        env=env,
    )
    return result.exit_code, error_line(result)


@pytest.mark.usefixtures("no_api_keys")
def test_no_endpoint_names_the_options_and_variables(dataset: Path, tmp_path: Path, library: Path) -> None:
    code, line = _distill(dataset, tmp_path / "new-library")
    assert code == 1
    assert "no endpoint configured for the student model" in line
    for name in ("--student-url", "TED_STUDENT_BASE_URL", "TED_STUDENT_API_KEY", "`ted sim serve`"):
        assert name in line
    result = invoke(["eval", str(dataset), "--library", str(library)])
    assert result.exit_code == 1 and "--student-url URL (or set TED_STUDENT_BASE_URL)" in error_line(result)
    # With the student served, the teacher is next; its key defaults to OPENAI_API_KEY.
    code, line = _distill(dataset, tmp_path / "new-library", "--student-url", "http://127.0.0.1:9/v1")
    assert code == 1
    for name in ("teacher model", "--teacher-url", "TED_TEACHER_BASE_URL", "OPENAI_API_KEY"):
        assert name in line


def test_unreachable_endpoint(dataset: Path, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    code, line = _distill(dataset, tmp_path / "library", *model_args(url))
    assert code == 1
    assert f"cannot reach the student model 'sim-student' at {url}: is the server running?" in line
    assert not (tmp_path / "library" / "runs").exists(), "a run that never started leaves no record"


def test_authentication_failure_names_the_key_variable(dataset: Path, tmp_path: Path) -> None:
    with simulated(dataset, api_key="the-right-key") as sim:
        code, line = _distill(
            dataset,
            tmp_path / "library",
            *model_args(sim.base_url),
            env={"TED_STUDENT_API_KEY": "a-wrong-key"},
        )
    assert code == 1
    assert "the student model 'sim-student'" in line
    assert "refused the API key: check the variable TED_STUDENT_API_KEY" in line
    assert "a-wrong-key" not in line


def test_model_without_vision(dataset: Path, tmp_path: Path) -> None:
    with text_only_server() as server:
        url = stub_url(server)
        code, line = _distill(
            dataset,
            tmp_path / "library",
            "--student",
            STUB_MODEL,
            "--student-url",
            url,
            "--teacher",
            STUB_MODEL,
            "--teacher-url",
            url,
        )
    assert code == 1
    assert f"the student model '{STUB_MODEL}' at {url} does not accept images: use a vision model" in line


def test_teacher_without_tool_calling(dataset: Path, tmp_path: Path) -> None:
    with simulated(dataset) as sim, text_only_server(vision=True) as server:
        code, line = _distill(
            dataset,
            tmp_path / "library",
            *model_args(sim.base_url, teacher=False),
            *("--teacher", STUB_MODEL, "--teacher-url", stub_url(server), "--tool-mode", "tools"),
        )
    assert code == 1
    assert f"the teacher model '{STUB_MODEL}' at {stub_url(server)} does not support tool calling" in line
    assert "TED_TOOL_MODE=json" in line


def test_unknown_model_lists_what_the_server_serves(dataset: Path, tmp_path: Path) -> None:
    with text_only_server() as server:
        url = stub_url(server)
        code, line = _distill(dataset, tmp_path / "library", *model_args(url))
    assert code == 1
    assert (
        f"the student model 'sim-student' at {url} does not exist on that server; it serves: {STUB_MODEL}"
        in line
    )


def test_bad_dataset_names_the_file_and_line(tmp_path: Path) -> None:
    data = tmp_path / "bad.jsonl"
    data.write_text(
        '{"id": "a", "question": "Q1?", "answer": "1"}\n'
        '{"id": "b", "question": "Q2?", "options": ["x", "y"], "answer": "E"}\n'
    )
    code, line = _distill(data, tmp_path / "library", *model_args("http://127.0.0.1:9/v1"))
    assert code == 1
    assert f"{data}, line 2: unknown answer letter 'E'" in line
    code, line = _distill(tmp_path / "missing", tmp_path / "library", *model_args("http://127.0.0.1:9/v1"))
    assert code == 1 and str(tmp_path / "missing") in line


def test_missing_or_unknown_library(dataset: Path, tmp_path: Path) -> None:
    result = invoke(["distill", str(dataset)])
    assert result.exit_code == 1
    assert error_line(result) == "ted: error: no library given: pass --library PATH or set TED_LIBRARY"
    result = invoke(
        [
            "eval",
            str(dataset),
            "--library",
            str(tmp_path / "nowhere"),
            *model_args("http://x/v1", teacher=False),
        ]
    )
    assert result.exit_code == 1
    assert "no experience library at" in error_line(result) and "ted distill DATA --library" in result.stderr
    result = invoke(["solve", "--library", str(tmp_path / "nowhere"), "--question", "Why?"])
    assert result.exit_code == 1 and "no experience library at" in error_line(result)


def test_bad_settings_and_price_tables(dataset: Path, tmp_path: Path) -> None:
    url = model_args("http://127.0.0.1:9/v1")
    code, line = _distill(dataset, tmp_path / "library", *url, "--set", "nonsense=1")
    assert code == 1 and "unknown setting 'nonsense'" in line
    code, line = _distill(dataset, tmp_path / "library", *url, "--set", "k=many")
    assert code == 1 and "--set k='many': expected a int" in line
    code, line = _distill(dataset, tmp_path / "library", *url, "--set", "merge_threshold=2")
    assert code == 1 and "merge_threshold must be between 0 and 1" in line
    # Every bad value is named at once, one line each, before anything is written.
    bad = ["--set", "k=-1", "--set", "max_retries=-1", "--set", "timeout=-1"]
    result = invoke(["distill", str(dataset), "--library", str(tmp_path / "library"), *url, *bad])
    lines = result.stderr.splitlines()
    assert result.exit_code == 1 and len(lines) == 3
    assert all(line.startswith("ted: error: ") for line in lines)
    assert {line.split()[2] for line in lines} == {"k", "max_retries", "timeout"}
    assert not (tmp_path / "library").exists()
    prices = tmp_path / "prices.json"
    prices.write_text("{not json")
    code, line = _distill(dataset, tmp_path / "library", *url, "--prices", str(prices))
    assert code == 1 and f"the price table {prices} is not valid JSON" in line


def test_unknown_retrieval_strategies_are_refused_before_anything_runs(dataset: Path, library: Path) -> None:
    result = invoke(["eval", str(dataset), "--library", str(library), "--retrieval", "default,best"])
    assert result.exit_code == 2
    assert "use some of none, default, similarity, random, all" in result.output
    demo = invoke(["demo", "--retrieval", "default,random"])
    assert demo.exit_code == 1 and "at least none and default" in error_line(demo)
