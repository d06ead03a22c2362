"""`ted distill`: learn an experience library from labelled items, resumably, and write a report."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ted.cli.options import data_options, library_option, run_options, student_options, teacher_options

if TYPE_CHECKING:
    from ted.runs import DistillResult, DistillRun, PriceTable

# A resumed run keeps what it was started with; these options would change it, so they are refused.
FIXED_ON_RESUME = (
    "data",
    "dataset_format",
    "split",
    "limit",
    "train_size",
    "seed",
    "epochs",
    "batch_size",
    "window",
    "rollouts",
    "student_model",
    "teacher_model",
    "embeddings",
    "settings",
)


def _note(text: str) -> None:
    from rich.markup import escape

    from ted.cli.output import err_console

    err_console.print(f"[yellow]note:[/] {escape(text)}", highlight=False)


def _live(folder: Path) -> bool:
    """Whether a run holds the library now (the run itself refuses to start then; no note needed)."""
    from ted.memory import WriterLock
    from ted.memory.lock import LibraryBusy

    try:
        WriterLock(folder, "ted distill").acquire().release()
    except LibraryBusy:
        return True
    return False


async def _new_run(folder: Path, data: str | None, options: dict[str, Any], prices: PriceTable) -> DistillRun:
    from ted.cli.errors import OptionConflict
    from ted.cli.options import build_context, require_endpoints
    from ted.memory.library import read_manifest
    from ted.runs import DatasetSplit, DistillRun
    from ted.runs.distillation import roles, unfinished_runs

    if data is None:
        raise OptionConflict(
            "no dataset given: run `ted distill DATA --library PATH`, or add --resume to continue a run"
        )
    if options["embeddings"] is None and (manifest := read_manifest(folder)) is not None:
        options["embeddings"] = manifest.embedding_model
    context = build_context(folder, options, options["settings"])
    require_endpoints(context, roles(context))
    split = DatasetSplit.of(
        data,
        format=options["dataset_format"],
        split=options["split"],
        limit=options["limit"],
        train_size=options["train_size"],
        seed=options["seed"],
    )
    unfinished = unfinished_runs(folder)
    if unfinished and not _live(folder):
        _note(f"run {unfinished[-1]} of this library is unfinished; `--resume` would continue it")
    return await DistillRun.start(
        split,
        context,
        epochs=options["epochs"],
        batch_size=options["batch_size"],
        window=options["window"],
        prices=prices,
        preflight=options["preflight"],
        report_dir=options["report_dir"],
    )


async def _resumed_run(
    ctx: click.Context, library: Path, options: dict[str, Any], prices: PriceTable
) -> DistillRun:
    from ted.cli.options import require_endpoints, resume_endpoints
    from ted.runs import DistillRun
    from ted.runs.distillation import roles

    endpoints = resume_endpoints(ctx, options, FIXED_ON_RESUME, what="a run")
    run = await DistillRun.resume(
        library,
        endpoints=endpoints,
        prices=prices,
        preflight=options["preflight"],
        report_dir=options["report_dir"],
    )
    require_endpoints(run.context, roles(run.context))
    return run


async def _distill(
    ctx: click.Context, library: Path, data: str | None, resume: bool, options: dict[str, Any]
) -> DistillResult:
    from ted.cli.progress import DistillProgress
    from ted.runs import load_prices

    prices = load_prices(options["prices"])
    run = await (
        _resumed_run(ctx, library, options, prices) if resume else _new_run(library, data, options, prices)
    )
    with DistillProgress.of(run, initial=await run.checkpointed()) as progress:
        return await run.run(on_event=progress.on_event, on_note=_note)


def show(result: DistillResult) -> None:
    """A short summary on stdout."""
    from rich.table import Table

    from ted.cli.output import console
    from ted.runs.results import SIMULATED_BANNER

    if result.simulated:
        console.print(f"[bold yellow]{SIMULATED_BANNER}[/]")
    rows = Table(show_header=False, title=f"Run {result.run_id}: {result.status}", title_justify="left")
    rows.add_column(style="bold")
    rows.add_column()
    accuracy = f"{result.accuracy:.3f}" if result.accuracy is not None else "-"
    rows.add_row("items", f"{result.items_done} ({result.trajectories} student attempts)")
    rows.add_row("training accuracy", accuracy)
    rows.add_row("library", f"{result.library.active} experiences, version {result.library.version}")
    costs = result.costs
    money = f", ${costs.usd:.4f}" if costs.usd is not None else ""
    rows.add_row("tokens", f"{costs.input_tokens:,} in, {costs.output_tokens:,} out{money}")
    rows.add_row("errors", str(sum(result.error_counts.values())))
    rows.add_row("report", str(Path(result.report_dir) / "report.md"))
    console.print(rows)


@click.command()
@click.argument("data", required=False)
@library_option
@data_options(train_size_default=100)
@student_options
@teacher_options
@click.option(
    "--rollouts", type=click.IntRange(min=1), help="Student trajectories per training item (default 5)."
)
@click.option(
    "--epochs", type=click.IntRange(min=1), default=1, show_default=True, help="Passes over the items."
)
@click.option(
    "--batch",
    "batch_size",
    type=click.IntRange(min=1),
    default=8,
    show_default=True,
    help="Items per step of the learning curve; compression is considered after each step.",
)
@click.option(
    "--window",
    type=click.IntRange(1, 256),
    help="Items in flight at once; a new one starts as soon as one finishes (default: the --batch size).",
)
@click.option(
    "--resume", is_flag=True, help="Continue the library's latest unfinished run with its recorded settings."
)
@run_options
@click.pass_context
def distill(
    ctx: click.Context, /, data: str | None, library: Path | None, resume: bool, **options: Any
) -> None:
    """Distil a teacher's experience into an experience library, from the training split of DATA.

    DATA is a dataset folder or file (MathVision, VisualPuzzles or generic JSONL). The run is
    checkpointed in the library: after a crash or Ctrl-C, `ted distill --library PATH --resume`
    continues it. At the end a report (summary.json, report.md, learning_curve.png) is written to
    LIBRARY/reports/RUN_ID unless --report-dir says otherwise.
    """
    from ted.cli.options import require_library
    from ted.cli.output import emit, fail_stopped, run, user_errors
    from ted.runs import RunStopped

    options["data"] = data
    with user_errors():
        folder = require_library(library).expanduser().absolute()
        try:
            result = run(_distill(ctx, folder, data, resume, options))
        except RunStopped as stopped:
            fail_stopped(stopped, f"ted distill --library {folder} --resume")
        result.write_report()
    emit(result, as_json=options["as_json"], show=show)
