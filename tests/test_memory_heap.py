"""No stale process memory in the embedded index's files (chroma-core/chroma#7688)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow]

# Fills freed heap blocks with a fake key, then writes small Chroma indexes, as a run that calls a model
# between library writes does; prints how many index folders came to hold the key.
SCRIPT = """
import os, shutil, sys
import numpy as np
from ted.memory.heap import scrub_freed_memory

assert scrub_freed_memory()
import chromadb

KEY = b"sk-stale-heap-key-0123456789abcdef"
root, leaks = sys.argv[1], 0
for trial in range(int(sys.argv[2])):
    path = os.path.join(root, f"db{trial}")
    junk = [bytearray(KEY * 20) for _ in range(2000)]
    del junk
    client = chromadb.PersistentClient(path)
    collection = client.get_or_create_collection("experiences", configuration={"hnsw": {"space": "cosine"}})
    collection.add(ids=[str(i) for i in range(10)], embeddings=np.random.rand(10, 384).astype("float32"))
    collection.query(query_embeddings=np.random.rand(1, 384).astype("float32"), n_results=3)
    del collection, client
    chromadb.api.client.SharedSystemClient.clear_system_cache()
    leaks += any(
        KEY[:16] in open(os.path.join(folder, name), "rb").read()
        for folder, _, names in os.walk(path)
        for name in names
    )
print(leaks)
"""


def test_freed_blocks_are_filled_before_reuse() -> None:
    import ctypes

    from ted.memory.heap import scrub_freed_memory

    assert scrub_freed_memory(), "the test machines run glibc"
    libc = ctypes.CDLL(None)
    libc.malloc.restype = ctypes.c_void_p
    libc.malloc.argtypes = [ctypes.c_size_t]
    libc.free.argtypes = [ctypes.c_void_p]
    # 2,000 bytes: larger than the small blocks glibc recycles per thread without filling them.
    block = libc.malloc(2000)
    ctypes.memmove(block, b"secret" * 333, 1998)
    libc.free(block)
    again = libc.malloc(2000)
    assert ctypes.string_at(again, 2000) == bytes([0x5A ^ 0xFF]) * 2000
    libc.free(again)


def test_index_files_hold_no_stale_heap_memory(tmp_path: Path) -> None:
    # Without the guard, about one trial in ten leaked the key into data_level0.bin or length.bin.
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(SCRIPT), str(tmp_path), "40"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "0"
