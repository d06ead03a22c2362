"""One compression of the library: keep it small and clean.

1. A deterministic plan (``ted.memory.plan_compression``): candidate groups of similar experiences
   (embedding similarity at ``merge_threshold``, calibrated for the embedding model so that every
   paraphrase group of the calibration set is a candidate; see `ted.memory.compression`), verbose
   entries, low-utility entries with enough evidence, eviction over the cap. Groups the model kept
   apart before are not proposed again.
2. The compress model decides for each candidate group: it merges what says the same thing, deletes a
   member that contradicts another when the usage record it is shown says that member misled the
   students, and keeps the rest apart with a reason (``keep_apart``, journaled); a contradiction the
   records cannot settle yet is left undecided, so the group comes back once there is more evidence.
   It also rewrites the verbose entries,
   through the memory tools (or JSON operations) applied by `ted.graph.edits`. When the model decided
   to merge but its text was refused, or said nothing about a group whose every link is at or above
   ``duplicate_threshold`` (near-certain duplicates), the group is merged deterministically, keeping
   the text of its most useful member, so a misbehaving model cannot block compression; any other
   group the model left undecided stays as it is.
3. Pruning and the cap are applied without a model, on a fresh plan.
4. Review, on that fresh plan (so that what merges made is reviewed too): every remaining experience
   whose usage shows harm (a harmful vote, or more citations in wrong answers than in right ones;
   `ted.memory.models.shows_harm`) without the evidence to prune it yet, members of candidate groups
   included (groups are merged at the next compression, not in this one), is shown to the model with
   its usage record. The model corrects or deletes wrong advice, with the reason, and leaves advice
   that is right and whose misses had other causes; so advice that misled goes without waiting for
   five observations or for the rule it contradicts to be its neighbour.

`preview_merges` asks the model about every candidate group, `preview_reviews` about every
experience to review, and neither applies anything: a dry run.

The graphs call `compress_library` from their own nodes: the per-item graph's ``compress`` when an
item leaves the library over its cap, the dataset loop at the points of its learning curve where
compression is due, and when it finishes.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from langchain_core.messages import ToolCall

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
from ted.memory.compression import CompressionPlan
from ted.memory.editor import LabelBook
from ted.memory.errors import ToolInputError, UnknownLabel
from ted.memory.models import harm_record, shows_harm
from ted.memory.operations import DeleteOp, KeepApartOp, MergeOp, Operation, UpdateOp, parse_request
from ted.memory.tools import tool_schemas

# Verbose (or reviewed) experiences sent to the model per request, and requests made at once.
REWRITE_BATCH = 8
REVIEW_BATCH = 8
CONCURRENCY = 4

Mode = Literal["merge", "rewrite", "review"]
"""What a request asks of the model: merge one candidate group, rewrite verbose experiences, or review
experiences whose usage shows harm."""


def _key(ids: Sequence[str]) -> str:
    return hashlib.sha1("|".join(sorted(ids)).encode()).hexdigest()[:10]


Decision = Literal["merge", "keep apart", "merge some, keep some apart", "none"]
"""What the model decided about merging a group (deletions of contradicted members are apart)."""


@dataclass
class MergeDecision:
    """What the compress model decided about one candidate group (see `preview_merges`)."""

    ids: list[str]
    texts: list[str]
    similarity: str
    """The similarity range of the group's links, as the plan gives it."""
    decision: Decision = "none"
    merges: list[tuple[list[str], str]] = field(default_factory=list)
    """(labels, merged text) per merge the model asked for."""
    deletes: list[str] = field(default_factory=list)
    """Labels of the members the model deleted as contradicted."""
    reasons: list[str] = field(default_factory=list)


@dataclass
class ReviewDecision:
    """What the compress model decided about one experience whose usage shows harm (`preview_reviews`)."""

    id: str
    text: str
    record: str
    """Its usage, in words: citations in wrong and right answers, harmful votes."""
    decision: Literal["delete", "correct", "leave"] = "leave"
    correction: str | None = None
    """The corrected text, when the model corrected it."""
    reasons: list[str] = field(default_factory=list)


def _decide(requests: Sequence[Any]) -> tuple[Decision, list[tuple[list[str], str]], list[str]]:
    merges = [(list(r.labels), r.text) for r in requests if isinstance(r, MergeOp)]
    apart = [r for r in requests if isinstance(r, KeepApartOp)]
    reasons = [r.reason for r in requests if isinstance(r, MergeOp | KeepApartOp | DeleteOp) and r.reason]
    if merges and apart:
        return "merge some, keep some apart", merges, reasons
    if merges:
        return "merge", merges, reasons
    return ("keep apart" if apart else "none"), merges, reasons


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

    async def _reply(
        self, experiences: Sequence[Experience], *, mode: Mode
    ) -> tuple[list[Operation] | None, list[ToolCall]]:
        """The model's answer about ``experiences``, labelled E1, E2 ... in order.

        JSON operations in JSON mode, else tool calls.
        """
        lines = [(f"E{n}", e.text) for n, e in enumerate(experiences, start=1)]
        records = {f"E{n}": e.stats for n, e in enumerate(experiences, start=1)}
        messages = compress_messages(
            self.context,
            cluster=lines if mode == "merge" else (),
            verbose=lines if mode == "rewrite" else (),
            review=lines if mode == "review" else (),
            records=records if mode != "rewrite" else None,
            json_mode=self.json_mode,
        )
        chat = chat_model(self.context, "compress")
        if self.json_mode:
            answer = await ask_for_operations(
                chat, messages, spec=self.spec, stage="compress", item_id="library", retries=0
            )
            self.usage.extend(answer.usage)
            # A malformed answer is recorded; the fallback merge still compresses its cluster.
            self.errors.extend(answer.errors)
            return list(answer.operations or []), []
        schemas = tool_schemas(tool_names(COMPRESS_TOOLS), max_words=editor_word_limit(self.context))
        reply = await call(
            chat.bind_tools(list(schemas)), messages, spec=self.spec, stage="compress", item_id="library"
        )
        self.usage.extend(reply.usage)
        self.errors.extend(reply.errors)
        return None, list(reply.message.tool_calls) if reply.message is not None else []

    @staticmethod
    def _parsed(calls: Sequence[ToolCall]) -> list[Any]:
        requests = []
        for tool_call in calls:
            try:
                requests.append(parse_request(tool_call["name"], tool_call["args"], COMPRESS_TOOLS))
            except ToolInputError:
                continue
        return requests

    async def ask(self, experiences: Sequence[Experience], *, mode: Mode) -> list[Any]:
        """Ask the model about ``experiences`` and return the requests it made, parsed, unapplied."""
        operations, calls = await self._reply(experiences, mode=mode)
        return operations if operations is not None else self._parsed(calls)

    async def run(self, experiences: Sequence[Experience], *, mode: Mode, key: str) -> Decision:
        """Ask the model to merge ``experiences`` (one cluster), rewrite or review them; apply its edits.

        Returns what the model decided about the cluster (``none`` for a rewrite or a review).
        """
        merge = mode == "merge"
        labels = {f"E{n}": e.id for n, e in enumerate(experiences, start=1)}
        editor = compression_editor(
            self.context, self.store, labels, merge=merge, op_prefix=f"{self.op_prefix}{key}/", step=self.step
        )
        operations, calls = await self._reply(experiences, mode=mode)
        outcomes: list[Outcome]
        if operations is not None:
            decided = _decide(operations)[0]
            outcomes = await apply_planned(editor, plan_operations(operations), COMPRESS_TOOLS)
        else:
            decided = _decide(self._parsed(calls))[0]
            outcomes = await apply_tool_calls(editor, calls, COMPRESS_TOOLS)
        self.operations.extend(succeeded(outcomes))
        return decided if merge else "none"


async def _plan(store: ExperienceStore, context: Context) -> CompressionPlan:
    """The deterministic plan of a compression, with the context's thresholds and cap."""
    return await plan_compression(
        store,
        merge_threshold=context.merge_threshold,
        min_evidence=context.prune_min_evidence,
        max_utility=context.prune_max_utility,
        cap=context.library_cap,
        max_words=context.max_words,
    )


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
    plan = await _plan(store, context)
    session = _Session(context, store, op_prefix, step)
    limit = asyncio.Semaphore(CONCURRENCY)

    async def merge(cluster: Sequence[str]) -> tuple[Decision, bool, int] | None:
        async with limit:
            members = await _still_active(store, cluster)
            if len(members) < 2:
                return None
            decided = await session.run(members, mode="merge", key=f"merge-{_key(cluster)}")
            leftover = await _still_active(store, cluster)
            certain = plan.similarities.get(cluster[0], (0.0, 0.0))[0] >= context.duplicate_threshold
            if len(leftover) >= 2 and (decided == "merge" or (decided == "none" and certain)):
                # The model meant to merge them (or said nothing about sure duplicates): keep the most
                # useful member's text.
                fallback = plan.model_copy(
                    update={"clusters": [[e.id for e in leftover]], "prune": [], "evict": []}
                )
                await apply_plan(
                    store, fallback, op_prefix=f"{op_prefix}merge-{_key(cluster)}/fallback/", step=step
                )
            after = [(await store.get(e.id)).status for e in members]
            return decided, Status.SUPERSEDED in after, after.count(Status.DELETED)

    async def edit(ids: Sequence[str], mode: Mode) -> None:
        async with limit:
            members = await _still_active(store, ids)
            if members:
                await session.run(members, mode=mode, key=f"{mode}-{_key(ids)}")

    outcomes = [o for o in await asyncio.gather(*(merge(cluster) for cluster in plan.clusters)) if o]
    merged = sum(done for _, done, _ in outcomes)
    kept_apart = sum(d in ("keep apart", "merge some, keep some apart") for d, _, _ in outcomes)
    in_clusters = {i for cluster in plan.clusters for i in cluster}
    verbose = [i for i in plan.rewrite if i not in in_clusters]
    versions = {e.id: e.version for e in await _still_active(store, verbose)}
    batches = [verbose[n : n + REWRITE_BATCH] for n in range(0, len(verbose), REWRITE_BATCH)]
    await asyncio.gather(*(edit(batch, "rewrite") for batch in batches))
    rewritten = 0
    for experience_id, version in versions.items():
        rewritten += (await store.get(experience_id)).version > version

    upkeep = await _plan(store, context)
    await apply_plan(
        store, upkeep.model_copy(update={"clusters": []}), op_prefix=f"{op_prefix}upkeep/", step=step
    )
    review = await _to_review(store, upkeep.review, upkeep.clusters)
    before = {e.id: e.version for e in review}
    batches = [[e.id for e in review[n : n + REVIEW_BATCH]] for n in range(0, len(review), REVIEW_BATCH)]
    await asyncio.gather(*(edit(batch, "review") for batch in batches))
    after = [await store.get(experience_id) for experience_id in before]
    report = CompressionReport(
        step=0,
        merged=merged,
        rewritten=rewritten,
        pruned=len(upkeep.prune),
        evicted=len(upkeep.evict),
        library_size=await store.count(),
        operations=session.operations,
        kept_apart=kept_apart,
        contradicted=sum(deleted for _, _, deleted in outcomes),
        reviewed=len(review),
        review_deleted=sum(e.status is Status.DELETED for e in after),
        review_corrected=sum(e.status is Status.ACTIVE and e.version > before[e.id] for e in after),
    )
    return report, session.usage, session.errors


async def _to_review(
    store: ExperienceStore, review: Sequence[str], clusters: Sequence[Sequence[str]]
) -> list[Experience]:
    """The experiences to review: the plan's, and the members of its groups whose usage shows harm.

    The groups of the plan made after merging are not merged in this compression, so advice in them
    that misled is reviewed now rather than left for the next compression (there may be none).
    """
    grouped = [e for e in await _still_active(store, [i for c in clusters for i in c]) if shows_harm(e.stats)]
    return [*await _still_active(store, review), *grouped]


async def preview_merges(context: Context) -> tuple[list[MergeDecision], list[Usage], list[ErrorRecord]]:
    """A dry run of the merging part of compression: each candidate group and the model's decision.

    The plan is made as `compress_library` makes it; the compress model is asked about every
    candidate group; nothing is applied (no merge, no keep-apart record, no journal entry).
    """
    store = await open_library(context)
    plan = await _plan(store, context)
    session = _Session(context, store, "preview/", "preview")
    limit = asyncio.Semaphore(CONCURRENCY)

    async def one(cluster: Sequence[str]) -> MergeDecision:
        members = await _still_active(store, cluster)
        low, high = plan.similarities.get(cluster[0], (0.0, 0.0))
        decision = MergeDecision(
            ids=[e.id for e in members],
            texts=[e.text for e in members],
            similarity=f"{low:.2f} to {high:.2f}",
        )
        async with limit:
            requests = await session.ask(members, mode="merge")
        decision.decision, decision.merges, decision.reasons = _decide(requests)
        decision.deletes = [r.label for r in requests if isinstance(r, DeleteOp)]
        return decision

    decisions = list(await asyncio.gather(*(one(cluster) for cluster in plan.clusters)))
    return decisions, session.usage, session.errors


async def preview_reviews(context: Context) -> tuple[list[ReviewDecision], list[Usage], list[ErrorRecord]]:
    """A dry run of the review part of compression: what the model would do with each experience to review.

    It would delete, correct or leave each experience whose usage shows harm. The experiences are
    those of the plan `compress_library` starts from (before any merge); nothing is applied.
    """
    store = await open_library(context)
    plan = await _plan(store, context)
    review = await _still_active(store, plan.review)
    session = _Session(context, store, "preview/", "preview")
    limit = asyncio.Semaphore(CONCURRENCY)

    async def one(batch: Sequence[Experience]) -> list[ReviewDecision]:
        async with limit:
            requests = await session.ask(batch, mode="review")
        book = LabelBook.from_mapping({f"E{n}": str(n) for n in range(1, len(batch) + 1)})
        decisions = []
        for n, experience in enumerate(batch, start=1):
            decision = ReviewDecision(
                id=experience.id, text=experience.text, record=harm_record(experience.stats)
            )
            for request in requests:
                if not isinstance(request, DeleteOp | UpdateOp) or _label_of(book, request.label) != n:
                    continue
                if isinstance(request, DeleteOp):
                    decision.decision, decision.correction = "delete", None
                else:
                    decision.decision, decision.correction = "correct", request.text
                if request.reason:
                    decision.reasons.append(request.reason)
            decisions.append(decision)
        return decisions

    batches = [review[n : n + REVIEW_BATCH] for n in range(0, len(review), REVIEW_BATCH)]
    found = await asyncio.gather(*(one(batch) for batch in batches))
    return [d for batch in found for d in batch], session.usage, session.errors


def _label_of(book: LabelBook, label: str) -> int | None:
    """The position (from 1) a label the model wrote stands for, or None for a label it was not shown."""
    try:
        return int(book.resolve(label))
    except UnknownLabel:
        return None
