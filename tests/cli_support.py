"""Helpers for the command-line tests: synthetic data, the simulated endpoint, running `ted`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result
from conftest import CANARY_VARIABLES

from ted.cli.main import cli
from ted.sim import SimConfig, SimServer, World
from ted.tasks.synth import generate

STUDENT, TEACHER = "sim-student", "sim-teacher"
TED = [sys.executable, "-c", "from ted.cli.main import main; main()"]


def synth_dataset(folder: Path, n: int, seed: int = 0) -> Path:
    """A synthetic dataset in the generic JSONL format; returns its folder."""
    generate(folder, n=n, seed=seed)
    return folder


@contextmanager
def simulated(dataset: Path, **config: Any) -> Iterator[SimServer]:
    """The simulated endpoint serving the puzzles of ``dataset``, on a free loopback port."""
    with SimServer(World.from_dataset(dataset), config=SimConfig(**config)) as server:
        yield server


def model_args(url: str, *, teacher: bool = True) -> list[str]:
    """Options that point the student (and the teacher) at the simulated endpoint."""
    args = ["--student", STUDENT, "--student-url", url]
    if teacher:
        args += ["--teacher", TEACHER, "--teacher-url", url]
    return args


def invoke(args: Sequence[str], env: dict[str, str] | None = None) -> Result:
    """Run `ted ARGS` in this process; stdout and stderr are kept apart."""
    return CliRunner().invoke(cli, list(args), env=env, auto_envvar_prefix="TED", catch_exceptions=False)


def subprocess_env(**extra: str) -> dict[str, str]:
    """The environment of a `ted` subprocess: offline, unbuffered, no TED_* settings but the canary key."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("TED_") or name in CANARY_VARIABLES
    }
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONUNBUFFERED="1", COLUMNS="120")
    env.update(extra)
    return env


def run_ted(
    args: Sequence[str], *, cwd: Path | None = None, timeout: float = 300, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run `ted ARGS` as a separate process, as a user would."""
    return subprocess.run(
        [*TED, *args], capture_output=True, text=True, cwd=cwd, timeout=timeout, env=subprocess_env(**env)
    )


def error_line(result: Result | subprocess.CompletedProcess[str]) -> str:
    """The one line a failing command printed on stderr (asserting that it is exactly one)."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line on stderr, got: {result.stderr!r}"
    assert lines[0].startswith("ted: error: "), lines[0]
    return lines[0]


class _StubHandler(BaseHTTPRequestHandler):
    """An OpenAI-compatible server with one model, without tool calling and (unless told) without vision."""

    server: _StubServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str) -> None:
        self._send(status, {"error": {"message": message, "type": "invalid_request_error", "code": None}})

    def do_GET(self) -> None:
        self._send(
            200, {"object": "list", "data": [{"id": STUB_MODEL, "object": "model", "owned_by": "stub"}]}
        )

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append(body)
        parts = [p for m in body["messages"] if isinstance(m.get("content"), list) for p in m["content"]]
        if self.server.echo_credentials:
            # As some servers do: the credential it was sent comes back inside the error message.
            self._error(400, f"Request rejected for credential {self.headers.get('Authorization')!r}.")
        elif body["model"] != STUB_MODEL:
            self._error(404, f"The model `{body['model']}` does not exist.")
        elif not self.server.vision and any(part.get("type") == "image_url" for part in parts):
            self._error(400, "Image input is not supported for this model.")
        elif body.get("tools"):
            self._error(
                400, '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set'
            )
        else:
            message = {"role": "assistant", "content": "OK"}
            self._send(
                200,
                {
                    "id": "stub-1",
                    "object": "chat.completion",
                    "created": 0,
                    "model": STUB_MODEL,
                    "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                    "usage": {"prompt_tokens": 5, "completion_tokens": 1, "total_tokens": 6},
                },
            )


class _StubServer(ThreadingHTTPServer):
    daemon_threads = True
    requests: list[dict[str, Any]]
    vision: bool
    echo_credentials: bool


STUB_MODEL = "text-only"


@contextmanager
def text_only_server(*, vision: bool = False, echo_credentials: bool = False) -> Iterator[_StubServer]:
    """A loopback server whose one model (``text-only``) accepts no tools, and images only with ``vision``.

    With ``echo_credentials``, it refuses every chat request with an error that quotes the credential.
    """
    server = _StubServer(("127.0.0.1", 0), _StubHandler)
    server.requests = []
    server.vision = vision
    server.echo_credentials = echo_credentials
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def stub_url(server: _StubServer) -> str:
    """The base URL of a stub server."""
    return f"http://127.0.0.1:{server.server_address[1]}/v1"
