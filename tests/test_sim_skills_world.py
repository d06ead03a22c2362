"""The skills world of the simulated endpoint: advice read by meaning, costs of irrelevant and wrong
advice, a teacher that infers the skill from the question and sometimes plants wrong advice."""

from __future__ import annotations

import json
import random
from collections import Counter
from typing import Any

import pytest
from langchain_core.messages import BaseMessage

from ted.graph import Context
from ted.graph.prompting import compress_messages, reflect_messages, student_messages
from ted.graph.state import InjectedExperience
from ted.sim import SimConfig, World
from ted.sim.behaviour import _too_specific, respond
from ted.sim.meaning import Reader
from ted.sim.reading import find_item
from ted.sim.wire import ChatRequest, function_calls
from ted.tasks import score_answer
from ted.tasks.items import Item
from ted.tasks.synth import NOISE, SKILL_FAMILIES, generate_items, world_families

pytestmark = [pytest.mark.embeddings]

MEMORY_TOOLS = ["add_experience", "vote_experience", "merge_experiences", "update_experience"]


@pytest.fixture(scope="module")
def items(tmp_path_factory: pytest.TempPathFactory) -> list[Item]:
    return generate_items(48, seed=0, image_dir=tmp_path_factory.mktemp("images"), world="skills")


@pytest.fixture(scope="module")
def world(items: list[Item]) -> World:
    return World.from_items(items)


def _injected(lines: list[str]) -> list[InjectedExperience]:
    return [
        {"label": f"E{n}", "id": f"x{n}", "text": text, "similarity": 0.5}
        for n, text in enumerate(lines, start=1)
    ]


def _wire(messages: list[BaseMessage], model: str, **extra: Any) -> ChatRequest:
    roles = {"system": "system", "human": "user", "ai": "assistant"}
    wire = [{"role": roles[m.type], "content": m.content} for m in messages]
    return ChatRequest.parse({"model": model, "messages": wire, **extra})


def _tools() -> list[dict[str, Any]]:
    empty = {"type": "object", "properties": {}, "required": []}
    return [
        {"type": "function", "function": {"name": name, "description": name, "parameters": empty}}
        for name in MEMORY_TOOLS
    ]


def _accuracy(item: Item, lines: list[str], world: World, draws: int = 1500) -> float:
    request = _wire(student_messages(Context(), item, [], _injected(lines)), "sim-student", temperature=0.7)
    assert find_item(request, world) == item
    right = sum(
        score_answer(
            "generic", respond(request, item, world, SimConfig(), random.Random(n)).content or "", item.answer
        )
        for n in range(draws)
    )
    return right / draws


def test_the_skills_world_has_two_dozen_families_and_counts_them() -> None:
    assert len(SKILL_FAMILIES) == 24
    assert [f.name for f in world_families("skills", 8)] == list(SKILL_FAMILIES)[:8]
    with pytest.raises(ValueError, match="2 to 24"):
        world_families("skills", 30)
    with pytest.raises(ValueError, match="classic world has 6"):
        world_families("classic", 12)


def test_every_wording_is_read_as_what_it_states_and_nothing_else_is() -> None:
    reader = Reader(SKILL_FAMILIES.values())
    for family in SKILL_FAMILIES.values():
        for text in family.paraphrases:
            reading = reader.read(text)
            assert (reading.family, reading.stance) == (family.name, "skill"), text
            # The teacher's wording shares no sentence with the reference it is read against.
            assert text != family.skill
        for text in family.wrong_advice:
            assert (reader.read(text).family, reader.read(text).stance) == (family.name, "wrong"), text
    assert all(reader.read(text).family is None for text in NOISE)


def test_questions_name_their_topic_and_too_specific_advice_states_nothing(
    items: list[Item], world: World
) -> None:
    assert all(world.reader.topic(item.question) == item.category for item in items)
    assert all(world.reader.read(_too_specific(item)).family is None for item in items)


def test_the_student_gains_from_the_skill_loses_a_little_to_noise_and_a_lot_to_wrong_advice(
    items: list[Item], world: World
) -> None:
    item = items[1]
    family = SKILL_FAMILIES[item.category or ""]
    others = [f.paraphrases[0] for f in SKILL_FAMILIES.values() if f.name != family.name]
    alone = _accuracy(item, [], world)
    skill = _accuracy(item, [family.paraphrases[0]], world)
    crowded = _accuracy(item, [family.paraphrases[0], *others], world)
    misled = _accuracy(item, [family.wrong_advice[0], family.paraphrases[0]], world)
    assert alone == pytest.approx(0.3, abs=0.04)
    assert skill == pytest.approx(0.9, abs=0.03)
    assert crowded == pytest.approx(0.9 * 0.97**23, abs=0.04)
    assert misled == pytest.approx(0.8 * 0.05 + 0.2 * 0.9 * 0.97, abs=0.04)
    # The skill before the wrong advice: the student follows the skill.
    assert _accuracy(item, [family.paraphrases[0], family.wrong_advice[0]], world) > 0.8


def test_the_teacher_infers_the_skill_and_sometimes_plants_wrong_or_too_specific_advice(
    items: list[Item], world: World
) -> None:
    item = items[2]
    messages = reflect_messages(Context(), item, [], _injected([NOISE[0]]), [], None, json_mode=False)
    request = _wire(messages, "sim-teacher", tools=_tools())
    config = SimConfig(p_wrong_advice=0.15, noise_rate=0.2)
    added: Counter[str] = Counter()
    for n in range(1000):
        reply = respond(request, item, world, config, random.Random(n))
        for call in function_calls(reply):
            if call.function.name == "add_experience":
                added[world.reader.read(json.loads(call.function.arguments)["text"]).stance or "nothing"] += 1
    assert sum(added.values()) == 1000
    assert added["wrong"] / 1000 == pytest.approx(0.15, abs=0.035)
    assert added["nothing"] / 1000 == pytest.approx(0.2, abs=0.04)
    assert added["skill"] / 1000 == pytest.approx(0.65, abs=0.05)


def test_compression_merges_only_what_says_the_same_thing(items: list[Item], world: World) -> None:
    weeks, dice = SKILL_FAMILIES["weeks_to_days"], SKILL_FAMILIES["dice_opposite"]
    for cluster, merged in (
        ([("E1", weeks.paraphrases[0]), ("E2", weeks.paraphrases[1])], True),
        ([("E1", weeks.paraphrases[0]), ("E2", weeks.wrong_advice[0])], False),
        ([("E1", weeks.paraphrases[0]), ("E2", dice.paraphrases[0])], False),
    ):
        system, user = compress_messages(Context(), cluster=cluster, json_mode=True)
        request = ChatRequest.parse(
            {
                "model": "sim-teacher",
                "messages": [
                    {"role": "system", "content": system.content},
                    {"role": "user", "content": user.content},
                ],
                "response_format": {"type": "json_object"},
            }
        )
        reply = respond(request, None, world, SimConfig(), random.Random(0))
        operations = json.loads(reply.content or "{}")["operations"]
        assert any(op["op"] == "merge" for op in operations) is merged, (cluster, operations)
