"""`ted eval`: the same student with and without the library on the held-out items, with statistics."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ted.cli.options import data_options, library_option, run_options, student_options

# Shown in --help, which must not import the library (tests check it equals the library's default).
REPEAT_TEMPERATURE_SHOWN = 0.7

# A resumed evaluation keeps what it was started with; these options would change it, so they are refused.
FIXED_ON_RESUME = (
    "data",
    "dataset_format",
    "split",
    "limit",
    "train_size",
    "seed",
    "baseline",
    "seeds",
    "temperature",
    "concurrency",
    "retrieval",
    "student_model",
    "settings",
)

if TYPE_CHECKING:
    from ted.runs import Evaluation, EvaluationResult


def _note(text: str) -> None:
    from rich.markup import escape

    from ted.cli.output import err_console

    err_console.print(f"[yellow]note:[/] {escape(text)}", highlight=False)


async def _new_evaluation(folder: Path, data: str | None, options: dict[str, Any]) -> Evaluation:
    from ted.cli.errors import OptionConflict
    from ted.cli.options import build_context, require_endpoints
    from ted.runs import Evaluation, held_out_split, load_prices

    if data is None:
        raise OptionConflict(
            "no dataset given: run `ted eval DATA --library PATH`, or add --resume to continue an evaluation"
        )
    context = build_context(folder, options, options.get("settings", ()))
    require_endpoints(context, ["student"])
    split = held_out_split(
        data,
        folder,
        format=options.get("dataset_format"),
        split=options.get("split"),
        limit=options.get("limit"),
        train_size=options.get("train_size"),
        seed=options.get("seed"),
    )
    retrieval = options.get("retrieval")
    return await Evaluation.prepare(
        split,
        context,
        conditions=("library", "baseline") if options["baseline"] else ("library",),
        retrieval=retrieval.split(",") if retrieval else None,
        repeats=options["seeds"],
        temperature=options.get("temperature"),
        concurrency=options["concurrency"],
        prices=load_prices(options.get("prices")),
        preflight=options["preflight"],
        report_dir=options.get("report_dir"),
    )


async def _resumed_evaluation(ctx: click.Context, folder: Path, options: dict[str, Any]) -> Evaluation:
    from ted.cli.options import require_endpoints, resume_endpoints
    from ted.runs import Evaluation, load_prices

    endpoints = resume_endpoints(ctx, options, FIXED_ON_RESUME, what="an evaluation")
    evaluation = await Evaluation.resume(
        folder, endpoints=endpoints, prices=load_prices(options.get("prices")), preflight=options["preflight"]
    )
    require_endpoints(evaluation.context, ["student"])
    return evaluation


async def _evaluate(
    ctx: click.Context, folder: Path, data: str | None, resume: bool, options: dict[str, Any]
) -> EvaluationResult:
    from ted.cli.progress import EvalProgress

    evaluation = await (
        _resumed_evaluation(ctx, folder, options) if resume else _new_evaluation(folder, data, options)
    )
    for note in evaluation.notes:
        _note(note)
    with EvalProgress.of(evaluation) as progress:
        return await evaluation.run(on_answer=progress.on_answer, on_note=_note)


def show(result: EvaluationResult) -> None:
    """A short summary on stdout."""
    from rich.table import Table

    from ted.cli.output import console
    from ted.runs.markdown import interval
    from ted.runs.results import SIMULATED_BANNER

    if result.simulated:
        console.print(f"[bold yellow]{SIMULATED_BANNER}[/]")
    table = Table(title=f"Evaluation on {result.dataset.test_items} held-out items", title_justify="left")
    table.add_column("condition")
    table.add_column("accuracy [95% CI]")
    table.add_column("graded", justify="right")
    table.add_column("failed", justify="right")
    ablations = any(c.condition not in ("library", "baseline") for c in result.conditions)
    if ablations:
        table.add_column("p vs library", justify="right")
    for condition in result.conditions:
        row = [
            condition.condition,
            interval(condition.accuracy),
            str(condition.graded),
            str(condition.failed),
        ]
        if ablations:
            versus = condition.versus_library
            row.append(f"{versus.test.p_value:.3g}" if versus is not None else "-")
        table.add_row(*row)
    console.print(table)
    if result.comparison is not None:
        difference = result.comparison.difference
        console.print(
            f"library - baseline: {difference.estimate:+.3f} "
            f"[{difference.low:+.3f}, {difference.high:+.3f}]; "
            f"{result.comparison.method}: p = {result.comparison.test.p_value:.3g}",
            highlight=False,
        )
    console.print(f"report: {Path(result.report_dir) / 'report.md'}", highlight=False)


def _strategies(value: str | None) -> str | None:
    if value is None:
        return None
    names = [name.strip() for name in value.split(",") if name.strip()]
    known = ("none", "default", "similarity", "random", "all")
    unknown = [name for name in names if name not in known]
    if unknown or not names:
        raise click.BadParameter(f"use some of {', '.join(known)}, comma-separated; got {value!r}")
    return ",".join(names)


@click.command("eval")
@click.argument("data", required=False)
@library_option
@data_options(train_size_default=None)
@student_options
@click.option(
    "--baseline/--no-baseline",
    default=True,
    show_default=True,
    help="Also run the student without the library, and compare (paired test).",
)
@click.option(
    "--retrieval",
    metavar="STRATEGIES",
    callback=lambda ctx, param, value: _strategies(value),
    help="Compare retrieval strategies instead, comma-separated: none (no library), default (TED's "
    "ranking), similarity (no utility), random (k at random), all (the whole library); each is "
    "tested against default. Replaces --baseline.",
)
@click.option(
    "--seeds",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Repeats per item; above 1 the student samples (see --temperature) and the report gives "
    "mean and spread.",
)
@click.option(
    "--temperature",
    type=click.FloatRange(min=0.0),
    help="Solve temperature (default: TED_SOLVE_TEMPERATURE, 0; "
    f"{REPEAT_TEMPERATURE_SHOWN} when --seeds > 1).",
)
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=8,
    show_default=True,
    help="Student calls in flight at once.",
)
@click.option(
    "--resume",
    is_flag=True,
    help="Continue the library's latest unfinished evaluation with its recorded settings; answers "
    "already made are not asked again.",
)
@run_options
@click.pass_context
def evaluate(
    ctx: click.Context, /, data: str | None, library: Path | None, resume: bool, **options: Any
) -> None:
    """Evaluate the student with and without the library on the held-out items of DATA.

    The held-out items are the test part of the same seeded split that `ted distill` trained on (its
    --train-size and --seed are taken from the library's latest run on DATA unless given); items any
    run of the library trained on are left out. The contamination guard is always on. Answers are
    kept as they arrive (LIBRARY/evaluations/EVAL_ID): after a crash or Ctrl-C, `ted eval --library
    PATH --resume` continues without asking them again. The report (summary.json, report.md,
    categories.png) goes to LIBRARY/reports/EVAL_ID unless --report-dir says otherwise.
    """
    from ted.cli.options import require_library
    from ted.cli.output import emit, fail_stopped, run, user_errors
    from ted.runs import EvaluationStopped

    options["data"] = data
    with user_errors():
        folder = require_library(library).expanduser().absolute()
        try:
            result = run(_evaluate(ctx, folder, data, resume, options))
        except EvaluationStopped as stopped:
            fail_stopped(stopped, f"ted eval --library {folder} --resume")
        result.write_report()
    emit(result, as_json=options["as_json"], show=show)
