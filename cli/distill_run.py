"""Running one distillation job for the command line: preflight, the resumable run, the record, the report.

`execute` is shared by `ted distill` and `ted demo`. The run record is saved before the first item
and after the last; an interruption (Ctrl-C) or a fatal model error marks it, so ``--resume`` knows
what to continue. Checkpoints are written synchronously at every step, so nothing learned is lost.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.markup import escape

from ted.cli.costs import PriceTable, cost_report
from ted.cli.errors import CliError
from ted.cli.output import err_console
from ted.cli.progress import DistillProgress
from ted.cli.runs import RunRecord, RunStatus, as_output, checkpointed_state, now, runs_dir, save_run
from ted.cli.splits import load_split
from ted.cli.summaries import CategoryTraining, DatasetInfo, DistillSummary, LibraryInfo

if TYPE_CHECKING:
    from ted.graph import Context
    from ted.graph.context import Role
    from ted.graph.state import DistillOutput, ItemResult
    from ted.memory import ExperienceStore
    from ted.tasks import Item

SHOWN_ERRORS = 10
# Settings a distillation report lists (the rest is in summary.json's record of the run).
REPORTED_SETTINGS = (
    "rollouts",
    "student_temperature",
    "teacher_temperature",
    "reflect_on",
    "max_new_experiences",
    "tool_mode",
    "k",
    "token_budget",
    "compress_every",
    "library_cap",
    "duplicate_threshold",
    "merge_threshold",
    "embeddings",
)


class RunInterrupted(CliError):
    """The user interrupted a run; it can be resumed."""


@dataclass
class DistillJob:
    """A run to start or resume."""

    record: RunRecord
    context: Context
    library: Path
    prices: PriceTable
    items: list[Item] | None = None
    """The training items of a new run; None when resuming (they are checkpointed)."""
    preflight: bool = True
    simulated: bool | None = None
    """Known in advance (the demo); otherwise the preflight tells."""
    live: bool | None = None
    """Progress bar (True) or lines (False); None: a bar on a terminal."""


def resume_hint(job: DistillJob) -> str:
    """The command that continues the job's run."""
    return f"ted distill --library {job.library} --resume"


async def _check(job: DistillJob) -> None:
    from ted.graph.preflight import preflight

    checked = await preflight(job.context)
    if checked.context.tool_mode != job.context.tool_mode:
        err_console.print(
            "[yellow]note:[/] the teacher's endpoint has no tool calling; using JSON operations"
        )
    for report in checked.reports:
        for note in report.notes:
            err_console.print(
                f"[yellow]note:[/] {escape(f'{report.role} {report.model}: {note}')}", highlight=False
            )
    job.context = checked.context
    if job.simulated is None:
        job.simulated = checked.simulated


def _categories(results: list[ItemResult]) -> list[CategoryTraining]:
    grouped: dict[str, list[ItemResult]] = defaultdict(list)
    for result in results:
        grouped[result["category"] or "(none)"].append(result)
    rows = []
    for category, group in sorted(grouped.items()):
        attempts = sum(r["graded"] for r in group)
        correct = sum(r["correct"] for r in group)
        rows.append(
            CategoryTraining(
                category=category,
                items=len({r["item_id"] for r in group}),
                attempts=attempts,
                correct=correct,
                accuracy=correct / attempts if attempts else None,
            )
        )
    return rows


async def _embedded_tokens(
    store: ExperienceStore, items: list[dict[str, Any]], runs: int, since: datetime
) -> int:
    """Estimated tokens embedded: each item's query once per epoch, and each experience text written."""
    from ted.graph.nodes.retrieve import query_text
    from ted.memory import estimate_tokens
    from ted.tasks import Item

    queries = sum(estimate_tokens(query_text(Item.model_validate(item))) for item in items) * runs
    written = [e for e in await store.list(status=None) if e.created_at >= since or e.updated_at >= since]
    return queries + sum(estimate_tokens(e.text) for e in written)


async def summarize(job: DistillJob, output: DistillOutput, items: list[dict[str, Any]]) -> DistillSummary:
    """The summary of a finished run."""
    from ted.cli.options import model_infos
    from ted.graph import open_library

    record, context = job.record, job.context
    store = await open_library(context)
    results = list(output["results"])
    graded = sum(r["graded"] for r in results)
    correct = sum(r["correct"] for r in results)
    teacher = [r["teacher_correct"] for r in results if r["teacher_correct"] is not None]
    embedded = await _embedded_tokens(store, items, record.epochs, record.started)
    errors = [dict(e) for e in output["errors"]]
    roles: list[Role] = ["student", "teacher"]
    if context.compress_model:
        roles.append("compress")
    return DistillSummary(
        run_id=record.run_id,
        status=record.status,
        simulated=bool(job.simulated),
        started=record.started,
        finished=record.finished,
        seconds=record.seconds,
        attempts=record.attempts,
        models=model_infos(context, roles),
        dataset=load_info(record),
        library=await LibraryInfo.of(store),
        settings={
            "epochs": record.epochs,
            "batch_size": record.batch_size,
            **{name: getattr(context, name) for name in REPORTED_SETTINGS},
        },
        items_done=len(results),
        trajectories=sum(r["rollouts"] for r in results),
        correct=correct,
        accuracy=correct / graded if graded else None,
        teacher_accuracy=sum(teacher) / len(teacher) if teacher else None,
        categories=_categories(results),
        curve=[dict(p) for p in output["progress"]],
        compressions=[dict(c) for c in output["compressions"]],
        costs=cost_report(
            output["usage"], job.prices, embedding_model=store.embedding_model, embedding_tokens=embedded
        ),
        error_counts=dict(Counter(f"{e['stage']}: {e['kind']}" for e in errors)),
        errors=errors[:SHOWN_ERRORS],
        report_dir=record.report_dir or str(job.library / "reports" / record.run_id),
    )


def load_info(record: RunRecord) -> DatasetInfo:
    """The dataset block of a report, from the run record (the dataset is not read again)."""
    choice = record.dataset
    return DatasetInfo(
        path=choice.path,
        format=choice.format,
        split=choice.split,
        limit=choice.limit,
        items=record.items,
        train_size=choice.train_size,
        seed=choice.seed,
        train_items=len(record.train_ids),
        test_items=record.items - len(record.train_ids),
    )


async def _training_items(job: DistillJob, values: dict[str, Any] | None) -> list[Item] | None:
    """Items to pass to `distill`: none when the checkpoints already hold the run."""
    if values:
        return None
    if job.items is not None:
        return job.items
    # A run interrupted before its first checkpoint: read its items again.
    split = await asyncio.to_thread(load_split, job.record.dataset)
    wanted = set(job.record.train_ids)
    return [item for item in split.items if item.id in wanted]


async def _run(job: DistillJob, clock: float) -> DistillSummary:
    from ted.graph import open_library
    from ted.graph.runs import distill

    if job.preflight:
        await _check(job)
    await open_library(job.context)  # creates the library folder before the run record goes in it
    record = job.record
    record.status, record.updated, record.error = "running", now(), None
    record.simulated = bool(job.simulated)
    record.context = {**record.context, "tool_mode": job.context.tool_mode}
    save_run(job.library, record)

    values = await checkpointed_state(record.run_id, job.context)
    items = await _training_items(job, values)
    batches = math.ceil(len(record.train_ids) / record.batch_size) * record.epochs
    initial = as_output(record.run_id, values) if values else None
    with DistillProgress(
        total_items=len(record.train_ids) * record.epochs,
        total_batches=batches,
        prices=job.prices,
        initial=initial,
        live=job.live,
    ) as progress:
        output = await distill(
            items,
            job.context,
            run_id=record.run_id,
            epochs=record.epochs,
            batch_size=record.batch_size,
            seed=record.dataset.seed,
            on_event=progress.on_event,
        )
    final = await checkpointed_state(record.run_id, job.context) or {}
    record.status, record.finished = "finished", now()
    record.updated = record.finished
    record.seconds += time.monotonic() - clock
    save_run(job.library, record)
    return await summarize(job, output, final.get("items", []))


def execute(job: DistillJob) -> DistillSummary:
    """Run (or resume) the job to the end and return its summary; the report is the caller's.

    Raises:
        RunInterrupted: Ctrl-C; the record says so and the run can be resumed.
        CliError: A fatal model error stopped the run (the message says how to resume).
    """
    from ted.graph import TedGraphError, close_libraries

    clock = time.monotonic()
    try:
        return asyncio.run(_run(job, clock))
    except KeyboardInterrupt:
        _stop(job, "interrupted", "interrupted by the user", clock)
        raise RunInterrupted(
            f"interrupted; run {job.record.run_id} stopped and nothing learned is lost: continue it with "
            f"`{resume_hint(job)}`"
        ) from None
    except TedGraphError as exc:
        if not _record_path(job).exists():
            raise  # the preflight of a new run failed: there is nothing to resume
        _stop(job, "failed", str(exc), clock)
        raise CliError(
            f"{exc}; run {job.record.run_id} stopped: fix this, then continue it with `{resume_hint(job)}`"
        ) from exc
    finally:
        close_libraries()


def _record_path(job: DistillJob) -> Path:
    return runs_dir(job.library) / f"{job.record.run_id}.json"


def _stop(job: DistillJob, status: RunStatus, error: str | None, clock: float) -> None:
    record = job.record
    if not _record_path(job).exists():
        return  # it never started
    record.status = status
    record.error = error
    record.updated = now()
    record.seconds += time.monotonic() - clock
    save_run(job.library, record)
