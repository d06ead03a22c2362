"""`ted experiences`: list, search, inspect, export, import, roll back, compress and repair a library."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ted.cli.library_options import library_options, location
from ted.cli.options import teacher_options
from ted.cli.output import console, fail, print_json, user_errors
from ted.memory.compression import UNCONFIRMED_MERGE_THRESHOLD

if TYPE_CHECKING:
    from ted.graph.compression import MergeDecision, ReviewDecision
    from ted.graph.state import CompressionReport, ErrorRecord
    from ted.memory import Experience, ExperienceStore
    from ted.memory.compression import CompressionPlan
    from ted.memory.models import JournalEntry, Refusal

T = TypeVar("T")
STATUSES = ("active", "superseded", "deleted", "all")


def _run(
    ctx: click.Context,
    body: Callable[[ExperienceStore], Awaitable[T]],
    *,
    create: bool = False,
    writes: bool = False,
) -> T:
    """Open the library, run ``body`` on it, close it; known errors become one line on stderr.

    A command that ``writes`` holds the library's writer lock throughout, so it never runs beside a
    distillation run or another curation command.
    """
    library, chroma_url = location(ctx)

    async def main() -> T:
        from ted.memory import ExperienceStore

        store = await ExperienceStore.aopen(library, create=create, chroma_url=chroma_url)
        try:
            return await body(store)
        finally:
            store.close()

    with user_errors(), _writer(library, ctx, writes=writes and (create or library.is_dir())):
        return asyncio.run(main())


def _writer(library: Path, ctx: click.Context, *, writes: bool) -> AbstractContextManager[object]:
    from ted.memory import WriterLock

    return WriterLock(library, f"`ted experiences {ctx.info_name}`") if writes else nullcontext()


def _short(experience_id: str) -> str:
    return experience_id[:8]


def _visible(text: str, limit: int | None = None) -> str:
    """Text safe to print: whitespace collapsed, invisible characters shown by code, markup escaped."""
    from rich.markup import escape

    from ted.prompts.framing import CONTROL

    shown = CONTROL.sub(lambda m: f"<U+{ord(m.group()):04X}>", " ".join(text.split()))
    if limit is not None and len(shown) > limit:
        shown = shown[: limit - 1] + "…"
    return escape(shown)


def _summary(experience: Experience) -> dict[str, Any]:
    from ted.memory.models import evidence, utility

    data = experience.model_dump(mode="json")
    data["utility"] = round(utility(experience.stats), 4)
    data["evidence"] = round(evidence(experience.stats), 4)
    return data


@click.group()
@library_options
def experiences() -> None:
    """Curate an experience library: list, search, inspect, export, import, roll back, compress, repair.

    --library and --chroma-url go before or after the subcommand's name.
    """


@experiences.command("list")
@library_options
@click.option("--status", type=click.Choice(STATUSES), default="active", show_default=True)
@click.option("--tag", "tags", multiple=True, help="Only experiences with one of these tags (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def list_command(ctx: click.Context, status: str, tags: tuple[str, ...], as_json: bool) -> None:
    """List the experiences, oldest first."""
    from ted.memory import Status
    from ted.memory.models import utility

    async def body(store: ExperienceStore) -> list[Experience]:
        found = await store.experiences(status=None if status == "all" else Status(status))
        wanted = {t.strip().lower() for t in tags}
        return [e for e in found if not wanted or wanted.intersection(e.tags)]

    found = _run(ctx, body)
    if as_json:
        print_json([_summary(e) for e in found])
        return
    from rich.table import Table

    table = Table(title=f"{len(found)} experiences ({status})")
    for column in ("id", "text", "tags", "utility", "v"):
        table.add_column(column, overflow="fold" if column == "text" else "ellipsis")
    for e in found:
        table.add_row(
            _short(e.id), _visible(e.text), ", ".join(e.tags), f"{utility(e.stats):.2f}", str(e.version)
        )
    console.print(table)


@experiences.command("show")
@library_options
@click.argument("experience_id")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def show_command(ctx: click.Context, experience_id: str, as_json: bool) -> None:
    """Show one experience (ID may be a unique prefix)."""

    async def body(store: ExperienceStore) -> Experience:
        return await store.get(await store.resolve_id(experience_id))

    experience = _run(ctx, body)
    data = _summary(experience)
    if as_json:
        print_json(data)
        return
    console.print(f"[bold]{_visible(experience.text)}[/bold]", highlight=False)
    for key in ("id", "status", "version", "tags", "utility", "evidence", "student_model", "superseded_by"):
        console.print(f"  {key}: {data[key]}", highlight=False)
    console.print(f"  stats: {experience.stats.model_dump()}", highlight=False)
    console.print(f"  provenance: {experience.provenance.model_dump(mode='json')}", highlight=False)
    console.print(f"  created: {experience.created_at:%Y-%m-%d %H:%M:%S} UTC", highlight=False)
    console.print(f"  updated: {experience.updated_at:%Y-%m-%d %H:%M:%S} UTC", highlight=False)


@experiences.command("search")
@library_options
@click.argument("query")
@click.option("--k", type=click.IntRange(1, 100), default=5, show_default=True, help="How many results.")
@click.option("--tag", "tags", multiple=True, help="Only experiences with one of these tags (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array of {id, text, score, ...}.")
@click.pass_context
def search_command(ctx: click.Context, query: str, k: int, tags: tuple[str, ...], as_json: bool) -> None:
    """Search the active experiences by meaning; score is the cosine similarity to QUERY."""
    from ted.memory.models import ScoredExperience, utility

    if not query.strip():
        fail("the search query is empty")

    async def body(store: ExperienceStore) -> list[ScoredExperience]:
        return await store.search(query, k=k, tags=[t.lower() for t in tags] or None)

    hits = _run(ctx, body)
    rows: list[dict[str, Any]] = [
        {
            "id": h.experience.id,
            "text": h.experience.text,
            "score": round(h.similarity, 6),
            "utility": round(utility(h.experience.stats), 4),
            "tags": h.experience.tags,
        }
        for h in hits
    ]
    if as_json:
        print_json(rows)
        return
    from rich.table import Table

    table = Table(title=f"{len(rows)} results for {query!r}")
    for column in ("score", "id", "text", "utility"):
        table.add_column(column, overflow="fold" if column == "text" else "ellipsis")
    for row in rows:
        table.add_row(
            f"{row['score']:.3f}", _short(row["id"]), _visible(row["text"]), f"{row['utility']:.2f}"
        )
    console.print(table)


def _change(entry: JournalEntry) -> str:
    before, after = entry.before, entry.after
    if before is None and after is not None:
        return after.text
    if after is None:
        return "removed"
    if before is None:
        return ""
    parts = []
    if before.text != after.text:
        parts.append(f"text: {before.text} -> {after.text}")
    if before.status != after.status:
        parts.append(f"status: {before.status.value} -> {after.status.value}")
    if before.tags != after.tags:
        parts.append(f"tags: {before.tags} -> {after.tags}")
    if before.stats != after.stats:
        delta = {k: v - getattr(before.stats, k) for k, v in after.stats.model_dump().items()}
        parts.append("stats: " + ", ".join(f"{k} +{v}" for k, v in delta.items() if v))
    if before.provenance != after.provenance and not parts:
        parts.append(f"sources: {after.provenance.source_items}")
    return "; ".join(parts)


def _refused_row(refusal: Refusal, experience_id: str) -> dict[str, Any]:
    """A refused write as a row of an experience's history."""
    return {
        "seq": None,
        "op_id": refusal.op_id,
        "kind": "refused",
        "experience_id": experience_id,
        "operation": refusal.kind,
        "reason": refusal.reason.value,
        "message": refusal.message,
        "text": refusal.text,
        "step": refusal.step,
        "at": refusal.at,
    }


async def _full_id(store: ExperienceStore, experience_id: str) -> str:
    from ted.memory.errors import ExperienceNotFound

    try:
        return await store.resolve_id(experience_id)
    except ExperienceNotFound:
        # A rollback may have removed it, or it was never stored (a refused import): its records remain.
        return experience_id


def _print_refusals(refusals: list[Refusal], experience_id: str | None) -> None:
    from rich.table import Table

    title = f"{len(refusals)} refused writes" + (f" of {experience_id}" if experience_id else "")
    table = Table(title=title)
    for column in ("op id", "kind", "targets", "reason", "text"):
        table.add_column(column, overflow="fold")
    for r in refusals:
        targets = ", ".join(_short(i) for i in r.experience_ids)
        table.add_row(_visible(r.op_id), r.kind, targets, r.reason.value, _visible(r.text, 80))
    console.print(table)


@experiences.command("history")
@library_options
@click.argument("experience_id", required=False)
@click.option(
    "--refused", is_flag=True, help="Only the writes refused for their text: of ID, or of the whole library."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def history_command(ctx: click.Context, experience_id: str | None, refused: bool, as_json: bool) -> None:
    """Every recorded change of one experience, and the writes to it that were refused (ID may be a prefix).

    With --refused, only the refused writes (op id, kind, targets, reason, text): of ID, or of the
    whole library when no ID is given.
    """
    if experience_id is None and not refused:
        fail("give an experience ID, or --refused to list every refused write")

    async def refusals(store: ExperienceStore) -> tuple[str | None, list[Refusal]]:
        full_id = None if experience_id is None else await _full_id(store, experience_id)
        return full_id, await store.refusals(full_id)

    if refused:
        full_id, found = _run(ctx, refusals)
        if as_json:
            print_json(found)
        else:
            _print_refusals(found, full_id)
        return

    from ted.memory.models import JournalEntry

    assert experience_id is not None
    timeline = _run(ctx, lambda store: store.timeline(experience_id))
    if as_json:
        print_json(
            [
                event if isinstance(event, JournalEntry) else _refused_row(event, timeline.experience_id)
                for event in timeline.events
            ]
        )
        return
    from rich.table import Table

    table = Table(title=f"history of {timeline.experience_id}")
    for column in ("version", "kind", "at", "step", "reason", "change"):
        table.add_column(column, overflow="fold")
    for event in timeline.events:
        when = f"{event.at:%Y-%m-%d %H:%M:%S}"
        if isinstance(event, JournalEntry):
            table.add_row(
                str(event.seq),
                event.kind,
                when,
                event.step or "",
                _visible(event.reason),
                _visible(_change(event)),
            )
        else:
            change = f"{event.kind} refused: {event.text}"
            table.add_row("", "refused", when, event.step or "", event.reason.value, _visible(change, 120))
    console.print(table)


@experiences.command("stats")
@library_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def stats_command(ctx: click.Context, as_json: bool) -> None:
    """Size, version, models and usage of the library."""
    stats = _run(ctx, lambda store: store.stats()).model_dump(mode="json")
    if stats["mean_utility"] is not None:
        stats["mean_utility"] = round(stats["mean_utility"], 4)
    if as_json:
        print_json(stats)
        return
    for key, value in stats.items():
        console.print(f"{key}: {value}", highlight=False)


@experiences.command("export")
@library_options
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--markdown", is_flag=True, help="Write readable Markdown instead of JSON.")
@click.option("--all", "include_inactive", is_flag=True, help="Include superseded and deleted experiences.")
@click.pass_context
def export_command(ctx: click.Context, file: Path, markdown: bool, include_inactive: bool) -> None:
    """Export the library to FILE (versioned JSON, or Markdown)."""
    from ted.memory import export_json
    from ted.memory.transfer import export_markdown

    if not file.parent.is_dir():
        fail(f"cannot write {file}: folder {file.parent} does not exist")
    writer = export_markdown if markdown else export_json
    count = _run(ctx, lambda store: writer(store, file, include_inactive=include_inactive))
    console.print(f"exported {count} experiences to {file}", highlight=False)


@experiences.command("import")
@library_options
@click.argument("file", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--embeddings",
    default=None,
    help="Embeddings: minilm (default for a new library), hash, hash-<dims> or openai:<model>.",
)
@click.pass_context
def import_command(ctx: click.Context, file: Path, embeddings: str | None) -> None:
    """Import a JSON export or a JSONL file ({"text": ...} per line) into the library, creating it if needed.

    The file is checked completely before anything is written. Experiences whose text the library
    refuses are left out and listed (see `ted experiences history --refused`).
    """
    from ted.memory import ExperienceStore, get_embeddings, import_file
    from ted.memory.transfer import ImportResult, read_import_file

    with user_errors():
        read_import_file(file)
    library, chroma_url = location(ctx)

    async def main() -> ImportResult:
        chosen = get_embeddings(embeddings) if embeddings else None
        store = await ExperienceStore.aopen(library, embeddings=chosen, chroma_url=chroma_url)
        try:
            await store.backup()
            return await import_file(store, file)
        finally:
            store.close()

    with user_errors(), _writer(library, ctx, writes=True):
        result = asyncio.run(main())
    refused = f", {len(result.refused)} refused" if result.refused else ""
    console.print(
        f"imported {len(result.imported)} experiences ({len(result.skipped)} already present{refused}) "
        f"into {library}",
        highlight=False,
    )
    for refusal in result.refused:
        console.print(
            f"  refused {_visible(', '.join(refusal.experience_ids))}: {refusal.reason.value}: "
            f"{_visible(refusal.message)}",
            highlight=False,
        )


@experiences.command("rollback")
@library_options
@click.argument("version", type=click.IntRange(min=0))
@click.pass_context
def rollback_command(ctx: click.Context, version: int) -> None:
    """Bring the library back to its state at VERSION (the rollback is journaled, so it can be undone)."""

    async def body(store: ExperienceStore) -> int:
        await store.rollback(version, reason=f"ted experiences rollback {version}")
        return store.version

    now = _run(ctx, body, writes=True)
    console.print(f"rolled back to the state of version {version}; the library is now at version {now}")


@experiences.command("compress")
@library_options
@click.option("--dry-run", is_flag=True, help="Only show what would be done; change nothing.")
@click.option(
    "--with-model",
    is_flag=True,
    help="Let the compress model decide each candidate group (merge, keep apart, delete a member that "
    "contradicts another and misled), review the experiences whose usage shows harm (correct, delete or "
    "leave them) and rewrite verbose entries; with --dry-run, show every decision.",
)
@teacher_options
@click.option(
    "--merge-threshold",
    type=click.FloatRange(0, 1),
    default=None,
    help="Similarity at which experiences become merge candidates. Without a model they are merged "
    "directly, so the default is a safe 0.8; with --with-model it is TED_MERGE_THRESHOLD (0.55, "
    "calibrated for MiniLM).",
)
@click.option("--min-evidence", type=click.IntRange(min=0), default=5, show_default=True)
@click.option("--max-utility", type=click.FloatRange(0, 1), default=0.25, show_default=True)
@click.option("--cap", type=click.IntRange(min=1), default=None, help="Most active experiences to keep.")
@click.option("--max-words", type=click.IntRange(min=5), default=40, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def compress_command(
    ctx: click.Context,
    /,
    dry_run: bool,
    with_model: bool,
    merge_threshold: float | None,
    min_evidence: int,
    max_utility: float,
    cap: int | None,
    max_words: int,
    as_json: bool,
    **endpoint: Any,
) -> None:
    """Merge near-duplicates, prune proven low-utility experiences and enforce a cap.

    Without a model, each merged cluster keeps the text of its most useful member; verbose entries and
    experiences whose usage shows harm (a harmful vote, or more citations in wrong answers than right
    ones) are only listed. With --with-model, the compress model (the teacher's endpoint unless
    TED_COMPRESS_BASE_URL says otherwise) decides, as a distillation run's compression does: it also
    rewrites the verbose entries and corrects, deletes or leaves each experience to review.
    """
    if with_model:
        settings = {
            "merge_threshold": merge_threshold,
            "prune_min_evidence": min_evidence,
            "prune_max_utility": max_utility,
            "library_cap": cap,
            "max_words": max_words,
        }
        _compress_with_model(ctx, {**endpoint, **settings}, dry_run=dry_run, as_json=as_json)
        return
    _compress_without_model(
        ctx,
        dry_run=dry_run,
        merge_threshold=UNCONFIRMED_MERGE_THRESHOLD if merge_threshold is None else merge_threshold,
        min_evidence=min_evidence,
        max_utility=max_utility,
        cap=cap,
        max_words=max_words,
        as_json=as_json,
    )


def _compress_with_model(
    ctx: click.Context, options: dict[str, Any], *, dry_run: bool, as_json: bool
) -> None:
    from ted.cli.options import build_context, require_endpoints
    from ted.graph import close_libraries, compress_library, open_library
    from ted.graph.compression import preview_merges, preview_reviews

    library, chroma_url = location(ctx)
    if not library.is_dir():
        fail(f"no library at {library}")

    async def preview() -> tuple[list[MergeDecision], list[ReviewDecision], list[ErrorRecord]]:
        try:
            decisions, _, errors = await preview_merges(context)
            reviews, _, review_errors = await preview_reviews(context)
            return decisions, reviews, errors + review_errors
        finally:
            close_libraries()

    async def compress() -> tuple[CompressionReport, list[ErrorRecord]]:
        try:
            await (await open_library(context)).backup()
            report, _, errors = await compress_library(
                context, op_prefix=f"cli-{uuid.uuid4().hex[:12]}/", step="ted experiences compress"
            )
            return report, errors
        finally:
            close_libraries()

    with user_errors():
        context = build_context(library, {**options, "chroma_url": chroma_url})
        require_endpoints(context, ["compress"])
        if dry_run:
            decisions, reviews, errors = asyncio.run(preview())
        else:
            with _writer(library, ctx, writes=True):
                report, errors = asyncio.run(compress())
    if dry_run:
        if as_json:
            print_json(
                {
                    "decisions": [asdict(d) for d in decisions],
                    "reviews": [asdict(r) for r in reviews],
                    "errors": errors,
                }
            )
            return
        _show_decisions(decisions, context.merge_threshold)
        _show_reviews(reviews)
    else:
        if as_json:
            print_json({"report": report, "errors": errors})
            return
        console.print(
            f"{report['merged']} groups merged, {report.get('kept_apart', 0)} kept apart, "
            f"{report.get('contradicted', 0)} contradicted experiences deleted, "
            f"{report.get('reviewed', 0)} reviewed for harm ({report.get('review_deleted', 0)} deleted, "
            f"{report.get('review_corrected', 0)} corrected), "
            f"{report['rewritten']} rewritten, {report['pruned']} pruned, {report['evicted']} evicted; "
            f"{report['library_size']} active",
            highlight=False,
        )
    for error in errors[:3]:
        console.print(f"[yellow]error[/yellow] {_visible(error['stage'])}: {_visible(error['message'], 200)}")
    if len(errors) > 3:
        console.print(f"... and {len(errors) - 3} more errors")


def _show_decisions(decisions: list[MergeDecision], threshold: float) -> None:
    console.print(
        f"{len(decisions)} candidate groups at similarity {threshold:.2f}; nothing was changed",
        highlight=False,
    )
    for n, decision in enumerate(decisions, start=1):
        console.print(f"\n{n}. similarity {decision.similarity}: {decision.decision}", highlight=False)
        for n, (experience_id, text) in enumerate(zip(decision.ids, decision.texts, strict=True), start=1):
            console.print(f"   E{n} {_short(experience_id)}: {_visible(text, 160)}", highlight=False)
        for labels, text in decision.merges:
            console.print(f"   merge {', '.join(labels)} into: {_visible(text, 160)}", highlight=False)
        for deleted in decision.deletes:
            console.print(f"   delete {deleted}", highlight=False)
        for reason in decision.reasons:
            console.print(f"   reason: {_visible(reason, 200)}", highlight=False)


def _show_reviews(reviews: list[ReviewDecision]) -> None:
    console.print(f"\n{len(reviews)} experiences to review, their usage shows harm", highlight=False)
    for n, review in enumerate(reviews, start=1):
        console.print(f"\n{n}. {_short(review.id)} ({review.record}): {review.decision}", highlight=False)
        console.print(f"   {_visible(review.text, 160)}", highlight=False)
        if review.correction is not None:
            console.print(f"   correct to: {_visible(review.correction, 160)}", highlight=False)
        for reason in review.reasons:
            console.print(f"   reason: {_visible(reason, 200)}", highlight=False)


def _compress_without_model(
    ctx: click.Context,
    *,
    dry_run: bool,
    merge_threshold: float,
    min_evidence: float,
    max_utility: float,
    cap: int | None,
    max_words: int,
    as_json: bool,
) -> None:
    from ted.memory import apply_plan, plan_compression
    from ted.memory.compression import CompressionResult

    async def body(store: ExperienceStore) -> tuple[CompressionPlan, CompressionResult | None]:
        plan = await plan_compression(
            store,
            merge_threshold=merge_threshold,
            min_evidence=min_evidence,
            max_utility=max_utility,
            cap=cap,
            max_words=max_words,
        )
        if dry_run:
            return plan, None
        await store.backup()
        return plan, await apply_plan(store, plan, step="ted experiences compress")

    plan, result = _run(ctx, body, writes=not dry_run)
    if as_json:
        data = plan.model_dump(mode="json")
        if result is not None:
            data["result"] = result.model_dump(mode="json")
        print_json(data)
        return
    console.print(
        f"plan at version {plan.version}: {len(plan.clusters)} clusters to merge, "
        f"{len(plan.prune)} to prune, {len(plan.evict)} to evict, {len(plan.review)} to review "
        f"(a model decides), {len(plan.rewrite)} verbose",
        highlight=False,
    )
    for n, cluster in enumerate(plan.clusters):
        console.print(
            f"  merge {n}: {', '.join(_short(i) for i in cluster)}  ({plan.reasons.get(cluster[0], '')})"
        )
    shown = (("prune", plan.prune), ("evict", plan.evict), ("review", plan.review), ("rewrite", plan.rewrite))
    for label, ids in shown:
        for i in ids:
            console.print(f"  {label} {_short(i)}: {plan.reasons.get(i, '')}", highlight=False)
    if result is not None:
        console.print(
            f"applied: {len(result.merged)} merged, {len(result.pruned)} pruned, "
            f"{len(result.evicted)} evicted",
            highlight=False,
        )


@experiences.command("repair")
@library_options
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def repair_command(ctx: click.Context, as_json: bool) -> None:
    """Restore a damaged journal from the last good backup (in backups/) and rebuild the index.

    The damaged journal is kept beside the restored one. A healthy library is left as it is (a
    damaged index is rebuilt whenever the library is opened).
    """
    from ted.memory import repair_library

    library, chroma_url = location(ctx)
    with user_errors(), _writer(library, ctx, writes=library.is_dir()):
        result = asyncio.run(repair_library(library, chroma_url=chroma_url))
    if as_json:
        print_json(result)
        return
    if result.restored_from is None:
        index = f"; its index was damaged: {result.index_rebuilt}" if result.index_rebuilt else ""
        console.print(
            f"the journal of {result.library} is healthy; nothing to restore{index}", highlight=False
        )
        return
    lost = "unknown" if result.lost_operations is None else str(result.lost_operations)
    console.print(
        f"the journal was damaged ({result.journal_damage}); restored it from the backup of "
        f"{result.restored_from.at:%Y-%m-%d %H:%M:%S} UTC (version {result.restored_from.version}): "
        f"{result.experiences} active experiences, operations lost since the backup: {lost}",
        highlight=False,
    )
    if result.damaged_journal is not None:
        console.print(f"  the damaged journal is kept as {result.damaged_journal}", highlight=False)
    console.print(f"  index: {result.index_rebuilt}", highlight=False)
