"""The graphs served by a real `langgraph dev` server, driven through the LangGraph SDK.

The server runs the project's langgraph.json against the simulated endpoint (started here, in-process);
the library lives in a temporary folder.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from servers import LangGraphDev

from ted.memory import ExperienceStore
from ted.memory.embeddings import HashEmbeddings
from ted.sim import SimConfig, SimServer, World
from ted.tasks import Item
from ted.tasks.synth import generate

pytestmark = [pytest.mark.slow, pytest.mark.server]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    work = tmp_path_factory.mktemp("served")
    items = generate(work / "data", n=8, seed=3)
    with SimServer(World.from_items(items), config=SimConfig(seed=1)) as sim:
        server = LangGraphDev(
            work,
            {
                **os.environ,
                "TED_STUDENT_MODEL": "sim-student",
                "TED_TEACHER_MODEL": "sim-teacher",
                "TED_STUDENT_BASE_URL": sim.base_url,
                "TED_TEACHER_BASE_URL": sim.base_url,
                "TED_LIBRARY": str(work / "library"),
                "TED_IMAGE_ROOTS": str(work / "data"),
                "TED_EMBEDDINGS": "hash",
                "TED_ROLLOUTS": "3",
            },
        )
        try:
            url = server.start()
            yield {"url": url, "items": items, "library": work / "library", "server": server}
        finally:
            server.stop()


@pytest.fixture
async def client(served: dict[str, Any]) -> AsyncIterator[Any]:
    """An SDK client of the server, closed (its connections too) after the test."""
    from langgraph_sdk import get_client

    async with get_client(url=served["url"]) as sdk:
        yield sdk


async def _assistant(client: Any, graph_id: str) -> str:
    [assistant] = await client.assistants.search(graph_id=graph_id)
    return str(assistant["assistant_id"])


async def test_schemas_show_inputs_and_described_context(client: Any) -> None:
    for graph_id, input_key in (("distill", "items"), ("solve", "item")):
        schemas = await client.assistants.get_schemas(await _assistant(client, graph_id))
        assert input_key in schemas["input_schema"]["properties"], json.dumps(schemas["input_schema"])
        context = schemas["context_schema"]["properties"]
        assert "TED_STUDENT_MODEL" in context["student_model"]["description"]
        assert all(field.get("description") for field in context.values()), "every setting is described"


async def test_solve_answers_a_synthetic_item(served: dict[str, Any], client: Any) -> None:
    item: Item = served["items"][-1]
    output = await client.runs.wait(
        None, await _assistant(client, "solve"), input={"item": item.model_dump(mode="json")}
    )
    assert "__error__" not in output, output
    [trajectory] = output["trajectories"]
    assert trajectory["error"] is None
    assert trajectory["answer"], "the simulated student states an answer the scorer reads"


async def test_distill_four_items_grows_the_library(served: dict[str, Any], client: Any) -> None:
    items = [item.model_dump(mode="json") for item in served["items"][:4]]
    output = await client.runs.wait(
        None,
        await _assistant(client, "distill"),
        input={"items": items, "batch_size": 4},
        context={"rollouts": 2},
    )
    assert "__error__" not in output, f"{output}\n{served['server'].tail()}"
    assert sorted(r["item_id"] for r in output["results"]) == sorted(i["id"] for i in items)
    assert all(r["graded"] == 2 for r in output["results"]), "the run context overrides TED_ROLLOUTS"
    store = ExperienceStore.open(served["library"], embeddings=HashEmbeddings(), create=False)
    try:
        assert await store.count() > 0
    finally:
        store.close()
