"""Skills, paraphrases and noise of the synthetic families, and recognising a skill in any text."""

from __future__ import annotations

import random

import pytest

from ted.tasks.synth import DECOYS, FAMILIES, NOISE, skill_of
from ted.tasks.synth.family import multiple_choice


def test_pool_sizes() -> None:
    assert len(FAMILIES) >= 6
    assert len(NOISE) >= 8
    for family in FAMILIES.values():
        assert len(family.paraphrases) >= 5
        assert len(set(family.paraphrases)) == len(family.paraphrases)
        assert family.skill not in family.paraphrases
        assert family.title and family.keywords


@pytest.mark.parametrize("name", list(FAMILIES))
def test_skill_of_recognises_every_wording_of_its_family(name: str) -> None:
    family = FAMILIES[name]
    for text in (family.skill, *family.paraphrases):
        assert skill_of(text) == name, text
        # Case and surrounding text do not matter.
        assert skill_of(f"Tip: {text.upper()} Good luck.") == name


def test_skill_of_finds_no_skill_in_noise() -> None:
    for text in NOISE:
        assert skill_of(text) is None, text


def test_decoys_are_on_topic_but_carry_no_skill() -> None:
    assert set(DECOYS) == set(FAMILIES)
    for name, texts in DECOYS.items():
        assert len(texts) >= 2, name
        for text in texts:
            assert skill_of(text) is None, text


def test_skill_of_needs_every_keyword_group() -> None:
    assert skill_of("Count carefully.") is None
    assert skill_of("Count the shapes.") is None  # no colour
    assert skill_of("Count the shapes of the asked colour.") == "count_shapes"
    assert skill_of("Look at the clock.") is None
    assert skill_of("The clock's long hand shows the minutes.") == "clock_reading"
    assert skill_of("") is None


def test_keywords_match_word_starts_only() -> None:
    # "account" contains "count" but is not about counting.
    assert skill_of("Take into account the colour of each shape.") is None


def test_families_make_puzzles_of_their_answer_kind() -> None:
    rng = random.Random(0)
    for family in FAMILIES.values():
        for _ in range(20):
            puzzle = family.make(rng)
            assert puzzle.question.endswith(("?", "'?'"))
            if family.answer_kind == "choice":
                assert puzzle.options is not None
            else:
                assert puzzle.options is None and puzzle.answer.isdigit()


def test_multiple_choice_places_the_correct_option() -> None:
    rng = random.Random(1)
    letters = set()
    for _ in range(50):
        options, letter = multiple_choice(rng, "right", ["w1", "w2", "w3"])
        assert options["ABCD".index(letter)] == "right"
        letters.add(letter)
    assert letters == set("ABCD")
    with pytest.raises(ValueError, match="distinct"):
        multiple_choice(rng, "same", ["same"])
