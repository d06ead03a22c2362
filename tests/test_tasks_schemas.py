"""Writers of dataset files in the exact published schemas, used by the loader tests, and their checks.

MathVision (HF MathLLMs/MathVision, data/test-00000-of-00001-*.parquet): id, question, options
(list<string>), image (the GitHub path), decoded_image (an Image feature: struct<bytes, path>), answer,
solution, level (int64), subject. Its GitHub JSONL has the same fields minus decoded_image.
VisualPuzzles (HF neulab/VisualPuzzles, data.parquet): id (int64), category, image (struct<bytes, path>),
question, options (list<string>, null when drawn in the image), answer.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from PIL import Image

IMAGE_TYPE = pa.struct([("bytes", pa.binary()), ("path", pa.string())])

MATHVISION_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("question", pa.string()),
        ("options", pa.list_(pa.string())),
        ("image", pa.string()),
        ("decoded_image", IMAGE_TYPE),
        ("answer", pa.string()),
        ("solution", pa.string()),
        ("level", pa.int64()),
        ("subject", pa.string()),
    ]
)
VISUALPUZZLES_SCHEMA = pa.schema(
    [
        ("id", pa.int64()),
        ("category", pa.string()),
        ("image", IMAGE_TYPE),
        ("question", pa.string()),
        ("options", pa.list_(pa.string())),
        ("answer", pa.string()),
    ]
)


def _features(schema: pa.Schema, image_columns: set[str]) -> bytes:
    """The `huggingface` schema metadata that `datasets` writes next to the arrow schema."""
    features: dict[str, Any] = {}
    for field in schema:
        if field.name in image_columns:
            features[field.name] = {"_type": "Image"}
        elif pa.types.is_list(field.type):
            features[field.name] = {"feature": {"dtype": "string", "_type": "Value"}, "_type": "Sequence"}
        else:
            features[field.name] = {"dtype": str(field.type), "_type": "Value"}
    return json.dumps({"info": {"features": features}}).encode()


def image_bytes(
    size: tuple[int, int] = (24, 16), color: tuple[int, ...] = (200, 40, 40), fmt: str = "PNG"
) -> bytes:
    """A small real image in memory."""
    mode = "RGBA" if len(color) == 4 else "RGB"
    buffer = io.BytesIO()
    Image.new(mode, size, color).save(buffer, format=fmt)
    return buffer.getvalue()


def mathvision_row(item_id: str, **fields: Any) -> dict[str, Any]:
    """A MathVision record, multiple choice by default, with an embedded PNG."""
    row: dict[str, Any] = {
        "id": item_id,
        "question": f"<image1> Which shape is shaded in figure {item_id}?",
        "options": ["1", "2", "3", "4", "5"],
        "image": f"images/{item_id}.jpg",
        "decoded_image": {"bytes": image_bytes(), "path": f"{item_id}.jpg"},
        "answer": "C",
        "solution": None,
        "level": 2,
        "subject": "metric geometry - area",
    }
    row.update(fields)
    return row


def write_mathvision_parquet(folder: Path, rows: list[dict[str, Any]], split: str = "test") -> Path:
    """Write rows as HF's ``data/<split>-00000-of-00001-<hash>.parquet``."""
    data = folder / "data"
    data.mkdir(parents=True, exist_ok=True)
    path = data / f"{split}-00000-of-00001-3532b8d3f1b4047a.parquet"
    schema = MATHVISION_SCHEMA.with_metadata({"huggingface": _features(MATHVISION_SCHEMA, {"decoded_image"})})
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    return path


def write_mathvision_jsonl(folder: Path, rows: list[dict[str, Any]], split: str = "test") -> Path:
    """Write rows as the GitHub ``data/<split>.jsonl`` with real images under ``data/images/``."""
    data = folder / "data"
    (data / "images").mkdir(parents=True, exist_ok=True)
    path = data / f"{split}.jsonl"
    with path.open("w", encoding="utf-8") as out:
        for row in rows:
            record = {key: value for key, value in row.items() if key != "decoded_image"}
            image = data / record["image"]
            if not image.exists() and not record["image"].startswith(".."):
                image.write_bytes(image_bytes(fmt="JPEG"))
            out.write(json.dumps(record) + "\n")
    return path


def visualpuzzles_row(item_id: int, **fields: Any) -> dict[str, Any]:
    """A VisualPuzzles record with its options drawn in the image by default."""
    row: dict[str, Any] = {
        "id": item_id,
        "category": "inductive",
        "image": {"bytes": image_bytes(color=(30, 30, 30)), "path": None},
        "question": "Choose the most appropriate option to fill in the question mark.",
        "options": None,
        "answer": "B",
    }
    row.update(fields)
    return row


def write_visualpuzzles_parquet(folder: Path, rows: list[dict[str, Any]], name: str = "data.parquet") -> Path:
    """Write rows as HF's ``data.parquet``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    schema = VISUALPUZZLES_SCHEMA.with_metadata({"huggingface": _features(VISUALPUZZLES_SCHEMA, {"image"})})
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
    return path


def write_jsonl(path: Path, rows: list[dict[str, Any] | str]) -> Path:
    """Write JSON objects (or raw lines, given as text) one per line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as out:
        for row in rows:
            out.write((row if isinstance(row, str) else json.dumps(row)) + "\n")
    return path


def test_mathvision_writer_matches_the_published_schema(tmp_path: Path) -> None:
    path = write_mathvision_parquet(tmp_path, [mathvision_row("1")])
    schema = pq.read_schema(path)
    assert schema.names == [
        "id",
        "question",
        "options",
        "image",
        "decoded_image",
        "answer",
        "solution",
        "level",
        "subject",
    ]
    assert schema.field("decoded_image").type == IMAGE_TYPE
    assert schema.field("level").type == pa.int64()
    features = json.loads(schema.metadata[b"huggingface"])["info"]["features"]
    assert features["decoded_image"] == {"_type": "Image"}
    assert path.name.startswith("test-00000-of-00001-")


def test_visualpuzzles_writer_matches_the_published_schema(tmp_path: Path) -> None:
    path = write_visualpuzzles_parquet(
        tmp_path, [visualpuzzles_row(1), visualpuzzles_row(2, options=["a", "b", "c", "d"])]
    )
    table = pq.read_table(path)
    assert table.schema.names == ["id", "category", "image", "question", "options", "answer"]
    assert table.schema.field("id").type == pa.int64()
    assert table.column("options").to_pylist() == [None, ["a", "b", "c", "d"]]
    image = table.column("image").to_pylist()[0]
    assert set(image) == {"bytes", "path"} and image["bytes"].startswith(b"\x89PNG")
