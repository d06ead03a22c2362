"""Where an item of the dataset loop waits for a slot of its window: after admission, before retrieval.

The loop keeps ``window`` items calling models, and starts the next ones ahead of time: their
checkpoint threads, admission, images and question vectors are ready while the window is full, and each
waits in its ``retrieve`` step for a slot (`ted.graph.flights`). The search of the library comes after
the wait, so the experiences an item injects are those of every item that freed a slot before it, as if
it had started then.

Outside the loop (the solve graph, the item graph run on its own, evaluation) there is no window and
`wait_for_slot` returns at once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class _Slot:
    wait: Callable[[], Awaitable[None]]
    release: Callable[[], None]
    ahead: bool


_slot: ContextVar[_Slot | None] = ContextVar("ted_window_slot", default=None)


async def wait_for_slot() -> None:
    """Wait until the item running in this context may call models (at once outside a window)."""
    slot = _slot.get()
    if slot is not None:
        await slot.wait()


def release_slot() -> None:
    """The item running in this context calls no model any more: its slot goes to the next one now.

    Called by the step that knows it, before that step is saved: what the item learned is in the
    library already. Outside a window it does nothing.
    """
    slot = _slot.get()
    if slot is not None:
        slot.release()


def started_ahead() -> bool:
    """Whether the item running in this context was started ahead of the window (it waits for a slot)."""
    slot = _slot.get()
    return slot is not None and slot.ahead


@contextmanager
def window_slot(
    wait: Callable[[], Awaitable[None]], release: Callable[[], None], *, ahead: bool = False
) -> Iterator[None]:
    """Run the item graph started inside this block with ``wait`` as the way to its slot.

    ``release`` gives the slot up; ``ahead``: the item was started while the window was full, and
    will wait for a slot.
    """
    token = _slot.set(_Slot(wait, release, ahead))
    try:
        yield
    finally:
        _slot.reset(token)
