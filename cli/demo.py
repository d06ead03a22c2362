"""`ted demo`: the whole pipeline offline, on synthetic puzzles and the built-in simulated models.

It generates a dataset, starts the simulated endpoint in this process, distils a library from the
training items, evaluates the student with and without it on the held-out items, and writes a report.
The models are simulated, and every output says so.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from ted.cli.summaries import DemoSummary, DistillSummary, EvalSummary
    from ted.sim import SimConfig

SHOWS = [
    "the whole pipeline runs end to end: dataset, student rollouts, teacher, reflection through tool "
    "calls, library upkeep, checkpointed runs, evaluation with and without the library, reports",
    "the library carries what was learned to held-out items of the same kinds, as the simulated "
    "student is built to use a relevant experience when it is in its prompt",
    "the statistics: confidence intervals and a paired test on the same items",
]


def does_not_show(config: SimConfig) -> list[str]:
    """What a demo run does not show, with the simulator's settings it used."""
    return [
        "how well TED works with real models: the simulated student's accuracies "
        f"({config.p_student_base:g} alone, {config.p_student_skill:g} with a relevant experience) are "
        "settings of the simulator, not measurements",
        "anything about the published MathVision or VisualPuzzles results",
    ]


STUDENT, TEACHER = "sim-student", "sim-teacher"


def _preface(summary: DemoSummary, workdir: Path) -> str:
    from ted.cli.summaries import SIMULATED_BANNER

    shows = "\n".join(f"- {line}" for line in summary.shows)
    does_not = "\n".join(f"- {line}" for line in summary.does_not_show)
    accuracy = (
        f"Held-out accuracy: **{summary.baseline_accuracy:.3f}** without the library, "
        f"**{summary.library_accuracy:.3f}** with it"
        if summary.baseline_accuracy is not None and summary.library_accuracy is not None
        else "Held-out accuracy: not available"
    )
    p_value = f" (McNemar's exact test: p = {summary.p_value:.3g})" if summary.p_value is not None else ""
    return (
        "# TED demo report\n\n"
        f"> **{SIMULATED_BANNER}**\n\n"
        f"{accuracy}{p_value}, on {summary.test_items} held-out synthetic puzzles after distilling "
        f"{summary.train_items} training puzzles into a library of {summary.library_size} experiences, "
        f"in {summary.seconds:.0f} s.\n\n"
        f"What this run shows:\n\n{shows}\n\nWhat it does not show:\n\n{does_not}\n\n"
        f"Everything is in `{workdir}`: the dataset (`data/`), the library (`library/`, with its run "
        "record and checkpoints) and this report. Look at the library with "
        f"`ted experiences --library {workdir / 'library'} list`.\n"
    )


def _demo_summary(
    distilled: DistillSummary,
    evaluated: EvalSummary,
    config: SimConfig,
    workdir: Path,
    report_dir: Path,
    seconds: float,
) -> DemoSummary:
    from ted.cli.summaries import DemoSummary

    comparison = evaluated.comparison
    return DemoSummary(
        baseline_accuracy=evaluated.baseline_accuracy,
        library_accuracy=evaluated.library_accuracy,
        difference=comparison.difference if comparison else None,
        p_value=comparison.test.p_value if comparison else None,
        train_items=distilled.dataset.train_items,
        test_items=evaluated.dataset.test_items - len(evaluated.contamination.removed),
        library_size=distilled.library.active,
        seconds=seconds,
        workdir=str(workdir),
        library=distilled.library.path,
        report_dir=str(report_dir),
        distill_report_dir=distilled.report_dir,
        eval_report_dir=evaluated.report_dir,
        shows=SHOWS,
        does_not_show=does_not_show(config),
        distill=distilled,
        eval=evaluated,
    )


def _show(summary: DemoSummary) -> None:
    from rich.table import Table

    from ted.cli.markdown import interval
    from ted.cli.output import console
    from ted.cli.summaries import SIMULATED_BANNER

    console.print(f"[bold yellow]{SIMULATED_BANNER}[/]")
    table = Table(title="TED demo (simulated models)", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    for result in summary.eval.conditions:
        table.add_row(f"{result.condition} accuracy", interval(result.accuracy))
    if summary.p_value is not None:
        table.add_row("McNemar p-value", f"{summary.p_value:.3g}")
    table.add_row("items", f"{summary.train_items} distilled, {summary.test_items} held out")
    table.add_row("library", f"{summary.library_size} experiences in {summary.library}")
    table.add_row("time", f"{summary.seconds:.0f} s")
    table.add_row("report", str(Path(summary.report_dir) / "report.md"))
    console.print(table)
    console.print("[bold]Shows:[/] " + "; ".join(summary.shows) + ".", highlight=False)
    console.print("[bold]Does not show:[/] " + "; ".join(summary.does_not_show) + ".", highlight=False)


def _run(workdir: Path, settings: dict[str, Any]) -> DemoSummary:
    from ted.cli.costs import PriceTable
    from ted.cli.distill import new_job
    from ted.cli.distill_run import execute as distill
    from ted.cli.eval_run import execute as evaluate
    from ted.cli.evaluate import prepare
    from ted.cli.report import write_combined_report, write_distill_report, write_eval_report
    from ted.sim import SimConfig, SimServer, World
    from ted.tasks.synth import generate

    clock = time.monotonic()
    data = workdir / "data"
    library = workdir / "library"
    items = generate(data, n=settings["train"] + settings["test"], seed=settings["seed"])
    config = SimConfig(seed=settings["seed"], latency=settings["latency"])
    with SimServer(World.from_items(items), config=config) as sim:
        models = {
            "student_model": STUDENT,
            "student_base_url": sim.base_url,
            "teacher_model": TEACHER,
            "teacher_base_url": sim.base_url,
        }
        job = new_job(
            library,
            str(data),
            {
                **models,
                "rollouts": settings["rollouts"],
                "embeddings": settings["embeddings"],
                "settings": (),
                "dataset_format": "jsonl",
                "split": None,
                "limit": None,
                "train_size": settings["train"],
                "seed": settings["seed"],
                "epochs": settings["epochs"],
                "batch_size": settings["batch"],
                "report_dir": None,
            },
            PriceTable(),
        )
        job.simulated, job.live = True, settings["live"]
        distilled = distill(job)
        write_distill_report(distilled)
        evaluation = prepare(
            library,
            str(data),
            {**models, "seeds": 1, "train_size": settings["train"], "seed": settings["seed"]},
        )
        evaluation.simulated, evaluation.live = True, settings["live"]
        evaluated = evaluate(evaluation)
        write_eval_report(evaluated)
    report_dir = workdir / "report"
    summary = _demo_summary(distilled, evaluated, config, workdir, report_dir, time.monotonic() - clock)
    write_combined_report(
        report_dir, summary, preface=_preface(summary, workdir), distilled=distilled, evaluated=evaluated
    )
    return summary


@click.command()
@click.option(
    "--workdir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for the data, library and report (default: a new temporary folder).",
)
@click.option("--train", type=click.IntRange(min=1), default=48, show_default=True, help="Training puzzles.")
@click.option("--test", type=click.IntRange(min=1), default=48, show_default=True, help="Held-out puzzles.")
@click.option(
    "--rollouts", type=click.IntRange(min=1), default=4, show_default=True, help="Student attempts per item."
)
@click.option(
    "--batch", type=click.IntRange(min=1), default=8, show_default=True, help="Items distilled at once."
)
@click.option(
    "--epochs", type=click.IntRange(min=1), default=1, show_default=True, help="Passes over the items."
)
@click.option(
    "--seed", type=int, default=0, show_default=True, help="Seed of the puzzles, the split and the models."
)
@click.option(
    "--latency",
    type=click.FloatRange(min=0.0),
    default=0.05,
    show_default=True,
    help="Seconds per simulated call.",
)
@click.option(
    "--embeddings",
    type=click.Choice(["minilm", "hash"]),
    default="minilm",
    show_default=True,
    help="minilm: the bundled model (the `local` extra); hash: no model at all.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON on stdout.")
def demo(workdir: Path | None, as_json: bool, **settings: Any) -> None:
    """Run TED end to end offline on synthetic puzzles with SIMULATED models, and write a report.

    It shows that the pipeline works (distillation, library upkeep, evaluation, reports); it does not
    show how well TED works with real models.
    """
    import tempfile

    from ted.cli.distill_run import RunInterrupted
    from ted.cli.eval_run import EvalInterrupted
    from ted.cli.output import err_console, fail, print_json, user_errors

    if workdir is None:
        workdir = Path(tempfile.mkdtemp(prefix="ted-demo-"))
    elif workdir.exists() and any(workdir.iterdir()):
        fail(f"{workdir} is not empty; give a new or empty folder to --workdir")
    workdir = workdir.expanduser().absolute()
    workdir.mkdir(parents=True, exist_ok=True)
    err_console.print(
        f"[bold yellow]SIMULATED MODELS[/]: demo in {workdir} ({settings['train']} training and "
        f"{settings['test']} held-out synthetic puzzles; no network needed)",
        highlight=False,
    )
    settings["live"] = None
    with user_errors():
        try:
            summary = _run(workdir, settings)
        except (RunInterrupted, EvalInterrupted) as exc:
            fail(f"{exc} (the demo's files are in {workdir})", code=130)
    if as_json:
        print_json(summary)
    else:
        _show(summary)
