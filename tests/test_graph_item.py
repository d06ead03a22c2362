"""The per-item distillation graph and the solve graph, with scripted models and a real library."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fakes import ScriptedChatModel, text_of
from langchain_core.messages import AIMessage, BaseMessage, SystemMessage, ToolMessage
from langgraph.checkpoint.memory import InMemorySaver

from ted.graph import Context, build_item_graph, close_libraries, compile_solve_graph, open_library
from ted.graph import models as graph_models
from ted.graph.models import ModelSpec
from ted.graph.nodes.retrieve import query_text
from ted.prompts.framing import EXPERIENCE, framed
from ted.tasks import Item

SKILL = "When counting shapes of one colour, point at each shape once and keep a running tally."
ITEM = {
    "id": "q1",
    "question": "Counting shapes of one colour: how many red circles are there?",
    "options": ["2", "3", "4", "5"],
    "answer": "C",
    "category": "counting",
}


def student_script(messages: list[BaseMessage], tools: list[str]) -> AIMessage:
    """Right (C) when the skill is in its prompt, and then it cites it; wrong (A) otherwise."""
    system = messages[0].content if isinstance(messages[0], SystemMessage) else ""
    labels = [attributes["label"] for attributes, text in framed(EXPERIENCE, str(system)) if text == SKILL]
    if labels:
        return AIMessage(f"I count carefully.\nExperiences used: {labels[0]}\nAnswer: C")
    return AIMessage("I guess.\nExperiences used: none\nAnswer: A")


def teacher_script(messages: list[BaseMessage], tools: list[str]) -> AIMessage:
    """Solves correctly; when reflecting, adds the skill once and then stops."""
    if "add_experience" not in tools:
        return AIMessage("Step 1: there are four red circles.\nAnswer: C")
    if isinstance(messages[-1], ToolMessage):
        return AIMessage("Library updated.")
    return AIMessage(
        "",
        tool_calls=[
            {"name": "add_experience", "args": {"text": SKILL, "tags": ["counting"]}, "id": "call-1"}
        ],
    )


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, ScriptedChatModel]]:
    models = {
        "student": ScriptedChatModel(script=student_script),
        "teacher": ScriptedChatModel(script=teacher_script),
    }

    def build(spec: ModelSpec) -> ScriptedChatModel:
        return models["teacher" if spec.role == "compress" else spec.role]

    monkeypatch.setattr(graph_models, "build_chat_model", build)
    yield models
    close_libraries()


@pytest.fixture
def context(tmp_path: Path) -> Context:
    return Context(library=str(tmp_path / "library"), embeddings="hash", rollouts=3)


async def test_item_graph_learns_from_mistakes_then_uses_the_experience(
    fakes: dict[str, ScriptedChatModel], context: Context
) -> None:
    graph = build_item_graph().compile()

    first: dict[str, Any] = await graph.ainvoke({"item": ITEM, "op_prefix": "run/e0/q1/"}, context=context)
    [result] = first["results"]
    assert result["correct"] == 0 and result["graded"] == 3
    assert result["teacher_correct"] is True
    assert len(fakes["student"].calls) == 3
    store = await open_library(context)
    [learned] = await store.experiences()
    assert learned.text == SKILL
    assert learned.provenance.source_items == ["q1"]
    assert any("E" in line for line in result["operations"])

    second: dict[str, Any] = await graph.ainvoke({"item": ITEM, "op_prefix": "run/e1/q1/"}, context=context)
    [result] = second["results"]
    assert result["correct"] == 3
    assert result["injected"] == [learned.id]
    stats = (await store.get(learned.id)).stats
    assert (stats.retrieved, stats.cited, stats.cited_correct, stats.cited_wrong) == (3, 3, 3, 0)
    # All attempts were right, so the teacher was not asked to reflect again.
    reflect_calls = [c for c in fakes["teacher"].calls if "add_experience" in c["tools"]]
    assert len(reflect_calls) == 2


async def test_the_question_is_embedded_ahead_only_when_the_library_holds_something(
    fakes: dict[str, ScriptedChatModel], context: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = await open_library(context)
    prefetched: list[str] = []
    prefetch = store.prefetch

    def recording(texts: Iterable[str]) -> None:
        texts = list(texts)
        prefetched.extend(texts)
        prefetch(texts)

    monkeypatch.setattr(store, "prefetch", recording)
    graph = build_item_graph().compile()
    question = query_text(Item.model_validate(ITEM))

    await graph.ainvoke({"item": ITEM, "op_prefix": "run/e0/q1/"}, context=context)
    assert SKILL in prefetched, "the teacher's edit was embedded ahead"
    assert question not in prefetched, "an empty library is searched without a vector"

    await graph.ainvoke({"item": ITEM, "op_prefix": "run/e1/q1/"}, context=context)
    assert prefetched.count(question) == 1


async def test_solve_graph_injects_experiences_but_not_ones_learned_from_the_item(
    fakes: dict[str, ScriptedChatModel], context: Context
) -> None:
    await build_item_graph().compile().ainvoke({"item": ITEM, "op_prefix": "p/"}, context=context)
    solve = compile_solve_graph()

    other = {**ITEM, "id": "q2"}
    answer: dict[str, Any] = await solve.ainvoke({"item": other}, context=context)
    assert [e["text"] for e in answer["injected"]] == [SKILL]
    assert answer["trajectories"][0]["correct"] is True
    assert answer["trajectories"][0]["cited"] == ["E1"]

    guarded: dict[str, Any] = await solve.ainvoke({"item": ITEM}, context=context)
    assert guarded["injected"] == []
    assert guarded["trajectories"][0]["correct"] is False

    baseline: dict[str, Any] = await solve.ainvoke({"item": other, "use_library": False}, context=context)
    assert baseline["injected"] == []


async def test_solve_graph_accepts_a_question_without_answer(
    fakes: dict[str, ScriptedChatModel], context: Context
) -> None:
    question = {"id": "new", "question": "How many blue squares are there?", "options": ["2", "3", "4", "5"]}
    answer: dict[str, Any] = await compile_solve_graph().ainvoke({"item": question}, context=context)
    [trajectory] = answer["trajectories"]
    assert trajectory["answer"] == "A"
    assert trajectory["correct"] is False
    assert "How many blue squares" in text_of(fakes["student"].calls[0]["messages"])


def json_teacher_script(messages: list[BaseMessage], tools: list[str]) -> AIMessage:
    """A teacher whose endpoint has no tool calling: library operations come back as JSON."""
    if tools == ["LibraryOperations"]:
        operations = [{"op": "add", "text": SKILL, "tags": ["counting"], "reason": "students miscounted"}]
        return AIMessage(
            "", tool_calls=[{"name": "LibraryOperations", "args": {"operations": operations}, "id": "j"}]
        )
    return teacher_script(messages, tools)


async def test_json_mode_applies_validated_operations(
    fakes: dict[str, ScriptedChatModel], context: Context
) -> None:
    fakes["teacher"].script = json_teacher_script
    context.tool_mode = "json"
    graph = build_item_graph().compile(checkpointer=InMemorySaver())
    config: Any = {"configurable": {"thread_id": "json"}}
    output: dict[str, Any] = await graph.ainvoke({"item": ITEM, "op_prefix": "p/"}, config, context=context)
    [result] = output["results"]
    assert result["operations"] == [f"added E1: {SKILL}"]
    store = await open_library(context)
    assert [e.text for e in await store.experiences()] == [SKILL]

    # The plan is state, not a made-up tool-calling message.
    state = (await graph.aget_state(config)).values
    assert [p["id"] for p in state["planned"]] == ["json-0"]
    assert state["planned"][0]["operation"]["op"] == "add"
    assert state["messages"] == []
    assert await store.find_operation("p/json-0") is not None

    # Resumed from the checkpoint before the plan was applied, the same plan changes nothing again.
    history = [snapshot async for snapshot in graph.aget_state_history(config)]
    [before] = [snapshot for snapshot in history if snapshot.next == ("apply_tools",)]
    version = await store.current_version()
    replayed: dict[str, Any] = await graph.ainvoke(None, before.config, context=context)
    assert replayed["results"][-1]["operations"] == ["already done earlier: add E1"]
    assert await store.current_version() == version and await store.count() == 1


def fumbling_teacher_script(messages: list[BaseMessage], tools: list[str]) -> AIMessage:
    """Calls a tool that does not exist and one with bad arguments, reads the errors, then gets it right."""
    if "add_experience" not in tools:
        return teacher_script(messages, tools)
    results = [m for m in messages if isinstance(m, ToolMessage)]
    if not results:
        return AIMessage(
            "",
            tool_calls=[
                {"name": "remember", "args": {"text": SKILL}, "id": "call-1"},
                {"name": "add_experience", "args": {"tags": ["counting"]}, "id": "call-2"},
            ],
        )
    if len(results) == 2:
        assert [m.status for m in results] == ["error", "error"]
        assert "there is no tool named 'remember'" in str(results[0].content)
        assert "invalid arguments (text: Field required)" in str(results[1].content)
        return AIMessage("", tool_calls=[{"name": "add_experience", "args": {"text": SKILL}, "id": "call-3"}])
    return AIMessage("Library updated.")


async def test_tool_mistakes_go_back_to_the_teacher_as_tool_results(
    fakes: dict[str, ScriptedChatModel], context: Context
) -> None:
    fakes["teacher"].script = fumbling_teacher_script
    output: dict[str, Any] = await build_item_graph().compile().ainvoke({"item": ITEM}, context=context)
    assert output["results"][0]["operations"] == [f"added E1: {SKILL}"]
    reflect_calls = [c for c in fakes["teacher"].calls if "add_experience" in c["tools"]]
    assert len(reflect_calls) == 3
