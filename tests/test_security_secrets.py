"""No key in any message, report, record or log, even when an endpoint echoes the key back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from cli_support import TEACHER, invoke, simulated, stub_url, synth_dataset, text_only_server
from conftest import CANARY, files_containing

from ted.graph.errors import describe_model_error, redact
from ted.graph.models import ModelSpec

pytestmark = [pytest.mark.server, pytest.mark.slow]


def test_redact_hides_every_secret_of_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_SERVICE_TOKEN", "tok-1234567890")
    monkeypatch.setenv("ODDLY_NAMED", "value-of-the-key")
    text = f"failed with {CANARY}, tok-1234567890 and value-of-the-key"
    assert redact(text) == "failed with [redacted], [redacted] and value-of-the-key"
    assert redact(text, "ODDLY_NAMED") == "failed with [redacted], [redacted] and [redacted]"


def test_a_model_error_quoting_the_key_is_redacted() -> None:
    import httpx2
    import openai

    request = httpx2.Request("POST", "http://127.0.0.1:9/v1/chat/completions")
    response = httpx2.Response(400, request=request, json={"error": {"message": f"bad key {CANARY}"}})
    exc = openai.BadRequestError(f"Error code: 400 - bad key {CANARY}", response=response, body=None)
    spec = ModelSpec("student", "m", "http://127.0.0.1:9/v1", "TED_STUDENT_API_KEY", 0.0, 16, 5.0, 0)
    error = describe_model_error(exc, spec)
    assert CANARY not in str(error) and "[redacted]" in str(error)


def test_an_endpoint_that_echoes_the_key_gets_it_written_nowhere(tmp_path: Path) -> None:
    dataset = synth_dataset(tmp_path / "data", n=8, seed=4)
    library = tmp_path / "library"
    with text_only_server(echo_credentials=True) as echo, simulated(dataset) as sim:
        common = [
            str(dataset),
            "--library",
            str(library),
            "--student",
            "text-only",
            "--student-url",
            stub_url(echo),
            "--teacher",
            TEACHER,
            "--teacher-url",
            sim.base_url,
            "--embeddings",
            "hash",
        ]
        # The preflight check notes the failed request (redacted); every student call then fails and
        # is recorded against its item.
        distilled = invoke(["distill", *common, "--train-size", "4", "--rollouts", "1", "--json"])
    assert distilled.exit_code == 0, distilled.stderr
    assert CANARY not in distilled.stdout + distilled.stderr
    assert "[redacted]" in distilled.stderr
    summary = json.loads(distilled.stdout)
    assert json.dumps(summary).count("[redacted]") >= 1, "the recorded failures quote the endpoint, redacted"
    assert echo.requests, "the endpoint was called"
    # The canary did travel as the student's key, so the check below is not vacuous.
    assert files_containing(tmp_path, CANARY) == []
    assert (library / "journal.sqlite").is_file() and (library / "runs.sqlite").is_file()
