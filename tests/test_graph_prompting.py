"""Pieces of the prompts that the graph builds: labelled experience frames, the JSON protocols."""

from __future__ import annotations

from ted.graph import Context
from ted.graph.edits import COMPRESS_OPERATIONS, REFLECT_OPERATIONS
from ted.graph.prompting import compress_messages, experience_frames
from ted.memory import UsageStats
from ted.memory.operations import operation_examples
from ted.prompts.framing import EXPERIENCE, framed


def test_experience_frames_carry_their_labels() -> None:
    frames = experience_frames([("E1", "First."), ("E2", "Two.")])
    assert [framed(EXPERIENCE, text) for text in frames] == [
        [({"label": "E1"}, "First.")],
        [({"label": "E2"}, "Two.")],
    ]


def test_each_role_is_shown_the_operations_it_may_use() -> None:
    assert [line.split(",")[0] for line in operation_examples(REFLECT_OPERATIONS).splitlines()] == [
        '{"op": "vote"',
        '{"op": "add"',
        '{"op": "update"',
        '{"op": "delete"',
        '{"op": "merge"',
    ]
    [json_system, _] = compress_messages(Context(), cluster=[("E1", "a"), ("E2", "b")], json_mode=True)
    assert operation_examples(COMPRESS_OPERATIONS) in str(json_system.content)
    assert '"op": "add"' not in str(json_system.content)
    [tools_system, _] = compress_messages(Context(), cluster=[("E1", "a"), ("E2", "b")], json_mode=False)
    shown = " ".join(str(tools_system.content).split())
    assert (
        "merge_experiences for experiences of a group that say the same thing, delete_experience for" in shown
    )
    assert "keep_apart for those that give different advice" in shown
    assert "update_experience to rewrite" in shown
    assert '"op": "keep_apart"' in str(json_system.content)
    assert '"op": "delete"' in str(json_system.content)
    [_, user] = compress_messages(
        Context(),
        cluster=[("E1", "a"), ("E2", "b")],
        records={"E2": UsageStats(cited_wrong=3)},
        json_mode=True,
    )
    assert '<experience label="E1">' in str(user.content)
    assert 'label="E2" cited_correct="0" cited_wrong="3" helpful="0" harmful="0">' in str(user.content)
