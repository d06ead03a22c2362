"""Items in flight: they start while a node of the loop runs, and an abandoned flight is landed."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from langchain_core.runnables import RunnableConfig
from langgraph.graph import END, START, StateGraph
from typing_extensions import TypedDict

from ted.graph import Context, flights
from ted.graph.flights import Feed, flight_of


class _State(TypedDict, total=False):
    seconds: float
    results: list[Any]


async def _wait(state: _State) -> dict[str, Any]:
    await asyncio.sleep(state["seconds"])
    return {"results": [{"slept": state["seconds"]}]}


def _slow_graph() -> Any:
    builder = StateGraph(_State)
    builder.add_node("wait", _wait)
    builder.add_edge(START, "wait")
    builder.add_edge("wait", END)
    return builder.compile()


def _flight(run_id: str, seconds: list[float]) -> flights.Flight:
    flight = flight_of(RunnableConfig(), run_id, Context(embeddings="hash"))
    flight.graph = _slow_graph()
    flight.feed = Feed(
        unit=lambda n: (f"e0/i{n}", {"seconds": seconds[n]}),
        total=len(seconds),
        window=1,
        every=100,
        freed=0,
        next=0,
    )
    return flight


async def test_the_feed_starts_the_next_item_only_while_attached(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(flights, "STARTS_DETACHED_S", 0.0)
    flight = _flight("attached", [0.01, 0.01, 0.01])
    with flight.attach():
        flight.fill()
        await flight.until(lambda: len(flight.finished) >= 2, lambda event: None)
    assert flight.feed is not None and flight.feed.next == 3, "a finished item made room for the next"
    await asyncio.sleep(0.05)
    assert sorted(flight.finished) == [0, 1, 2]
    detached = _flight("detached", [0.01, 0.01])
    with detached.attach():
        detached.fill()
    await asyncio.sleep(0.05)
    assert detached.finished == [0] and detached.feed is not None and detached.feed.next == 1
    await flights.land(RunnableConfig(), "attached")
    await flights.land(RunnableConfig(), "detached")


async def test_an_abandoned_flight_is_landed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(flights, "ABANDONED_AFTER_S", 0.05)
    flight = _flight("abandoned", [30.0])
    with flight.attach():
        flight.fill()
    [task] = flight.tasks.values()
    await asyncio.sleep(0.3)
    assert task.cancelled(), "the item of a run nobody attends to was stopped"
    assert flight_of(RunnableConfig(), "abandoned", Context(embeddings="hash")) is not flight
    await flights.land(RunnableConfig(), "abandoned")
