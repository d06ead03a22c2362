"""Reading and checking the fields of one dataset row; errors say which field and why."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ted.tasks.errors import DatasetError, ImageError
from ted.tasks.images import embed_image_bytes, is_data_url, probe_image
from ted.tasks.paths import resolve_inside


@dataclass(frozen=True)
class RowPlace:
    """Where a row comes from, and what its images may reference.

    Attributes:
        file: The file (or dataset name) being read.
        row: The 1-based row number (the line number in JSONL files).
        folder: The folder relative image paths start from, or None when paths are not allowed.
        root: The dataset folder every image path must stay inside.
        split: The split being read, when the dataset has splits.
        max_pixels: The image size limit checked while loading.
    """

    file: str
    row: int
    folder: Path | None
    root: Path | None
    split: str | None
    max_pixels: int

    def metadata(self) -> dict[str, Any]:
        """Source metadata every item carries."""
        metadata: dict[str, Any] = {"file": self.file, "row": self.row}
        if self.split is not None:
            metadata["split"] = self.split
        return metadata


def optional_text(row: Mapping[str, Any], name: str) -> str | None:
    """A text field, or None when it is missing or empty; numbers are turned into text.

    Raises:
        DatasetError: The field holds something other than text or a number.
    """
    value = row.get(name)
    if isinstance(value, bool) or (value is not None and not isinstance(value, str | int | float)):
        raise DatasetError(f"field {name!r} must be text, not {type(value).__name__}")
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return value.strip() if isinstance(value, str) else str(value)


def text(row: Mapping[str, Any], name: str) -> str:
    """A required text field; numbers are turned into text.

    Raises:
        DatasetError: The field is missing, empty or not text.
    """
    value = optional_text(row, name)
    if value is None:
        raise DatasetError(f"field {name!r} is missing or empty")
    return value


def options(row: Mapping[str, Any], name: str = "options") -> list[str] | None:
    """The option texts, or None when there are none (a missing field, null or an empty list).

    Raises:
        DatasetError: The field is not a list of texts.
    """
    value = row.get(name)
    if value is None:
        return None
    if isinstance(value, str) or not hasattr(value, "__iter__"):
        raise DatasetError(f"field {name!r} must be a list of option texts, not {type(value).__name__}")
    texts = []
    for option in value:
        if isinstance(option, bool) or not isinstance(option, str | int | float):
            raise DatasetError(f"field {name!r} must hold only texts, found {type(option).__name__}")
        texts.append(str(option))
    return texts or None


def answer_letter(answer: str, count: int) -> str:
    """Check that ``answer`` is the letter of one of ``count`` options; return it in capitals.

    Raises:
        DatasetError: The answer is not one of the option letters.
    """
    letters = [chr(ord("A") + index) for index in range(count)]
    letter = answer.strip().upper()
    if letter not in letters:
        raise DatasetError(
            f"unknown answer letter {answer!r}: the {count} options are {letters[0]}-{letters[-1]}"
        )
    return letter


def image_path(reference: str, place: RowPlace) -> str:
    """Resolve a relative image path inside the dataset folder and probe the image.

    Returns:
        The absolute path of the image, as text.

    Raises:
        ImageError: The path escapes the folder, names no file, or the image is unreadable or too large.
    """
    if is_data_url(reference):
        probe_image(reference, max_pixels=place.max_pixels)
        return reference
    if place.folder is None or place.root is None:
        raise ImageError(f"image {reference!r} is a path, but this dataset has no folder to find it in")
    target = resolve_inside(place.root, reference, relative_to=[place.folder])
    probe_image(target, max_pixels=place.max_pixels)
    return str(target)


def image_value(value: Any, name: str, place: RowPlace) -> str:
    """An image column as `datasets` stores it (``{"bytes", "path"}``) or as a path text.

    Embedded bytes become a data URL (checked, not re-encoded); without bytes the path is used.

    Raises:
        DatasetError: The value is missing or of the wrong type.
        ImageError: The image is unreadable, too large, or its path is not usable.
    """
    if isinstance(value, Mapping):
        raw = value.get("bytes")
        if raw:
            if not isinstance(raw, bytes | bytearray | memoryview):
                raise DatasetError(f"field {name!r} holds {type(raw).__name__} bytes, expected binary data")
            return embed_image_bytes(bytes(raw), max_pixels=place.max_pixels)
        value = value.get("path")
    if isinstance(value, str) and value.strip():
        return image_path(value.strip(), place)
    if value is None or value == "":
        raise DatasetError(f"field {name!r} has no image (neither bytes nor a path)")
    raise DatasetError(
        f"field {name!r} must be an image (bytes and path) or a path, not {type(value).__name__}"
    )


def _json_safe(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, Mapping):
        return {str(key): _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    return str(value)


def extras(row: Mapping[str, Any], known: set[str]) -> dict[str, Any]:
    """The fields of ``row`` not in ``known``, as JSON-safe metadata (binary values are left out)."""
    return {
        key: _json_safe(value)
        for key, value in row.items()
        if key not in known and not isinstance(value, bytes | bytearray | memoryview)
    }
