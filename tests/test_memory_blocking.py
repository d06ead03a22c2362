"""The async API never blocks the event loop: checked with blockbuster, as `langgraph dev` does."""

from __future__ import annotations

from pathlib import Path

import pytest
from blockbuster import blockbuster_ctx
from langchain_core.messages import ToolMessage
from memory_fixtures import hash_embeddings_fixture, minilm_fixture, store_fixture  # noqa: F401

from ted.memory import (
    ExperienceStore,
    UsageStats,
    apply_plan,
    create_memory_tools,
    export_json,
    import_file,
    plan_compression,
    retrieve,
)
from ted.memory.editor import LibraryEditor
from ted.memory.minilm import MiniLMEmbeddings
from ted.memory.operations import AddOp
from ted.memory.transfer import export_markdown


async def test_store_operations_do_not_block(store: ExperienceStore, tmp_path: Path) -> None:
    with blockbuster_ctx():
        first = await store.add("Check the units of every quantity before comparing.", tags=["physics"])
        second = await store.add("Check units of every quantity before comparing!")
        await store.add_many(["Count the polygon sides.", "Draw the figure first."], vectors=None)
        await store.update(first.id, text="Check the units of each quantity before comparing.")
        await store.record_usage({second.id: UsageStats(retrieved=1)})
        assert store.version == 6  # one journal entry per experience changed
        assert await store.current_version() == 6
        await store.search("units", k=3, tags=["physics"], exclude_items=["x"])
        await retrieve(store, "units", k=2)
        await store.history(first.id)
        await store.experiences()
        await store.count()
        plan = await plan_compression(store, merge_threshold=0.7, cap=2)
        await apply_plan(store, plan)
        await export_json(store, tmp_path / "out.json", include_inactive=True)
        await export_markdown(store, tmp_path / "out.md")
        await store.rollback(2)
        await store.delete(first.id)
        opened = await ExperienceStore.aopen(tmp_path / "other", embeddings=store.embeddings)
        try:
            await import_file(opened, tmp_path / "out.json")
        finally:
            opened.close()


async def test_tools_do_not_block(store: ExperienceStore) -> None:
    tools = {t.name: t for t in create_memory_tools(LibraryEditor(store, source_items=["i1"]))}
    with blockbuster_ctx():
        calls = [
            ("add_experience", {"text": "Check the units first."}),
            ("add_experience", {"text": "Check the units first!"}),
            ("search_experiences", {"query": "units"}),
            ("vote_experience", {"label": "E1", "vote": "helpful"}),
            ("update_experience", {"label": "E9", "text": "x"}),
        ]
        for n, (name, args) in enumerate(calls):
            message = await tools[name].ainvoke(
                {"name": name, "args": args, "id": f"c{n}", "type": "tool_call"}
            )
            assert isinstance(message, ToolMessage)


@pytest.mark.embeddings
@pytest.mark.slow
async def test_minilm_does_not_block(tmp_path: Path, minilm: MiniLMEmbeddings) -> None:
    store = await ExperienceStore.aopen(tmp_path / "lib", embeddings=minilm)
    try:
        with blockbuster_ctx():
            editor = LibraryEditor(store)
            await editor.apply(AddOp(text="Check the units of every quantity."), op_id="a")
            await store.search("units", k=1)
    finally:
        store.close()
