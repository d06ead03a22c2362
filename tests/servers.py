"""A real `langgraph dev` server for tests, serving the project's langgraph.json on a free loopback port."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path

from conftest import free_port

ROOT = Path(__file__).resolve().parents[1]


class LangGraphDev:
    """`langgraph dev` run from ``folder`` (which gets a copy of langgraph.json) with environment ``env``.

    The graphs load by module path, so the server needs no project checkout in its folder.
    """

    def __init__(self, folder: Path, env: Mapping[str, str]) -> None:
        self.folder = folder
        self.env = dict(env)
        self.log = folder / "server.log"
        self.url = ""
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 90.0) -> str:
        """Start the server and wait until it answers; return its base URL."""
        self.folder.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / "langgraph.json", self.folder / "langgraph.json")
        port = free_port()
        langgraph = Path(sys.executable).with_name("langgraph")
        command = [
            str(langgraph),
            "dev",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--no-browser",
            "--no-reload",
        ]
        env = {**self.env, "LANGGRAPH_CLI_NO_ANALYTICS": "1", "LANGGRAPH_NO_VERSION_CHECK": "1"}
        with self.log.open("wb") as out:
            self._process = subprocess.Popen(
                command, cwd=self.folder, env=env, stdout=out, stderr=subprocess.STDOUT
            )
        self.url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise AssertionError(f"langgraph dev exited early:\n{self.tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/ok", timeout=2) as response:
                    if response.status == 200:
                        return self.url
            except OSError:
                time.sleep(0.5)
        raise AssertionError(f"langgraph dev did not come up:\n{self.tail()}")

    @property
    def pid(self) -> int:
        """The process id of the running server."""
        assert self._process is not None, "the server is not running"
        return self._process.pid

    def tail(self) -> str:
        """The end of the server's log, for failure messages."""
        return self.log.read_text(errors="replace")[-3000:] if self.log.exists() else ""

    def stop(self) -> None:
        """Stop the server (SIGTERM, then SIGKILL after 20 s)."""
        if self._process is None:
            return
        self._process.terminate()
        try:
            self._process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self._process.kill()
        self._process = None
