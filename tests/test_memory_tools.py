"""LibraryEditor, the LangChain memory tools, and the tools inside LangGraph's prebuilt agent and ToolNode."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.tools import BaseTool
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, create_react_agent
from memory_fixtures import hash_embeddings_fixture, store_fixture  # noqa: F401

from ted.memory import ExperienceStore, Status, create_memory_tools
from ted.memory.editor import LabelBook, LibraryEditor
from ted.memory.errors import ToolInputError, UnknownLabel
from ted.memory.models import Origin
from ted.memory.operations import (
    ADD_TOOL,
    MERGE_TOOL,
    OPERATION_TYPES,
    REQUEST_TYPES,
    SEARCH_TOOL,
    TOOL_NAMES,
    VOTE_TOOL,
    AddOp,
    DeleteOp,
    LibraryOperations,
    MergeOp,
    SearchQuery,
    UpdateOp,
    VoteOp,
    argument_fields,
    operation_examples,
    parse_request,
)
from ted.memory.tools import tool_schemas
from ted.prompts.framing import EXPERIENCE, framed

UNITS = "Check the units of every quantity before comparing the options."
POLYGON = "Count the sides of a polygon before using the angle sum formula."


def call(name: str, call_id: str, **args: Any) -> dict[str, Any]:
    return {"name": name, "args": args, "id": call_id, "type": "tool_call"}


async def run_tool(tools: Sequence[BaseTool], name: str, call_id: str, **args: Any) -> ToolMessage:
    tool = next(t for t in tools if t.name == name)
    message = await tool.ainvoke(call(name, call_id, **args))
    assert isinstance(message, ToolMessage)
    return message


@pytest.fixture
def editor(store: ExperienceStore) -> LibraryEditor:
    return LibraryEditor(
        store, source_items=["item-7"], student_model="qwen", op_prefix="run1/item-7/", step="e0"
    )


class TestEditor:
    async def test_add_records_provenance(self, editor: LibraryEditor, store: ExperienceStore) -> None:
        message = await editor.apply(
            AddOp(text=UNITS, tags=["Physics"], reason="student mixed cm and m"), op_id="c1"
        )
        assert message == f"added E1: {UNITS}"
        (added,) = await store.experiences()
        assert added.provenance.origin is Origin.REFLECT
        assert added.provenance.source_items == ["item-7"]
        assert added.student_model == "qwen" and added.tags == ["physics"]
        history = await store.history(added.id)
        assert (history[0].op_id, history[0].reason, history[0].step) == (
            "run1/item-7/c1",
            "student mixed cm and m",
            "e0",
        )

    async def test_duplicate_add_does_not_copy(self, editor: LibraryEditor, store: ExperienceStore) -> None:
        await editor.apply(AddOp(text=UNITS), op_id="c1")
        other = LibraryEditor(store, source_items=["item-9"], labels=LabelBook())
        message = await other.apply(
            AddOp(text="Check units of every quantity before comparing options!", tags=["units"]), op_id="c2"
        )
        assert message.startswith("not added: E1 already says this (similarity 1.00)")
        (only,) = await store.experiences()
        assert only.provenance.source_items == ["item-7", "item-9"]
        assert only.tags == ["units"]

    async def test_update_delete_merge_vote(self, editor: LibraryEditor, store: ExperienceStore) -> None:
        await editor.apply(AddOp(text=UNITS), op_id="c1")
        await editor.apply(AddOp(text=POLYGON), op_id="c2")
        await editor.apply(AddOp(text="Draw the figure before computing."), op_id="c3")
        assert await editor.apply(UpdateOp(label="E1", text="Check units first."), op_id="c4") == (
            "updated E1: Check units first."
        )
        assert (
            await editor.apply(VoteOp(label="E2", vote="harmful"), op_id="c5") == "recorded: E2 was harmful"
        )
        merged = await editor.apply(
            MergeOp(labels=["E1", "[E3]"], text="Check units; draw the figure."), op_id="c6"
        )
        assert merged == "merged E1, E3 into E4: Check units; draw the figure."
        assert await editor.apply(DeleteOp(label="E2", reason="misleading"), op_id="c7") == "deleted E2"
        (left,) = await store.experiences()
        assert left.text == "Check units; draw the figure." and left.provenance.merged_from
        deleted = await store.experiences(status=Status.DELETED)
        assert deleted[0].stats.harmful == 1
        journaled = [await store.find_operation(f"run1/item-7/c{n}") for n in range(1, 8)]
        assert [r.kind for r in journaled if r is not None] == [
            "add",
            "add",
            "add",
            "update",
            "usage",
            "merge",
            "delete",
        ]
        assert editor.votes == {deleted[0].id: "harmful"}

    async def test_mistakes_the_model_can_fix(self, editor: LibraryEditor) -> None:
        await editor.apply(AddOp(text=UNITS), op_id="c1")
        await editor.apply(AddOp(text=POLYGON), op_id="c2")
        with pytest.raises(UnknownLabel, match="'E9' is not a label"):
            await editor.apply(UpdateOp(label="E9", text="x"), op_id="c3")
        with pytest.raises(ToolInputError, match="at most 60 words"):
            await editor.apply(AddOp(text="word " * 61), op_id="c4")
        with pytest.raises(ToolInputError, match="empty"):
            await editor.apply(AddOp(text="  "), op_id="c5")
        with pytest.raises(ToolInputError, match="two different"):
            await editor.apply(MergeOp(labels=["E1", "e1"], text="x"), op_id="c6")
        await editor.apply(VoteOp(label="E1", vote="helpful"), op_id="c7")
        with pytest.raises(ToolInputError, match="already voted helpful on E1"):
            await editor.apply(VoteOp(label="E1", vote="harmful"), op_id="c8")
        await editor.apply(MergeOp(labels=["E1", "E2"], text="Both."), op_id="c9")
        with pytest.raises(ToolInputError, match="E1 was merged into E3; act on E3 instead"):
            await editor.apply(UpdateOp(label="E1", text="x"), op_id="c10")
        await editor.apply(DeleteOp(label="E3"), op_id="c11")
        with pytest.raises(ToolInputError, match="E3 was deleted"):
            await editor.apply(DeleteOp(label="E3"), op_id="c12")

    async def test_replayed_operation_changes_nothing(
        self, editor: LibraryEditor, store: ExperienceStore
    ) -> None:
        await editor.apply(AddOp(text=UNITS), op_id="c1")
        version = store.version
        # A resumed run builds a new editor and re-runs the same tool call.
        again = LibraryEditor(store, source_items=["item-7"], op_prefix="run1/item-7/")
        assert await again.apply(AddOp(text=UNITS), op_id="c1") == "already done earlier: add E1"
        assert store.version == version and await store.count() == 1

    async def test_json_mode_operations(self, editor: LibraryEditor, store: ExperienceStore) -> None:
        answer = LibraryOperations.model_validate_json(
            '{"operations": [{"op": "add", "text": "Draw the figure first.", "tags": ["geometry"]},'
            ' {"op": "add", "text": "Read all options."}, {"op": "vote", "label": "E1", "vote": "helpful"},'
            ' {"op": "merge", "labels": ["E1", "E2"], "text": "Draw the figure and read all options."}]}'
        )
        messages = [await editor.apply(op, op_id=f"json-{n}") for n, op in enumerate(answer.operations)]
        assert messages[-1].startswith("merged E1, E2 into E3")
        (merged,) = await store.experiences()
        assert merged.stats.helpful == 1
        with pytest.raises(ValueError, match="at least 2"):
            LibraryOperations.model_validate({"operations": [{"op": "merge", "labels": ["E1"], "text": "x"}]})

    async def test_search_speaks_in_labels(self, editor: LibraryEditor) -> None:
        assert await editor.search("anything") == "The library holds no experiences yet."
        await editor.apply(AddOp(text=UNITS), op_id="c1")
        result = await editor.search("units of quantities")
        [(attributes, text)] = framed(EXPERIENCE, result)
        assert text == UNITS and attributes["label"] == "E1" and attributes["utility"] == "0.50"

        with pytest.raises(ToolInputError, match="query is empty"):
            await editor.search(" ")


class TestTools:
    def test_names_and_schemas(self, store: ExperienceStore) -> None:
        tools = create_memory_tools(LibraryEditor(store, max_words=25))
        assert [t.name for t in tools] == list(TOOL_NAMES)
        for tool in tools:
            schema = tool.tool_call_schema.model_json_schema()  # type: ignore[union-attr]
            assert "tool_call_id" not in schema["properties"]
            assert tool.description
        add = tools[1].tool_call_schema.model_json_schema()  # type: ignore[union-attr]
        assert add["required"] == ["text"] and "25 words" in tools[1].description
        assert [t.name for t in create_memory_tools(store, include=["search_experiences"])] == [
            "search_experiences"
        ]
        with pytest.raises(ValueError, match="unknown memory tools"):
            create_memory_tools(store, include=["drop_table"])

    async def test_errors_come_back_as_tool_messages(self, editor: LibraryEditor) -> None:
        tools = create_memory_tools(editor)
        bad_label = await run_tool(tools, "delete_experience", "t1", label="E5")
        assert bad_label.status == "error" and "is not a label you were shown" in str(bad_label.content)
        bad_args = await run_tool(tools, "search_experiences", "t2", query="x", k=500)
        assert bad_args.status == "error" and "k: Input should be less than or equal to 20" in str(
            bad_args.content
        )
        missing = await run_tool(tools, "merge_experiences", "t3", labels=["E1"], text="x")
        assert missing.status == "error" and "labels" in str(missing.content)

    async def test_reexecuted_tool_call_changes_the_library_once(
        self, editor: LibraryEditor, store: ExperienceStore
    ) -> None:
        tools = create_memory_tools(editor)
        first = await run_tool(tools, "add_experience", "call-1", text=UNITS)
        second = await run_tool(tools, "add_experience", "call-1", text=UNITS)
        assert first.content == f"added E1: {UNITS}" and second.content == "already done earlier: add E1"
        assert await store.count() == 1
        await run_tool(tools, "vote_experience", "call-2", label="E1", vote="helpful")
        fresh = create_memory_tools(LibraryEditor(store, op_prefix="run1/item-7/", labels=editor.labels))
        await run_tool(fresh, "vote_experience", "call-2", label="E1", vote="helpful")
        assert (await store.experiences())[0].stats.helpful == 1

    def test_sync_invocation(self, editor: LibraryEditor, store: ExperienceStore) -> None:
        tools = create_memory_tools(editor)
        message = tools[1].invoke(call("add_experience", "s1", text=UNITS))
        assert message.content == f"added E1: {UNITS}"


class TestOneSource:
    """Tool names, tool schemas and the JSON form come from the request models of ted.memory.operations."""

    def test_tool_schemas_are_the_request_fields(self) -> None:
        schemas = {s["function"]["name"]: s["function"] for s in tool_schemas(max_words=25)}
        assert list(schemas) == list(TOOL_NAMES) == [kind.tool_name for kind in REQUEST_TYPES]
        for kind in REQUEST_TYPES:
            parameters = schemas[kind.tool_name]["parameters"]
            assert list(parameters["properties"]) == list(argument_fields(kind))
            for name, info in argument_fields(kind).items():
                assert parameters["properties"][name]["description"] == info.description
        assert "at most 25 words" in schemas[MERGE_TOOL]["description"]

    def test_parse_request(self) -> None:
        assert parse_request(ADD_TOOL, {"text": UNITS}) == AddOp(text=UNITS)
        assert parse_request(SEARCH_TOOL, {"query": "units"}) == SearchQuery(query="units", k=5)
        with pytest.raises(
            ToolInputError, match=r"there is no tool named 'add'; the tools are merge_experiences$"
        ):
            parse_request("add", {}, [MergeOp])
        with pytest.raises(ToolInputError, match=r"invalid arguments \(vote: Input should be 'helpful'"):
            parse_request(VOTE_TOOL, {"label": "E1", "vote": "maybe"})

    def test_the_json_form_shows_every_argument(self) -> None:
        lines = operation_examples(OPERATION_TYPES).splitlines()
        for kind, line in zip(OPERATION_TYPES, lines, strict=True):
            example = json.loads(line.replace('"helpful" or "harmful"', '"helpful"'))
            assert list(example) == ["op", *argument_fields(kind)]
            LibraryOperations.model_validate({"operations": [example]})


class ScriptedModel(GenericFakeChatModel):
    """A fake chat model that plays a script of messages and accepts tools."""

    def bind_tools(self, tools: Any, **kwargs: Any) -> ScriptedModel:  # type: ignore[override]
        return self


# create_react_agent moved to langchain.agents in LangGraph 1.0; host apps on langgraph alone still use it.
@pytest.mark.filterwarnings("ignore:create_react_agent has been moved")
async def test_prebuilt_react_agent_uses_the_tools(store: ExperienceStore) -> None:
    script = iter(
        [
            AIMessage("", tool_calls=[call("add_experience", "a1", text=UNITS, tags=["physics"])]),
            AIMessage(
                "",
                tool_calls=[
                    call("add_experience", "a2", text=POLYGON),
                    call("update_experience", "a3", label="E7", text="nothing"),
                ],
            ),
            AIMessage("", tool_calls=[call("search_experiences", "a4", query="units")]),
            AIMessage(
                "",
                tool_calls=[call("merge_experiences", "a5", labels=["E1", "E2"], text="Units, then sides.")],
            ),
            AIMessage("Done: the library holds one merged experience."),
        ]
    )
    agent = create_react_agent(ScriptedModel(messages=script), create_memory_tools(store))
    result = await agent.ainvoke({"messages": [HumanMessage("Curate the library.")]})
    tool_messages = [m for m in result["messages"] if isinstance(m, ToolMessage)]
    assert [m.status for m in tool_messages] == ["success", "success", "error", "success", "success"]
    assert "E7" in str(tool_messages[2].content)
    assert str(tool_messages[3].content).startswith('<experience label="E1" similarity="')
    assert framed(EXPERIENCE, str(tool_messages[3].content))[0][1] == UNITS
    assert result["messages"][-1].content == "Done: the library holds one merged experience."
    (merged,) = await store.experiences()
    assert merged.text == "Units, then sides." and len(merged.provenance.merged_from) == 2


def test_tool_node_in_a_sync_host_graph(tmp_path: Any) -> None:
    from memory_fixtures import open_store

    with open_store(tmp_path / "lib") as store:
        tools = create_memory_tools(store)
        builder = StateGraph(MessagesState)
        builder.add_node("tools", ToolNode(tools))
        builder.add_edge(START, "tools")
        builder.add_edge("tools", END)
        graph = builder.compile()
        request = AIMessage(
            "",
            tool_calls=[
                call("add_experience", "n1", text=UNITS),
                call("delete_experience", "n2", label="E2"),
            ],
        )
        result = graph.invoke({"messages": [request]})
        replies = result["messages"][1:]
        assert [m.status for m in replies] == ["success", "error"]
        again = graph.invoke({"messages": [request]})  # the host re-runs the same calls
        assert again["messages"][1].content == "already done earlier: add E1"
        import asyncio

        assert asyncio.run(store.count()) == 1
