"""The synthetic puzzle generator: determinism, unique questions, valid images, consistent answers."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from PIL import Image

from ted.tasks import load_dataset
from ted.tasks.items import Item
from ted.tasks.synth import FAMILIES, generate, generate_items
from ted.tasks.synth.family import LETTERS

N = 60


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Item]]:
    out = tmp_path_factory.mktemp("synth")
    return out, generate(out, n=N, seed=7)


def _option(item: Item) -> str:
    assert item.options is not None
    return item.options[LETTERS.index(item.answer)]


def test_same_seed_same_items_and_images(tmp_path: Path) -> None:
    first = generate(tmp_path / "a", n=18, seed=3)
    second = generate(tmp_path / "b", n=18, seed=3)
    assert [i.model_dump(exclude={"images"}) for i in first] == [
        i.model_dump(exclude={"images"}) for i in second
    ]
    for one, two in zip(first, second, strict=True):
        assert Path(one.images[0]).read_bytes() == Path(two.images[0]).read_bytes()
    lines_a = (tmp_path / "a" / "items.jsonl").read_text()
    assert lines_a == (tmp_path / "b" / "items.jsonl").read_text()


def test_other_seed_other_items(tmp_path: Path) -> None:
    first = generate_items(12, seed=1, image_dir=tmp_path / "a")
    second = generate_items(12, seed=2, image_dir=tmp_path / "b")
    assert [(i.answer, i.options, i.metadata["family"]) for i in first] != [
        (i.answer, i.options, i.metadata["family"]) for i in second
    ]
    assert [i.metadata for i in first] != [i.metadata for i in second]


def test_smaller_dataset_is_a_prefix(tmp_path: Path) -> None:
    small = generate_items(5, seed=4, image_dir=tmp_path / "a")
    large = generate_items(15, seed=4, image_dir=tmp_path / "b")
    assert [i.model_dump(exclude={"images"}) for i in small] == [
        i.model_dump(exclude={"images"}) for i in large[:5]
    ]


def test_question_texts_are_unique(dataset: tuple[Path, list[Item]]) -> None:
    _, items = dataset
    assert len({item.question for item in items}) == N
    assert len({item.id for item in items}) == N


def test_every_family_appears_as_category(dataset: tuple[Path, list[Item]]) -> None:
    _, items = dataset
    assert {item.category for item in items} == set(FAMILIES)
    assert len(FAMILIES) >= 6
    assert all(item.metadata["family"] == item.category for item in items)
    assert all(item.metadata["synthetic"] is True and item.benchmark == "generic" for item in items)


def test_answer_kinds_are_mixed_and_consistent(dataset: tuple[Path, list[Item]]) -> None:
    _, items = dataset
    kinds = {family.answer_kind for family in FAMILIES.values()}
    assert kinds == {"choice", "number"}
    for item in items:
        family = FAMILIES[item.metadata["family"]]
        if family.answer_kind == "choice":
            assert item.options is not None and 2 <= len(item.options) <= len(LETTERS)
            assert len(set(item.options)) == len(item.options)
            assert item.answer in LETTERS[: len(item.options)]
        else:
            assert item.options is None
            assert int(item.answer) >= 0


def test_images_are_valid_pngs(dataset: tuple[Path, list[Item]]) -> None:
    root, items = dataset
    for item in items:
        assert len(item.images) == 1
        path = Path(item.images[0])
        assert path.is_absolute() and path.parent == (root / "images").resolve()
        with Image.open(path) as image:
            image.verify()
        with Image.open(path) as image:
            assert image.format == "PNG"
            assert image.size == (360, 260)
            # Not blank: something was drawn.
            assert len(image.convert("RGB").getcolors(maxcolors=100_000) or []) > 2


def test_answers_follow_from_what_was_drawn(dataset: tuple[Path, list[Item]]) -> None:
    _, items = dataset
    for item in items:
        facts = item.metadata
        family = facts["family"]
        if family == "count_shapes":
            assert facts["colour"] in item.question and facts["shape"] in item.question
            assert 1 <= int(item.answer) < facts["shapes_drawn"]
        elif family == "bar_heights":
            ranking = sorted(facts["heights"], key=facts["heights"].get, reverse=True)
            position = {"tallest": 0, "second tallest": 1, "shortest": -1}[facts["rank"]]
            assert _option(item) == ranking[position]
            assert len(set(facts["heights"].values())) == len(facts["heights"])
        elif family == "clock_reading":
            assert _option(item) == facts["time"]
        elif family == "grid_paths":
            assert int(item.answer) == math.comb(facts["rows"] + facts["columns"], facts["rows"])
        elif family == "odd_one_out":
            assert item.answer == facts["odd_figure"]
            assert _option(item) == f"Figure {facts['odd_figure']}"
        elif family == "polygon_angles":
            angles = facts["angles"]
            assert sum(angles) == (len(angles) - 2) * 180
            assert int(item.answer) in angles
        else:
            pytest.fail(f"no check for family {family}")


def test_jsonl_is_the_generic_format_and_loads(dataset: tuple[Path, list[Item]]) -> None:
    root, items = dataset
    records = [json.loads(line) for line in (root / "items.jsonl").read_text().splitlines()]
    assert len(records) == N
    for record, item in zip(records, items, strict=True):
        assert record["id"] == item.id and record["question"] == item.question
        assert record["answer"] == item.answer and record["category"] == item.category
        assert record.get("options") == item.options
        assert record["images"] == [f"images/{item.id}.png"]
        assert record["family"] == item.category and record["synthetic"] is True
    loaded = load_dataset(root)
    for original, read in zip(items, loaded, strict=True):
        assert read.model_dump(exclude={"metadata"}) == original.model_dump(exclude={"metadata"})
        assert original.metadata.items() <= read.metadata.items()


def test_zero_items_and_negative_count(tmp_path: Path) -> None:
    assert generate(tmp_path / "empty", n=0) == []
    assert (tmp_path / "empty" / "items.jsonl").read_text() == ""
    with pytest.raises(ValueError, match="zero or more"):
        generate_items(-1, seed=0, image_dir=tmp_path)
