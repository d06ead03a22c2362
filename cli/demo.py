"""`ted demo`: the whole pipeline offline, on synthetic puzzles and the built-in simulated models.

`ted.runs.Demo` does the work (data, simulated endpoint, distillation, evaluation, reports); this
command shows its progress and prints what it found. The models are simulated, and every output says so.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from ted.runs import Demo, DemoResult


def _show(summary: DemoResult) -> None:
    from rich.table import Table

    from ted.cli.output import console
    from ted.runs.markdown import interval
    from ted.runs.results import SIMULATED_BANNER

    console.print(f"[bold yellow]{SIMULATED_BANNER}[/]")
    table = Table(title="TED demo (simulated models)", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    for result in summary.eval.conditions:
        versus = result.versus_library
        against = (
            f" (vs library: p = {versus.test.p_value:.3g})"
            if versus and result.condition != "baseline"
            else ""
        )
        table.add_row(f"{result.condition} accuracy", interval(result.accuracy) + against)
    if summary.p_value is not None:
        table.add_row("McNemar p-value", f"{summary.p_value:.3g}")
    if summary.wrong_advice is not None:
        wrong = summary.wrong_advice
        table.add_row(
            "wrong advice",
            f"{wrong.planted} planted by the teacher: {wrong.deleted} deleted, {wrong.superseded} merged or "
            f"rewritten, {wrong.active} left ({wrong.unproven} never shown to mislead)",
        )
    table.add_row("items", f"{summary.train_items} distilled, {summary.test_items} held out")
    table.add_row("library", f"{summary.library_size} experiences in {summary.library}")
    table.add_row("time", f"{summary.seconds:.0f} s")
    table.add_row("report", str(Path(summary.report_dir) / "report.md"))
    console.print(table)
    console.print("[bold]Shows:[/] " + "; ".join(summary.shows) + ".", highlight=False)
    console.print("[bold]Does not show:[/] " + "; ".join(summary.does_not_show) + ".", highlight=False)


async def _run(demo: Demo) -> DemoResult:
    from ted.cli.progress import DistillProgress, EvalProgress

    with demo:
        run = await demo.distill_run()
        with DistillProgress.of(run) as progress:
            distilled = await run.run(on_event=progress.on_event)
        evaluation = await demo.evaluation()
        with EvalProgress.of(evaluation) as progress:
            evaluated = await evaluation.run(on_answer=progress.on_answer)
        wrong = await demo.wrong_advice()
    return demo.finish(distilled, evaluated, wrong)


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
    "--batch",
    type=click.IntRange(min=1),
    default=8,
    show_default=True,
    help="Items in flight at once, and per point of the learning curve.",
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
@click.option(
    "--world",
    type=click.Choice(["classic", "skills"]),
    default="classic",
    show_default=True,
    help="classic: six drawn puzzle families; skills: card puzzles on up to 24 topics, advice read by "
    "meaning, a teacher that sometimes plants wrong advice.",
)
@click.option("--families", type=click.IntRange(min=2), help="Families of the skills world (default: 24).")
@click.option(
    "--cap", "library_cap", type=click.IntRange(min=1), help="Library cap (default: TED_LIBRARY_CAP)."
)
@click.option(
    "--retrieval",
    default="none,default",
    show_default=True,
    help="Retrieval strategies the evaluation compares, comma-separated: none and default, and any of "
    "similarity, random, all (ablations; each costs one more pass over the held-out puzzles).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON on stdout.")
def demo(workdir: Path | None, as_json: bool, **settings: Any) -> None:
    """Run TED end to end offline on synthetic puzzles with SIMULATED models, and write a report.

    It shows that the pipeline works (distillation, library upkeep, evaluation, reports); it does not
    show how well TED works with real models.
    """
    import tempfile

    from ted.cli.output import emit, err_console, fail, run, user_errors
    from ted.runs import Demo, RunStopped

    settings["retrieval"] = tuple(name.strip() for name in settings["retrieval"].split(",") if name.strip())
    if settings["world"] == "classic" and settings["families"] is not None:
        fail("--families applies to --world skills only")
    try:
        Demo.check(settings["world"], settings["families"], settings["retrieval"])
    except ValueError as exc:
        fail(str(exc))
    if workdir is None:
        workdir = Path(tempfile.mkdtemp(prefix="ted-demo-"))
    elif workdir.exists() and any(workdir.iterdir()):
        fail(f"{workdir} is not empty; give a new or empty folder to --workdir")
    workdir = workdir.expanduser().absolute()
    prepared = Demo(workdir, **settings)
    workdir.mkdir(parents=True, exist_ok=True)
    err_console.print(
        f"[bold yellow]SIMULATED MODELS[/]: demo in {workdir} ({settings['train']} training and "
        f"{settings['test']} held-out synthetic puzzles; no network needed)",
        highlight=False,
    )
    with user_errors():
        try:
            summary = run(_run(prepared))
        except (RunStopped, KeyboardInterrupt) as exc:
            fail(f"{exc or 'interrupted'} (the demo's files are in {workdir})", code=130)
    emit(summary, as_json=as_json, show=_show)
