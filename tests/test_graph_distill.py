"""The dataset loop with scripted models: batches, epochs, compression, learning curve, checkpoints."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fakes import ScriptedChatModel
from test_graph_item import ITEM, student_script, teacher_script

from ted.graph import Context, close_libraries, open_library
from ted.graph import models as graph_models
from ted.graph.nodes.retrieve import query_text
from ted.memory import ExperienceStore
from ted.runs.checkpoints import run_graph
from ted.tasks import Item

ITEMS = [Item.model_validate({**ITEM, "id": f"q{n}"}) for n in range(6)]


@pytest.fixture
def fakes(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, ScriptedChatModel]]:
    models = {
        "student": ScriptedChatModel(script=student_script),
        "teacher": ScriptedChatModel(script=teacher_script),
    }
    monkeypatch.setattr(
        graph_models,
        "build_chat_model",
        lambda spec: models["teacher" if spec.role == "compress" else spec.role],
    )
    yield models
    close_libraries()


async def test_distill_runs_epochs_of_batches_and_reports_a_learning_curve(
    fakes: dict[str, ScriptedChatModel], tmp_path: Path
) -> None:
    context = Context(library=str(tmp_path / "lib"), embeddings="hash", rollouts=2, compress_every=3)
    # Calls that take time, as real ones do: the first window's items have all started before any of
    # them has learned something (answering at once, the last could start after the first learned).
    for model in fakes.values():
        model.latency = 0.05
    output = await run_graph(ITEMS, context, run_id="r1", epochs=2, batch_size=3)

    assert len(output["results"]) == 12
    assert [p["items_done"] for p in output["progress"]] == [3, 6, 9, 12]
    # The first batch runs concurrently without the experience; every later batch has it and is right.
    assert output["progress"][0]["correct"] == 0
    assert [p["correct"] for p in output["progress"][1:]] == [6, 6, 6]
    assert output["compressions"], "compression runs on its schedule"
    assert output["errors"] == []
    stages = {u["stage"] for u in output["usage"]}
    assert {"student", "teacher", "reflect"} <= stages
    store = await open_library(context)
    assert await store.count() == 1

    calls = len(fakes["student"].calls)
    again = await run_graph(ITEMS, context, run_id="r1", epochs=2, batch_size=3)
    assert len(fakes["student"].calls) == calls, "a finished run is not run again"
    assert again["results"] == output["results"]


async def test_distill_rejects_bad_items(fakes: dict[str, ScriptedChatModel], tmp_path: Path) -> None:
    context = Context(library=str(tmp_path / "lib"), embeddings="hash")
    duplicate = [ITEMS[0], ITEMS[0]]
    with pytest.raises(ValueError, match="appears twice"):
        await run_graph(duplicate, context, run_id="bad")


async def test_items_after_the_first_window_find_their_question_embedded_when_they_search(
    fakes: dict[str, ScriptedChatModel], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Items start ahead of the window while the first ones are still learning, in a library still empty:
    # each embeds its question while it waits for its slot, and its search, later, finds it ready.
    items = [
        Item.model_validate({**ITEM, "id": f"q{n}", "question": f"{ITEM['question']} (picture {n})"})
        for n in range(8)
    ]
    questions = {query_text(item) for item in items}
    context = Context(library=str(tmp_path / "lib"), embeddings="hash", rollouts=2, compress_every=100)
    for model in fakes.values():
        model.latency = 0.05
    searched, unready = [], []
    search = ExperienceStore.search

    async def noting_readiness(self: ExperienceStore, query: str, **kwargs: Any) -> Any:
        if query in questions and self.version > 0:
            searched.append(query)
            if not self._texts.at_hand(query):
                unready.append(query)
        return await search(self, query, **kwargs)

    monkeypatch.setattr(ExperienceStore, "search", noting_readiness)
    output = await run_graph(items, context, run_id="r1", batch_size=4, window=4)

    assert len(output["results"]) == 8
    assert len(searched) >= 4, "the items after the first window search a library that holds something"
    assert unready == [], "a search embedded its question on the way to the item's first call"
