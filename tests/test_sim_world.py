"""The simulated world: finding puzzles by question text, wrong answers, building from a dataset."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from ted.sim import World, WorldError
from ted.tasks.errors import DatasetError
from ted.tasks.items import Item
from ted.tasks.synth import generate, generate_items


@pytest.fixture(scope="module")
def items(tmp_path_factory: pytest.TempPathFactory) -> list[Item]:
    return generate_items(40, seed=0, image_dir=tmp_path_factory.mktemp("images"))


def test_find_by_question_anywhere_in_the_text(items: list[Item]) -> None:
    world = World.from_items(items)
    assert len(world) == 40
    for item in items:
        text = f"Some instruction first.\n{item.question}\nOptions:\n(A) x\nAnswer with a letter."
        assert world.find(text) is item
    assert world.find("A question nobody asked?") is None
    assert world.find("") is None


def test_find_prefers_the_longest_question() -> None:
    short = Item(id="a", question="How many red circles are in the picture?", answer="1")
    long = Item(
        id="b", question="How many red circles are in the picture? Count the small ones too.", answer="2"
    )
    world = World.from_items([short, long])
    assert world.find(f"Q: {long.question}") is long
    assert world.find(f"Q: {short.question} Thanks.") is short


def test_duplicate_questions_are_refused() -> None:
    with pytest.raises(WorldError, match="a and b have the same question"):
        World.from_items(
            [Item(id="a", question="Same?", answer="1"), Item(id="b", question="Same?", answer="2")]
        )


def test_family_of_synthetic_and_other_items(items: list[Item]) -> None:
    world = World.from_items(items)
    assert world.family_of(items[0]) is not None
    assert world.family_of(items[0]).name == items[0].category  # type: ignore[union-attr]
    assert world.family_of(Item(id="x", question="q", answer="1", category="geometry")) is None


def test_wrong_answers_differ_and_stay_plausible(items: list[Item]) -> None:
    rng = random.Random(5)
    for item in items:
        for _ in range(20):
            wrong = World.wrong_answer(item, rng)
            assert wrong != item.answer
            if item.options:
                assert wrong in "ABCDEFGH"[: len(item.options)]
            else:
                assert float(wrong) >= 0


def test_wrong_answer_of_free_text() -> None:
    assert World.wrong_answer(Item(id="x", question="q", answer="blue"), random.Random(0)) == "not blue"


def test_from_dataset_reads_a_generated_folder(tmp_path: Path) -> None:
    written = generate(tmp_path / "data", n=12, seed=1)
    world = World.from_dataset(tmp_path / "data")
    assert len(world) == 12
    assert {item.id for item in world.items.values()} == {item.id for item in written}
    assert world.find(written[3].question).id == written[3].id  # type: ignore[union-attr]


def test_from_dataset_names_a_missing_dataset(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="missing"):
        World.from_dataset(tmp_path / "missing")
