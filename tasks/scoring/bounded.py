"""Comparisons that may not finish: latex2sympy and math-verify, run in a child process with a deadline.

One worker process (`ted.tasks.scoring.latex_worker`) is started on first use and reused; a
comparison that misses its deadline gets the worker killed (a new one starts on the next request) and
counts as not equal, with ``timed_out`` set so that reports can say how many there were. Answers are
cached, since the same pairs recur (one ground truth, many identical short answers).
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import selectors
import subprocess
import sys
import threading
import time
from functools import lru_cache
from typing import Any, NamedTuple

from ted.tasks.errors import MissingDependencyError

DEFAULT_TIMEOUT = 10.0
"""Seconds one comparison may take, worker start-up included."""


class Comparison(NamedTuple):
    """The outcome of one bounded comparison."""

    equal: bool
    timed_out: bool = False


class _Worker:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._buffer = b""

    def _start(self) -> subprocess.Popen[bytes]:
        if self._process is None or self._process.poll() is not None:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "ted.tasks.scoring.latex_worker"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
            )
            self._buffer = b""
        return self._process

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.kill()
        process.wait()
        assert process.stdin is not None and process.stdout is not None
        process.stdout.close()
        # A write the dead worker never read stays in the buffer, and closing flushes it.
        with contextlib.suppress(BrokenPipeError):
            process.stdin.close()

    def ask(self, request: dict[str, Any], timeout: float) -> dict[str, Any] | None:
        """The worker's answer, or None when it is late (the worker is then killed)."""
        with self._lock:
            process = self._start()
            assert process.stdin is not None and process.stdout is not None
            try:
                process.stdin.write(json.dumps(request).encode() + b"\n")
                process.stdin.flush()
            except BrokenPipeError:
                self.stop()
                return None
            deadline = time.monotonic() + timeout
            with selectors.DefaultSelector() as selector:
                selector.register(process.stdout, selectors.EVENT_READ)
                while b"\n" not in self._buffer:
                    left = deadline - time.monotonic()
                    if left <= 0 or not selector.select(left):
                        self.stop()
                        return None
                    chunk = os.read(process.stdout.fileno(), 65536)
                    if not chunk:  # the worker died (out of memory ...)
                        self.stop()
                        return None
                    self._buffer += chunk
            line, _, self._buffer = self._buffer.partition(b"\n")
            answer: dict[str, Any] = json.loads(line)
            return answer


_worker = _Worker()
atexit.register(_worker.stop)


def _ask(request: dict[str, Any], timeout: float) -> Comparison:
    answer = _worker.ask(request, timeout)
    if answer is None:
        return Comparison(False, timed_out=True)
    if "missing" in answer:
        package = "math-verify" if "math_verify" in answer["missing"] else "latex2sympy2"
        raise MissingDependencyError(
            f"scoring needs {package} (module {answer['missing']!r} is missing); see the README's "
            "scoring section for how to install it"
        )
    return Comparison(bool(answer["equal"]))


@lru_cache(maxsize=65536)
def official_equal(asw: str, gt_asw: str, timeout: float = DEFAULT_TIMEOUT) -> Comparison:
    """MATH-V's ``is_equal(asw, gt_asw)`` (evaluation/utils.py), bounded by ``timeout`` seconds.

    The checks that need no latex2sympy run here; the rest in the worker.
    """
    low, gt_low = asw.lower(), gt_asw.lower()
    if low.replace(" ", "") == "" or gt_low.replace(" ", "") == "":
        return Comparison(False)
    if gt_low.strip() == low.strip():
        return Comparison(True)
    return _ask({"op": "official", "a": asw, "b": gt_asw}, timeout)


@lru_cache(maxsize=65536)
def lenient_equal(golds: tuple[str, ...], response: str, timeout: float = DEFAULT_TIMEOUT) -> Comparison:
    """Whether math-verify reads in ``response`` a final answer equivalent to one of ``golds``."""
    return _ask({"op": "lenient", "golds": list(golds), "response": response}, timeout)
