"""Items in flight: runs of the per-item graph that go on while the dataset loop takes its steps.

The dataset loop keeps up to ``window`` items running. Each runs the per-item graph as an asyncio task,
as a graph of its own on its own checkpoint thread of the loop's checkpointer
(``<loop thread>/<run id>/e<epoch>/<item id>``), so that no item waits for another: the loop records
a finished item, or compresses, while the others go on.

Resuming is per item. When the process dies, the loop's last checkpoint lists the items that were in
flight; when the loop runs again they are started again, and each one continues from its own last
checkpoint (a finished one returns its result without calling a model). Library operation ids come
from the run, epoch, item and tool call, so a step that runs again changes the library once.

An item's steps are passed on to the loop's stream as custom events (``{"item", "node", "update"}``),
written by whichever loop node is running: LangGraph's stream writer belongs to the node that holds it.

At most ``window`` items call models at once. Up to as many more start ahead while those wait on their
models: each takes its checkpoint thread, its admission and its images, then embeds its question and
waits in its ``retrieve`` step for a slot (`ted.graph.slots`). When a slot frees, the first waiting
item in dataset order takes it, searches the library and sends its first model calls, so what it
retrieves is what every item that freed a slot before it learned, as if it had started then; while a
point of the learning curve holds the feed, or the loop compresses, no waiting item takes a slot.

Items start a few at a time (each once another has sent its first model calls), while a node of
the loop is running (attached), or in the moment between two of its steps
(``STARTS_DETACHED_S``, the time a checkpoint write takes), never later. A run that ends or fails lands its
flight (`land`, `land_run`); a flight that no node of its run has attached for ``ABANDONED_AFTER_S``
(the run was cancelled between two steps, or its consumer went away) is landed too. Landing cancels
the items in flight; each keeps its checkpoints, and a later run of the loop resumes them.
"""

from __future__ import annotations

import asyncio
import contextvars
import weakref
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.constants import CONF, CONFIG_KEY_CHECKPOINTER
from langgraph.graph.state import CompiledStateGraph

from ted.graph.context import Context
from ted.graph.item_graph import graph as item_graph
from ted.graph.slots import window_slot
from ted.graph.state import ItemOutput
from ted.memory.errors import LibraryError

T = TypeVar("T")
Writer = Callable[[Any], None]

# An item's steps: retrieval, N rollouts, up to reflect_max_steps rounds of reflection, record, compress.
ITEM_RECURSION_LIMIT = 1_000
# Between two steps of the loop a flight is detached for as long as a checkpoint write takes; items
# still start then, and no longer after that.
STARTS_DETACHED_S = 1.0
ABANDONED_AFTER_S = 30.0
WAITS_IN = "retrieve"
"""The node of the item graph that waits for the item's slot itself (`ted.graph.slots`)."""


def _output(values: dict[str, Any]) -> ItemOutput:
    return ItemOutput(
        results=list(values.get("results", [])),
        usage=list(values.get("usage", [])),
        errors=list(values.get("errors", [])),
    )


@dataclass
class Feed:
    """Units a flight starts by itself as others free their slots (the ``stream`` schedule).

    The loop records finished items in steps of its own; a new item takes a slot the moment an item frees
    it, past its last model call (or, when several slots are free, once the items starting before it
    have sent their first model calls), without waiting for the loop's next step. A freed slot that
    completes a point of the learning curve (every ``every`` units) holds the feed: compression may be
    due, and then no item starts until it has run. ``settle`` finds out at once whether it is; a point
    found not due lets the feed go on, and any other waits for the loop to look at it (and to
    compress).
    """

    unit: Callable[[int], tuple[str, dict[str, Any]]]
    """The thread key and the input of the unit at a position of the schedule."""
    total: int
    window: int
    every: int
    freed: int
    """Units that freed their slot (finished, or past their last model call), recorded or not."""
    next: int
    """Position of the next unit to start."""
    held_at: int | None = None
    """The finished count whose point holds the feed, until settled or taken by the loop."""
    settle: Callable[[int], Awaitable[bool]] | None = None
    """Whether compression is due at the point of a finished count (None: the loop decides)."""
    paused: bool = False
    """Set while the loop compresses (or is about to): nothing starts, whatever the points."""
    marked: int = 0
    """The finished count of the loop's last point."""
    since: int = 0
    """Units finished since the loop last compressed, as of its last point."""

    def note(self, marked: int, since: int) -> None:
        """The loop found no compression due at its points: go on.

        ``marked`` is the finished count of its last point, ``since`` the units of those finished
        since it last compressed.
        """
        self.paused = False
        self.marked, self.since = marked, since
        if self.held_at is not None and marked >= self.held_at:
            self.held_at = None


@dataclass
class Flight:
    """The items of one run that are in flight in this process."""

    graph: CompiledStateGraph[Any, Any, Any, Any]
    thread: str | None
    """Prefix of the items' checkpoint threads; None when the loop has no checkpointer."""
    context: Context
    tasks: dict[int, asyncio.Task[ItemOutput]] = field(default_factory=dict)
    finished: list[int] = field(default_factory=list)
    """Positions of finished tasks, in the order they finished, until `collect` takes them."""
    freed: set[int] = field(default_factory=set)
    """Positions of tasks that freed their slot, until `collect` takes them."""
    events: list[dict[str, Any]] = field(default_factory=list)
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    feed: Feed | None = None
    primed: bool = False
    """Whether the units the loop's checkpoint lists in flight have been started in this process."""
    key: str = ""
    attached: int = 0
    """Nodes of the loop running now; items start only while one is."""
    watch: asyncio.TimerHandle | None = None
    detached_at: float = 0.0
    settling: set[asyncio.Future[None]] = field(default_factory=set)
    """Checks of points in progress (`Feed.settle`)."""
    starting: set[int] = field(default_factory=set)
    """Positions of tasks not past retrieval yet: their first model calls are still to be sent."""
    ahead_open: bool = False
    """Whether units may start ahead of the window; the loop opens the way once its first items have
    sent their calls, which starts ahead would otherwise delay."""
    calling: set[int] = field(default_factory=set)
    """Positions of tasks that hold a slot of the window: they may call models until they free it."""
    waiting: dict[int, asyncio.Future[None]] = field(default_factory=dict)
    """Tasks waiting for a slot before their first model call, by position."""

    @contextmanager
    def attach(self) -> Iterator[Flight]:
        """Attach a node of the loop for as long as it runs."""
        self.attached += 1
        if self.watch is not None:
            self.watch.cancel()
            self.watch = None
        try:
            yield self
        finally:
            self.attached -= 1
            if self.attached == 0:
                loop = asyncio.get_running_loop()
                self.detached_at = loop.time()
                self.watch = loop.call_later(ABANDONED_AFTER_S, self._abandoned, loop)

    def _abandoned(self, loop: asyncio.AbstractEventLoop) -> None:
        if self.attached == 0 and _flights.get(loop, {}).get(self.key) is self:
            del _flights[loop][self.key]
            loop.create_task(self.cancel())

    def start(self, position: int, key: str, payload: dict[str, Any], *, ahead: bool = False) -> None:
        """Run (or resume) the unit at ``position`` of the schedule, unless it is in flight already.

        ``ahead``: the window is full, and the unit will wait for a slot.
        """
        if position in self.tasks:
            return
        # A fresh context: the item graph must not take the loop node's config (checkpoint namespace,
        # task id) as its parent's, it is a graph of its own.
        task = asyncio.create_task(self._run(position, key, payload, ahead), context=contextvars.Context())
        task.add_done_callback(lambda _: self._done(position))
        self.tasks[position] = task
        self.starting.add(position)

    def _done(self, position: int) -> None:
        self.starting.discard(position)
        self.finished.append(position)
        self.wake.set()
        self._free(position)

    def _free(self, position: int) -> None:
        if position in self.freed or position not in self.tasks:
            return
        self.freed.add(position)
        self.calling.discard(position)
        feed = self.feed
        if feed is not None:
            feed.freed += 1
            if feed.freed % feed.every == 0 or feed.freed >= feed.total:
                if feed.held_at is None:
                    feed.held_at = feed.freed
                    if feed.settle is not None and feed.freed < feed.total:
                        check = asyncio.ensure_future(self._settle(feed, feed.freed))
                        self.settling.add(check)
                        check.add_done_callback(self.settling.discard)
            else:
                self.fill()

    async def _settle(self, feed: Feed, point: int) -> None:
        """Let the feed go on at once if compression is not due at ``point``."""
        assert feed.settle is not None
        try:
            due = await feed.settle(point)
        except LibraryError:
            return  # the loop's own look at the point decides, and reports what failed
        if not due and self.feed is feed and feed.held_at == point and not feed.paused:
            feed.held_at = None
            self.fill()

    @property
    def starts_under_way(self) -> int:
        """Units on their way to their first model calls (started, not waiting for a slot)."""
        return sum(position not in self.waiting for position in self.starting)

    async def _slot(self, position: int) -> None:
        """Wait until the unit at ``position`` may send model calls: a slot of the window is its."""
        if position in self.calling or self.feed is None:
            return  # without a feed (batches), the items of a batch are the window
        waiter = asyncio.get_running_loop().create_future()
        self.waiting[position] = waiter
        self._grant()
        if not waiter.done():
            self.fill()  # it waits with its start done: the next start may begin
        try:
            await waiter
        finally:
            self.waiting.pop(position, None)

    def _grant(self) -> None:
        """Give free slots to the units waiting, in dataset order (none while a point holds the feed)."""
        feed = self.feed
        if feed is None or feed.held_at is not None or feed.paused:
            return
        while self.waiting and len(self.calling) < feed.window:
            position = min(self.waiting)
            waiter = self.waiting.pop(position)
            if not waiter.done():
                self.calling.add(position)
                waiter.set_result(None)

    def fill(self) -> None:
        """Give free slots to waiting units, then start units of the feed (unless a point holds it).

        Units start until the window is full and, once the loop has opened the way, as many more ahead.
        """
        self._grant()
        feed = self.feed
        if feed is None or feed.held_at is not None or feed.paused:
            return
        if not self.attached and asyncio.get_running_loop().time() - self.detached_at > STARTS_DETACHED_S:
            return  # no step of the loop for a while: nobody would record what starts now
        running = len(self.tasks) - len(self.freed)
        # A few at a time: a start is mostly event-loop work (the graph's first steps, checkpoints,
        # building N + 1 requests). A whole window started at once sends its last first calls sooner,
        # but its items then move in step, and the bursts of work at their answers (solve answers,
        # library edits) cost about as much again: no better in alternating pairs of runs. Started a
        # few at a time, a slow retrieval (a remote index) also holds back at most a quarter of it.
        starting = max(2, feed.window // 4)
        # Up to a window's worth start ahead, one at a time while no other start is under way (they
        # wait on their models then), so that none delays a start that has a slot to go to.
        while running < 2 * feed.window and feed.next < feed.total:
            ahead = running >= feed.window
            if self.starts_under_way >= (1 if ahead else starting) or (ahead and not self.ahead_open):
                break
            key, payload = feed.unit(feed.next)
            self.start(feed.next, key, payload, ahead=ahead)
            feed.next += 1
            running += 1

    async def _run(self, position: int, key: str, payload: dict[str, Any], ahead: bool) -> ItemOutput:
        given: dict[str, Any] | None = payload
        thread = {"thread_id": f"{self.thread}/{key}"} if self.thread is not None else {}
        config = RunnableConfig(recursion_limit=ITEM_RECURSION_LIMIT, configurable=thread)
        checkpointer = self.graph.checkpointer
        waits_itself = WAITS_IN in self.graph.nodes
        # A unit that never ran has no checkpoint: one read tells, before the full state is worked out.
        if isinstance(checkpointer, BaseCheckpointSaver) and await checkpointer.aget_tuple(config):
            self.starting.discard(position)  # a resumed item: retrieved before, if it got that far
            self.fill()
            saved = await self.graph.aget_state(config)
            if saved.values and not (saved.next or saved.tasks):
                return _output(saved.values)  # finished before the process stopped
            if saved.values:
                given = None  # continue from its last checkpoint
            waits_itself = False  # it may be past that node: a slot first
        if not waits_itself:
            await self._slot(position)
        values: dict[str, Any] = {}
        # "sync": each step is saved before the next starts, so a kill never loses a finished step.
        durability: Literal["sync"] | None = "sync" if self.thread is not None else None
        with window_slot(lambda: self._slot(position), lambda: self._free(position), ahead=ahead):
            async for mode, chunk in self.graph.astream(
                given, config, context=self.context, stream_mode=["updates", "values"], durability=durability
            ):
                if not isinstance(chunk, dict):
                    continue
                if mode == "values":
                    values = chunk
                    continue
                for node, update in chunk.items():
                    self.events.append({"item": key, "node": node, "update": update})
                    if node == WAITS_IN and position in self.starting:
                        self.starting.discard(position)  # its first model calls go out now
                        self.fill()
                self.wake.set()
        return _output(values)

    def flush(self, writer: Writer) -> None:
        """Write the items' pending events to the loop's stream."""
        events, self.events = self.events, []
        for event in events:
            writer(event)

    async def until(self, ready: Callable[[], bool], writer: Writer) -> None:
        """Pass events on until ``ready()`` holds (checked each time a task reports)."""
        while True:
            self.flush(writer)
            if ready():
                return
            self.wake.clear()
            await self.wake.wait()

    async def beside(self, work: Awaitable[T], writer: Writer) -> T:
        """Await ``work`` while passing the items' events on (a compression beside the items)."""
        task = asyncio.ensure_future(work)
        task.add_done_callback(lambda _: self.wake.set())
        try:
            await self.until(task.done, writer)
        except BaseException:
            task.cancel()
            raise
        return task.result()

    def collect(self) -> list[tuple[int, ItemOutput]]:
        """The finished units and their outputs, in the order they finished.

        Raises:
            Exception: What a failed item raised (a fatal model error, a bug); the caller cancels
                the rest with `cancel`.
        """
        done, self.finished = self.finished, []
        outputs = []
        for position in done:
            task = self.tasks.pop(position)
            self.freed.discard(position)
            outputs.append((position, task.result()))
        return outputs

    async def cancel(self) -> None:
        """Stop every item in flight; each keeps its checkpoints for a later resume."""
        self.feed = None  # a cancelled task must not start another
        for check in list(self.settling):
            check.cancel()
        if self.watch is not None:
            self.watch.cancel()
            self.watch = None
        tasks = list(self.tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self.tasks.clear()
        self.finished.clear()
        self.freed.clear()
        self.starting.clear()
        self.calling.clear()
        self.waiting.clear()


# Tasks belong to the event loop that runs them, so flights are kept per loop.
_flights: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, Flight]] = (
    weakref.WeakKeyDictionary()
)


def _keys(checkpointer: Any, thread: str | None, run_id: str) -> tuple[str | None, str]:
    """The items' thread prefix (None without a checkpointer), and the flight's key."""
    if checkpointer is None or thread is None:
        return None, run_id
    prefix = f"{thread}/{run_id}"
    return prefix, f"{id(checkpointer)}/{prefix}"


def _of_config(config: RunnableConfig) -> tuple[Any, str | None]:
    configurable = config.get(CONF, {})
    return configurable.get(CONFIG_KEY_CHECKPOINTER), configurable.get("thread_id")


def flight_of(config: RunnableConfig, run_id: str, context: Context) -> Flight:
    """The flight of run ``run_id`` of the loop running with ``config`` (made on first use)."""
    checkpointer, thread = _of_config(config)
    prefix, key = _keys(checkpointer, thread, run_id)
    flights = _flights.setdefault(asyncio.get_running_loop(), {})
    if key not in flights:
        # The compiled graph with the loop's checkpointer (a copy, as `compile_distill_graph` makes).
        graph = item_graph.copy({"checkpointer": checkpointer if prefix else None})
        flights[key] = Flight(graph=graph, thread=prefix, context=context, key=key)
    flight = flights[key]
    flight.context = context
    return flight


async def land(config: RunnableConfig, run_id: str) -> None:
    """Cancel what is left in flight for run ``run_id`` and forget it (the run ended or failed)."""
    await land_run(*_of_config(config), run_id)


async def land_run(checkpointer: Any, thread: str | None, run_id: str) -> None:
    """`land` for the caller of the loop: its checkpointer, thread id and run id."""
    flight = _flights.get(asyncio.get_running_loop(), {}).pop(_keys(checkpointer, thread, run_id)[1], None)
    if flight is not None:
        await flight.cancel()
