"""One compression of the library: keep it small and clean.

1. A deterministic plan (``ted.memory.plan_compression``): clusters of near-duplicates by embedding
   similarity, verbose entries, low-utility entries with enough evidence, eviction over the cap.
2. The compress model merges each cluster and rewrites the verbose entries through the memory tools
   (or JSON operations), applied by `ted.graph.edits`. A cluster the model leaves unmerged is merged
   deterministically, keeping the text of its most useful member, so a misbehaving model cannot block
   compression.
3. Pruning and the cap are applied without a model, on a fresh plan.

The graphs call `compress_library` from their own nodes: the per-item graph's ``compress`` when an
item leaves the library over its cap, the dataset loop between batches and when it finishes.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from typing import Any

from ted.graph.calling import call
from ted.graph.context import Context
from ted.graph.editors import compression_editor, editor_word_limit
from ted.graph.edits import (
    COMPRESS_TOOLS,
    Outcome,
    apply_planned,
    apply_tool_calls,
    plan_operations,
    succeeded,
    tool_names,
)
from ted.graph.json_mode import ask_for_operations, uses_json
from ted.graph.library import open_library
from ted.graph.models import chat_model, model_spec
from ted.graph.prompting import compress_messages
from ted.graph.state import CompressionReport, ErrorRecord, Usage
from ted.memory import Experience, ExperienceStore, Status, apply_plan, plan_compression
from ted.memory.tools import tool_schemas

# Verbose experiences sent to the model per request, and clusters handled at once.
REWRITE_BATCH = 8
CONCURRENCY = 4


def _key(ids: Sequence[str]) -> str:
    return hashlib.sha1("|".join(sorted(ids)).encode()).hexdigest()[:10]


class _Session:
    """The model's requests of one compression, and what they cost and did."""

    def __init__(self, context: Context, store: ExperienceStore, op_prefix: str, step: str) -> None:
        self.context = context
        self.store = store
        self.op_prefix = op_prefix
        self.step = step
        self.spec = model_spec(context, "compress")
        self.json_mode = uses_json(context, self.spec)
        self.usage: list[Usage] = []
        self.errors: list[ErrorRecord] = []
        self.operations: list[str] = []

    async def run(self, experiences: Sequence[Experience], *, merge: bool, key: str) -> None:
        """Ask the model to merge ``experiences`` (one cluster) or to rewrite them, and apply its edits."""
        labels = {f"E{n}": e.id for n, e in enumerate(experiences, start=1)}
        lines = [(label, e.text) for label, e in zip(labels, experiences, strict=True)]
        editor = compression_editor(
            self.context, self.store, labels, merge=merge, op_prefix=f"{self.op_prefix}{key}/", step=self.step
        )
        messages = compress_messages(
            self.context,
            cluster=lines if merge else (),
            verbose=() if merge else lines,
            json_mode=self.json_mode,
        )
        chat = chat_model(self.context, "compress")
        outcomes: list[Outcome]
        if self.json_mode:
            answer = await ask_for_operations(
                chat, messages, spec=self.spec, stage="compress", item_id="library", retries=0
            )
            self.usage.extend(answer.usage)
            # A malformed answer is recorded; the fallback merge still compresses its cluster.
            self.errors.extend(answer.errors)
            outcomes = await apply_planned(editor, plan_operations(answer.operations or []), COMPRESS_TOOLS)
        else:
            schemas = tool_schemas(tool_names(COMPRESS_TOOLS), max_words=editor_word_limit(self.context))
            reply = await call(
                chat.bind_tools(list(schemas)), messages, spec=self.spec, stage="compress", item_id="library"
            )
            self.usage.extend(reply.usage)
            self.errors.extend(reply.errors)
            calls = reply.message.tool_calls if reply.message is not None else []
            outcomes = await apply_tool_calls(editor, calls, COMPRESS_TOOLS)
        self.operations.extend(succeeded(outcomes))


async def _still_active(store: ExperienceStore, ids: Sequence[str]) -> list[Experience]:
    experiences = [await store.get(i) for i in ids]
    return [e for e in experiences if e.status == Status.ACTIVE]


async def compress_library(
    context: Context, *, op_prefix: str, step: str
) -> tuple[CompressionReport, list[Usage], list[ErrorRecord]]:
    """Run one compression of the context's library; see the module docstring.

    Args:
        context: The run's settings: the library, the compress model, thresholds and the cap.
        op_prefix: Prefix of every library operation id, unique per compression of a run.
        step: The run step, recorded in the journal.

    Returns:
        What the compression did (its ``step`` left 0 for the caller to set), the token usage of
        the compress model, and the failures recorded instead of stopping.
    """
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
                    update={"clusters": [[e.id for e in leftover]], "prune": [], "evict": []}
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
    upkeep = upkeep.model_copy(update={"clusters": []})
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
