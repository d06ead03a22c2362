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
from ted.graph.slots import release_slot, wait_for_slot


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


def _flight(
    run_id: str, seconds: list[float], *, window: int = 1, graph: Any = None, ahead: bool = True
) -> flights.Flight:
    flight = flight_of(RunnableConfig(), run_id, Context(embeddings="hash"))
    flight.graph = graph if graph is not None else _slow_graph()
    flight.ahead_open = ahead
    flight.feed = Feed(
        unit=lambda n: (f"e0/i{n}", {"seconds": seconds[n]}),
        total=len(seconds),
        window=window,
        every=100,
        freed=0,
        next=0,
    )
    return flight


class _Log:
    """What the units of a windowed graph did, in order, and how many called at once."""

    def __init__(self) -> None:
        self.events: list[tuple[str, float]] = []
        self.calling = 0
        self.most_calling = 0


def _windowed_graph(log: _Log) -> Any:
    """``retrieve`` (admission, the wait for a slot, the search) then ``call``, as the item graph."""

    async def retrieve(state: _State) -> dict[str, Any]:
        log.events.append(("admitted", state["seconds"]))
        await wait_for_slot()
        log.events.append(("searched", state["seconds"]))
        return {}

    async def call(state: _State) -> dict[str, Any]:
        log.calling += 1
        log.most_calling = max(log.most_calling, log.calling)
        try:
            await asyncio.sleep(state["seconds"])
        finally:
            log.calling -= 1
        log.events.append(("answered", state["seconds"]))
        return {"results": [{"slept": state["seconds"]}]}

    return _retrieve_then(retrieve, call)


def _retrieve_then(retrieve: Any, then: Any) -> Any:
    """``retrieve`` then ``then``, the shape of the item graph that matters to its slot."""
    builder = StateGraph(_State)
    builder.add_node("retrieve", retrieve)
    builder.add_node("then", then)
    builder.add_edge(START, "retrieve")
    builder.add_edge("retrieve", "then")
    builder.add_edge("then", END)
    return builder.compile()


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


async def test_the_next_unit_starts_ahead_and_searches_once_a_slot_is_free() -> None:
    log = _Log()
    # Distinct durations name the units: 0.101 is unit 0, 0.102 unit 1, and so on.
    seconds = [0.1 + n / 1000 for n in range(1, 6)]
    flight = _flight("ahead", seconds, window=2, graph=_windowed_graph(log))
    with flight.attach():
        flight.fill()
        await flight.until(lambda: len(flight.finished) == len(seconds), lambda event: None)
    assert log.most_calling == 2, "no more than the window call at once"
    order = [(what, seconds.index(unit)) for what, unit in log.events]
    # Unit 2 is admitted while units 0 and 1 call, and searches the library only once unit 0 is done.
    assert order.index(("admitted", 2)) < order.index(("answered", 0)) < order.index(("searched", 2))
    assert [n for what, n in order if what == "searched"] == [0, 1, 2, 3, 4], "slots go in dataset order"
    await flights.land(RunnableConfig(), "ahead")


async def test_no_unit_starts_ahead_until_the_loop_opens_the_way() -> None:
    log = _Log()
    flight = _flight("closed", [0.05, 0.05, 0.05, 0.05], window=2, graph=_windowed_graph(log), ahead=False)
    with flight.attach():
        flight.fill()
        await asyncio.sleep(0.02)
        assert flight.feed is not None and flight.feed.next == 2, "the first window only, while it starts"
        flight.ahead_open = True  # as the loop does once the first window has sent its calls
        flight.fill()
        await asyncio.sleep(0.01)
        assert flight.feed.next >= 3 and ("admitted", 0.05) in log.events
        await flight.until(lambda: len(flight.finished) == 4, lambda event: None)
    assert log.most_calling == 2
    await flights.land(RunnableConfig(), "closed")


async def test_a_unit_waiting_for_its_slot_waits_while_the_feed_is_paused() -> None:
    log = _Log()
    flight = _flight("paused", [0.05, 0.06], window=1, graph=_windowed_graph(log))
    with flight.attach():
        flight.fill()
        await asyncio.sleep(0.01)
        assert flight.feed is not None and flight.feed.next == 2, "unit 1 started ahead"
        flight.feed.paused = True  # as while the loop compresses
        await flight.until(lambda: bool(flight.finished), lambda event: None)
        await asyncio.sleep(0.05)
        assert ("searched", 0.06) not in log.events, "no unit takes a slot during a pause"
        flight.feed.note(marked=0, since=1)
        flight.fill()
        await flight.until(lambda: len(flight.finished) == 2, lambda event: None)
    assert ("answered", 0.06) in log.events
    await flights.land(RunnableConfig(), "paused")


async def test_a_unit_past_its_last_model_call_gives_its_slot_to_the_next_before_it_ends() -> None:
    events: list[str] = []

    async def retrieve(state: _State) -> dict[str, Any]:
        await wait_for_slot()
        events.append(f"searched {state['seconds']}")
        return {}

    async def reflect(state: _State) -> dict[str, Any]:
        await asyncio.sleep(0.01)  # its last model call
        release_slot()
        await asyncio.sleep(state["seconds"])  # what is left: saving the step, recording the item
        events.append(f"ended {state['seconds']}")
        return {"results": [{"slept": state["seconds"]}]}

    flight = _flight("released", [0.2, 0.05], window=1, graph=_retrieve_then(retrieve, reflect))
    with flight.attach():
        flight.fill()
        await flight.until(lambda: len(flight.finished) == 2, lambda event: None)
    assert events == ["searched 0.2", "searched 0.05", "ended 0.05", "ended 0.2"]
    await flights.land(RunnableConfig(), "released")
