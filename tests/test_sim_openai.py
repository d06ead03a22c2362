"""The simulated endpoint over real HTTP, driven by langchain-openai's ChatOpenAI."""

from __future__ import annotations

import asyncio
import base64
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import openai
import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from openai.types.chat import ChatCompletion, ChatCompletionChunk
from pydantic import BaseModel

from ted.graph import Context, prompting
from ted.graph.state import InjectedExperience
from ted.sim import SimConfig, SimServer, World
from ted.tasks import render_prompt, score_answer
from ted.tasks.items import Item
from ted.tasks.synth import FAMILIES, generate_items

pytestmark = pytest.mark.server


@pytest.fixture(scope="module")
def items(tmp_path_factory: pytest.TempPathFactory) -> list[Item]:
    return generate_items(12, seed=0, image_dir=tmp_path_factory.mktemp("images"))


@pytest.fixture(scope="module")
def world(items: list[Item]) -> World:
    return World.from_items(items)


@pytest.fixture(scope="module")
def sim(world: World) -> Iterator[SimServer]:
    with SimServer(world, config=SimConfig(seed=0)) as server:
        yield server


def chat(server: SimServer, model: str = "sim-student", **options: Any) -> ChatOpenAI:
    return ChatOpenAI(base_url=server.base_url, api_key="sim", model=model, max_retries=0, **options)  # type: ignore[arg-type]


def data_url(item: Item) -> str:
    return "data:image/png;base64," + base64.b64encode(Path(item.images[0]).read_bytes()).decode()


def image_message(item: Item, extra: str = "") -> HumanMessage:
    return HumanMessage(
        content=[
            {"type": "text", "text": render_prompt(item) + extra},
            {"type": "image_url", "image_url": {"url": data_url(item)}},
        ]
    )


def injected(experiences: list[str]) -> list[InjectedExperience]:
    return [
        {"label": f"E{n}", "id": f"x{n}", "text": text, "similarity": 0.5}
        for n, text in enumerate(experiences, start=1)
    ]


def student_messages(item: Item, experiences: list[str]) -> list[BaseMessage]:
    """The pipeline's student prompt, with the item's image."""
    return prompting.student_messages(Context(), item, [data_url(item)], injected(experiences))


# Stand-ins with the exact names and arguments of the memory tools.
@tool
def search_experiences(query: str, k: int = 5) -> str:
    """Search the library."""
    return "no results"


@tool
def add_experience(text: str, tags: list[str] | None = None, reason: str = "") -> str:
    """Add an experience."""
    return "added E9"


@tool
def vote_experience(label: str, vote: Literal["helpful", "harmful"], reason: str = "") -> str:
    """Vote on an experience."""
    return f"voted {vote} on {label}"


@tool
def merge_experiences(labels: list[str], text: str, reason: str = "") -> str:
    """Merge experiences."""
    return "merged"


@tool
def update_experience(label: str, text: str, reason: str = "") -> str:
    """Rewrite an experience."""
    return "updated"


def get(server: SimServer, path: str) -> tuple[int, dict[str, str], Any]:
    url = f"http://{server.host}:{server.port}{path}"
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


def post(server: SimServer, path: str, data: bytes) -> tuple[int, dict[str, str], Any]:
    request = urllib.request.Request(
        f"http://{server.host}:{server.port}{path}", data=data, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


def test_models_are_listed_and_marked_simulated(sim: SimServer) -> None:
    status, headers, body = get(sim, "/v1/models")
    assert status == 200
    assert headers["x-ted-simulated"] == "true"
    assert [model["id"] for model in body["data"]] == ["sim-student", "sim-teacher"]
    assert all("simulated" in model["owned_by"] for model in body["data"])


def test_student_answers_an_image_question(sim: SimServer, items: list[Item]) -> None:
    item = items[0]
    skill = FAMILIES[item.category or ""].paraphrases[1]
    before = len(sim.log)
    reply = chat(sim, temperature=0.7).invoke(student_messages(item, ["Read the question carefully.", skill]))
    assert isinstance(reply, AIMessage) and isinstance(reply.content, str)
    lines = reply.content.splitlines()
    assert lines[0].startswith("Simulated student reasoning")
    assert lines[-2].startswith("Experiences used: E2")
    assert lines[-1].startswith("Answer: ")
    assert reply.response_metadata["system_fingerprint"] == "ted-sim"
    assert reply.response_metadata["model_name"] == "sim-student"
    assert reply.usage_metadata is not None
    assert reply.usage_metadata["input_tokens"] > SimConfig().image_tokens
    assert reply.usage_metadata["output_tokens"] > 0
    (record,) = sim.log[before:]
    assert (record.role, record.kind, record.item_id, record.status) == ("student", "solve", item.id, 200)
    assert record.prompt_tokens == reply.usage_metadata["input_tokens"]
    assert record.completion_tokens == reply.usage_metadata["output_tokens"]
    assert record.simulated and record.end >= record.start


def test_teacher_is_right_with_a_certain_teacher(world: World, items: list[Item]) -> None:
    with SimServer(world, config=SimConfig(p_teacher=1.0)) as server:
        teacher = chat(server, model="gpt-teacher")
        for item in items[:6]:
            reply = teacher.invoke([SystemMessage("You are an expert."), image_message(item)])
            assert score_answer("generic", str(reply.content), item.answer, item.options)
            assert "Experiences used" not in str(reply.content)


def test_identical_student_requests_do_not_all_agree(sim: SimServer, items: list[Item]) -> None:
    student = chat(sim, temperature=1.0)
    answers = {
        str(student.invoke(student_messages(items[1], [])).content).splitlines()[-1] for _ in range(10)
    }
    assert len(answers) > 1


def test_several_choices_in_one_request(sim: SimServer, items: list[Item]) -> None:
    result = chat(sim, temperature=1.0, n=4).generate([student_messages(items[2], [])])
    texts = [generation.text for generation in result.generations[0]]
    assert len(texts) == 4
    assert all(text.splitlines()[-1].startswith("Answer: ") for text in texts)


def test_reflection_calls_tools_then_finishes(sim: SimServer, items: list[Item]) -> None:
    item = items[3]
    teacher = chat(sim, model="sim-teacher", temperature=0.0).bind_tools(
        [search_experiences, add_experience, vote_experience, merge_experiences, update_experience]
    )
    prompt = prompting.reflect_messages(
        Context(), item, [], injected(["Read the question carefully."]), [], None, json_mode=False
    )
    first = teacher.invoke(prompt)
    assert isinstance(first, AIMessage)
    names = [call["name"] for call in first.tool_calls]
    assert "add_experience" in names
    added = next(call for call in first.tool_calls if call["name"] == "add_experience")
    assert added["args"]["tags"] == [item.category]
    results = [
        ToolMessage(tool.invoke(call["args"]), tool_call_id=call["id"])
        for call in first.tool_calls
        for tool in (add_experience, vote_experience)
        if tool.name == call["name"]
    ]
    final = teacher.invoke([*prompt, first, *results])
    assert final.tool_calls == [] and "Library updated" in str(final.content)
    assert [record.kind for record in sim.log[-2:]] == ["reflect", "reflect"]


def test_compression_through_tools(sim: SimServer) -> None:
    clock = FAMILIES["clock_reading"]
    compressor = chat(sim, model="sim-teacher").bind_tools([merge_experiences, update_experience])
    reply = compressor.invoke(
        prompting.compress_messages(
            Context(), cluster=[("E1", clock.paraphrases[0]), ("E2", clock.paraphrases[4])], json_mode=False
        )
    )
    assert isinstance(reply, AIMessage)
    (call,) = reply.tool_calls
    assert call["name"] == "merge_experiences"
    assert call["args"]["labels"] == ["E1", "E2"] and call["args"]["text"] == clock.skill


class Answer(BaseModel):
    """The final answer to a puzzle."""

    reasoning: str
    answer: str


def test_structured_output_with_function_calling(world: World, items: list[Item]) -> None:
    item = items[4]
    with SimServer(world, config=SimConfig(p_student_skill=1.0)) as server:
        structured = chat(server).with_structured_output(Answer, method="function_calling")
        parsed = structured.invoke(student_messages(item, [FAMILIES[item.category or ""].skill]))
    assert isinstance(parsed, Answer)
    assert parsed.answer == item.answer
    assert parsed.reasoning.startswith("Simulated student reasoning")


def test_structured_output_with_json_schema(sim: SimServer, items: list[Item]) -> None:
    parsed = (
        chat(sim, model="sim-teacher")
        .with_structured_output(Answer, method="json_schema")
        .invoke([SystemMessage("Solve."), image_message(items[5])])
    )
    assert isinstance(parsed, Answer) and parsed.answer


class Operations(BaseModel):
    """Library operations in JSON mode."""

    operations: list[dict[str, Any]]


def test_reflection_in_json_mode(sim: SimServer, items: list[Item]) -> None:
    item = items[6]
    skill = FAMILIES[item.category or ""].skill
    parsed = (
        chat(sim, model="sim-teacher")
        .with_structured_output(Operations, method="json_mode")
        .invoke(prompting.reflect_messages(Context(), item, [], injected([skill]), [], None, json_mode=True))
    )
    assert isinstance(parsed, Operations)
    assert parsed.operations == [
        {"op": "vote", "label": "E1", "vote": "helpful", "reason": parsed.operations[0]["reason"]}
    ]


def test_streaming_text_and_tool_calls(sim: SimServer, items: list[Item]) -> None:
    chunks = list(chat(sim, stream_usage=True).stream(student_messages(items[7], [])))
    text = "".join(str(chunk.content) for chunk in chunks)
    assert len(chunks) > 3
    assert text.splitlines()[-1].startswith("Answer: ")
    assert any(chunk.usage_metadata for chunk in chunks)
    streamed = (
        chat(sim, model="sim-teacher")
        .bind_tools([add_experience, vote_experience])
        .stream([SystemMessage("You reflect."), HumanMessage(render_prompt(items[8]))])
    )
    total = None
    for chunk in streamed:
        total = chunk if total is None else total + chunk
    assert total is not None
    assert [call["name"] for call in total.tool_calls] == ["add_experience"]
    assert sim.log[-1].stream


async def test_concurrent_requests_are_served_together(world: World, items: list[Item]) -> None:
    with SimServer(world, config=SimConfig(latency=0.3)) as server:
        student = chat(server, temperature=1.0)
        replies = await asyncio.gather(
            *(student.ainvoke(student_messages(items[n % 12], [])) for n in range(40))
        )
        log = list(server.log)
    assert len(replies) == 40 and len(log) == 40
    # How many requests were in flight at the busiest moment, from the log alone.
    busiest = max(sum(other.start <= record.start < other.end for other in log) for record in log)
    assert busiest >= 20


def test_request_log_file(world: World, items: list[Item], tmp_path: Path) -> None:
    path = tmp_path / "requests.jsonl"
    with SimServer(world, log_path=path) as server:
        chat(server).invoke(student_messages(items[0], []))
        chat(server, model="sim-teacher").invoke([HumanMessage(render_prompt(items[1]))])
        status, _, records = get(server, "/sim/log")
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(line["role"], line["kind"]) for line in lines] == [("student", "solve"), ("teacher", "solve")]
    assert all(line["simulated"] and line["prompt_tokens"] > 0 for line in lines)
    assert status == 200 and records == lines


def test_api_key_is_checked_when_configured(world: World) -> None:
    with SimServer(world, config=SimConfig(api_key="secret")) as server:
        with pytest.raises(openai.AuthenticationError):
            chat(server).invoke("hello")
        good = ChatOpenAI(base_url=server.base_url, api_key="secret", model="sim-student", max_retries=0)  # type: ignore[arg-type]
        assert "Answer: unknown" in str(good.invoke("hello").content)


def test_strict_mode_refuses_unknown_puzzles(world: World, items: list[Item]) -> None:
    with SimServer(world, config=SimConfig(strict=True)) as server:
        with pytest.raises(openai.BadRequestError, match="No puzzle"):
            chat(server).invoke("What is the capital of France?")
        assert chat(server).invoke(render_prompt(items[0])).content


def test_bad_bodies_and_paths_get_openai_errors(sim: SimServer) -> None:
    status, headers, body = post(sim, "/v1/chat/completions", b"{not json")
    assert status == 400 and body["error"]["type"] == "invalid_request_error"
    assert headers["x-ted-simulated"] == "true"
    status, _, body = post(sim, "/v1/chat/completions", json.dumps({"model": "m"}).encode())
    assert status == 400 and "'messages'" in body["error"]["message"]
    status, _, body = get(sim, "/v1/nothing")
    assert status == 404 and "Unknown endpoint" in body["error"]["message"]


def test_bodies_are_what_the_openai_api_sends(sim: SimServer, items: list[Item]) -> None:
    tools = [{"type": "function", "function": {"name": "add_experience", "parameters": {"type": "object"}}}]
    messages = [
        {"role": "system", "content": "You reflect."},
        {"role": "user", "content": render_prompt(items[8])},
    ]
    body = {"model": "sim-teacher", "messages": messages, "tools": tools}
    status, _, completion = post(sim, "/v1/chat/completions", json.dumps(body).encode())
    assert status == 200
    ChatCompletion.model_validate(completion)
    (choice,) = completion["choices"]
    assert choice["finish_reason"] == "tool_calls" and choice["logprobs"] is None
    # As the API writes it: null content and refusal beside the calls, nothing else.
    assert choice["message"].keys() == {"role", "content", "refusal", "tool_calls"}
    assert choice["message"]["content"] is None and choice["message"]["refusal"] is None
    assert completion["usage"]["total_tokens"] == sum(
        completion["usage"][key] for key in ("prompt_tokens", "completion_tokens")
    )
    streamed = {**body, "stream": True, "stream_options": {"include_usage": True}}
    request = urllib.request.Request(
        f"{sim.base_url}/chat/completions",
        data=json.dumps(streamed).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.headers["Content-Type"] == "text/event-stream"
        events = [line.removeprefix("data: ") for line in response.read().decode().split("\n\n") if line]
    assert events[-1] == "[DONE]"
    chunks = [ChatCompletionChunk.model_validate_json(event) for event in events[:-1]]
    assert chunks[0].choices[0].delta.role == "assistant"
    assert chunks[-2].choices[0].finish_reason == "tool_calls"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    # The same prompt, so the same prompt tokens; the answer is another draw.
    assert chunks[-1].usage.prompt_tokens == completion["usage"]["prompt_tokens"]
    (call,) = [call for chunk in chunks if chunk.choices for call in chunk.choices[0].delta.tool_calls or []]
    assert call.function is not None and call.function.name == "add_experience"


def test_port_and_base_url_need_a_running_server(world: World) -> None:
    server = SimServer(world)
    from ted.sim import SimError

    with pytest.raises(SimError, match="not running"):
        _ = server.base_url
    server.start()
    try:
        assert server.base_url == f"http://127.0.0.1:{server.port}/v1"
        with pytest.raises(SimError, match="cannot listen"):
            SimServer(world, port=server.port).start()
    finally:
        server.stop()
    server.stop()  # stopping twice is harmless
