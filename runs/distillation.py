"""Distillation runs: the dataset loop over a training split, checkpointed, recorded and resumable.

A run is a LangGraph thread named by its run id in the library's checkpoint database
(``runs.sqlite``), plus a run record (``runs/<run_id>.json``) with the dataset, the split and the
settings. Running a run whose thread already has unfinished checkpoints resumes it: the graph
continues from the last saved step, so items finished before an interruption are not sent to a model
again, and the journal's operation ids keep every library operation to exactly one application. The
journal is backed up (`ExperienceStore.backup`) when a run starts and when it finishes.

Example:
    >>> run = await DistillRun.start(DatasetSplit.of("puzzles", train_size=12), Context(library="lib"))
    >>> result = await run.run()  # doctest: +SKIP
    >>> result.write_report()  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ted.graph import Context, TedGraphError, open_library
from ted.graph.context import Role
from ted.graph.schedule import Schedule, point_count
from ted.graph.state import DistillOutput, ItemResult
from ted.runs.checkpoints import EventHandler, as_output, checkpointed_state, run_graph
from ted.runs.costs import PriceTable, cost_report
from ted.runs.datasets import DatasetSplit
from ted.runs.errors import RunRecordError, RunStopped
from ted.runs.records import (
    RunRecord,
    RunStatus,
    all_runs,
    context_settings,
    find_run,
    latest_unfinished,
    new_run_id,
    now,
    resumed_context,
    runs_dir,
    save_run,
)
from ted.runs.results import CategoryTraining, DatasetInfo, DistillResult, LibraryInfo, ModelInfo
from ted.tasks import Item

if TYPE_CHECKING:
    from ted.memory import ExperienceStore

# Called with each passing problem an endpoint check found (a warning for the user).
NoteHandler = Callable[[str], None]

SHOWN_ERRORS = 10
# Settings a distillation report lists (the rest is in summary.json's record of the run).
REPORTED_SETTINGS = (
    "scoring",
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


def roles(context: Context) -> list[Role]:
    """The roles a distillation calls: the student, the teacher, and a separate compress model if set."""
    wanted: list[Role] = ["student", "teacher"]
    if context.compress_model:
        wanted.append("compress")
    return wanted


@dataclass
class DistillRun:
    """A distillation run to start or to resume; `run` takes it to the end.

    Make one with `DistillRun.start` (a new run) or `DistillRun.resume` (an unfinished one).
    """

    record: RunRecord
    context: Context
    items: list[Item] | None = None
    """The training items of a new run; None when resuming (they are checkpointed)."""
    prices: PriceTable = field(default_factory=PriceTable)
    preflight: bool = True
    """Check the endpoints before the first item (a wrong setting fails in seconds)."""
    simulated: bool | None = None
    """Whether the models are the simulated endpoint; None: the preflight tells."""

    @property
    def library(self) -> Path:
        """The library folder."""
        return self.context.library_folder()

    @property
    def total_items(self) -> int:
        """Item runs over all epochs."""
        return len(self.record.train_ids) * self.record.epochs

    @property
    def total_batches(self) -> int:
        """Points of the learning curve over all epochs (one per ``batch_size`` items finished)."""
        record = self.record
        return point_count(len(record.train_ids), record.epochs, record.batch_size, record.schedule)

    @classmethod
    async def start(
        cls,
        data: DatasetSplit | Sequence[Item],
        context: Context,
        *,
        epochs: int = 1,
        batch_size: int = 8,
        window: int | None = None,
        schedule: Schedule = "stream",
        seed: int = 0,
        prices: PriceTable | None = None,
        preflight: bool = True,
        report_dir: str | Path | None = None,
    ) -> DistillRun:
        """A new run on the train part of ``data`` (or on the items given).

        Args:
            data: A dataset and its split (`DatasetSplit`), or the training items themselves.
            context: Models, library and settings.
            epochs: Passes over the items.
            batch_size: Items per point of the learning curve; compression is considered at each point.
            window: Items in flight at most; a new one starts as soon as one finishes (default:
                ``batch_size``).
            schedule: ``stream`` (default), or ``batches`` to run batch after batch, each waiting for
                its slowest item (the schedule of earlier versions; see `ted.graph.schedule`).
            seed: Seed of the item order in epochs after the first (the split's seed for a dataset).
            prices: Prices per model, for the costs (default: none).
            preflight: Check the endpoints before the first item.
            report_dir: Where the report goes (default: ``<library>/reports/<run_id>``).

        Raises:
            DatasetError: The dataset cannot be read or split.
        """
        if isinstance(data, DatasetSplit):
            split = await asyncio.to_thread(data.load)
            items, choice, total, seed = split.train, data, len(split.items), data.seed
        else:
            items, choice, total = list(data), None, len(data)
        run_id = new_run_id()
        started = now()
        library = context.library_folder()
        record = RunRecord(
            run_id=run_id,
            status="running",
            started=started,
            updated=started,
            dataset=choice,
            items=total,
            train_ids=[item.id for item in items],
            epochs=epochs,
            batch_size=batch_size,
            window=window,
            schedule=schedule,
            seed=seed,
            context=context_settings(context),
            prices=(prices or PriceTable()).source,
            report_dir=str(report_dir or library / "reports" / run_id),
        )
        return cls(
            record=record, context=context, items=items, prices=prices or PriceTable(), preflight=preflight
        )

    @classmethod
    async def resume(
        cls,
        library: str | Path,
        *,
        run_id: str | None = None,
        endpoints: Mapping[str, Any] | None = None,
        prices: PriceTable | None = None,
        preflight: bool = True,
        report_dir: str | Path | None = None,
    ) -> DistillRun:
        """The library's latest unfinished run (or ``run_id``), with its recorded settings.

        Args:
            library: The library folder.
            run_id: The run to continue (default: the latest unfinished one).
            endpoints: New values of `ENDPOINT_SETTINGS` (servers move, keys rotate); nothing else of a
                run may change.
            prices: Prices per model, for the costs.
            preflight: Check the endpoints before continuing.
            report_dir: Where the report goes (default: the recorded place).

        Raises:
            RunRecordError: No such run, it is finished, or ``endpoints`` holds another setting.
        """
        folder, record = await asyncio.to_thread(_recorded_run, library, run_id)
        if not record.unfinished:
            raise RunRecordError(f"run {record.run_id} of {folder} is finished; there is nothing to resume")
        context, changes = resumed_context(
            record.context,
            endpoints,
            folder,
            refusal="a resumed run keeps its recorded settings; only where its models are served may change",
        )
        record.attempts += 1
        record.context = {**record.context, **changes, "library": str(folder)}
        if report_dir is not None:
            record.report_dir = str(report_dir)
        return cls(
            record=record,
            context=context,
            prices=prices or PriceTable(),
            preflight=preflight,
            simulated=record.simulated or None,
        )

    async def checkpointed(self) -> DistillOutput | None:
        """What the checkpoints of this run hold so far (None before its first step)."""
        values = await checkpointed_state(self.record.run_id, self.library)
        return as_output(self.record.run_id, values) if values else None

    async def run(
        self, *, on_event: EventHandler | None = None, on_note: NoteHandler | None = None
    ) -> DistillResult:
        """Run to the end (or resume) and return the result; the report is written by `write_report`.

        Args:
            on_event: Called with every step of the graph (progress displays).
            on_note: Called with each passing problem the endpoint check found.

        Raises:
            LibraryBusy: Another run (in any process) is writing the library; nothing was changed.
            RunStopped: Interrupted (Ctrl-C, cancelled) or stopped by a fatal model error; the record
                says so and `resume` continues the run.
            ConfigurationError, ModelCallError: The endpoint check of a new run failed; nothing was
                recorded.
        """
        from ted.memory.lock import WriterLock

        # Before anything is sent or recorded: a second process on this run (or library) stops here.
        lock = WriterLock(self.library, f"run {self.record.run_id}").acquire()
        clock = time.monotonic()
        try:
            return await self._run(clock, on_event, on_note)
        except (KeyboardInterrupt, asyncio.CancelledError):
            self._stop("interrupted", "interrupted by the user", clock)
            raise RunStopped(
                f"interrupted; run {self.record.run_id} stopped and nothing learned is lost",
                run_id=self.record.run_id,
                library=str(self.library),
                reason="interrupted",
            ) from None
        except TedGraphError as exc:
            if not self._record_path().exists():
                raise  # the endpoint check of a new run failed: there is nothing to resume
            self._stop("failed", str(exc), clock)
            raise RunStopped(
                f"{exc}; run {self.record.run_id} stopped",
                run_id=self.record.run_id,
                library=str(self.library),
                reason=str(exc),
            ) from exc
        finally:
            lock.release()

    async def _check(self, on_note: NoteHandler | None) -> None:
        from ted.graph.preflight import preflight

        checked = await preflight(self.context)
        notes = checked.notes
        if checked.context.tool_mode != self.context.tool_mode:
            notes.insert(0, "the teacher's endpoint has no tool calling; using JSON operations")
        if on_note is not None:
            for note in notes:
                on_note(note)
        self.context = checked.context
        if self.simulated is None:
            self.simulated = checked.simulated

    async def _training_items(self, values: DistillOutput | None) -> list[Item] | None:
        """Items to pass to the graph: none when the checkpoints already hold the run."""
        if values is not None:
            return None
        if self.items is not None:
            return self.items
        if self.record.dataset is None:
            raise RunRecordError(
                f"run {self.record.run_id} stopped before its first step and its items were given in "
                "Python, not read from a dataset: start it again"
            )
        # A run interrupted before its first checkpoint: read its items again.
        split = await asyncio.to_thread(self.record.dataset.load)
        wanted = set(self.record.train_ids)
        return [item for item in split.items if item.id in wanted]

    async def _run(
        self, clock: float, on_event: EventHandler | None, on_note: NoteHandler | None
    ) -> DistillResult:
        if self.preflight:
            await self._check(on_note)
        # Opening creates the library folder before the run record goes in it.
        store = await open_library(self.context)
        await store.backup()  # a run's start and end are the journal's restore points
        record = self.record
        record.status, record.updated, record.error = "running", now(), None
        record.simulated = bool(self.simulated)
        record.context = {**record.context, "tool_mode": self.context.tool_mode}
        save_run(self.library, record)

        items = await self._training_items(await self.checkpointed())
        output = await run_graph(
            items,
            self.context,
            run_id=record.run_id,
            epochs=record.epochs,
            batch_size=record.batch_size,
            window=record.window,
            schedule=record.schedule,
            seed=record.seed,
            on_event=on_event,
        )
        await store.backup()
        final = await checkpointed_state(record.run_id, self.library) or {}
        record.status, record.finished = "finished", now()
        record.updated = record.finished
        record.seconds += time.monotonic() - clock
        save_run(self.library, record)
        return await self._result(output, final.get("items", []))

    def _record_path(self) -> Path:
        return runs_dir(self.library) / f"{self.record.run_id}.json"

    def _stop(self, status: RunStatus, error: str | None, clock: float) -> None:
        record = self.record
        if not self._record_path().exists():
            return  # it never started
        record.status = status
        record.error = error
        record.updated = now()
        record.seconds += time.monotonic() - clock
        save_run(self.library, record)

    async def _result(self, output: DistillOutput, items: list[dict[str, Any]]) -> DistillResult:
        record, context = self.record, self.context
        store = await open_library(context)
        results = list(output["results"])
        graded = sum(r["graded"] for r in results)
        correct = sum(r["correct"] for r in results)
        teacher = [r["teacher_correct"] for r in results if r["teacher_correct"] is not None]
        embedded = await _embedded_tokens(store, items, record.epochs, record.started)
        errors = [dict(e) for e in output["errors"]]
        return DistillResult(
            run_id=record.run_id,
            status=record.status,
            simulated=bool(self.simulated),
            started=record.started,
            finished=record.finished,
            seconds=record.seconds,
            attempts=record.attempts,
            models=ModelInfo.of(context, roles(context)),
            dataset=dataset_info(record),
            library=await LibraryInfo.of(store),
            settings={
                "epochs": record.epochs,
                "batch_size": record.batch_size,
                "window": record.window or record.batch_size,
                "schedule": record.schedule,
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
                output["usage"], self.prices, embedding_model=store.embedding_model, embedding_tokens=embedded
            ),
            error_counts=dict(Counter(f"{e['stage']}: {e['kind']}" for e in errors)),
            errors=errors[:SHOWN_ERRORS],
            report_dir=record.report_dir or str(self.library / "reports" / record.run_id),
        )


def _recorded_run(library: str | Path, run_id: str | None) -> tuple[Path, RunRecord]:
    folder = Path(library).expanduser().absolute()
    return folder, find_run(folder, run_id) if run_id else latest_unfinished(folder)


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
    from ted.memory.retrieval import estimate_tokens

    queries = sum(estimate_tokens(query_text(Item.model_validate(item))) for item in items) * runs
    written = [
        e for e in await store.experiences(status=None) if e.created_at >= since or e.updated_at >= since
    ]
    return queries + sum(estimate_tokens(e.text) for e in written)


def dataset_info(record: RunRecord) -> DatasetInfo:
    """The dataset block of a report, from the run record (the dataset is not read again)."""
    choice = record.dataset
    if choice is None:
        return DatasetInfo(
            path="(items given in Python)",
            format=None,
            split=None,
            items=record.items,
            train_size=len(record.train_ids),
            seed=record.seed,
            train_items=len(record.train_ids),
            test_items=0,
        )
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


async def distill(
    data: DatasetSplit | Sequence[Item],
    context: Context,
    *,
    epochs: int = 1,
    batch_size: int = 8,
    window: int | None = None,
    schedule: Schedule = "stream",
    seed: int = 0,
    prices: PriceTable | None = None,
    preflight: bool = True,
    report_dir: str | Path | None = None,
    on_event: EventHandler | None = None,
    on_note: NoteHandler | None = None,
) -> DistillResult:
    """Distil the train part of ``data`` (or the items given) into ``context``'s library.

    The run is checkpointed and recorded in the library; if it stops, `resume` continues it. The
    arguments are those of `DistillRun.start` and `DistillRun.run`.

    Raises:
        RunStopped: The run was interrupted or stopped by a fatal model error; `resume` continues it.
    """
    run = await DistillRun.start(
        data,
        context,
        epochs=epochs,
        batch_size=batch_size,
        window=window,
        schedule=schedule,
        seed=seed,
        prices=prices,
        preflight=preflight,
        report_dir=report_dir,
    )
    return await run.run(on_event=on_event, on_note=on_note)


async def resume(
    library: str | Path,
    *,
    run_id: str | None = None,
    endpoints: Mapping[str, Any] | None = None,
    prices: PriceTable | None = None,
    preflight: bool = True,
    report_dir: str | Path | None = None,
    on_event: EventHandler | None = None,
    on_note: NoteHandler | None = None,
) -> DistillResult:
    """Continue the library's latest unfinished run (or ``run_id``) to its end.

    Nothing a finished step did is done again. The arguments are those of `DistillRun.resume` and
    `DistillRun.run`.
    """
    run = await DistillRun.resume(
        library, run_id=run_id, endpoints=endpoints, prices=prices, preflight=preflight, report_dir=report_dir
    )
    return await run.run(on_event=on_event, on_note=on_note)


def unfinished_runs(library: str | Path) -> list[str]:
    """Ids of the library's runs that `resume` could continue, oldest first."""
    return [record.run_id for record in all_runs(library) if record.unfinished]
