"""VisualPuzzles rows (HF parquet: ``image`` struct, ``options`` of 4 texts or null, answer A-D)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ted.tasks.errors import DatasetError
from ted.tasks.formats.fields import (
    RowPlace,
    answer_letter,
    extras,
    image_value,
    optional_text,
    options,
    text,
)
from ted.tasks.items import Item

REQUIRED_COLUMNS = ("id", "question", "answer", "image")
SPLITS = ("train", "test")
OPTION_COUNT = 4
_KNOWN = {"id", "question", "answer", "image", "options", "category", "difficulty"}


def to_item(row: Mapping[str, Any], place: RowPlace) -> Item:
    """Turn one VisualPuzzles row into an `Item` (options None: they are drawn in the image).

    Raises:
        DatasetError: A field is missing or malformed, or the answer is not one of A-D.
        ImageError: The image is unreadable, too large or outside the dataset folder.
    """
    item_id = text(row, "id")
    question = text(row, "question")
    answer = text(row, "answer")
    option_texts = options(row)
    if option_texts is not None and len(option_texts) != OPTION_COUNT:
        raise DatasetError(
            f"VisualPuzzles items have {OPTION_COUNT} options or none, found {len(option_texts)}"
        )
    metadata = place.metadata() | extras(row, _KNOWN)
    metadata["options_in_image"] = option_texts is None
    return Item(
        id=item_id,
        question=question,
        answer=answer_letter(answer, OPTION_COUNT),
        options=option_texts,
        images=[image_value(row.get("image"), "image", place)],
        category=optional_text(row, "category"),
        level=optional_text(row, "difficulty"),
        benchmark="visualpuzzles",
        metadata=metadata,
    )
