"""The dataset loop: the per-item graph over every item, a window of items at a time.

``start -> distill_items (again and again) -> [compress_between_items -> distill_items ...] -> finish``

``distill_items`` keeps up to ``window`` items in flight (`ted.graph.flights`): each runs the per-item
graph as a task on its own checkpoint thread, and a new item starts as soon as one finishes. One step
of ``distill_items`` lasts until at least one item finishes; it records the finished items, takes a
point of the learning curve every ``batch_size`` finished items, and returns, leaving the other items
running. When a point finds compression due (``compress_every`` items since the last one, or the
library over its cap), ``compress_between_items`` compresses the library while the items in flight go
on; no new item starts until it is done, so every item starts on a whole library. ``finish``
compresses a last time, so the library a run leaves behind is within its cap.

With ``schedule="batches"`` the loop runs as earlier versions did: a batch of ``batch_size`` items, then
the next when all of it has finished (every batch waits for its slowest item). See `ted.graph.schedule`.

A run killed at any moment and invoked again on the same thread resumes where it stopped: recorded
items are not run again, items that were in flight continue from their own last checkpoint, and
library operations carry ids derived from the run, epoch, item and tool call (compressions: from the
point they follow), so a step that runs again changes the library once.

In LangGraph Studio a step of the loop is "one or more items finished" (or one compression), and the
items' own steps arrive as custom stream events. A long run over the API needs a ``recursion_limit``
above the number of items plus compressions.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from functools import partial
from typing import Any, Literal

from langgraph.config import get_config
from langgraph.graph import END, START, StateGraph
from langgraph.graph.state import CompiledStateGraph
from langgraph.runtime import Runtime

from ted.graph.admission import ItemRejected, admit_item
from ted.graph.compression import compress_library
from ted.graph.context import Context, ServedContext
from ted.graph.flights import Feed, Flight, flight_of, land
from ted.graph.library import open_library
from ted.graph.nodes.retrieve import query_text
from ted.graph.routing import on_the_loop
from ted.graph.schedule import SCHEDULES, Unit, batch_starts, points_due, units
from ted.graph.state import BatchProgress, DistillInput, DistillOutput, DistillState, ItemResult
from ted.tasks import Item

DEFAULT_BATCH_SIZE = 8
MAX_BATCH = 256
MAX_WINDOW = 256
MAX_EPOCHS = 100
# Run ids prefix library operation ids, so they stay plain.
RUN_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def _admit_items(items: object, context: Context) -> None:
    if not isinstance(items, list) or not items:
        raise ItemRejected("distill needs a non-empty list of items")
    seen: set[str] = set()
    for position, raw in enumerate(items):
        try:
            item = admit_item(raw, context)
        except ItemRejected as exc:
            raise ItemRejected(f"item {position}: {exc}") from exc
        if item.id in seen:
            raise ItemRejected(f"item {position}: the id {item.id!r} appears twice")
        seen.add(item.id)


def _check_run_options(state: DistillState) -> None:
    limits = (
        ("epochs", 1, MAX_EPOCHS),
        ("batch_size", DEFAULT_BATCH_SIZE, MAX_BATCH),
        ("window", 1, MAX_WINDOW),
    )
    for name, default, high in limits:
        value = state.get(name, default)
        if name == "window" and value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= high:
            raise ValueError(f"{name} must be a whole number from 1 to {high}, not {value!r}")
    if state.get("schedule", "stream") not in SCHEDULES:
        raise ValueError(f"schedule must be one of {', '.join(SCHEDULES)}, not {state.get('schedule')!r}")
    run_id = state.get("run_id")
    if run_id is not None and not (isinstance(run_id, str) and RUN_ID.match(run_id)):
        raise ValueError("run_id must be 1 to 64 letters, digits, '.', '_' or '-'")


def _batch_size(state: DistillState) -> int:
    return max(1, state.get("batch_size", DEFAULT_BATCH_SIZE))


def _window(state: DistillState) -> int:
    """Items in flight at most: ``window``, by default the batch size (a batch with ``batches``)."""
    if state.get("schedule", "stream") == "batches":
        return _batch_size(state)
    return max(1, state.get("window") or _batch_size(state))


def _units(state: DistillState) -> list[Unit]:
    return units(len(state["items"]), state.get("epochs", 1), state.get("seed", 0))


async def start(state: DistillState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Validate the items and the run's options, and name the run."""
    _check_run_options(state)
    await asyncio.to_thread(_admit_items, state.get("items"), runtime.context)
    if await (await open_library(runtime.context)).count() > 0:  # an empty library needs no query vectors
        await _prefetch(state, runtime.context, 0, _window(state))
    return {
        "run_id": state.get("run_id") or uuid.uuid4().hex[:12],
        "started": 0,
        "running": [],
        "finished": 0,
        "items_since_compress": 0,
        "compress_due": False,
    }


def _unit(state: DistillState, position: int) -> tuple[str, dict[str, Any]]:
    """The thread key and the per-item graph's input of the unit at ``position``."""
    epoch, index = _units(state)[position]
    item = state["items"][index]
    key = f"e{epoch}/{item['id']}"
    payload = {
        "item": item,
        "epoch": epoch,
        "op_prefix": f"{state['run_id']}/{key}/",
        "compress_in_item": False,
    }
    return key, payload


def _start_units(flight: Flight, state: DistillState, position: int, stop: int) -> None:
    """Start (or resume) the units from ``position`` up to ``stop`` (exclusive)."""
    for n in range(position, stop):
        flight.start(n, *_unit(state, n))


def _next_batch(state: DistillState, started: int, running: int) -> int:
    """Where the ``batches`` schedule stops starting: the end of the next batch, once one is over."""
    total = len(_units(state))
    if running or started >= total:
        return started
    starts = [*batch_starts(len(state["items"]), state.get("epochs", 1), _batch_size(state)), total]
    return min(s for s in starts if s > started)


def _prime(flight: Flight, state: DistillState, context: Context) -> None:
    """Start the units the checkpoint lists in flight (a resume) and set up the stream's feed."""
    if flight.primed:
        return
    flight.primed = True
    for position in state.get("running", []):
        _start_units(flight, state, position, position + 1)
    if state.get("schedule", "stream") == "stream":
        units = _units(state)
        flight.feed = Feed(
            unit=lambda position: _unit(state, position),
            total=len(units),
            window=_window(state),
            every=_batch_size(state),
            freed=state.get("finished", 0),
            next=state.get("started", 0),
        )
        flight.feed.settle = partial(_due_at, flight.feed, context)


async def _due_at(feed: Feed, context: Context, point: int) -> bool:
    """Whether the loop will find compression due at the point of ``point`` finished units.

    As `_points` decides, from the count the loop recorded at its last step; the library may still
    grow past its cap before the loop looks, and then the loop compresses (and pauses the feed) itself.
    """
    size = await (await open_library(context)).count()
    return _compression_due(feed.since + point - feed.marked, size, context)


def _compression_due(since: int, size: int, context: Context) -> bool:
    """Whether a point calls for compression: ``since`` units since the last one, or over the cap."""
    scheduled = context.compress_every > 0 and since >= context.compress_every
    return scheduled or size > context.library_cap


def _marked(progress: list[BatchProgress]) -> int:
    """The finished count of the last point of the learning curve (0 before the first)."""
    return progress[-1]["items_done"] if progress else 0


async def _points(
    state: DistillState, context: Context, results: list[ItemResult], finished: int, running: int
) -> tuple[list[BatchProgress], int, bool]:
    """Points of the learning curve the newly finished items complete, and whether to compress."""
    total = len(_units(state))
    progress = state.get("progress", [])
    previous = progress[-1]["items_done"] if progress else 0
    if state.get("schedule", "stream") == "batches":
        marks = [finished] if running == 0 and finished > previous else []
    else:
        marks = points_due(state.get("finished", 0), finished, total, _batch_size(state))
    since = state.get("items_since_compress", 0)
    if not marks:
        return [], since, False
    store = await open_library(context)
    size, version = await store.count(), await store.current_version()
    recorded = [*state.get("results", []), *results]  # in the order the items finished
    points: list[BatchProgress] = []
    due = False
    for mark in marks:
        span = recorded[previous:mark]
        points.append(
            BatchProgress(
                step=len(progress) + len(points),
                epoch=span[-1]["epoch"],
                items_done=mark,
                correct=sum(r["correct"] for r in span),
                graded=sum(r["graded"] for r in span),
                library_size=size,
                library_version=version,
            )
        )
        since += mark - previous
        due = due or (_compression_due(since, size, context) and mark < total)
        previous = mark
    return points, since, due


async def _prefetch(state: DistillState, context: Context, position: int, count: int) -> None:
    """Embed the questions of the ``count`` units from ``position`` on, the next to start.

    The embeddings are made while the items in flight wait on their models; each of these items then
    finds its query's vector ready when it starts, instead of waiting for the model on its way to its
    first call.
    """
    units = _units(state)[position : position + count]
    items = [Item.model_validate(state["items"][index]) for _, index in units]
    if items:
        store = await open_library(context)
        store.prefetch(query_text(item) for item in items)


async def distill_items(state: DistillState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Keep the window full, wait until at least one item finishes, and record what finished."""
    config = get_config()
    run_id = state["run_id"]
    flight = flight_of(config, run_id, runtime.context)
    started = state.get("started", 0)
    try:
        with flight.attach():
            _prime(flight, state, runtime.context)
            if flight.feed is not None:
                flight.feed.note(_marked(state.get("progress", [])), state.get("items_since_compress", 0))
                flight.fill()
            else:
                stop = _next_batch(state, started, len(state.get("running", [])))
                _start_units(flight, state, started, stop)
                started = stop
            if not flight.tasks:
                raise RuntimeError(f"run {run_id} has no item in flight and {started} of its items started")
            await flight.until(
                lambda: bool(flight.finished) or not flight.starts_under_way, runtime.stream_writer
            )
            if flight.feed is None:
                # The next batch's questions, once this one's calls are out (embedding is CPU work,
                # and on their way it delayed every one of them). In the stream schedule an item
                # started ahead embeds its own while it waits for its slot, one text at a time: a
                # pass over a window's questions held the model for 100 ms while items needed it.
                await _prefetch(state, runtime.context, started, _window(state))
            if not flight.ahead_open:
                flight.ahead_open = True  # the first items' calls are out: the next may start ahead
                flight.fill()
            await flight.until(lambda: bool(flight.finished), runtime.stream_writer)
            outputs = flight.collect()
            results = [r for _, output in outputs for r in output["results"]]
            finished = state.get("finished", 0) + len(outputs)
            # Units not recorded yet: in flight, or finished since `collect` (the next step records them).
            points, since, due = await _points(state, runtime.context, results, finished, len(flight.tasks))
            if due and flight.feed is not None:
                flight.feed.paused = True  # until compression has run
            elif flight.feed is not None:
                # Start the next items now, so that they run while this step is checkpointed.
                flight.feed.note(_marked([*state.get("progress", []), *points]), since)
                flight.fill()
            elif not due:
                stop = _next_batch(state, started, len(flight.tasks))
                _start_units(flight, state, started, stop)
                started = stop
    except BaseException:
        await land(config, run_id)
        raise
    return {
        "started": flight.feed.next if flight.feed is not None else started,
        "running": sorted(flight.tasks),
        "finished": finished,
        "results": results,
        "usage": [u for _, output in outputs for u in output["usage"]],
        "errors": [e for _, output in outputs for e in output["errors"]],
        "progress": points,
        "items_since_compress": since,
        "compress_due": due,
    }


def route_items(state: DistillState) -> Literal["distill_items", "compress_between_items", "finish"]:
    """Compress when a point found it due; finish when every item is done; otherwise go on."""
    if state.get("compress_due"):
        return "compress_between_items"
    if state.get("finished", 0) >= len(_units(state)):
        return "finish"
    return "distill_items"


async def _compression(state: DistillState, context: Context) -> dict[str, Any]:
    step = len(state.get("progress", []))
    report, usage, errors = await compress_library(
        context, op_prefix=f"{state['run_id']}/s{step}/compress/", step=f"after batch {step}"
    )
    report["step"] = step
    return {
        "compressions": [report],
        "usage": usage,
        "errors": errors,
        "items_since_compress": 0,
        "compress_due": False,
    }


async def compress_between_items(state: DistillState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Merge, rewrite, prune and cap the library; the items in flight go on, none starts meanwhile."""
    config = get_config()
    flight = flight_of(config, state["run_id"], runtime.context)
    try:
        with flight.attach():
            return await flight.beside(_compression(state, runtime.context), runtime.stream_writer)
    except BaseException:
        await land(config, state["run_id"])
        raise


async def finish(state: DistillState, runtime: Runtime[Context]) -> dict[str, Any]:
    """A last compression, so the library a run leaves behind is within its cap."""
    await land(get_config(), state["run_id"])
    if state.get("items_since_compress", 0) == 0:
        return {}
    return await _compression(state, runtime.context)


def build_distill_graph(
    context_schema: type[Context] = Context,
) -> StateGraph[DistillState, Context, DistillInput, DistillOutput]:
    """The uncompiled dataset loop; compile it with a checkpointer to make runs resumable.

    ``context_schema`` is what LangGraph builds from a run's ``context`` dict: `ServedContext` for
    graphs served over the API, which refuses run contexts that change deployment settings.
    """
    builder = StateGraph(
        DistillState, context_schema=context_schema, input_schema=DistillInput, output_schema=DistillOutput
    )
    builder.add_node(start)
    builder.add_node(distill_items)
    builder.add_node(compress_between_items)
    builder.add_node(finish)
    builder.add_edge(START, "start")
    builder.add_edge("start", "distill_items")
    builder.add_conditional_edges(
        "distill_items", on_the_loop(route_items), ["distill_items", "compress_between_items", "finish"]
    )
    builder.add_edge("compress_between_items", "distill_items")
    builder.add_edge("finish", END)
    return builder


_compiled: dict[type[Context], CompiledStateGraph[Any, Any, Any, Any]] = {}


def compile_distill_graph(
    *, checkpointer: Any = None, store: Any = None, context_schema: type[Context] = Context
) -> CompiledStateGraph[Any, Any, Any, Any]:
    """The dataset loop compiled with the caller's checkpointer and store (both optional).

    The graph is compiled once per context schema and each call returns a copy with its own
    checkpointer and store, as `with_config` copies a graph: compiling anew took 10 to 15 ms at the
    start of every run.
    """
    if context_schema not in _compiled:
        _compiled[context_schema] = build_distill_graph(context_schema).compile(name="distill")
    return _compiled[context_schema].copy({"checkpointer": checkpointer, "store": store})


graph = compile_distill_graph(context_schema=ServedContext)
"""The graph `langgraph.json` serves: run contexts are checked as `ServedContext` (see SECURITY.md)."""
