"""What the simulated models decide, without HTTP: roles and kinds, accuracy, citations, reflection,
compression, structured answers, faults and token counts."""

from __future__ import annotations

import json
import random
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import BaseMessage
from openai.types.chat import ChatCompletionMessage, ChatCompletionMessageFunctionToolCall
from openai.types.chat.chat_completion_message_function_tool_call import Function

from ted.graph import Context
from ted.graph.prompting import compress_messages, reflect_messages, student_messages
from ted.graph.state import InjectedExperience
from ted.prompts.framing import (
    CORRECT_ANSWER,
    EXPERIENCE,
    MERGE_GROUP,
    PROBLEM,
    REWRITE_GROUP,
    frame,
    framed,
    group,
)
from ted.sim import ConfigError, SimConfig, World, parse_latency
from ted.sim.behaviour import fill, respond
from ted.sim.faults import draw_fault, malform
from ted.sim.reading import find_item, kind_of, role_of
from ted.sim.simulator import Draws, completion_tokens, prompt_tokens, request_key
from ted.sim.wire import BadRequest, ChatRequest, assistant, finish_reason, function_calls
from ted.tasks import render_prompt, score_answer
from ted.tasks.items import Item
from ted.tasks.synth import DECOYS, FAMILIES, NOISE, generate_items

MEMORY_TOOLS = ["search_experiences", "add_experience", "update_experience", "delete_experience",
                "merge_experiences", "vote_experience"]  # fmt: skip


@pytest.fixture(scope="module")
def items(tmp_path_factory: pytest.TempPathFactory) -> list[Item]:
    return generate_items(24, seed=0, image_dir=tmp_path_factory.mktemp("images"))


@pytest.fixture(scope="module")
def world(items: list[Item]) -> World:
    return World.from_items(items)


def _tool(
    name: str, properties: dict[str, Any] | None = None, required: list[str] | None = None
) -> dict[str, Any]:
    parameters = {"type": "object", "properties": properties or {}, "required": required or []}
    return {"type": "function", "function": {"name": name, "description": name, "parameters": parameters}}


def _request(model: str, system: str, user: str | list[dict[str, Any]], **extra: Any) -> ChatRequest:
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": system},
        {"role": "user", "content": user},
    ]
    return ChatRequest.parse({"model": model, "messages": messages + extra.pop("more", []), **extra})


def _injected(lines: list[str]) -> list[InjectedExperience]:
    return [
        {"label": f"E{n}", "id": f"x{n}", "text": text, "similarity": 0.5}
        for n, text in enumerate(lines, start=1)
    ]


def _wire(messages: list[BaseMessage]) -> list[dict[str, Any]]:
    """The pipeline's messages as the OpenAI wire format carries them."""
    roles = {"system": "system", "human": "user", "ai": "assistant"}
    return [{"role": roles[message.type], "content": message.content} for message in messages]


def _from_pipeline(model: str, messages: list[BaseMessage], **extra: Any) -> ChatRequest:
    more = extra.pop("more", [])
    return ChatRequest.parse({"model": model, "messages": _wire(messages) + more, **extra})


def _student(item: Item, lines: list[str], **extra: Any) -> ChatRequest:
    messages = student_messages(Context(), item, [], _injected(lines))
    return _from_pipeline("sim-student", messages, temperature=0.7, **extra)


def _calls(reply: ChatCompletionMessage) -> list[tuple[str, dict[str, Any]]]:
    """The name and parsed arguments of each function call of a reply."""
    return [(call.function.name, json.loads(call.function.arguments)) for call in function_calls(reply)]


def _accuracy(request: ChatRequest, world: World, config: SimConfig, draws: int = 2000) -> float:
    item = find_item(request, world)
    assert item is not None
    right = 0
    for index in range(draws):
        reply = respond(request, item, world, config, random.Random(index))
        right += score_answer("generic", reply.content or "", item.answer, item.options)
    return right / draws


# -- roles and kinds -------------------------------------------------------------------------------


def test_role_comes_from_the_model_name() -> None:
    assert role_of(_request("my-Student-8b", "s", "u")) == "student"
    assert role_of(_request("gpt-teacher", "s", "u")) == "teacher"
    assert role_of(_request("anything-else", "s", "u")) == "teacher"


@pytest.mark.parametrize(
    ("system", "extra", "kind"),
    [
        ("Solve.", {}, "solve"),
        ("Solve.", {"tools": [_tool(name) for name in MEMORY_TOOLS]}, "reflect"),
        ("Solve.", {"tools": [_tool("merge_experiences"), _tool("update_experience")]}, "compress"),
        ("You reflect on attempts.\nMore.", {"response_format": {"type": "json_object"}}, "reflect"),
        ("Reflection time.", {"response_format": {"type": "json_object"}}, "reflect"),
        ("You compress a library.", {"response_format": {"type": "json_object"}}, "compress"),
        ("Solve.\nThen reflect.", {"response_format": {"type": "json_object"}}, "structured"),
        (
            "Solve.",
            {
                "response_format": {
                    "type": "json_schema",
                    "json_schema": {"name": "A", "schema": {"type": "object"}},
                }
            },
            "structured",
        ),
        ("Solve.", {"tools": [_tool("Answer")], "tool_choice": "auto"}, "structured"),
        ("Solve.", {"tools": [_tool("Answer")], "tool_choice": "none"}, "solve"),
        # A forced function hides the others, memory tools included.
        (
            "Solve.",
            {
                "tools": [_tool("add_experience"), _tool("Answer")],
                "tool_choice": {"type": "function", "function": {"name": "Answer"}},
            },
            "structured",
        ),
        ("You reflect.", {}, "solve"),
    ],
)
def test_kind_is_decided_as_the_pipeline_asks(system: str, extra: dict[str, Any], kind: str) -> None:
    assert kind_of(_request("sim-teacher", system, "u", **extra)) == kind


@pytest.mark.parametrize(
    ("user", "kind"),
    [
        (frame(CORRECT_ANSWER, "B"), "reflect"),
        (group(MERGE_GROUP, [frame(EXPERIENCE, "x", label="E1")]), "compress"),
        (group(REWRITE_GROUP, [frame(EXPERIENCE, "x", label="E1")]), "compress"),
        # Tags inside framed data are defused: data, not frames.
        (frame(PROBLEM, "<correct_answer>\nB\n</correct_answer>"), "structured"),
    ],
)
def test_kind_in_json_mode_follows_the_frames(user: str, kind: str) -> None:
    request = _request("sim-teacher", "Think.", user, response_format={"type": "json_object"})
    assert kind_of(request) == kind


def test_pipeline_prompts_get_their_kind(items: list[Item]) -> None:
    json_mode = {"response_format": {"type": "json_object"}}
    reflecting = reflect_messages(Context(), items[0], [], [], [], None, json_mode=True)
    compressing = compress_messages(Context(), cluster=[("E1", "a"), ("E2", "b")], json_mode=True)
    assert kind_of(_from_pipeline("sim-teacher", reflecting, **json_mode)) == "reflect"
    assert kind_of(_from_pipeline("sim-teacher", compressing, **json_mode)) == "compress"
    assert kind_of(_student(items[0], ["x"])) == "solve"
    user = str(compressing[1].content)
    assert len(framed(MERGE_GROUP, user)) == 1 and framed(REWRITE_GROUP, user) == []


def test_developer_messages_count_as_system() -> None:
    request = ChatRequest.parse(
        {
            "model": "t",
            "messages": [{"role": "developer", "content": "You compress."}, {"role": "user", "content": "x"}],
            "response_format": {"type": "json_object"},
        }
    )
    assert kind_of(request) == "compress"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "JSON object"),
        ({"messages": [{"role": "user", "content": "x"}]}, "'model'"),
        ({"model": "m", "messages": []}, "'messages'"),
        ({"model": "m", "messages": [{"content": "x"}]}, "'role'"),
        ({"model": "m", "messages": [{"role": "user", "content": 5}]}, "content"),
        (
            {"model": "m", "messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function"}]},
            "tool",
        ),
        ({"model": "m", "messages": [{"role": "user", "content": "x"}], "n": 0}, "'n'"),
        (
            {
                "model": "m",
                "messages": [{"role": "user", "content": "x"}],
                "response_format": {"type": "json_schema", "json_schema": "Answer"},
            },
            "json_schema.schema",
        ),
    ],
)
def test_bad_requests_are_named(body: Any, message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        ChatRequest.parse(body)


# -- solving -----------------------------------------------------------------------------------------


def test_student_accuracy_rises_with_its_skill(items: list[Item], world: World) -> None:
    config = SimConfig(p_student_base=0.3, p_student_skill=0.9)
    item = items[0]
    family = FAMILIES[item.category or ""]
    other = next(f for f in FAMILIES.values() if f.name != family.name)
    assert _accuracy(_student(item, []), world, config) == pytest.approx(0.3, abs=0.04)
    assert _accuracy(_student(item, [NOISE[0], other.skill]), world, config) == pytest.approx(0.3, abs=0.04)
    assert _accuracy(_student(item, [NOISE[0], family.paraphrases[2]]), world, config) == pytest.approx(
        0.9, abs=0.03
    )


def test_teacher_is_usually_right(items: list[Item], world: World) -> None:
    request = _request("sim-teacher", "You are an expert.", render_prompt(items[1]))
    assert _accuracy(request, world, SimConfig(p_teacher=0.95)) == pytest.approx(0.95, abs=0.02)


def test_student_cites_its_skill_and_sometimes_another_label(items: list[Item], world: World) -> None:
    item = items[2]
    family = FAMILIES[item.category or ""]
    request = _student(item, [NOISE[1], family.skill, NOISE[2]])
    config = SimConfig(cite_other_when_wrong=0.5, cite_other_when_right=0.05)
    cited_other = Counter[bool]()
    totals = Counter[bool]()
    for index in range(3000):
        text = respond(request, item, world, config, random.Random(index)).content or ""
        lines = text.splitlines()
        assert lines[-1].startswith("Answer: ")
        assert lines[-2].startswith("Experiences used: E2")
        correct = score_answer("generic", text, item.answer, item.options)
        totals[correct] += 1
        cited_other[correct] += "E1" in lines[-2] or "E3" in lines[-2]
    assert cited_other[False] / totals[False] == pytest.approx(0.5, abs=0.1)
    assert cited_other[True] / totals[True] == pytest.approx(0.05, abs=0.02)


def test_student_without_experiences_cites_none(items: list[Item], world: World) -> None:
    text = respond(_student(items[3], []), items[3], world, SimConfig(), random.Random(0)).content or ""
    assert "Experiences used: none" in text
    assert "Simulated" in text


def test_teacher_states_the_skill_and_cites_nothing(items: list[Item], world: World) -> None:
    item = items[4]
    request = _request("sim-teacher", "Expert.", render_prompt(item))
    text = respond(request, item, world, SimConfig(), random.Random(0)).content or ""
    assert FAMILIES[item.category or ""].skill in text
    assert "Experiences used" not in text


def test_unknown_puzzle_gets_a_plain_reply(world: World) -> None:
    request = _request("sim-student", "s", "What is the capital of France?")
    assert find_item(request, world) is None
    text = respond(request, None, world, SimConfig(), random.Random(0)).content or ""
    assert "no puzzle" in text and text.endswith("Answer: unknown")


def test_identical_requests_differ_unless_temperature_is_zero(items: list[Item], world: World) -> None:
    draws = Draws(seed=3)
    body = {"model": "sim-student", "messages": [{"role": "user", "content": render_prompt(items[5])}]}
    answers = set()
    for _ in range(12):
        key = request_key({**body, "temperature": 1.0})
        rng = draws.rng(key, draws.occurrence(key), "choice-0")
        request = ChatRequest.parse({**body, "temperature": 1.0})
        answers.add(respond(request, items[5], world, SimConfig(), rng).content)
    assert len(answers) > 1
    cold = ChatRequest.parse({**body, "temperature": 0})
    assert not cold.stochastic
    again = Draws(seed=3)
    key = request_key({**body, "temperature": 1.0})
    # A fresh server repeats the same sequence of draws.
    assert [again.rng(key, again.occurrence(key), "x").random() for _ in range(3)] == [
        Draws(3).rng(key, n, "x").random() for n in range(3)
    ]


# -- reflection ------------------------------------------------------------------------------------


def _reflect(
    item: Item, lines: list[str], *, json_mode: bool = False, more: list[Any] | None = None
) -> ChatRequest:
    messages = reflect_messages(Context(), item, [], _injected(lines), [], None, json_mode=json_mode)
    extra: dict[str, Any] = {"more": more or []}
    if json_mode:
        extra["response_format"] = {"type": "json_object"}
    else:
        extra["tools"] = [_tool(name) for name in MEMORY_TOOLS]
    return _from_pipeline("sim-teacher", messages, **extra)


def test_reflect_votes_for_the_skill_and_adds_nothing(items: list[Item], world: World) -> None:
    item = items[6]
    family = FAMILIES[item.category or ""]
    config = SimConfig(p_rephrase=0.0)
    reply = respond(_reflect(item, [family.paraphrases[0]]), item, world, config, random.Random(0))
    assert [(name, arguments["label"]) for name, arguments in _calls(reply)] == [("vote_experience", "E1")]
    assert _calls(reply)[0][1]["vote"] == "helpful"
    assert finish_reason(reply) == "tool_calls"


def test_reflect_sometimes_restates_a_skill_the_students_had(items: list[Item], world: World) -> None:
    item = items[6]
    family = FAMILIES[item.category or ""]
    request = _reflect(item, [family.paraphrases[0]])
    restated = 0
    for index in range(1000):
        calls = _calls(respond(request, item, world, SimConfig(p_rephrase=0.3), random.Random(index)))
        adds = [arguments["text"] for name, arguments in calls if name == "add_experience"]
        assert set(adds) <= set(family.paraphrases)
        restated += bool(adds)
    assert restated / 1000 == pytest.approx(0.3, abs=0.04)


def test_reflect_adds_a_paraphrase_or_noise_when_the_skill_is_missing(
    items: list[Item], world: World
) -> None:
    item = items[7]
    family = FAMILIES[item.category or ""]
    config = SimConfig(noise_rate=0.2, p_vote_harmful=0.5)
    request = _reflect(item, [NOISE[3]])
    added, harmful, noise = Counter[str](), 0, 0
    for index in range(1000):
        calls = _calls(respond(request, item, world, config, random.Random(index)))
        adds = [arguments for name, arguments in calls if name == "add_experience"]
        assert len(adds) == 1 and adds[0]["tags"] == [family.name]
        added[adds[0]["text"]] += 1
        noise += adds[0]["text"] in NOISE or adds[0]["text"] in DECOYS[family.name]
        harmful += any(name == "vote_experience" for name, _ in calls)
    assert noise / 1000 == pytest.approx(0.2, abs=0.04)
    assert harmful / 1000 == pytest.approx(0.5, abs=0.05)
    assert set(added) <= set(family.paraphrases) | set(NOISE) | set(DECOYS[family.name])
    assert len(set(added) & set(family.paraphrases)) == len(family.paraphrases)


def test_reflect_ends_the_tool_loop_after_results(items: list[Item], world: World) -> None:
    item = items[8]
    more = [
        {"role": "assistant", "content": None, "tool_calls": [{"id": "c1", "type": "function",
         "function": {"name": "add_experience", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "added E1"},
    ]  # fmt: skip
    reply = respond(_reflect(item, [], more=more), item, world, SimConfig(), random.Random(0))
    assert not reply.tool_calls and "Library updated" in (reply.content or "")


def test_reflect_in_json_mode(items: list[Item], world: World) -> None:
    item = items[9]
    family = FAMILIES[item.category or ""]
    request = _reflect(item, [family.skill, NOISE[0]], json_mode=True)
    reply = respond(request, item, world, SimConfig(p_vote_harmful=1.0), random.Random(0))
    operations = json.loads(reply.content or "")["operations"]
    assert {"op": "vote", "label": "E1", "vote": "helpful"}.items() <= operations[0].items()
    assert {"op": "vote", "label": "E2", "vote": "harmful"}.items() <= operations[1].items()
    assert len(operations) == 2


# -- compression -----------------------------------------------------------------------------------


def _compress_user(
    *clusters: list[tuple[str, str]], verbose: list[tuple[str, str]] | None = None, json_mode: bool = False
) -> tuple[str, str]:
    """The system prompt and the user text of compress requests for these clusters, as one request."""
    parts = [compress_messages(Context(), cluster=cluster, json_mode=json_mode) for cluster in clusters]
    if verbose:
        parts.append(compress_messages(Context(), verbose=verbose, json_mode=json_mode))
    return str(parts[0][0].content), "\n\n".join(str(messages[1].content) for messages in parts)


def _compress(system: str, user: str, *, json_mode: bool = False) -> ChatRequest:
    extra: dict[str, Any] = (
        {"response_format": {"type": "json_object"}}
        if json_mode
        else {"tools": [_tool("merge_experiences"), _tool("update_experience")]}
    )
    return _request("sim-teacher", system, user, **extra)


def test_compress_merges_clusters_and_rewrites_verbose_ones(world: World) -> None:
    clock, bars = FAMILIES["clock_reading"], FAMILIES["bar_heights"]
    system, user = _compress_user(
        [("E1", clock.paraphrases[0]), ("E2", clock.paraphrases[1])],
        [("E3", NOISE[0]), ("E4", "Read every question very carefully before answering.")],
        verbose=[
            ("E5", f"{bars.paraphrases[3]} Also mind the axis labels."),
            ("E6", "Think before you answer. Then think again, and only then write the answer line."),
            (
                "E7",
                "Keep going through every single part of the task slowly and carefully "
                "without skipping any step",
            ),
        ],
    )
    reply = respond(_compress(system, user), None, world, SimConfig(), random.Random(0))
    calls = _calls(reply)
    assert calls[0] == (
        "merge_experiences",
        {"labels": ["E1", "E2"], "text": clock.skill, "reason": calls[0][1]["reason"]},
    )
    assert calls[1][1]["labels"] == ["E3", "E4"] and calls[1][1]["text"] == NOISE[0]
    assert calls[2] == (
        "update_experience",
        {"label": "E5", "text": bars.skill, "reason": calls[2][1]["reason"]},
    )
    assert calls[3][1] == {"label": "E6", "text": "Think before you answer.", "reason": calls[3][1]["reason"]}
    assert calls[4][1]["text"] == "Keep going through every single part of the task slowly and carefully."
    assert len(calls) == 5


def test_compress_in_json_mode_and_after_tool_results(world: World) -> None:
    grid = FAMILIES["grid_paths"]
    system, user = _compress_user([("E1", grid.skill), ("E2", grid.paraphrases[0])], json_mode=True)
    reply = respond(_compress(system, user, json_mode=True), None, world, SimConfig(), random.Random(0))
    assert json.loads(reply.content or "")["operations"][0]["op"] == "merge"
    done = _request(
        "sim-teacher",
        system,
        user,
        tools=[_tool("merge_experiences")],
        more=[
            {"role": "assistant", "content": "", "tool_calls": []},
            {"role": "tool", "tool_call_id": "c", "content": "ok"},
        ],
    )
    assert "compressed" in (respond(done, None, world, SimConfig(), random.Random(0)).content or "")


# -- structured answers ----------------------------------------------------------------------------


def test_schema_is_filled_with_the_solution(items: list[Item], world: World) -> None:
    item = items[10]
    schema = {
        "type": "object",
        "properties": {
            "reasoning": {"type": "string"},
            "final_answer": {"type": "string"},
            "experiences_used": {"type": "array", "items": {"type": "string"}},
            "confidence": {"type": "number"},
            "detail": {"$ref": "#/$defs/Detail"},
            "note": {"anyOf": [{"type": "null"}, {"type": "integer"}]},
        },
        "required": ["reasoning", "final_answer", "experiences_used", "confidence", "detail", "note"],
        "$defs": {"Detail": {"type": "object", "properties": {"level": {"enum": ["low", "high"]}}}},
    }
    tools = [{"type": "function", "function": {"name": "Answer", "parameters": schema}}]
    request = _student(item, [FAMILIES[item.category or ""].skill], tools=tools)
    reply = respond(request, item, world, SimConfig(p_student_skill=1.0), random.Random(0))
    ((name, arguments),) = _calls(reply)
    assert name == "Answer"
    assert arguments["final_answer"] == item.answer
    assert arguments["experiences_used"] == ["E1"]
    assert arguments["reasoning"].startswith("Simulated")
    assert (
        arguments["confidence"] == 0.0 and arguments["detail"] == {"level": "low"} and arguments["note"] == 0
    )


def test_fill_without_required_fills_every_property() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "boolean"}, "b": {"type": "integer"}}}
    assert fill(schema) == {"a": True, "b": 0}


def test_numeric_answer_field_gets_a_number(items: list[Item], world: World) -> None:
    item = next(i for i in items if i.options is None)
    schema = {"type": "object", "properties": {"answer": {"type": "integer"}}, "required": ["answer"]}
    body_format = {"type": "json_schema", "json_schema": {"name": "A", "schema": schema}}
    request = _request("sim-teacher", "Solve.", render_prompt(item), response_format=body_format)
    reply = respond(request, item, world, SimConfig(p_teacher=1.0), random.Random(0))
    assert json.loads(reply.content or "") == {"answer": int(item.answer)}


# -- faults and tokens -----------------------------------------------------------------------------


def test_faults_follow_their_rates() -> None:
    config = SimConfig(rate_429=0.1, rate_500=0.2, rate_timeout=0.05, rate_malformed=0.15)
    counts = Counter(draw_fault(config, random.Random(index)) for index in range(10_000))
    assert counts["429"] / 10_000 == pytest.approx(0.1, abs=0.015)
    assert counts["500"] / 10_000 == pytest.approx(0.2, abs=0.015)
    assert counts["timeout"] / 10_000 == pytest.approx(0.05, abs=0.01)
    assert counts["malformed"] / 10_000 == pytest.approx(0.15, abs=0.015)
    assert draw_fault(SimConfig(), random.Random(0)) is None


def test_malformed_kinds() -> None:
    function = Function(name="add_experience", arguments=json.dumps({"text": "t", "tags": ["x"]}))
    call = ChatCompletionMessageFunctionToolCall(id="c", type="function", function=function)
    tools = _request("m", "s", "u", tools=[_tool("add_experience")])
    json_mode = _request("m", "s", "u", response_format={"type": "json_object"})

    def spoil(kind: str, reply: ChatCompletionMessage, request: ChatRequest) -> ChatCompletionMessage:
        spoilt, applied = malform(reply, request, SimConfig(malformed_kinds={kind}), random.Random(0))  # type: ignore[arg-type]
        assert applied == kind
        return spoilt

    bad = spoil("bad_arguments", assistant(tool_calls=[call]), tools)
    with pytest.raises(json.JSONDecodeError):
        json.loads(function_calls(bad)[0].function.arguments)
    wrong = spoil("wrong_arguments", assistant(tool_calls=[call]), tools)
    assert _calls(wrong) == [("add_experience", {"tags": ["x"]})]
    invalid = spoil("invalid_json", assistant('{"operations": []}'), json_mode)
    with pytest.raises(json.JSONDecodeError):
        json.loads(invalid.content or "")
    empty = spoil("empty", assistant("Answer: 3"), tools)
    assert empty.content == "" and not empty.tool_calls
    unchanged, applied = malform(
        assistant("x"), tools, SimConfig(malformed_kinds={"invalid_json"}), random.Random(0)
    )
    assert applied is None and unchanged.content == "x"


def test_token_estimates_count_text_images_and_tools() -> None:
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
    text_only = _request("m", "s" * 40, [{"type": "text", "text": "u" * 400}])
    with_images = _request("m", "s" * 40, [{"type": "text", "text": "u" * 400}, image, image])
    assert prompt_tokens(with_images, image_tokens=256) - prompt_tokens(text_only, image_tokens=256) == 512
    assert prompt_tokens(text_only, image_tokens=256) == (4 + 10) + (4 + 100)
    assert completion_tokens(assistant("x" * 40)) == 10


def test_config_checks_and_latency_forms() -> None:
    with pytest.raises(ValueError, match=r"add up to 1\.200"):
        SimConfig(rate_429=0.6, rate_500=0.6)
    assert SimConfig(latency=0.25).latency.sample(random.Random(0)) == 0.25
    uniform = parse_latency("uniform:0.1,0.3")
    assert all(0.1 <= uniform.sample(random.Random(n)) <= 0.3 for n in range(50))
    lognormal = parse_latency("lognormal:0.2,0.5")
    samples = sorted(lognormal.sample(random.Random(n)) for n in range(2001))
    assert samples[1000] == pytest.approx(0.2, rel=0.1)
    for text in ("fast", "uniform:1", "uniform:3,1", "-1", "gamma:1,2"):
        with pytest.raises(ConfigError, match="latency"):
            parse_latency(text)


def test_dataset_path_is_not_needed_for_unit_checks(tmp_path: Path) -> None:
    # The world is built from items alone; images are never opened by the simulated models.
    items = generate_items(6, seed=9, image_dir=tmp_path)
    for item in items:
        Path(item.images[0]).unlink()
    world = World.from_items(items)
    request = _request("sim-student", "s", render_prompt(items[0]))
    assert find_item(request, world) is items[0]
