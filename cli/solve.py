"""`ted solve`: one answer from the student, with the experiences it was given and the ones it used."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ted.cli.options import library_option, student_options

if TYPE_CHECKING:
    from ted.runs import SolveResult
    from ted.tasks import Item


def _item(question: str, images: tuple[Path, ...], options: tuple[str, ...], answer: str | None) -> Item:
    from ted.tasks import Item

    # A stable id from the content: the contamination guard compares ids, and a made-up id never
    # matches an item the library learned from.
    digest = hashlib.sha256("\x00".join([question, *options, *map(str, images)]).encode()).hexdigest()[:12]
    return Item(
        id=f"question-{digest}",
        question=question,
        answer=answer or "",
        options=list(options) or None,
        images=[str(path.expanduser().resolve()) for path in images],
    )


def _show(result: SolveResult) -> None:
    from rich.markup import escape
    from rich.panel import Panel
    from rich.table import Table

    from ted.cli.output import console

    console.print(Panel(escape(result.response), title="student", title_align="left"))
    verdict = ""
    if result.correct is not None:
        verdict = " [green](right)[/]" if result.correct else " [red](wrong)[/]"
    console.print(f"[bold]answer:[/] {escape(str(result.answer))}{verdict}")
    if not result.experiences:
        console.print("[dim]No experience was injected.[/]")
        return
    table = Table(title="Experiences in the prompt", title_justify="left")
    table.add_column("label")
    table.add_column("used")
    table.add_column("similarity", justify="right")
    table.add_column("experience")
    for experience in result.experiences:
        table.add_row(
            experience.label,
            "yes" if experience.cited else "",
            f"{experience.similarity:.2f}",
            escape(experience.text),
        )
    console.print(table)


@click.command()
@library_option
@click.option("--question", required=True, help="The question.")
@click.option(
    "--image",
    "images",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="An image for the question (repeatable).",
)
@click.option(
    "--option",
    "--options",
    "options",
    multiple=True,
    help="A multiple-choice option, in order A, B, ... (repeatable).",
)
@click.option("--answer", help="The right answer (an option letter), to grade the reply.")
@click.option("--no-library", is_flag=True, help="Answer without experiences (the baseline student).")
@student_options
@click.option(
    "--set", "settings", multiple=True, metavar="FIELD=VALUE", help="Any other setting, e.g. --set k=3."
)
@click.option("--json", "as_json", is_flag=True, help="Print the answer and the experiences as JSON.")
def solve(
    library: Path | None,
    question: str,
    images: tuple[Path, ...],
    options: tuple[str, ...],
    answer: str | None,
    no_library: bool,
    settings: tuple[str, ...],
    as_json: bool,
    **model_options: Any,
) -> None:
    """Answer one question with the student, the relevant experiences of the library in its prompt."""
    from ted.cli.errors import CliError
    from ted.cli.options import build_context, require_endpoints, require_library
    from ted.cli.output import print_json, run, user_errors
    from ted.memory.library import read_manifest
    from ted.runs import solve as solve_item

    with user_errors():
        folder = require_library(library).expanduser().absolute()
        manifest = read_manifest(folder)
        if manifest is None:
            raise CliError(
                f"no experience library at {folder}: distil one first with "
                f"`ted distill DATA --library {folder}`"
            )
        model_options["embeddings"] = model_options.get("embeddings") or manifest.embedding_model
        context = build_context(folder, model_options, settings)
        require_endpoints(context, ["student"])
        item = _item(question, images, options, answer)
        result = run(solve_item(item, context, use_library=not no_library))
        if result.errors and not result.response:
            raise CliError(f"the student gave no answer: {result.errors[0]['message']}")
    if as_json:
        print_json(
            {
                "question": question,
                "options": list(options) or None,
                "library": str(folder),
                **result.model_dump(mode="json"),
            }
        )
    else:
        _show(result)
