"""Loaders on files written in the published schemas, and every bad-data case with its message."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from test_tasks_schemas import (
    MATHVISION_SCHEMA,
    VISUALPUZZLES_SCHEMA,
    image_bytes,
    mathvision_row,
    visualpuzzles_row,
    write_jsonl,
    write_mathvision_jsonl,
    write_mathvision_parquet,
    write_visualpuzzles_parquet,
)

from ted.tasks import DatasetError, ImageError, MissingDependencyError, load_dataset, scan_dataset


def _error(call: Any, *args: Any, **kwargs: Any) -> DatasetError:
    with pytest.raises(DatasetError) as caught:
        call(*args, **kwargs)
    return caught.value


# MathVision ------------------------------------------------------------------------------------------


def test_mathvision_parquet_loads_every_field(tmp_path: Path) -> None:
    rows = [
        mathvision_row("1"),
        mathvision_row("2", options=[], answer="12", solution="Half of 24.", level=4, subject="arithmetic"),
        mathvision_row("3", options=["A", "B", "C", "D", "E"], answer="e"),
    ]
    path = write_mathvision_parquet(tmp_path, rows)

    first, free, in_image = load_dataset(tmp_path)

    assert (first.id, first.answer, first.options, first.benchmark) == (
        "1",
        "C",
        ["1", "2", "3", "4", "5"],
        "mathvision",
    )
    assert (first.category, first.level) == ("metric geometry - area", "2")
    assert first.images[0].startswith("data:image/png;base64,")
    assert first.metadata == {
        "file": str(path),
        "row": 1,
        "split": "test",
        "subject": "metric geometry - area",
        "image": "images/1.jpg",
        "options_in_image": False,
    }
    assert (free.options, free.answer, free.level, free.metadata["solution"]) == (
        None,
        "12",
        "4",
        "Half of 24.",
    )
    assert in_image.answer == "E" and in_image.metadata["options_in_image"] is True


def test_mathvision_splits_default_to_test(tmp_path: Path) -> None:
    write_mathvision_parquet(tmp_path, [mathvision_row(str(i)) for i in range(1, 4)], split="test")
    write_mathvision_parquet(tmp_path, [mathvision_row("2")], split="testmini")

    assert [item.id for item in load_dataset(tmp_path)] == ["1", "2", "3"]
    testmini = load_dataset(tmp_path, split="testmini")
    assert [item.id for item in testmini] == ["2"] and testmini[0].metadata["split"] == "testmini"
    assert "no split 'val' here; found test, testmini" in str(_error(load_dataset, tmp_path, split="val"))


def test_limit_reads_only_the_first_items(tmp_path: Path) -> None:
    write_mathvision_parquet(tmp_path, [mathvision_row(str(i)) for i in range(1, 601)])
    assert [item.id for item in load_dataset(tmp_path, limit=3)] == ["1", "2", "3"]
    assert load_dataset(tmp_path, limit=0) == []


def test_mathvision_github_jsonl_resolves_image_paths(tmp_path: Path) -> None:
    path = write_mathvision_jsonl(
        tmp_path, [mathvision_row("1"), mathvision_row("2", options=[], answer="7")]
    )

    items = load_dataset(tmp_path)

    assert [item.id for item in items] == ["1", "2"]
    assert items[0].images == [str((tmp_path / "data" / "images" / "1.jpg").resolve())]
    assert items[0].metadata["file"] == str(path) and items[0].metadata["split"] == "test"
    assert load_dataset(path, format="mathvision")[1].answer == "7"


def test_mathvision_jsonl_images_next_to_the_data_folder(tmp_path: Path) -> None:
    """The JSONL sits in data/ and images.zip was unpacked at the dataset root."""
    write_jsonl(
        tmp_path / "data" / "testmini.jsonl",
        [{k: v for k, v in mathvision_row("4").items() if k != "decoded_image"}],
    )
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "4.jpg").write_bytes(image_bytes(fmt="JPEG"))

    (item,) = load_dataset(tmp_path, split="testmini")

    assert item.images == [str((tmp_path / "images" / "4.jpg").resolve())]
    (tmp_path / "images" / "4.jpg").unlink()
    error = _error(load_dataset, tmp_path, split="testmini")
    root = tmp_path.resolve()
    looked = f"{root / 'data' / 'images' / '4.jpg'} or {root / 'images' / '4.jpg'}"
    assert str(error).endswith(f"line 1: image file 'images/4.jpg' not found at {looked}")


def test_mathvision_parquet_without_bytes_uses_the_image_path(tmp_path: Path) -> None:
    (tmp_path / "data" / "images").mkdir(parents=True)
    (tmp_path / "data" / "images" / "5.png").write_bytes(image_bytes())
    write_mathvision_parquet(
        tmp_path, [mathvision_row("5", decoded_image={"bytes": None, "path": "images/5.png"})]
    )

    (item,) = load_dataset(tmp_path)

    assert item.images == [str((tmp_path / "data" / "images" / "5.png").resolve())]


def test_missing_column_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "test-00000-of-00001.parquet"
    schema = pa.schema([field for field in MATHVISION_SCHEMA if field.name != "answer"])
    rows = [{key: value for key, value in mathvision_row("1").items() if key != "answer"}]
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)

    error = _error(load_dataset, path)

    assert str(error) == f"{path}: missing column answer for the mathvision format"


def test_missing_image_columns(tmp_path: Path) -> None:
    path = tmp_path / "test.parquet"
    schema = pa.schema([field for field in MATHVISION_SCHEMA if field.name not in ("image", "decoded_image")])
    rows = [
        {key: value for key, value in mathvision_row("1").items() if key not in ("image", "decoded_image")}
    ]
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)

    assert "missing column decoded_image (or image)" in str(_error(load_dataset, path, format="mathvision"))


def test_unreadable_embedded_image_names_file_and_row(tmp_path: Path) -> None:
    broken = {"bytes": b"this is not an image", "path": "2.jpg"}
    path = write_mathvision_parquet(
        tmp_path, [mathvision_row("1"), mathvision_row("2", decoded_image=broken)]
    )

    error = _error(load_dataset, tmp_path)

    assert isinstance(error, ImageError)
    assert str(error).startswith(f"{path}, row 2: the embedded image is not a readable image")
    assert (error.file, error.row) == (str(path), 2)


def test_unknown_answer_letter_names_file_and_row(tmp_path: Path) -> None:
    path = write_mathvision_parquet(tmp_path, [mathvision_row("1"), mathvision_row("2", answer="F")])

    error = _error(load_dataset, tmp_path)

    assert str(error) == f"{path}, row 2: unknown answer letter 'F': the 5 options are A-E"


def test_empty_parquet_file(tmp_path: Path) -> None:
    path = write_mathvision_parquet(tmp_path, [])
    assert str(_error(load_dataset, tmp_path)) == f"{path}: the file is empty (no rows)"


def test_image_over_the_pixel_limit_is_refused(tmp_path: Path) -> None:
    path = write_mathvision_parquet(tmp_path, [mathvision_row("1")])  # 24 x 16 pixels
    error = _error(load_dataset, tmp_path, max_pixels=100)
    assert isinstance(error, ImageError)
    assert str(error).startswith(
        f"{path}, row 1: the embedded image has 24x16 = 384 pixels, more than the limit"
    )


def test_duplicate_ids_are_refused(tmp_path: Path) -> None:
    path = write_mathvision_parquet(tmp_path, [mathvision_row("7"), mathvision_row("7")])
    assert (
        str(_error(load_dataset, tmp_path)) == f"{path}, row 2: duplicate id '7', first used in {path}, row 1"
    )


def test_jsonl_image_path_escaping_the_folder(tmp_path: Path) -> None:
    dataset = tmp_path / "dataset"
    (tmp_path / "outside.png").write_bytes(image_bytes())
    path = write_mathvision_jsonl(
        dataset, [mathvision_row("1"), mathvision_row("2", image="../../outside.png")]
    )

    error = _error(load_dataset, dataset)

    assert isinstance(error, ImageError)
    assert str(error) == (
        f"{path}, line 2: image path '../../outside.png' escapes the dataset folder {dataset.resolve()}"
    )


def test_symlink_escaping_the_folder_is_refused(tmp_path: Path) -> None:
    dataset = tmp_path / "dataset"
    (tmp_path / "secret.png").write_bytes(image_bytes())
    path = write_mathvision_jsonl(dataset, [mathvision_row("1", image="images/link.png")])
    (dataset / "data" / "images" / "link.png").unlink()
    (dataset / "data" / "images" / "link.png").symlink_to(tmp_path / "secret.png")

    error = _error(load_dataset, path)

    assert "escapes the dataset folder" in str(error) and str(error).startswith(f"{path}, line 1:")


def test_missing_and_unreadable_image_files(tmp_path: Path) -> None:
    path = write_mathvision_jsonl(tmp_path, [mathvision_row("1"), mathvision_row("2")])
    (tmp_path / "data" / "images" / "2.jpg").write_text("not a picture")
    error = _error(load_dataset, path)
    assert str(error).startswith(f"{path}, line 2: image '") and "is not a readable image" in str(error)

    (tmp_path / "data" / "images" / "1.jpg").unlink()
    error = _error(load_dataset, path)
    missing = (path.parent / "images" / "1.jpg").resolve()
    assert str(error) == f"{path}, line 1: image file 'images/1.jpg' not found at {missing}"


def test_jsonl_bad_lines(tmp_path: Path) -> None:
    row = mathvision_row("1")
    del row["decoded_image"]
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "1.jpg").write_bytes(image_bytes(fmt="JPEG"))
    path = write_jsonl(
        tmp_path / "test.jsonl", [row, {**row, "id": "2", "answer": ""}, "{not json", "[1, 2]"]
    )

    scan = scan_dataset(path, format="mathvision", collect=True)

    assert [item.id for item in scan.items] == ["1"]
    assert [str(problem) for problem in scan.problems] == [
        f"{path}, line 2: field 'answer' is missing or empty",
        f"{path}, line 3: not valid JSON: Expecting property name enclosed in double quotes at column 2",
        f"{path}, line 4: expected a JSON object, found list",
    ]


def test_empty_jsonl_file(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "items.jsonl", [])
    path.write_text("\n\n")
    assert str(_error(load_dataset, path)) == f"{path}: the file is empty (no rows)"


# VisualPuzzles ---------------------------------------------------------------------------------------


def test_visualpuzzles_parquet_loads_both_kinds_of_options(tmp_path: Path) -> None:
    rows = [
        visualpuzzles_row(1),
        visualpuzzles_row(2, options=["32", "35", "37", "40"], answer="c", category="spatial"),
    ]
    path = write_visualpuzzles_parquet(tmp_path, rows)

    drawn, texts = load_dataset(tmp_path)

    assert (drawn.id, drawn.options, drawn.answer, drawn.category, drawn.benchmark) == (
        "1",
        None,
        "B",
        "inductive",
        "visualpuzzles",
    )
    assert drawn.metadata == {"file": str(path), "row": 1, "split": "test", "options_in_image": True}
    assert drawn.images[0].startswith("data:image/png;base64,")
    assert (texts.options, texts.answer, texts.category) == (["32", "35", "37", "40"], "C", "spatial")


@pytest.mark.parametrize("split", ["train", "test", None])
def test_visualpuzzles_split_is_train_or_test(tmp_path: Path, split: str | None) -> None:
    write_visualpuzzles_parquet(tmp_path, [visualpuzzles_row(1)])
    (item,) = load_dataset(tmp_path, split=split)
    assert item.metadata["split"] == (split or "test")


def test_visualpuzzles_rejects_other_splits(tmp_path: Path) -> None:
    write_visualpuzzles_parquet(tmp_path, [visualpuzzles_row(1)])
    error = _error(load_dataset, tmp_path, split="validation")
    assert str(error) == f"{tmp_path}: VisualPuzzles has one split, named 'train' or 'test', not 'validation'"


def test_visualpuzzles_sharded_split_files(tmp_path: Path) -> None:
    write_visualpuzzles_parquet(
        tmp_path / "data", [visualpuzzles_row(1)], name="train-00000-of-00001.parquet"
    )
    assert [item.metadata["split"] for item in load_dataset(tmp_path, split="test")] == ["train"]


def test_visualpuzzles_difficulty_becomes_the_level(tmp_path: Path) -> None:
    schema = VISUALPUZZLES_SCHEMA.append(pa.field("difficulty", pa.string()))
    path = tmp_path / "data.parquet"
    pq.write_table(pa.Table.from_pylist([visualpuzzles_row(1, difficulty="Hard")], schema=schema), path)
    (item,) = load_dataset(path)
    assert item.level == "Hard"


def test_visualpuzzles_bad_rows(tmp_path: Path) -> None:
    rows = [
        visualpuzzles_row(1, answer="E"),
        visualpuzzles_row(2, options=["a", "b", "c"]),
        visualpuzzles_row(3, image={"bytes": None, "path": None}),
        visualpuzzles_row(4),
    ]
    path = write_visualpuzzles_parquet(tmp_path, rows)

    scan = scan_dataset(tmp_path, collect=True)

    assert [item.id for item in scan.items] == ["4"]
    assert [str(problem) for problem in scan.problems] == [
        f"{path}, row 1: unknown answer letter 'E': the 4 options are A-D",
        f"{path}, row 2: VisualPuzzles items have 4 options or none, found 3",
        f"{path}, row 3: field 'image' has no image (neither bytes nor a path)",
    ]


def test_visualpuzzles_missing_column(tmp_path: Path) -> None:
    path = tmp_path / "data.parquet"
    schema = pa.schema([field for field in VISUALPUZZLES_SCHEMA if field.name != "image"])
    rows = [{key: value for key, value in visualpuzzles_row(1).items() if key != "image"}]
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    assert str(_error(load_dataset, path, format="visualpuzzles")) == (
        f"{path}: missing column image for the visualpuzzles format"
    )


# Generic JSONL ---------------------------------------------------------------------------------------


def _generic_dataset(folder: Path, rows: list[dict[str, Any] | str]) -> Path:
    (folder / "images").mkdir(parents=True, exist_ok=True)
    for name in ("a.png", "b.png"):
        (folder / "images" / name).write_bytes(image_bytes())
    return write_jsonl(folder / "items.jsonl", rows)


def test_generic_jsonl_fields(tmp_path: Path) -> None:
    path = _generic_dataset(
        tmp_path,
        [
            {
                "id": "q1",
                "question": "Which bar is tallest?",
                "answer": "b",
                "options": ["red", "blue"],
                "images": ["images/a.png", "images/b.png"],
                "category": "charts",
                "level": 2,
                "source": "hand-made",
                "metadata": {"author": "me"},
            },
            {"question": "How many dots?", "answer": 12, "image": "images/a.png"},
            {"question": "Capital of France?", "answer": "Paris"},
        ],
    )

    chart, dots, text_only = load_dataset(tmp_path)

    assert (chart.id, chart.answer, chart.options, chart.category, chart.level) == (
        "q1",
        "B",
        ["red", "blue"],
        "charts",
        "2",
    )
    assert chart.images == [str((tmp_path / "images" / name).resolve()) for name in ("a.png", "b.png")]
    assert chart.metadata == {"file": str(path), "row": 1, "source": "hand-made", "author": "me"}
    assert (dots.id, dots.answer, dots.options, len(dots.images), dots.benchmark) == (
        "2",
        "12",
        None,
        1,
        "generic",
    )
    assert (text_only.id, text_only.images) == ("3", [])


def test_generic_jsonl_accepts_data_urls(tmp_path: Path) -> None:
    from ted.tasks.images import bytes_to_data_url

    url = bytes_to_data_url(image_bytes(), "image/png")
    path = write_jsonl(tmp_path / "items.jsonl", [{"question": "q", "answer": "1", "images": [url]}])
    assert load_dataset(path)[0].images == [url]


def test_generic_jsonl_bad_rows(tmp_path: Path) -> None:
    path = _generic_dataset(
        tmp_path,
        [
            {"question": "q", "answer": "C", "options": ["x", "y"]},
            {"question": "q", "answer": "1", "image": "images/a.png", "images": ["images/b.png"]},
            {"question": "q", "answer": "1", "options": "x, y"},
            {"question": "q", "answer": "1", "images": ["../../etc/passwd"]},
            {"answer": "1"},
            {"question": "q", "answer": "1", "images": ["images/missing.png"]},
            {"question": "q", "answer": True},
            {"question": "fine", "answer": "1"},
        ],
    )

    scan = scan_dataset(path, collect=True)

    root = tmp_path.resolve()
    assert [item.question for item in scan.items] == ["fine"]
    assert [str(problem) for problem in scan.problems] == [
        f"{path}, line 1: unknown answer letter 'C': the 2 options are A-B",
        f"{path}, line 2: use either 'images' (a list) or 'image' (one path), not both",
        f"{path}, line 3: field 'options' must be a list of option texts, not str",
        f"{path}, line 4: image path '../../etc/passwd' escapes the dataset folder {root}",
        f"{path}, line 5: field 'question' is missing or empty",
        f"{path}, line 6: image file 'images/missing.png' not found at {root / 'images' / 'missing.png'}",
        f"{path}, line 7: field 'answer' must be text, not bool",
    ]
    with pytest.raises(DatasetError, match=re.escape(f"{path}, line 1: unknown answer letter")):
        load_dataset(path)


# Finding files and formats ---------------------------------------------------------------------------


def test_format_is_detected_from_the_files(tmp_path: Path) -> None:
    write_mathvision_parquet(tmp_path / "mv", [mathvision_row("1")])
    write_mathvision_jsonl(tmp_path / "mvj", [mathvision_row("1")])
    write_visualpuzzles_parquet(tmp_path / "vp", [visualpuzzles_row(1)])
    _generic_dataset(tmp_path / "mine", [{"question": "q", "answer": "1"}])

    detected = {name: scan_dataset(tmp_path / name).format for name in ("mv", "mvj", "vp", "mine")}

    assert detected == {"mv": "mathvision", "mvj": "mathvision", "vp": "visualpuzzles", "mine": "jsonl"}


def test_folder_and_path_problems(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    assert str(_error(load_dataset, tmp_path / "empty")) == (
        f"{tmp_path / 'empty'}: no .parquet or .jsonl files in the folder or in its data/ subfolder"
    )
    assert (
        str(_error(load_dataset, tmp_path / "nothing" / "here"))
        == f"{tmp_path / 'nothing' / 'here'}: no such file or folder"
    )
    (tmp_path / "table.csv").write_text("a,b\n")
    assert "expected a .parquet or .jsonl file, or a folder" in str(
        _error(load_dataset, tmp_path / "table.csv")
    )

    odd = tmp_path / "odd.parquet"
    pq.write_table(pa.table({"x": [1]}), odd)
    assert str(_error(load_dataset, odd)) == (
        f"{odd}: cannot tell the dataset format from the columns; pass the format explicitly"
    )
    (tmp_path / "broken.parquet").write_bytes(b"PAR1 not really")
    assert "not a readable parquet file" in str(_error(load_dataset, tmp_path / "broken.parquet"))


def test_several_jsonl_files_need_a_choice(tmp_path: Path) -> None:
    write_jsonl(tmp_path / "train.jsonl", [{"question": "a", "answer": "1"}])
    write_jsonl(tmp_path / "eval.jsonl", [{"question": "b", "answer": "2"}])

    assert "holds several splits (eval, train); choose one" in str(_error(load_dataset, tmp_path))
    (item,) = load_dataset(tmp_path, split="eval")
    assert (item.question, item.metadata["split"]) == ("b", "eval")


# Datasets by name --------------------------------------------------------------------------------------


def test_dataset_name_without_the_datasets_package(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setitem(sys.modules, "datasets", None)  # makes `import datasets` fail

    error = _error(load_dataset, "MathLLMs/MathVision")

    assert isinstance(error, MissingDependencyError)
    assert str(error) == (
        "MathLLMs/MathVision: loading a dataset by name needs the optional 'datasets' package: "
        "pip install 'ted-distill[hf]', or download the files and pass their folder"
    )


def test_dataset_name_with_an_unknown_format(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    error = _error(load_dataset, "someone/puzzles")
    assert (
        str(error) == "someone/puzzles: cannot tell the format of this dataset from its name; pass the format"
    )


class _FakeTable:
    """The part of a `datasets.Dataset` the loader uses."""

    def __init__(self, rows: list[dict[str, Any]]) -> None:
        self.rows = rows
        self.column_names = list(rows[0])
        self.cast: list[str] = []

    def cast_column(self, column: str, feature: object) -> _FakeTable:
        assert feature == ("Image", False)
        self.cast.append(column)
        return self

    def __iter__(self) -> Any:
        return iter(self.rows)


def test_dataset_name_through_datasets(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    table = _FakeTable([visualpuzzles_row(1, options=["a", "b", "c", "d"], answer="D"), visualpuzzles_row(2)])
    calls: list[str] = []

    def fake_load_dataset(name: str) -> dict[str, _FakeTable]:
        calls.append(name)
        return {"train": table}

    fake = types.ModuleType("datasets")
    fake.load_dataset = fake_load_dataset  # type: ignore[attr-defined]
    fake.Image = lambda decode: ("Image", decode)  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "datasets", fake)

    items = load_dataset("neulab/VisualPuzzles", split="test")

    assert calls == ["neulab/VisualPuzzles"] and table.cast == ["image"]
    assert [(item.id, item.answer, item.benchmark) for item in items] == [
        ("1", "D", "visualpuzzles"),
        ("2", "B", "visualpuzzles"),
    ]
    assert items[0].metadata == {
        "file": "neulab/VisualPuzzles",
        "row": 1,
        "split": "train",
        "options_in_image": False,
    }
    assert "no split 'testmini'" in str(
        _error(load_dataset, "neulab/VisualPuzzles", format="mathvision", split="testmini")
    )


# Scanning ----------------------------------------------------------------------------------------------


def test_scan_collects_every_problem_and_keeps_good_rows(tmp_path: Path) -> None:
    write_mathvision_parquet(
        tmp_path,
        [mathvision_row("1"), mathvision_row("2", answer="Z"), mathvision_row("3"), mathvision_row("3")],
    )
    scan = scan_dataset(tmp_path, collect=True)
    assert [item.id for item in scan.items] == ["1", "3"]
    assert [problem.row for problem in scan.problems] == [2, 4]
    with pytest.raises(ValueError, match="limit must not be negative"):
        scan_dataset(tmp_path, limit=-1)
