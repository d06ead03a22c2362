"""Shared fixtures: offline settings, free loopback ports, isolated library folders."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

# Tests never reach the network: model hubs are off and langgraph's background calls are disabled.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("LANGGRAPH_CLI_NO_ANALYTICS", "1")
os.environ.setdefault("LANGGRAPH_NO_VERSION_CHECK", "1")


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
    """Keep the developer's TED_* variables out of the tests."""
    for name in list(os.environ):
        if name.startswith("TED_"):
            monkeypatch.delenv(name)
    yield
