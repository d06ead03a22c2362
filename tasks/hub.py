"""Datasets by name (``MathLLMs/MathVision``) through the optional `datasets` library."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from ted.tasks.errors import DatasetError, MissingDependencyError
from ted.tasks.formats import mathvision, visualpuzzles
from ted.tasks.readers import RowOrProblem
from ted.tasks.sources import DatasetFormat

_NAME = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
# The column holding an Image feature, per format (MathVision's `image` is a path text).
_IMAGE_COLUMN = {"mathvision": "decoded_image", "visualpuzzles": "image"}


def looks_like_name(text: str) -> bool:
    """Whether ``text`` has the shape of a dataset name, ``owner/name``."""
    return bool(_NAME.match(text))


def hub_format(name: str, format: DatasetFormat | None) -> DatasetFormat:
    """The format of a named dataset: given, or told from the name.

    Raises:
        DatasetError: The name says nothing about the format and none was given.
    """
    if format is not None:
        return format
    lowered = name.lower()
    if "mathvision" in lowered or "math-v" in lowered:
        return "mathvision"
    if "visualpuzzles" in lowered:
        return "visualpuzzles"
    raise DatasetError("cannot tell the format of this dataset from its name; pass the format", file=name)


def _import_datasets(name: str) -> Any:
    try:
        import datasets
    except ImportError as exc:
        raise MissingDependencyError(
            "loading a dataset by name needs the optional 'datasets' package: "
            "pip install 'ted-distill[hf]', or download the files and pass their folder",
            file=name,
        ) from exc
    return datasets


def _choose_split(name: str, format: DatasetFormat, available: list[str], split: str | None) -> str:
    if format == "visualpuzzles":
        wanted = [candidate for candidate in (split, *visualpuzzles.SPLITS) if candidate in available]
        if split is not None and split not in visualpuzzles.SPLITS:
            raise DatasetError(
                f"VisualPuzzles has one split, named 'train' or 'test', not {split!r}", file=name
            )
    else:
        default = mathvision.DEFAULT_SPLIT if format == "mathvision" else None
        wanted = [candidate for candidate in (split or default,) if candidate in available]
        if split is None and not wanted and len(available) == 1:
            wanted = available
    if not wanted:
        raise DatasetError(f"no split {split!r}; the dataset has {', '.join(available)}", file=name)
    return wanted[0]


def hub_rows(
    name: str, format: DatasetFormat, split: str | None
) -> tuple[str, Iterator[tuple[int, RowOrProblem]]]:
    """Download (or reuse the cache of) a named dataset and yield its rows, images undecoded.

    Returns:
        The split read, and an iterator of ``(row number, row)``.

    Raises:
        MissingDependencyError: `datasets` is not installed.
        DatasetError: The dataset cannot be loaded, or has no such split.
    """
    datasets = _import_datasets(name)
    try:
        splits = datasets.load_dataset(name)
    except Exception as exc:
        raise DatasetError(f"the datasets library could not load it: {exc}", file=name) from exc
    chosen = _choose_split(name, format, list(splits.keys()), split)
    table = splits[chosen]
    column = _IMAGE_COLUMN.get(format)
    if column is not None and column in table.column_names:
        # Undecoded images are {"bytes", "path"} dicts, like the parquet files hold.
        table = table.cast_column(column, datasets.Image(decode=False))

    def rows() -> Iterator[tuple[int, RowOrProblem]]:
        for number, row in enumerate(table, start=1):
            yield number, dict(row)

    return chosen, rows()
