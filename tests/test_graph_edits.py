"""One path applies a model's library edits, tool calls and JSON operations, for reflect and compress."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import ToolCall
from memory_fixtures import hash_embeddings_fixture, store_fixture  # noqa: F401

from ted.graph.edits import (
    COMPRESS_TOOLS,
    REFLECT_TOOLS,
    apply_planned,
    apply_tool_calls,
    plan_operations,
    succeeded,
)
from ted.memory import ExperienceStore
from ted.memory.editor import LibraryEditor
from ted.memory.operations import ADD_TOOL, AddOp, LibraryOperations

UNITS = "Check the units of every quantity before comparing the options."


def tool_call(name: str, call_id: str, **args: Any) -> ToolCall:
    return ToolCall(name=name, args=args, id=call_id)


@pytest.fixture
def editor(store: ExperienceStore) -> LibraryEditor:
    return LibraryEditor(store, source_items=["q1"], op_prefix="run/q1/")


async def test_tool_calls_apply_in_order_and_mistakes_come_back_as_errors(
    editor: LibraryEditor, store: ExperienceStore
) -> None:
    calls = [
        tool_call("add_experience", "c1", text=UNITS),
        tool_call("drop_table", "c2"),
        tool_call("merge_experiences", "c3", labels=["E1"], text="x"),
        tool_call("update_experience", "c4", label="E9", text="x"),
        tool_call("search_experiences", "c5", query="units"),
    ]
    outcomes = await apply_tool_calls(editor, calls, REFLECT_TOOLS)
    assert [o.failed for o in outcomes] == [False, True, True, True, False]
    assert outcomes[0].text == f"added E1: {UNITS}"
    assert outcomes[1].text == (
        "Error: there is no tool named 'drop_table'; the tools are search_experiences, vote_experience, "
        "add_experience, update_experience, delete_experience, merge_experiences"
    )
    assert outcomes[2].text.startswith("Error: invalid arguments (labels: List should have at least 2")
    assert "'E9' is not a label you were shown" in outcomes[3].text
    assert succeeded(outcomes) == [outcomes[0].text, outcomes[4].text]
    message = outcomes[1].tool_message()
    assert (message.tool_call_id, message.status, message.content) == ("c2", "error", outcomes[1].text)
    assert (await store.find_operation("run/q1/c1")) is not None


async def test_compression_offers_only_merge_delete_keep_apart_and_update(
    editor: LibraryEditor, store: ExperienceStore
) -> None:
    [refused] = await apply_tool_calls(editor, [tool_call(ADD_TOOL, "c1", text=UNITS)], COMPRESS_TOOLS)
    assert refused.failed
    assert refused.text.endswith(
        "the tools are merge_experiences, delete_experience, keep_apart, update_experience"
    )
    planned = plan_operations([AddOp(text=UNITS)])
    [also_refused] = await apply_planned(editor, planned, COMPRESS_TOOLS)
    assert also_refused.text == refused.text, "both forms get one treatment"
    assert await store.count() == 0


async def test_json_operations_are_planned_under_stable_ids_and_applied_once(
    editor: LibraryEditor, store: ExperienceStore
) -> None:
    answer = LibraryOperations.model_validate(
        {
            "operations": [
                {"op": "add", "text": UNITS, "tags": ["units"]},
                {"op": "vote", "label": "E1", "vote": "helpful"},
                {"op": "delete", "label": "E7"},
            ]
        }
    )
    planned = plan_operations(answer.operations)
    assert [p["id"] for p in planned] == ["json-0", "json-1", "json-2"]
    assert planned[0]["operation"] == {"op": "add", "text": UNITS, "tags": ["units"], "reason": ""}

    first = await apply_planned(editor, planned, REFLECT_TOOLS)
    assert [o.failed for o in first] == [False, False, True]
    version = await store.current_version()
    # A resumed run re-applies the checkpointed plan with a fresh editor: nothing changes again.
    again = await apply_planned(LibraryEditor(store, op_prefix="run/q1/"), planned, REFLECT_TOOLS)
    assert [o.text for o in again[:2]] == ["already done earlier: add E1", "already done earlier: usage"]
    assert await store.current_version() == version
    assert (await store.experiences())[0].stats.helpful == 1


async def test_a_plan_that_no_longer_validates_is_an_error_not_a_crash(editor: LibraryEditor) -> None:
    [outcome] = await apply_planned(editor, [{"id": "json-0", "operation": {"op": "add"}}], REFLECT_TOOLS)
    assert outcome.failed and outcome.text.startswith("Error: invalid arguments (add.text: Field required")
