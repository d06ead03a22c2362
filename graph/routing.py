"""Routing functions, run by LangGraph on the event loop rather than in a worker thread."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import ParamSpec, TypeVar

P = ParamSpec("P")
R = TypeVar("R")


def on_the_loop(route: Callable[P, R]) -> Callable[P, Awaitable[R]]:
    """``route`` as the path of a conditional edge, called on the event loop.

    In a graph run asynchronously, LangGraph calls a plain function given as an edge's path in the
    default thread pool: every decision is a round trip through a worker thread, which waits for the
    GIL while the event loop is busy with the other items' work. A coroutine function is awaited in
    place. Routing functions are pure and take microseconds, so they stay plain functions and are
    wrapped here; the wrapper keeps their signature (LangGraph passes ``runtime`` to those that take
    it) and their ``Literal`` return type, from which LangGraph and Studio read the edge's ends.
    """

    @functools.wraps(route)
    async def routed(*args: P.args, **kwargs: P.kwargs) -> R:
        return route(*args, **kwargs)

    return routed
