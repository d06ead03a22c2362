"""Routing decisions and the library lookup that every node makes run on the event loop's thread."""

from __future__ import annotations

import asyncio
import importlib
import inspect
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

import pytest
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from typing_extensions import TypedDict

from ted.graph.routing import on_the_loop

T = TypeVar("T")


class Counter(TypedDict, total=False):
    n: int


@dataclass
class Limit:
    stop_at: int = 3


def _graph(route: Any) -> Any:
    async def step(state: Counter) -> Counter:
        return {"n": state.get("n", 0) + 1}

    builder = StateGraph(Counter, context_schema=Limit)
    builder.add_node(step)
    builder.add_edge(START, "step")
    builder.add_conditional_edges("step", route)
    return builder.compile()


async def test_a_wrapped_route_runs_on_the_loop_with_its_runtime_and_ends() -> None:
    threads: list[threading.Thread] = []

    def route(state: Counter, runtime: Runtime[Limit]) -> Literal["step", "__end__"]:
        threads.append(threading.current_thread())
        return END if state["n"] >= runtime.context.stop_at else "step"

    plain, wrapped = _graph(route), _graph(on_the_loop(route))
    assert await plain.ainvoke({}, context=Limit(stop_at=2)) == {"n": 2}
    # LangGraph calls a plain function in a worker thread: the reason for the wrapper.
    assert threads and all(thread is not threading.main_thread() for thread in threads)
    threads.clear()
    assert await wrapped.ainvoke({}, context=Limit(stop_at=3)) == {"n": 3}
    assert len(threads) == 3 and all(thread is threading.main_thread() for thread in threads)
    # The ends still come from the Literal return type, as Studio draws them.
    assert plain.get_graph().draw_mermaid() == wrapped.get_graph().draw_mermaid()
    assert on_the_loop(route).__name__ == "route"


@pytest.mark.parametrize("module", ["ted.graph.item_graph", "ted.graph.distill"])
def test_every_conditional_edge_of_the_graphs_routes_on_the_loop(module: str) -> None:
    graph = importlib.import_module(module).graph
    paths = [spec.path for branches in graph.builder.branches.values() for spec in branches.values()]
    assert paths
    for path in paths:
        assert path.func is None and inspect.iscoroutinefunction(path.afunc), path.name


async def test_an_open_library_is_found_without_a_worker_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ted.graph import Context, open_library
    from ted.graph.library import close_libraries

    to_thread = asyncio.to_thread
    hops: list[object] = []

    async def counted(func: Callable[..., T], /, *args: object) -> T:
        hops.append(func)
        return await to_thread(func, *args)

    monkeypatch.setattr(asyncio, "to_thread", counted)
    try:
        context = Context(library=str(tmp_path / "library"), embeddings="hash")
        store = await open_library(context)
        assert await open_library(context) is store
        assert await open_library(Context(library=str(tmp_path / "library"), embeddings="hash")) is store
        assert len(hops) == 1
        # A relative folder depends on the working directory, which only the file system knows.
        for folder in ("a", "b"):
            (tmp_path / folder).mkdir()
            monkeypatch.chdir(tmp_path / folder)
            relative = await open_library(Context(library="library", embeddings="hash"))
            assert relative.path == tmp_path / folder / "library"
        assert len(hops) == 3
    finally:
        close_libraries()
