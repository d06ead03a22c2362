"""Each fault knob of the simulated endpoint, seen through ChatOpenAI as a real server's fault would be."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import httpx2
import openai
import pytest
from langchain_core.exceptions import OutputParserException
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from pydantic import BaseModel, ValidationError

from ted.sim import SimConfig, SimServer, World
from ted.tasks import render_prompt
from ted.tasks.items import Item
from ted.tasks.synth import generate_items

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def items(tmp_path_factory: pytest.TempPathFactory) -> list[Item]:
    return generate_items(6, seed=1, image_dir=tmp_path_factory.mktemp("images"))


@pytest.fixture(scope="module")
def world(items: list[Item]) -> World:
    return World.from_items(items)


@contextmanager
def serving(world: World, **knobs: Any) -> Iterator[SimServer]:
    with SimServer(world, config=SimConfig(**knobs)) as server:
        yield server


def chat(server: SimServer, model: str = "sim-student", **options: Any) -> ChatOpenAI:
    options.setdefault("max_retries", 0)
    return ChatOpenAI(base_url=server.base_url, api_key="sim", model=model, **options)  # type: ignore[arg-type]


@tool
def add_experience(text: str, tags: list[str] | None = None, reason: str = "") -> str:
    """Add an experience."""
    return "added"


class Answer(BaseModel):
    """The final answer."""

    reasoning: str
    answer: str


def test_rate_limit_is_a_429_with_retry_after(world: World, items: list[Item]) -> None:
    with serving(world, rate_429=1.0, retry_after=2.5) as server:
        with pytest.raises(openai.RateLimitError) as caught:
            chat(server).invoke(render_prompt(items[0]))
        response = caught.value.response  # type: ignore[attr-defined]
        assert response.status_code == 429
        assert response.headers["retry-after"] == "3" and response.headers["retry-after-ms"] == "2500"
        assert response.headers["x-ted-simulated"] == "true"
        assert response.json()["error"]["type"] == "rate_limit_error"
        assert [(r.status, r.fault) for r in server.log] == [(429, "429")]


def test_server_error_is_a_500(world: World, items: list[Item]) -> None:
    with serving(world, rate_500=1.0) as server:
        with pytest.raises(openai.InternalServerError) as caught:
            chat(server).invoke(render_prompt(items[0]))
        assert caught.value.response.status_code == 500  # type: ignore[attr-defined]
        assert caught.value.body["type"] == "server_error"  # type: ignore[index]


def test_retries_get_through_a_flaky_server(world: World, items: list[Item]) -> None:
    # 429s carry a short retry-after; the client's own backoff after a 500 starts at half a second.
    with serving(world, seed=4, rate_429=0.5, rate_500=0.1, retry_after=0.01) as server:
        student = chat(server, max_retries=12)
        for item in items:
            assert str(student.invoke(render_prompt(item)).content).splitlines()[-1].startswith("Answer:")
        statuses = [record.status for record in server.log]
    assert statuses.count(200) == len(items)
    assert {429, 500} <= set(statuses)


def test_timeout_holds_longer_than_the_client_waits(world: World, items: list[Item]) -> None:
    with serving(world, rate_timeout=1.0, timeout_hold=3.0) as server:
        started = time.monotonic()
        with pytest.raises(openai.APITimeoutError):
            chat(server, timeout=0.3).invoke(render_prompt(items[0]))
        assert time.monotonic() - started < 2.5
        stopping = time.monotonic()
    # Stopping the server releases the held request at once.
    assert time.monotonic() - stopping < 2.0
    assert server.log[0].fault == "timeout"


def test_timeout_shorter_than_the_client_ends_in_a_504(world: World, items: list[Item]) -> None:
    with serving(world, rate_timeout=1.0, timeout_hold=0.2) as server:
        with pytest.raises(openai.InternalServerError) as caught:
            chat(server, timeout=5).invoke(render_prompt(items[0]))
        assert caught.value.response.status_code == 504  # type: ignore[attr-defined]


def test_timeout_can_drop_the_connection(world: World, items: list[Item]) -> None:
    with serving(world, rate_timeout=1.0, timeout_action="close") as server:
        with pytest.raises(openai.APIConnectionError) as caught:
            chat(server).invoke(render_prompt(items[0]))
        assert not isinstance(caught.value, openai.APITimeoutError)
        causes = []
        error: BaseException | None = caught.value
        while error is not None:
            causes.append(error)
            error = error.__cause__
        assert any(isinstance(cause, httpx2.RemoteProtocolError) for cause in causes)
        assert server.log[0].status is None


def test_malformed_empty_content(world: World, items: list[Item]) -> None:
    with serving(world, rate_malformed=1.0, malformed_kinds={"empty"}) as server:
        reply = chat(server).invoke(render_prompt(items[0]))
        assert isinstance(reply, AIMessage) and reply.content == "" and reply.tool_calls == []
        assert server.log[0].fault == "empty" and server.log[0].status == 200


def test_malformed_invalid_json_in_json_mode(world: World, items: list[Item]) -> None:
    messages = [SystemMessage("You reflect. Reply with JSON."), HumanMessage(render_prompt(items[1]))]
    with serving(world, rate_malformed=1.0, malformed_kinds={"invalid_json"}) as server:
        structured = chat(server, model="sim-teacher").with_structured_output(Answer, method="json_mode")
        with pytest.raises(OutputParserException):
            structured.invoke(messages)
        raw = chat(server, model="sim-teacher").with_structured_output(
            Answer, method="json_mode", include_raw=True
        )
        result = raw.invoke(messages)
        assert isinstance(result, dict)
        assert result["parsed"] is None and result["parsing_error"] is not None
        assert str(result["raw"].content).startswith('{"operations"')


def test_malformed_tool_arguments_that_are_not_json(world: World, items: list[Item]) -> None:
    with serving(world, rate_malformed=1.0, malformed_kinds={"bad_arguments"}) as server:
        reply = (
            chat(server, model="sim-teacher")
            .bind_tools([add_experience])
            .invoke([SystemMessage("You reflect."), HumanMessage(render_prompt(items[2]))])
        )
        assert isinstance(reply, AIMessage)
        assert reply.tool_calls == []
        (invalid,) = reply.invalid_tool_calls
        assert invalid["name"] == "add_experience" and invalid["error"]


def test_malformed_tool_arguments_missing_a_field(world: World, items: list[Item]) -> None:
    with serving(world, rate_malformed=1.0, malformed_kinds={"wrong_arguments"}) as server:
        structured = chat(server).with_structured_output(Answer, method="function_calling")
        with pytest.raises((ValidationError, OutputParserException)):
            structured.invoke(render_prompt(items[3]))
        reply = (
            chat(server, model="sim-teacher")
            .bind_tools([add_experience])
            .invoke([SystemMessage("You reflect."), HumanMessage(render_prompt(items[4]))])
        )
        assert isinstance(reply, AIMessage)
        (call,) = reply.tool_calls
        assert "text" not in call["args"]


def test_fault_rates_mix_and_the_log_names_them(world: World, items: list[Item]) -> None:
    knobs = {"rate_429": 0.25, "rate_500": 0.25, "rate_malformed": 0.25, "malformed_kinds": {"empty"}}
    with serving(world, seed=2, **knobs) as server:
        student = chat(server)
        for _ in range(40):
            with suppress(openai.RateLimitError, openai.InternalServerError):
                student.invoke(render_prompt(items[5]))
        faults = [record.fault for record in server.log]
        asked_for = {record.item_id for record in server.log}
    assert len(faults) == 40
    assert {"429", "500", "empty", None} == set(faults)
    assert asked_for == {items[5].id}  # a failed call is logged with the item it was for
