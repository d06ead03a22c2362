"""Markdown building blocks of the reports: tables, intervals, the cost and error sections."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ted.runs.costs import CostReport
from ted.runs.results import SIMULATED_BANNER, ModelInfo
from ted.tasks.metrics import Interval, Spread


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A Markdown table (pipes in cells are escaped)."""

    def cell(value: object) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows]
    return "\n".join(lines)


def interval(value: Interval | None) -> str:
    """``0.83 [0.72, 0.93]``, or a dash."""
    if value is None:
        return "-"
    return f"{value.estimate:.3f} [{value.low:.3f}, {value.high:.3f}]"


def ratio(value: float | None) -> str:
    """A share with three decimals, or a dash."""
    return "-" if value is None else f"{value:.3f}"


def repeats(spread: Spread) -> str:
    """Mean, spread and range over repeats, or a note that there was one."""
    if spread.n < 2:
        return "- (one repeat)"
    return f"{spread.mean:.3f} ± {spread.std:.3f} ({spread.min:.3f}-{spread.max:.3f}, {spread.n} repeats)"


def percent(value: float | None) -> str:
    """A share as a whole percentage, or a dash."""
    return "-" if value is None else f"{value:.0%}"


def money(value: float | None) -> str:
    """US dollars, or a dash when unknown."""
    return "-" if value is None else f"${value:,.4f}"


def model_rows(models: Sequence[ModelInfo]) -> list[tuple[str, str]]:
    """One overview row per model: role, name and endpoint."""
    return [(model.role.capitalize(), f"`{model.model}` at {model.endpoint}") for model in models]


def banner(simulated: bool) -> str:
    """The simulated-models banner as a block quote (empty for real models)."""
    return f"> **{SIMULATED_BANNER}**\n\n" if simulated else ""


def costs_markdown(costs: CostReport) -> str:
    """The cost section: tokens and money by stage and model."""
    rows = [
        (
            row.stage,
            f"`{row.model}`",
            row.calls or "-",
            f"{row.input_tokens:,}" + (" (est.)" if row.estimated else ""),
            f"{row.output_tokens:,}",
            money(row.usd),
        )
        for row in costs.rows
    ]
    text = (
        table(["Stage", "Model", "Calls", "Input tokens", "Output tokens", "Cost"], rows)
        if rows
        else "No model calls."
    )
    total = (
        f"Total: {costs.input_tokens:,} input and {costs.output_tokens:,} output tokens reported by the "
        "endpoints"
    )
    total += f", {money(costs.usd)}." if costs.usd is not None else "."
    prices = (
        f"Prices from `{costs.prices}`."
        if costs.prices
        else "No price table given (`--prices FILE` or `TED_PRICES`), so no money figures."
    )
    notes = "".join(f"\n- {note}" for note in costs.notes)
    return f"{text}\n\n{total} {prices}{notes}\n"


def errors_markdown(counts: dict[str, int], errors: Sequence[dict[str, Any]]) -> str:
    """The error section: counts by stage and kind, and the first messages."""
    if not counts:
        return "No failures were recorded.\n"
    text = table(["Stage: kind", "Count"], sorted(counts.items()))
    shown = "\n".join(f"- `{e['item_id']}` ({e['stage']}, {e['kind']}): {e['message']}" for e in errors)
    return f"{text}\n\nFirst failures:\n\n{shown}\n"
