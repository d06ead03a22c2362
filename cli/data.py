"""`ted data`: look at a dataset before distilling on it, or write a synthetic one."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, cast

import click

if TYPE_CHECKING:
    from ted.tasks.summary import DatasetSummary

# Kept here rather than imported so that `ted --help` does not load the dataset code.
_FORMATS = ("mathvision", "visualpuzzles", "jsonl")


@click.group()
def data() -> None:
    """Inspect datasets and write synthetic ones."""


def _render(summary: DatasetSummary) -> None:
    from rich.markup import escape
    from rich.table import Table

    from ted.cli.output import console

    overview = Table(title="Dataset", show_header=False, title_justify="left")
    overview.add_column(style="bold")
    overview.add_column()
    overview.add_row("path", summary.path)
    overview.add_row("format", f"{summary.format} (scored as {summary.benchmark})")
    overview.add_row("split", summary.split or "-")
    overview.add_row("items", str(summary.count))
    overview.add_row("with images", str(summary.with_images))
    overview.add_row("with options", str(summary.with_options))
    if set(summary.levels) != {"(none)"}:
        overview.add_row("levels", ", ".join(f"{level}: {count}" for level, count in summary.levels.items()))
    overview.add_row("problems", str(summary.problem_count))
    console.print(overview)

    categories = Table(title="Categories", title_justify="left")
    categories.add_column("category")
    categories.add_column("items", justify="right")
    for name, count in summary.categories.items():
        categories.add_row(name, str(count))
    console.print(categories)

    if summary.problems:
        console.print("[bold red]First problems[/]")
        for problem in summary.problems:
            console.print(f"  [red]-[/] {escape(problem)}", highlight=False, soft_wrap=True)


@data.command()
@click.argument("path")
@click.option(
    "--format", "format_", type=click.Choice(_FORMATS), help="Dataset format (detected when omitted)."
)
@click.option("--split", help="Split to read (MathVision: test or testmini; VisualPuzzles: train or test).")
@click.option("--limit", type=click.IntRange(min=1), help="Read at most this many items.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary on stdout.")
def inspect(path: str, format_: str | None, split: str | None, limit: int | None, as_json: bool) -> None:
    """Load the dataset at PATH (a file, a folder or a dataset name) and report on it.

    Exits with status 1 when any row has a problem (missing field, unreadable image, image path outside
    the dataset folder, unknown answer letter ...), after listing the first ones.
    """
    from ted.cli.output import fail, print_json, user_errors
    from ted.tasks.loading import scan_dataset
    from ted.tasks.sources import DatasetFormat
    from ted.tasks.summary import summarize

    chosen = cast("DatasetFormat | None", format_)  # click.Choice has checked it
    with user_errors():
        scan = scan_dataset(path, format=chosen, split=split, limit=limit, collect=True)
    summary = summarize(scan)
    if as_json:
        print_json(summary)
    else:
        _render(summary)
    if summary.problem_count:
        rows = "row has a problem" if summary.problem_count == 1 else "rows have problems"
        fail(f"{summary.problem_count} {rows}; the first: {summary.problems[0]}")
    if summary.count == 0:
        fail(f"{path} holds no items")


@data.command()
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option(
    "--n", "count", type=click.IntRange(min=1), default=200, show_default=True, help="How many items."
)
@click.option(
    "--seed", type=int, default=0, show_default=True, help="Random seed; the same seed gives the same data."
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary on stdout.")
def synth(out_dir: Path, count: int, seed: int, as_json: bool) -> None:
    """Write a synthetic visual-puzzle dataset (generic JSONL with images) to OUT_DIR."""
    from collections import Counter

    from ted.cli.output import console, print_json, user_errors
    from ted.tasks.synth import generate

    with user_errors():
        items = generate(out_dir, n=count, seed=seed)
    categories = Counter(item.category or "(none)" for item in items)
    if as_json:
        print_json(
            {
                "path": out_dir / "items.jsonl",
                "count": len(items),
                "seed": seed,
                "categories": dict(sorted(categories.items())),
            }
        )
        return
    console.print(f"Wrote {len(items)} synthetic items to {out_dir / 'items.jsonl'} (seed {seed}).")
    console.print(
        ", ".join(f"{name}: {number}" for name, number in sorted(categories.items())), highlight=False
    )
