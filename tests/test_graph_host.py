"""A host app embeds the solve graph as a subgraph node and compiles with its own checkpointer."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fakes import ScriptedChatModel
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, StateGraph
from test_graph_item import ITEM, SKILL, student_script, teacher_script
from typing_extensions import TypedDict

from ted.graph import Context, build_item_graph, close_libraries, compile_solve_graph
from ted.graph import models as graph_models


class HostState(TypedDict, total=False):
    item: dict[str, Any]
    trajectories: list[dict[str, Any]]
    injected: list[dict[str, Any]]
    verdict: str


def judge(state: HostState) -> HostState:
    answer = state["trajectories"][-1]["answer"]
    return {"verdict": f"answered {answer} with {len(state['injected'])} experience(s)"}


@pytest.fixture
def context(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Context]:
    models = {
        "student": ScriptedChatModel(script=student_script),
        "teacher": ScriptedChatModel(script=teacher_script),
    }
    monkeypatch.setattr(graph_models, "build_chat_model", lambda spec: models[spec.role])
    yield Context(library=str(tmp_path / "library"), embeddings="hash", rollouts=2)
    close_libraries()


async def test_solve_graph_as_a_subgraph_with_the_host_checkpointer(context: Context) -> None:
    await build_item_graph().compile().ainvoke({"item": ITEM}, context=context)  # learn the skill once

    builder = StateGraph(HostState, context_schema=Context)
    builder.add_node("solve", compile_solve_graph())
    builder.add_node(judge)
    builder.add_edge(START, "solve")
    builder.add_edge("solve", "judge")
    builder.add_edge("judge", END)
    host = builder.compile(checkpointer=InMemorySaver())

    config: Any = {"configurable": {"thread_id": "conversation-1"}}
    question = {**ITEM, "id": "another-question"}
    state = await host.ainvoke({"item": question}, config, context=context)

    assert state["verdict"] == "answered C with 1 experience(s)"
    assert [e["text"] for e in state["injected"]] == [SKILL]
    saved = await host.aget_state(config)
    assert saved.values["verdict"] == state["verdict"], "the host's checkpointer holds the run"
    history = [snapshot async for snapshot in host.aget_state_history(config)]
    assert len(history) >= 3, "every step of the host graph was checkpointed"
