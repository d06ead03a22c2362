"""`ted eval`: the same student with and without the library on the held-out items, with statistics."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ted.cli.options import data_options, library_option, run_options, student_options

if TYPE_CHECKING:
    from ted.cli.eval_run import EvalJob
    from ted.cli.summaries import EvalSummary
    from ted.graph import Context

DEFAULT_TRAIN_SIZE = 100
# Sampling temperature of repeats when the solve temperature is greedy (0).
DEFAULT_REPEAT_TEMPERATURE = 0.7


def require_existing_library(library: Path) -> str:
    """The embedding model of the library at ``library``; a clear error when there is no library."""
    from ted.cli.errors import CliError
    from ted.memory.manifest import read_manifest

    manifest = read_manifest(library.expanduser().absolute())
    if manifest is None:
        raise CliError(
            f"no experience library at {library}: distil one first with "
            f"`ted distill DATA --library {library}`"
        )
    return manifest.embedding_model


def library_student(library: Path) -> str | None:
    """The student model the library at ``library`` was distilled for, if recorded."""
    from ted.memory.manifest import read_manifest

    manifest = read_manifest(library.expanduser().absolute())
    return manifest.student_model if manifest else None


def _temperature(context: Context, seeds: int, temperature: float | None) -> float:
    if temperature is not None:
        return temperature
    if seeds > 1 and context.solve_temperature <= 0:
        return DEFAULT_REPEAT_TEMPERATURE
    return context.solve_temperature


def prepare(library: Path, data: str, options: dict[str, Any]) -> EvalJob:
    """Everything `ted eval` (and `ted demo`) needs to evaluate: context, split, contamination check."""
    from dataclasses import replace

    from ted.cli.costs import load_prices
    from ted.cli.errors import CliError
    from ted.cli.eval_run import EvalJob
    from ted.cli.options import build_context, require_endpoints
    from ted.cli.output import err_console
    from ted.cli.runs import latest_finished, now, training_ids
    from ted.cli.splits import dataset_choice, dataset_key, load_split
    from ted.cli.summaries import Contamination

    built_with = require_existing_library(library)
    options["embeddings"] = options.get("embeddings") or built_with
    context = build_context(library.expanduser().absolute(), options, options.get("settings", ()))
    seeds = options["seeds"]
    context = replace(context, solve_temperature=_temperature(context, seeds, options.get("temperature")))
    require_endpoints(context, ["student"])

    recorded = latest_finished(library, dataset_key(data))
    base = recorded.dataset if recorded else None
    choice = dataset_choice(
        data,
        format=options.get("dataset_format") or (base.format if base else None),
        split=options.get("split") or (base.split if base else None),
        limit=options.get("limit") or (base.limit if base else None),
        train_size=options["train_size"]
        if options.get("train_size") is not None
        else (base.train_size if base else DEFAULT_TRAIN_SIZE),
        seed=options["seed"] if options.get("seed") is not None else (base.seed if base else 0),
    )
    split = load_split(choice)
    trained, runs = training_ids(library)
    removed = [item.id for item in split.test if item.id in trained]
    test = [item for item in split.test if item.id not in trained]
    if not test:
        raise CliError(
            f"no held-out items to evaluate: the {len(split.test)} test items of {choice.path} (train size "
            f"{choice.train_size}, seed {choice.seed}) were all used to train this library"
        )
    learned_for = library_student(library)
    if learned_for and learned_for != context.student_model:
        err_console.print(
            f"[yellow]note:[/] the library was distilled for {learned_for}; "
            f"evaluating {context.student_model}",
            highlight=False,
        )
    if removed:
        err_console.print(
            f"[yellow]note:[/] {len(removed)} test items were training items of this library "
            "and are left out",
            highlight=False,
        )
    eval_id = f"eval-{now():%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"
    return EvalJob(
        eval_id=eval_id,
        context=context,
        library=library,
        split=split,
        test=test,
        contamination=Contamination(
            guard=True, runs_checked=runs, training_ids=len(trained), removed=removed
        ),
        prices=load_prices(options.get("prices")),
        report_dir=Path(options.get("report_dir") or library / "reports" / eval_id),
        conditions=("library", "baseline") if options.get("baseline", True) else ("library",),
        repeats=seeds,
        concurrency=options.get("concurrency", 8),
        preflight=options.get("preflight", True),
    )


def show(summary: EvalSummary) -> None:
    """A short summary on stdout."""
    from rich.table import Table

    from ted.cli.markdown import interval
    from ted.cli.output import console
    from ted.cli.summaries import SIMULATED_BANNER

    if summary.simulated:
        console.print(f"[bold yellow]{SIMULATED_BANNER}[/]")
    table = Table(title=f"Evaluation on {summary.dataset.test_items} held-out items", title_justify="left")
    table.add_column("condition")
    table.add_column("accuracy [95% CI]")
    table.add_column("graded", justify="right")
    table.add_column("failed", justify="right")
    for result in summary.conditions:
        table.add_row(result.condition, interval(result.accuracy), str(result.graded), str(result.failed))
    console.print(table)
    if summary.comparison is not None:
        difference = summary.comparison.difference
        console.print(
            f"library - baseline: {difference.estimate:+.3f} "
            f"[{difference.low:+.3f}, {difference.high:+.3f}]; "
            f"{summary.comparison.method}: p = {summary.comparison.test.p_value:.3g}",
            highlight=False,
        )
    console.print(f"report: {Path(summary.report_dir) / 'report.md'}", highlight=False)


@click.command("eval")
@click.argument("data")
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
    f"{DEFAULT_REPEAT_TEMPERATURE} when --seeds > 1).",
)
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=8,
    show_default=True,
    help="Student calls in flight at once.",
)
@run_options
def evaluate(data: str, library: Path | None, **options: Any) -> None:
    """Evaluate the student with and without the library on the held-out items of DATA.

    The held-out items are the test part of the same seeded split that `ted distill` trained on (its
    --train-size and --seed are taken from the library's latest run on DATA unless given); items any
    run of the library trained on are left out. The contamination guard is always on. The report
    (summary.json, report.md, categories.png) goes to LIBRARY/reports/EVAL_ID unless --report-dir says
    otherwise.
    """
    from ted.cli.eval_run import EvalInterrupted, execute
    from ted.cli.options import require_library
    from ted.cli.output import fail, print_json, user_errors
    from ted.cli.report import write_eval_report

    with user_errors():
        folder = require_library(library)
        job = prepare(folder, data, options)
        try:
            summary = execute(job)
        except EvalInterrupted as exc:
            fail(str(exc), code=130)
        write_eval_report(summary)
    if options["as_json"]:
        print_json(summary)
    else:
        show(summary)
