"""Shared fixtures: offline settings, free loopback ports, isolated library folders."""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

# Tests never reach the network: model hubs are off and langgraph's background calls are disabled.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("LANGGRAPH_CLI_NO_ANALYTICS", "1")
os.environ.setdefault("LANGGRAPH_NO_VERSION_CHECK", "1")

# A canary key for the whole session: it is the student's and the teacher's API key wherever a test
# does not set its own, so it travels to the simulated endpoints as a bearer token; no file that any
# test writes may contain it (checked when the session ends, in `pytest_sessionfinish`). The main
# process makes it and pytest-xdist's workers inherit it, so that the main process's check covers
# every worker's files.
CANARY = os.environ.setdefault("TED_TESTS_CANARY", f"sk-ted-canary-{secrets.token_hex(12)}")
CANARY_VARIABLES = ("TED_STUDENT_API_KEY", "OPENAI_API_KEY")
os.environ.update(dict.fromkeys(CANARY_VARIABLES, CANARY))


def free_port() -> int:
    """Return a TCP port that is free on the loopback interface right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def library_path(tmp_path: Path) -> Path:
    """A fresh, not yet created library folder."""
    return tmp_path / "library"


@pytest.fixture(autouse=True)
def _no_ted_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Keep the developer's TED_* variables out of the tests (the canary key stays)."""
    for name in list(os.environ):
        if name.startswith("TED_") and name not in CANARY_VARIABLES:
            monkeypatch.delenv(name)
    for name in CANARY_VARIABLES:
        monkeypatch.setenv(name, CANARY)
    yield


@pytest.fixture
def no_api_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    """No API key in the environment, for tests of what happens without one."""
    for name in CANARY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


def files_containing(folder: Path, secret: str) -> list[Path]:
    """Every file under ``folder`` whose bytes contain ``secret``."""
    needle = secret.encode()
    found = []
    for path in folder.rglob("*"):
        try:
            if path.is_file() and not path.is_symlink() and needle in path.read_bytes():
                found.append(path)
        except OSError:
            continue
    return found


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the session if the canary key was written to any file under the session's temporary folder."""
    factory = getattr(session.config, "_tmp_path_factory", None)
    if factory is None:
        return
    leaked = files_containing(factory.getbasetemp(), CANARY)
    if leaked:
        listing = "\n".join(f"  {path}" for path in leaked)
        session.config.get_terminal_writer().line(f"The canary API key was written to:\n{listing}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
