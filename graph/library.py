"""The experience library a run works on, opened once per process from the ``Context``."""

from __future__ import annotations

import asyncio
import threading
from typing import TYPE_CHECKING

from ted.graph.context import Context

if TYPE_CHECKING:
    from ted.memory import ExperienceStore

_stores: dict[tuple[str, str | None, str], ExperienceStore] = {}
_lock = threading.Lock()


def _open(context: Context) -> ExperienceStore:
    from ted.memory import ExperienceStore, get_embeddings

    key = (str(context.library_folder()), context.chroma_url, context.embeddings)
    with _lock:
        if key not in _stores:
            _stores[key] = ExperienceStore.open(
                key[0],
                embeddings=get_embeddings(context.embeddings),
                chroma_url=context.chroma_url,
                student_model=context.student_model,
            )
        return _stores[key]


async def open_library(context: Context) -> ExperienceStore:
    """The store of ``context.library``; opening it (and loading embeddings) happens off the event loop."""
    return await asyncio.to_thread(_open, context)


def close_libraries() -> None:
    """Close every store this process opened (tests and the CLI call this before exiting)."""
    with _lock:
        for store in _stores.values():
            store.close()
        _stores.clear()
