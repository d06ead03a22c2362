"""The experience library a run works on, opened once per process from the ``Context``."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from ted.graph.context import Context

if TYPE_CHECKING:
    from ted.memory import ExperienceStore

_stores: dict[tuple[str, str | None, str], ExperienceStore] = {}
_lock = threading.Lock()
# The same stores, found by the settings that named them when those name one folder from any working
# directory.
_named: dict[tuple[str, str | None, str | None, str], ExperienceStore] = {}


def _settings(context: Context) -> tuple[str, str | None, str | None, str] | None:
    """What names the library's store, when its folder does not depend on the working directory.

    Made of the settings alone, with no call to the file system, so that the event loop may use it.
    """
    if not Path(context.library_root or context.library).expanduser().is_absolute():
        return None
    return context.library, context.library_root, context.chroma_url, context.embeddings


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
        if (settings := _settings(context)) is not None:
            _named[settings] = _stores[key]
        return _stores[key]


async def open_library(context: Context) -> ExperienceStore:
    """The store of ``context.library``; opening it (and loading embeddings) happens off the event loop."""
    # Nodes ask for the store at every step. Once it is open, a trip through a worker thread (which
    # waits for the GIL while the loop is busy) would only delay them; but finding the folder calls
    # the file system (it resolves links), which the event loop must not, so an open store is found
    # by the settings that named it.
    settings = _settings(context)
    store = _named.get(settings) if settings is not None else None
    return store if store is not None else await asyncio.to_thread(_open, context)


def close_libraries() -> None:
    """Close every store this process opened (tests and the CLI call this before exiting)."""
    with _lock:
        for store in _stores.values():
            store.close()
        _stores.clear()
        _named.clear()
