"""MathVision rows (HF parquet with ``decoded_image``, or the GitHub JSONL with ``image`` paths)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ted.tasks.formats.fields import RowPlace, answer_letter, image_value, optional_text, options, text
from ted.tasks.items import Item
from ted.tasks.scoring.mathvision import options_in_image

REQUIRED_COLUMNS = ("id", "question", "options", "answer")
IMAGE_COLUMNS = ("decoded_image", "image")
SPLITS = ("test", "testmini")
DEFAULT_SPLIT = "test"


def _has_image(value: Any) -> bool:
    if isinstance(value, Mapping):
        return bool(value.get("bytes")) or bool(value.get("path"))
    return bool(value)


def to_item(row: Mapping[str, Any], place: RowPlace) -> Item:
    """Turn one MathVision row into an `Item` (category = subject, level = 1-5).

    Raises:
        DatasetError: A field is missing or malformed, or the answer letter is not an option.
        ImageError: The image is unreadable, too large or outside the dataset folder.
    """
    item_id = text(row, "id")
    question = text(row, "question")
    answer = text(row, "answer")
    option_texts = options(row)
    if option_texts:
        answer = answer_letter(answer, len(option_texts))
    column = next((name for name in IMAGE_COLUMNS if _has_image(row.get(name))), "decoded_image")
    image = image_value(row.get(column), column, place)
    metadata = place.metadata()
    for name in ("subject", "solution"):
        value = optional_text(row, name)
        if value is not None:
            metadata[name] = value
    if isinstance(row.get("image"), str):
        metadata["image"] = row["image"]
    metadata["options_in_image"] = options_in_image(option_texts)
    return Item(
        id=item_id,
        question=question,
        answer=answer,
        options=option_texts,
        images=[image],
        category=optional_text(row, "subject"),
        level=optional_text(row, "level"),
        benchmark="mathvision",
        metadata=metadata,
    )
