"""The generic JSONL format for users' own data.

One JSON object per line:

- ``question`` (required) and ``answer`` (required; the option letter when there are options);
- ``id`` (optional; defaults to the line number);
- ``options`` (optional list of option texts, lettered A, B, ...);
- ``images`` (optional list of paths relative to the file) or ``image`` (one path); data URLs work too;
- ``category`` and ``level`` (optional);
- ``metadata`` (optional object) and any other field are kept as item metadata.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ted.tasks.errors import DatasetError
from ted.tasks.formats.fields import RowPlace, answer_letter, extras, image_path, optional_text, options, text
from ted.tasks.items import Item

REQUIRED_COLUMNS = ("question", "answer")
_KNOWN = {"id", "question", "answer", "options", "images", "image", "category", "level", "metadata"}


def _image_references(row: Mapping[str, Any]) -> list[str]:
    if "images" in row and "image" in row:
        raise DatasetError("use either 'images' (a list) or 'image' (one path), not both")
    value = row.get("images", row.get("image"))
    if value is None:
        return []
    references = [value] if isinstance(value, str) else value
    if not isinstance(references, list) or not all(isinstance(ref, str) for ref in references):
        raise DatasetError("'images' must be a list of image paths relative to the file")
    return references


def to_item(row: Mapping[str, Any], place: RowPlace) -> Item:
    """Turn one generic JSONL row into an `Item`.

    Raises:
        DatasetError: A field is missing or malformed, or the answer letter is not an option.
        ImageError: An image is unreadable, too large or outside the dataset folder.
    """
    question = text(row, "question")
    answer = text(row, "answer")
    option_texts = options(row)
    if option_texts:
        answer = answer_letter(answer, len(option_texts))
    extra_metadata = row.get("metadata", {})
    if not isinstance(extra_metadata, dict):
        raise DatasetError("'metadata' must be an object")
    return Item(
        id=optional_text(row, "id") or str(place.row),
        question=question,
        answer=answer,
        options=option_texts,
        images=[image_path(reference, place) for reference in _image_references(row)],
        category=optional_text(row, "category"),
        level=optional_text(row, "level"),
        benchmark="generic",
        metadata=place.metadata() | extras(row, _KNOWN) | extra_metadata,
    )
