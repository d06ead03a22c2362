"""Cost accounting: tokens per stage and model, turned into money by an optional price table.

Token counts are what the endpoints reported in their ``usage`` (the student, teacher, reflect and
compress stages). Embedding tokens are estimated from the texts that were embedded, because the local
model reports none. A price table is JSON or TOML mapping a model name to US dollars per million input
and output tokens: ``{"gpt-4.1": {"input": 2.0, "output": 8.0}}``.
"""

from __future__ import annotations

import json
import os
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field, ValidationError

from ted.runs.errors import PricesError

if TYPE_CHECKING:
    from ted.graph.state import Usage

PRICES_VARIABLE = "TED_PRICES"
STAGE_ORDER = ("student", "teacher", "reflect", "compress", "embeddings")


class Price(BaseModel):
    """US dollars per million tokens."""

    input: float = Field(ge=0.0)
    output: float = Field(default=0.0, ge=0.0)


class PriceTable(BaseModel):
    """Prices by model name."""

    models: dict[str, Price] = Field(default_factory=dict)
    source: str | None = Field(default=None, description="The file the prices came from.")

    def price(self, model: str) -> Price | None:
        """The price of ``model``, if the table has it."""
        return self.models.get(model)


class CostRow(BaseModel):
    """Tokens and cost of one stage with one model."""

    stage: str
    model: str
    calls: int
    input_tokens: int
    output_tokens: int
    usd: float | None = Field(description="None when the price table does not have the model.")
    estimated: bool = Field(default=False, description="Token counts are estimates, not reported.")


class CostReport(BaseModel):
    """Costs of one run, by stage and model."""

    rows: list[CostRow]
    input_tokens: int
    output_tokens: int
    usd: float | None = Field(description="Total; None when no row could be priced.")
    unpriced: list[str] = Field(description="Models that used tokens but have no price.")
    prices: str | None = Field(description="Where the price table came from (None: no table).")
    notes: list[str] = Field(default_factory=list)


def load_prices(path: str | Path | None = None) -> PriceTable:
    """Read a price table from ``path``, else from ``$TED_PRICES``, else an empty table.

    Raises:
        PricesError: The file is missing, not JSON or TOML, or a price is malformed.
    """
    location = path if path is not None else os.environ.get(PRICES_VARIABLE) or None
    if location is None:
        return PriceTable()
    file = Path(location).expanduser()
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise PricesError(f"cannot read the price table {file}: {exc.strerror or exc}") from exc
    try:
        raw = tomllib.loads(text) if file.suffix.lower() == ".toml" else json.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        kind = "TOML" if file.suffix.lower() == ".toml" else "JSON"
        raise PricesError(f"the price table {file} is not valid {kind}: {exc}") from exc
    if not isinstance(raw, dict):
        raise PricesError(f"the price table {file} must map model names to {{input, output}} prices")
    models: dict[str, Price] = {}
    for name, price in raw.items():
        try:
            models[str(name)] = Price.model_validate(price)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in (name, *first["loc"]))
            raise PricesError(f"the price table {file} has a bad price ({where}: {first['msg']})") from exc
    return PriceTable(models=models, source=str(file))


def _money(price: Price | None, input_tokens: int, output_tokens: int) -> float | None:
    if price is None:
        return None
    return (input_tokens * price.input + output_tokens * price.output) / 1_000_000


def is_local_embedding(model: str) -> bool:
    """Whether embeddings with this library name run locally (no endpoint to pay)."""
    return not model.startswith("openai:")


def cost_report(
    usage: Iterable[Usage],
    prices: PriceTable,
    *,
    embedding_model: str | None = None,
    embedding_tokens: int = 0,
) -> CostReport:
    """Sum ``usage`` by stage and model and price it.

    Args:
        usage: Usage records of the model calls.
        prices: The price table (possibly empty).
        embedding_model: The library's embedding model, for the embeddings row.
        embedding_tokens: Estimated tokens embedded (queries and experience texts).
    """
    totals: dict[tuple[str, str], list[int]] = {}
    for record in usage:
        counts = totals.setdefault((record["stage"], record["model"]), [0, 0, 0])
        counts[0] += 1
        counts[1] += record["input_tokens"]
        counts[2] += record["output_tokens"]
    rows = [
        CostRow(
            stage=stage,
            model=model,
            calls=calls,
            input_tokens=given,
            output_tokens=taken,
            usd=_money(prices.price(model), given, taken),
        )
        for (stage, model), (calls, given, taken) in totals.items()
    ]
    notes: list[str] = []
    if embedding_model is not None and embedding_tokens:
        local = is_local_embedding(embedding_model)
        price = prices.price(embedding_model) or prices.price(embedding_model.removeprefix("openai:"))
        usd = _money(price, embedding_tokens, 0)
        rows.append(
            CostRow(
                stage="embeddings",
                model=embedding_model,
                calls=0,
                input_tokens=embedding_tokens,
                output_tokens=0,
                usd=0.0 if local and usd is None else usd,
                estimated=True,
            )
        )
        notes.append(
            "Embedding tokens are estimated (about 4 characters a token) from the queries and experience "
            "texts embedded"
            + ("; the local model costs nothing to call." if local else "; the endpoint reports no count.")
        )
    rows.sort(key=lambda row: (_stage_rank(row.stage), row.model))
    unpriced = sorted(
        {row.model for row in rows if row.usd is None and (row.input_tokens or row.output_tokens)}
    )
    # A total made only of free local embeddings would read as "this run cost nothing".
    models_priced = any(row.usd is not None for row in rows if row.stage != "embeddings")
    total = sum(row.usd for row in rows if row.usd is not None) if models_priced else None
    if unpriced and prices.models:
        notes.append(f"No price for {', '.join(unpriced)}: their cost is not in the total.")
    return CostReport(
        rows=rows,
        input_tokens=sum(row.input_tokens for row in rows if not row.estimated),
        output_tokens=sum(row.output_tokens for row in rows if not row.estimated),
        usd=total,
        unpriced=unpriced,
        prices=prices.source,
        notes=notes,
    )


def _stage_rank(stage: str) -> int:
    return STAGE_ORDER.index(stage) if stage in STAGE_ORDER else len(STAGE_ORDER)


def running_cost(usage: Iterable[Usage], prices: Mapping[str, Price]) -> float | None:
    """Dollars of ``usage`` so far (None when no model used is priced), for progress displays."""
    total: float | None = None
    for record in usage:
        money = _money(prices.get(record["model"]), record["input_tokens"], record["output_tokens"])
        if money is not None:
            total = (total or 0.0) + money
    return total
