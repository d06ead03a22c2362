"""`ted sim serve`: a real subprocess serving on a given port, and clear errors on bad input."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import free_port

from ted.cli.main import cli
from ted.tasks import render_prompt
from ted.tasks.synth import generate

TED = str(Path(sys.executable).with_name("ted"))


def _wait_for(url: str, process: subprocess.Popen[str], deadline: float = 60.0) -> bytes:
    """GET ``url`` once the server answers (the process imports its libraries first)."""
    stop = time.monotonic() + deadline
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return bytes(response.read())
        except OSError:
            if process.poll() is not None or time.monotonic() > stop:
                raise
            time.sleep(0.1)


@pytest.mark.slow
@pytest.mark.server
def test_serve_on_a_port_then_terminate() -> None:
    port = free_port()
    process = subprocess.Popen(
        [TED, "sim", "serve", "--port", str(port), "--n", "12", "--model", "s-student", "--model", "t"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        body = json.loads(_wait_for(f"http://127.0.0.1:{port}/v1/models", process))
        assert [model["id"] for model in body["data"]] == ["s-student", "t"]
    finally:
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 0
    assert f"http://127.0.0.1:{port}/v1" in stdout and "12 synthetic puzzles" in stdout
    assert "simulated" in stderr and "Stopped after 1 requests" in stderr
    assert "Traceback" not in stderr


@pytest.mark.slow
@pytest.mark.server
def test_serve_a_dataset_with_a_request_log(tmp_path: Path) -> None:
    items = generate(tmp_path / "data", n=6, seed=2)
    log = tmp_path / "requests.jsonl"
    process = subprocess.Popen(
        [TED, "sim", "serve", "--dataset", str(tmp_path / "data"), "--log", str(log), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        address = json.loads(process.stdout.readline())
        body = json.dumps(
            {"model": "sim-teacher", "messages": [{"role": "user", "content": render_prompt(items[4])}]}
        ).encode()
        request = urllib.request.Request(
            f"{address['base_url']}/chat/completions", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.headers["x-ted-simulated"] == "true"
            completion = json.loads(response.read())
    finally:
        process.send_signal(signal.SIGINT)
        process.communicate(timeout=30)
    assert process.returncode == 0
    assert completion["system_fingerprint"] == "ted-sim"
    assert completion["choices"][0]["message"]["content"].splitlines()[-1].startswith("Answer: ")
    (record,) = [json.loads(line) for line in log.read_text().splitlines()]
    assert record["item_id"] == items[4].id and record["role"] == "teacher" and record["status"] == 200


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--latency", "fast"], "ted: error: latency 'fast' is not valid"),
        (["--latency", "uniform:2,1"], "low <= high"),
        (["--rate-429", "0.7", "--rate-500", "0.7"], "ted: error: the fault rates add up to 1.400"),
        (["--dataset", "no/such/folder"], "ted: error: "),
    ],
)
def test_bad_options_fail_with_one_line(args: list[str], message: str) -> None:
    result = CliRunner().invoke(cli, ["sim", "serve", *args])
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output


def test_out_of_range_rate_is_a_usage_error() -> None:
    result = CliRunner().invoke(cli, ["sim", "serve", "--rate-429", "1.5"])
    assert result.exit_code == 2
    assert "--rate-429" in result.output
