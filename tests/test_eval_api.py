"""`ted.runs.answers.answer_items`: the solve graph over held-out items, with and without the library."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cli_support import simulated, synth_dataset
from fakes import ScriptedChatModel
from test_graph_item import ITEM, SKILL, student_script, teacher_script

from ted.graph import Context, ModelCallError, close_libraries, open_library
from ted.graph import models as graph_models
from ted.graph.models import ModelSpec
from ted.memory.models import Origin, Provenance
from ted.runs.answers import answer_items
from ted.tasks import Item, load_dataset

ITEMS = [Item.model_validate({**ITEM, "id": f"t{n}"}) for n in range(3)]


@pytest.fixture
def student(monkeypatch: pytest.MonkeyPatch) -> Iterator[ScriptedChatModel]:
    models = {
        "student": ScriptedChatModel(script=student_script),
        "teacher": ScriptedChatModel(script=teacher_script),
    }

    def build(spec: ModelSpec) -> ScriptedChatModel:
        return models["teacher" if spec.role == "compress" else spec.role]

    monkeypatch.setattr(graph_models, "build_chat_model", build)
    yield models["student"]
    close_libraries()


@pytest.fixture
def context(tmp_path: Path) -> Context:
    return Context(library=str(tmp_path / "library"), embeddings="hash")


async def _learn(context: Context, source_items: list[str]) -> str:
    store = await open_library(context)
    experience = await store.add(
        SKILL, tags=["counting"], provenance=Provenance(origin=Origin.REFLECT, source_items=source_items)
    )
    return experience.id


async def test_the_library_condition_injects_and_the_baseline_does_not(
    student: ScriptedChatModel, context: Context
) -> None:
    learned = await _learn(context, ["elsewhere"])
    seen: list[str] = []
    output = await answer_items(ITEMS, context, on_answer=lambda r: seen.append(r["condition"]))

    records = output["answers"]
    assert [(r["item_id"], r["condition"], r["repeat"]) for r in records] == [
        (item.id, condition, 0) for item in ITEMS for condition in ("library", "baseline")
    ]
    assert sorted(seen) == sorted(r["condition"] for r in records)
    for record in records:
        if record["condition"] == "library":
            assert record["injected"] == [learned] and record["cited"] == [learned]
            assert record["correct"] and record["answer"] == "C"
        else:
            assert record["injected"] == [] and not record["correct"] and record["answer"] == "A"
        assert record["category"] == "counting" and record["error"] is None
    assert len(output["usage"]) == 6 and {u["stage"] for u in output["usage"]} == {"student"}
    assert len(student.calls) == 6


async def test_the_contamination_guard_holds_back_what_an_item_taught(
    student: ScriptedChatModel, context: Context
) -> None:
    await _learn(context, ["t0"])
    output = await answer_items(ITEMS, context, conditions=("library",))
    by_item = {r["item_id"]: r for r in output["answers"]}
    assert by_item["t0"]["injected"] == [] and not by_item["t0"]["correct"]
    assert by_item["t1"]["injected"] and by_item["t1"]["correct"]


async def test_repeats_sample_each_item_again(student: ScriptedChatModel, context: Context) -> None:
    sampled = Context(**{**context.__dict__, "solve_temperature": 0.7})
    output = await answer_items(ITEMS[:2], sampled, conditions=("baseline",), repeats=3)
    assert [(r["item_id"], r["repeat"]) for r in output["answers"]] == [
        ("t0", 0),
        ("t0", 1),
        ("t0", 2),
        ("t1", 0),
        ("t1", 1),
        ("t1", 2),
    ]
    assert {call["kwargs"].get("temperature") for call in student.calls} <= {0.7, None}


async def test_bad_settings_are_refused(student: ScriptedChatModel, context: Context) -> None:
    with pytest.raises(ValueError, match="solve_temperature above 0"):
        await answer_items(ITEMS, context, repeats=2)
    with pytest.raises(ValueError, match="conditions must be some of"):
        await answer_items(ITEMS, context, conditions=("teacher",))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="ground-truth answers"):
        await answer_items([ITEMS[0].model_copy(update={"answer": ""})], context)
    assert not student.calls


@pytest.mark.server
async def test_concurrency_is_bounded_and_fatal_errors_stop_everything(tmp_path: Path) -> None:
    dataset = synth_dataset(tmp_path / "data", n=8)
    items = load_dataset(dataset)
    with simulated(dataset, latency=0.2, api_key="key") as sim:
        context = Context(
            library=str(tmp_path / "library"),
            embeddings="hash",
            student_model="sim-student",
            student_base_url=sim.base_url,
            student_api_key_env="EVAL_TEST_KEY",
        )
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("EVAL_TEST_KEY", "key")
            output = await answer_items(items, context, concurrency=3)
            patch.setenv("EVAL_TEST_KEY", "wrong")
            graph_models._cache.clear()
            with pytest.raises(ModelCallError, match="refused the API key") as refused:
                await answer_items(items, context, concurrency=3)
        log = [record for record in sim.log if record.status == 200]
        failed = [record for record in sim.log if record.status == 401]
    close_libraries()
    assert len(output["answers"]) == 16 and not output["errors"]
    spans = [(record.start, record.end) for record in log]
    overlap = max(sum(start <= moment < end for start, end in spans) for moment, _ in spans)
    assert 2 <= overlap <= 3
    assert refused.value.fatal
    # The first refusal cancels the rest: far fewer than 16 calls were made.
    assert 1 <= len(failed) <= 3 * 2


async def test_a_search_that_keeps_failing_is_recorded_against_its_answer(
    student: ScriptedChatModel, context: Context, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ted.memory.index import QUERY_ATTEMPTS, VectorIndex

    await _learn(context, ["elsewhere"])
    await (await open_library(context)).search("shapes", k=1)  # the index takes in what was learned
    queries: list[int] = []

    def broken(*args: object, **kwargs: object) -> None:
        queries.append(1)
        raise RuntimeError("Error creating hnsw segment reader: Nothing found on disk")

    monkeypatch.setattr(VectorIndex, "_get", lambda self: type("Broken", (), {"query": broken})())
    output = await answer_items(ITEMS, context)

    failed = [a for a in output["answers"] if a["error"]]
    assert {a["condition"] for a in failed} == {"library"} and len(failed) == len(ITEMS)
    assert all("Nothing found on disk" in (a["error"] or "") and not a["correct"] for a in failed)
    assert all(a["error"] is None for a in output["answers"] if a["condition"] == "baseline")
    assert len(queries) == QUERY_ATTEMPTS * len(ITEMS), "each search was tried again before giving up"
    assert [e["stage"] for e in output["errors"]] == ["retrieve"] * len(ITEMS)
