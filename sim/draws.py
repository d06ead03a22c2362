"""Reproducible per-request randomness.

Each request gets random generators derived from (seed, hash of the request body, how many identical
requests came before it, purpose). N identical requests therefore get N different draws, and a run
that sends the same requests to a fresh server gets the same draws, whatever the timing.
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
from collections import Counter
from typing import Any


def request_key(body: Any) -> str:
    """A hash of a request body that ignores key order."""
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


class Draws:
    """Counts identical requests and derives their random generators."""

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._seen: Counter[str] = Counter()
        self._lock = threading.Lock()

    def occurrence(self, key: str) -> int:
        """How many requests with this key came before (0 for the first), counting this one."""
        with self._lock:
            count = self._seen[key]
            self._seen[key] = count + 1
        return count

    def rng(self, key: str, occurrence: int, purpose: str) -> random.Random:
        """The generator of one request for one purpose ("fault", "latency", "choice-0" ...)."""
        digest = hashlib.sha256(f"{self.seed}:{key}:{occurrence}:{purpose}".encode()).digest()
        return random.Random(int.from_bytes(digest[:8], "big"))
