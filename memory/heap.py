"""Freed memory is overwritten before it is reused: a guard for the embedded Chroma index.

The HNSW library inside Chroma allocates some buffers with ``malloc`` and writes them to disk whole,
the part it never filled included (chroma-core/chroma#7688). Whatever the process had freed there
before, such as an HTTP request carrying an API key, can end up in the index files. With glibc's
``M_PERTURB`` option, blocks are filled when they are allocated and again when they are freed, so
those files hold filler bytes instead. glibc skips the fill for the few most recently freed small
blocks of each size that it keeps per thread (its tcache), so this narrows the leak rather than closing
it; SECURITY.md says how to close it. Elsewhere (another C library, another system) this does nothing.
"""

from __future__ import annotations

import ctypes
import functools
import sys

M_PERTURB = -6
"""glibc's ``mallopt`` option that fills blocks on allocation and release (malloc.h)."""

_FILL = 0x5A


@functools.cache
def scrub_freed_memory() -> bool:
    """Ask glibc's malloc to fill every block on allocation and release; True when it took effect."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(M_PERTURB, _FILL))
