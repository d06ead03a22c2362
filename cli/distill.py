"""`ted distill`: learn an experience library from labelled items, resumably, and write a report."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from click.core import ParameterSource

from ted.cli.options import data_options, library_option, run_options, student_options, teacher_options

if TYPE_CHECKING:
    from ted.cli.costs import PriceTable
    from ted.cli.distill_run import DistillJob
    from ted.cli.summaries import DistillSummary
    from ted.graph import Context
    from ted.graph.context import Role

# What a resumed run takes from its record: these options would change it, so they are refused.
FIXED_ON_RESUME = (
    "data",
    "dataset_format",
    "split",
    "limit",
    "train_size",
    "seed",
    "epochs",
    "batch_size",
    "rollouts",
    "student_model",
    "teacher_model",
    "embeddings",
    "settings",
)
# Where the models are served may change between attempts (a server restarted on another port).
ENDPOINT_OPTIONS = (
    "student_base_url",
    "teacher_base_url",
    "student_api_key_env",
    "teacher_api_key_env",
    "tool_mode",
)


def _given(ctx: click.Context, name: str) -> bool:
    return ctx.get_parameter_source(name) in (ParameterSource.COMMANDLINE, ParameterSource.ENVIRONMENT)


def roles(context: Context) -> list[Role]:
    """The roles a distillation calls: the student, the teacher, and a separate compress model if set."""
    roles: list[Role] = ["student", "teacher"]
    if context.compress_model:
        roles.append("compress")
    return roles


def existing_embeddings(library: Path) -> str | None:
    """The embedding model of the library at ``library``, if there is one."""
    from ted.memory.manifest import read_manifest

    manifest = read_manifest(library.expanduser().absolute())
    return manifest.embedding_model if manifest else None


def new_job(library: Path, data: str | None, options: dict[str, Any], prices: PriceTable) -> DistillJob:
    """A new run of ``library`` on the training split of ``data``, from the command's options."""
    from ted.cli.distill_run import DistillJob
    from ted.cli.errors import OptionConflict
    from ted.cli.options import build_context, require_endpoints
    from ted.cli.output import err_console
    from ted.cli.runs import RunRecord, all_runs, context_settings, new_run_id, now
    from ted.cli.splits import dataset_choice, load_split

    if data is None:
        raise OptionConflict(
            "no dataset given: run `ted distill DATA --library PATH`, or add --resume to continue a run"
        )
    if options["embeddings"] is None:
        options["embeddings"] = existing_embeddings(library)
    context = build_context(library.expanduser().absolute(), options, options["settings"])
    require_endpoints(context, roles(context))
    choice = dataset_choice(
        data,
        format=options["dataset_format"],
        split=options["split"],
        limit=options["limit"],
        train_size=options["train_size"],
        seed=options["seed"],
    )
    split = load_split(choice)
    unfinished = [r.run_id for r in all_runs(library) if r.unfinished]
    if unfinished:
        err_console.print(
            f"[yellow]note:[/] run {unfinished[-1]} of this library is unfinished; "
            "`--resume` would continue it",
            highlight=False,
        )
    run_id = new_run_id()
    started = now()
    record = RunRecord(
        run_id=run_id,
        status="running",
        started=started,
        updated=started,
        dataset=choice,
        items=len(split.items),
        train_ids=[item.id for item in split.train],
        epochs=options["epochs"],
        batch_size=options["batch_size"],
        context=context_settings(context),
        prices=prices.source,
        report_dir=str(options["report_dir"] or library / "reports" / run_id),
    )
    return DistillJob(record=record, context=context, library=library, prices=prices, items=split.train)


def _resume_job(ctx: click.Context, library: Path, options: dict[str, Any], prices: PriceTable) -> DistillJob:
    from ted.cli.distill_run import DistillJob
    from ted.cli.errors import OptionConflict
    from ted.cli.options import require_endpoints
    from ted.cli.runs import latest_unfinished
    from ted.graph import Context

    refused = [name for name in FIXED_ON_RESUME if _given(ctx, name)]
    if refused:
        shown = ", ".join("DATA" if n == "data" else "--" + n.replace("_", "-") for n in refused)
        raise OptionConflict(
            f"--resume continues a run with its recorded settings; leave out {shown} (or start a new run)"
        )
    record = latest_unfinished(library)
    overrides = {name: options[name] for name in ENDPOINT_OPTIONS if options.get(name) is not None}
    absolute = str(library.expanduser().absolute())
    context = Context(**{**record.context, **overrides, "library": absolute})
    require_endpoints(context, roles(context))
    record.attempts += 1
    record.context = {**record.context, **overrides, "library": absolute}
    if options["report_dir"] is not None:
        record.report_dir = str(options["report_dir"])
    return DistillJob(
        record=record, context=context, library=library, prices=prices, simulated=record.simulated or None
    )


def show(summary: DistillSummary) -> None:
    """A short summary on stdout."""
    from rich.table import Table

    from ted.cli.output import console
    from ted.cli.summaries import SIMULATED_BANNER

    if summary.simulated:
        console.print(f"[bold yellow]{SIMULATED_BANNER}[/]")
    rows = Table(show_header=False, title=f"Run {summary.run_id}: {summary.status}", title_justify="left")
    rows.add_column(style="bold")
    rows.add_column()
    accuracy = f"{summary.accuracy:.3f}" if summary.accuracy is not None else "-"
    rows.add_row("items", f"{summary.items_done} ({summary.trajectories} student attempts)")
    rows.add_row("training accuracy", accuracy)
    rows.add_row("library", f"{summary.library.active} experiences, version {summary.library.version}")
    costs = summary.costs
    money = f", ${costs.usd:.4f}" if costs.usd is not None else ""
    rows.add_row("tokens", f"{costs.input_tokens:,} in, {costs.output_tokens:,} out{money}")
    rows.add_row("errors", str(sum(summary.error_counts.values())))
    rows.add_row("report", str(Path(summary.report_dir) / "report.md"))
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
    help="Items distilled concurrently; compression runs between batches.",
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
    from ted.cli.costs import load_prices
    from ted.cli.distill_run import RunInterrupted, execute
    from ted.cli.options import require_library
    from ted.cli.output import fail, print_json, user_errors
    from ted.cli.report import write_distill_report

    options["data"] = data
    with user_errors():
        folder = require_library(library)
        prices = load_prices(options["prices"])
        job = _resume_job(ctx, folder, options, prices) if resume else new_job(folder, data, options, prices)
        job.preflight = options["preflight"]
        try:
            summary = execute(job)
        except RunInterrupted as exc:
            fail(str(exc), code=130)
        write_distill_report(summary)
    if options["as_json"]:
        print_json(summary)
    else:
        show(summary)
