"""Cost accounting: price tables (JSON, TOML, TED_PRICES) and tokens by stage turned into money."""

from __future__ import annotations

from pathlib import Path

import pytest

from ted.graph.state import Usage
from ted.runs.costs import PriceTable, cost_report, load_prices, running_cost
from ted.runs.errors import PricesError


def _usage(stage: str, model: str, given: int, taken: int) -> Usage:
    return Usage(stage=stage, model=model, input_tokens=given, output_tokens=taken)  # type: ignore[typeddict-item]


USAGE = [
    _usage("student", "qwen", 1_000_000, 100_000),
    _usage("student", "qwen", 1_000_000, 100_000),
    _usage("teacher", "gpt-4.1", 500_000, 50_000),
    _usage("reflect", "gpt-4.1", 250_000, 25_000),
    _usage("compress", "gpt-4.1", 0, 0),
]


def test_prices_come_from_json_toml_or_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    as_json = tmp_path / "prices.json"
    as_json.write_text('{"gpt-4.1": {"input": 2.0, "output": 8.0}}')
    as_toml = tmp_path / "prices.toml"
    as_toml.write_text('[qwen]\ninput = 0.1\noutput = 0.4\n["text-embedding-3-small"]\ninput = 0.02\n')
    table = load_prices(as_json)
    assert table.price("gpt-4.1") is not None and table.source == str(as_json)
    toml = load_prices(as_toml)
    assert toml.models["qwen"].output == 0.4 and toml.models["text-embedding-3-small"].output == 0.0
    assert load_prices().models == {}
    monkeypatch.setenv("TED_PRICES", str(as_toml))
    assert load_prices().source == str(as_toml)


def test_bad_price_tables_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(PricesError, match="cannot read the price table"):
        load_prices(tmp_path / "missing.json")
    bad = tmp_path / "bad.toml"
    bad.write_text("qwen = ")
    with pytest.raises(PricesError, match=f"{bad} is not valid TOML"):
        load_prices(bad)
    negative = tmp_path / "negative.json"
    negative.write_text('{"qwen": {"input": -1}}')
    with pytest.raises(PricesError, match=r"bad price \(qwen.input"):
        load_prices(negative)
    listed = tmp_path / "list.json"
    listed.write_text("[1, 2]")
    with pytest.raises(PricesError, match="must map model names"):
        load_prices(listed)


def test_cost_report_sums_by_stage_and_model_and_prices_them(tmp_path: Path) -> None:
    prices = tmp_path / "prices.json"
    prices.write_text('{"gpt-4.1": {"input": 2.0, "output": 8.0}, "qwen": {"input": 0.1, "output": 0.4}}')
    report = cost_report(
        USAGE, load_prices(prices), embedding_model="all-MiniLM-L6-v2", embedding_tokens=1234
    )
    rows = {(row.stage, row.model): row for row in report.rows}
    assert [row.stage for row in report.rows] == ["student", "teacher", "reflect", "compress", "embeddings"]
    student = rows[("student", "qwen")]
    assert (student.calls, student.input_tokens, student.output_tokens) == (2, 2_000_000, 200_000)
    assert student.usd == pytest.approx(2 * 0.1 + 0.2 * 0.4)
    assert rows[("teacher", "gpt-4.1")].usd == pytest.approx(0.5 * 2 + 0.05 * 8)
    embeddings = rows[("embeddings", "all-MiniLM-L6-v2")]
    assert embeddings.estimated and embeddings.input_tokens == 1234 and embeddings.usd == 0.0
    assert report.input_tokens == 2_750_000 and report.output_tokens == 275_000  # estimates not included
    assert report.usd == pytest.approx(0.28 + 1.4 + 0.7)
    assert report.unpriced == [] and any("estimated" in note for note in report.notes)


def test_unpriced_models_are_named_and_left_out_of_the_total() -> None:
    report = cost_report(
        USAGE, PriceTable(), embedding_model="openai:text-embedding-3-small", embedding_tokens=10
    )
    assert report.usd is None, "free local embeddings alone never make a total"
    assert report.unpriced == ["gpt-4.1", "openai:text-embedding-3-small", "qwen"]
    partial = PriceTable.model_validate({"models": {"qwen": {"input": 1.0, "output": 1.0}}})
    priced = cost_report(USAGE, partial)
    assert priced.usd == pytest.approx(2.2)
    assert any("No price for gpt-4.1" in note for note in priced.notes)


def test_running_cost_for_progress_displays() -> None:
    table = PriceTable.model_validate({"models": {"qwen": {"input": 1.0, "output": 2.0}}})
    assert running_cost(USAGE, table.models) == pytest.approx(2.4)
    assert running_cost(USAGE, {}) is None
