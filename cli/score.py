"""`ted score`: accuracy of a file of model responses on a dataset, as the official harnesses count it."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import click

from ted.cli.options import scoring_option

if TYPE_CHECKING:
    from ted.runs.rescoring import GroupAccuracy, ScoreResult
    from ted.tasks import DatasetFormat
    from ted.tasks.scoring import Scoring

_FORMATS = ["mathvision", "visualpuzzles", "jsonl"]


def _percent(value: float) -> str:
    return f"{100 * value:.2f}%"


def _table(title: str, groups: list[GroupAccuracy]) -> Any:
    from rich.table import Table

    table = Table(title=title, title_justify="left")
    for column in ("", "correct", "accuracy", "95% interval"):
        table.add_column(column, justify="left" if not column else "right")
    for group in groups:
        interval = group.accuracy
        table.add_row(
            group.name,
            f"{group.correct}/{group.total}",
            _percent(interval.estimate),
            f"{_percent(interval.low)} - {_percent(interval.high)}",
        )
    return table


def show(result: ScoreResult) -> None:
    """Print the accuracy overall, per category and per level."""
    from rich.markup import escape

    from ted.cli.output import console

    interval = result.accuracy
    console.print(
        f"[bold]{escape(result.responses)}[/bold] on {escape(result.dataset)} ({result.benchmark}), "
        f"scoring [bold]{result.scoring}[/bold]"
    )
    console.print(
        f"accuracy {result.correct}/{result.scored} = {_percent(interval.estimate)} "
        f"(95% interval {_percent(interval.low)} - {_percent(interval.high)})"
    )
    if result.by_category:
        console.print(
            _table("by subject" if result.benchmark == "mathvision" else "by category", result.by_category)
        )
    if result.by_level:
        console.print(_table("by level", result.by_level))
    notes = []
    if result.guessed:
        notes.append(f"{result.guessed} unreadable answers were scored by the official random guess")
    if result.timed_out:
        notes.append(f"{result.timed_out} comparisons timed out and counted as wrong")
    if result.unknown_count:
        shown = ", ".join(result.unknown_ids)
        notes.append(f"{result.unknown_count} response ids are not in the dataset (e.g. {shown})")
    if result.unanswered:
        notes.append(f"{result.unanswered} dataset items have no response and are not counted")
    for note in notes:
        console.print(f"note: {escape(note)}")


@click.command("score")
@click.argument("responses", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--data", required=True, help="The dataset: a folder, a file, or a MATH-V checkout.")
@click.option("--format", "dataset_format", type=click.Choice(_FORMATS), help="Dataset format (detected).")
@click.option("--split", help="Dataset split (MathVision: test or testmini).")
@scoring_option
@click.option("--seed", type=int, default=0, show_default=True, help="Seed of guesses and intervals.")
@click.option("--json", "as_json", is_flag=True, help="Print the result, with every item, as JSON.")
def score(
    responses: Path,
    data: str,
    dataset_format: str | None,
    split: str | None,
    scoring: str | None,
    seed: int,
    as_json: bool,
) -> None:
    """Score RESPONSES (JSONL: "id" and "response" per line) against the dataset's ground truth.

    Prints accuracy overall, per subject or category and per level, with bootstrap intervals, under
    the official scoring of the dataset's benchmark (or --scoring lenient). For MathVision, --json
    also holds the breakdown exactly as MATH-V's evaluate.py writes it.
    """
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from ted.cli.output import emit, err_console, user_errors
    from ted.runs.rescoring import read_responses, score_responses

    with user_errors():
        total = len(read_responses(responses))
        with Progress(
            TextColumn("scoring"),
            BarColumn(),
            MofNCompleteColumn(),
            console=err_console,
            transient=True,
            disable=not err_console.is_terminal,
        ) as progress:
            task = progress.add_task("score", total=total)
            result = score_responses(
                responses,
                data,
                format=cast("DatasetFormat | None", dataset_format),
                split=split,
                scoring=cast("Scoring", scoring or "official"),
                seed=seed,
                on_item=lambda _: progress.advance(task),
            )
    emit(result, as_json=as_json, show=show)
