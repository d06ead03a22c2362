"""Compress: keep the library small and clean.

1. A deterministic plan (``ted.memory.plan_compression``): clusters of near-duplicates by embedding
   similarity, verbose entries, low-utility entries with enough evidence, eviction over the cap.
2. The compress model merges each cluster and rewrites the verbose entries through the memory tools
   (or JSON operations). A cluster the model leaves unmerged is merged deterministically, keeping the
   text of its most useful member, so a misbehaving model cannot block compression.
3. Pruning and the cap are applied without a model, on a fresh plan.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from typing import Any

from langchain_core.messages import AIMessage
from langgraph.runtime import Runtime

from ted.graph.calling import Reply, call
from ted.graph.context import Context
from ted.graph.library import open_library
from ted.graph.models import chat_model, model_spec
from ted.graph.nodes.reflect import as_tool_calls, editor_word_limit, uses_json
from ted.graph.prompting import compress_messages
from ted.graph.state import CompressionReport, ErrorRecord, ItemState, Usage

COMPRESS_TOOLS = ("merge_experiences", "update_experience")
# Verbose experiences sent to the model per request, and clusters handled at once.
REWRITE_BATCH = 8
CONCURRENCY = 4


def _key(ids: Sequence[str]) -> str:
    return hashlib.sha1("|".join(sorted(ids)).encode()).hexdigest()[:10]


class _Session:
    """Model calls and tool execution for one compression."""

    def __init__(self, context: Context, store: Any, op_prefix: str, step: str) -> None:
        self.context = context
        self.store = store
        self.op_prefix = op_prefix
        self.step = step
        self.spec = model_spec(context, "compress")
        self.json_mode = uses_json(context, self.spec)
        self.usage: list[Usage] = []
        self.errors: list[ErrorRecord] = []
        self.operations: list[str] = []

    async def run(self, experiences: Sequence[Any], *, merge: bool, key: str) -> None:
        from ted.memory import (
            LabelBook,
            LibraryEditor,
            LibraryOperations,
            Origin,
            create_memory_tools,
            tool_schemas,
        )

        labels = {f"E{n}": e.id for n, e in enumerate(experiences, start=1)}
        lines = [(label, e.text) for label, e in zip(labels, experiences, strict=True)]
        editor = LibraryEditor(
            self.store,
            labels=LabelBook.from_mapping(labels),
            origin=Origin.MERGE if merge else Origin.REWRITE,
            student_model=self.context.student_model,
            op_prefix=f"{self.op_prefix}{key}/",
            step=self.step,
            duplicate_threshold=self.context.duplicate_threshold,
            max_words=editor_word_limit(self.context),
        )
        tools = {t.name: t for t in create_memory_tools(editor, include=COMPRESS_TOOLS)}
        messages = compress_messages(
            self.context,
            cluster=lines if merge else (),
            verbose=() if merge else lines,
            json_mode=self.json_mode,
        )
        chat = chat_model(self.context, "compress")
        reply: Reply
        if self.json_mode:
            structured = chat.with_structured_output(LibraryOperations, method="json_mode", include_raw=True)
            reply = await call(structured, messages, spec=self.spec, stage="compress", item_id="library")
            calls = as_tool_calls(reply.parsed.operations) if reply.parsed is not None else []
            if reply.message is not None and reply.parsed is None:
                # The fallback below still merges the cluster; the record says why the model did not.
                self.errors.append(
                    ErrorRecord(
                        item_id="library",
                        stage="compress",
                        kind="malformed_output",
                        message=f"the compress model's operations were not valid: {reply.parsing_error}",
                    )
                )
        else:
            schemas = list(tool_schemas(COMPRESS_TOOLS, max_words=editor.max_words))
            reply = await call(
                chat.bind_tools(schemas),
                messages,
                spec=self.spec,
                stage="compress",
                item_id="library",
            )
            calls = reply.message.tool_calls if isinstance(reply.message, AIMessage) else []
        self.usage.extend(reply.usage)
        self.errors.extend(reply.errors)
        for tool_call in calls:
            tool = tools.get(tool_call["name"])
            if tool is None:
                continue
            result = await tool.ainvoke({**tool_call, "type": "tool_call"})
            if getattr(result, "status", "success") != "error":
                self.operations.append(str(result.content))


async def _still_active(store: Any, ids: Sequence[str]) -> list[Any]:
    from ted.memory import Status

    experiences = [await store.get(i) for i in ids]
    return [e for e in experiences if e.status == Status.ACTIVE]


async def compress_library(
    context: Context, *, op_prefix: str, step: str
) -> tuple[CompressionReport, list[Usage], list[ErrorRecord]]:
    """Run one compression of the context's library; see the module docstring."""
    from ted.memory import apply_plan, plan_compression

    store = await open_library(context)
    options: dict[str, Any] = {
        "merge_threshold": context.merge_threshold,
        "min_evidence": context.prune_min_evidence,
        "max_utility": context.prune_max_utility,
        "cap": context.library_cap,
        "max_words": context.max_words,
    }
    plan = await plan_compression(store, **options)
    session = _Session(context, store, op_prefix, step)
    limit = asyncio.Semaphore(CONCURRENCY)

    async def merge(cluster: Sequence[str]) -> bool:
        async with limit:
            members = await _still_active(store, cluster)
            if len(members) < 2:
                return False
            await session.run(members, merge=True, key=f"merge-{_key(cluster)}")
            leftover = await _still_active(store, cluster)
            if len(leftover) >= 2:
                # The model did not merge them: keep the most useful member's text.
                fallback = plan.model_copy(
                    update={"clusters": [[e.id for e in leftover]], "prune": [], "evict": [], "rewrite": []}
                )
                await apply_plan(
                    store, fallback, op_prefix=f"{op_prefix}merge-{_key(cluster)}/fallback/", step=step
                )
            return True

    async def rewrite(ids: Sequence[str]) -> None:
        async with limit:
            members = await _still_active(store, ids)
            if members:
                await session.run(members, merge=False, key=f"rewrite-{_key(ids)}")

    merged = sum(await asyncio.gather(*(merge(cluster) for cluster in plan.clusters)))
    in_clusters = {i for cluster in plan.clusters for i in cluster}
    verbose = [i for i in plan.rewrite if i not in in_clusters]
    versions = {e.id: e.version for e in await _still_active(store, verbose)}
    batches = [verbose[n : n + REWRITE_BATCH] for n in range(0, len(verbose), REWRITE_BATCH)]
    await asyncio.gather(*(rewrite(batch) for batch in batches))
    rewritten = 0
    for experience_id, version in versions.items():
        rewritten += (await store.get(experience_id)).version > version

    upkeep = await plan_compression(store, **options)
    upkeep = upkeep.model_copy(update={"clusters": [], "rewrite": []})
    await apply_plan(store, upkeep, op_prefix=f"{op_prefix}upkeep/", step=step)
    report = CompressionReport(
        step=0,
        merged=merged,
        rewritten=rewritten,
        pruned=len(upkeep.prune),
        evicted=len(upkeep.evict),
        library_size=await store.count(),
        operations=session.operations,
    )
    return report, session.usage, session.errors


async def compress(state: ItemState, runtime: Runtime[Context]) -> dict[str, Any]:
    """Compress the library after an item that left it over its cap."""
    prefix = state.get("op_prefix", f"item/{state['item']['id']}/")
    _, usage, errors = await compress_library(runtime.context, op_prefix=f"{prefix}compress/", step="item")
    return {"usage": usage, "errors": errors}
