"""Load a dataset (MathVision, VisualPuzzles or generic JSONL) into `Item`s.

Images are checked while loading by reading their headers only (format and size, and that paths stay
inside the dataset folder); they are decoded when `ted.tasks.prepare_image` sends them. Embedded image
bytes become data URLs as they are, without re-encoding.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ted.tasks.errors import DatasetError, location
from ted.tasks.formats import generic, mathvision, visualpuzzles
from ted.tasks.formats.fields import RowPlace
from ted.tasks.images import DEFAULT_MAX_PIXELS
from ted.tasks.items import Item
from ted.tasks.readers import RowOrProblem, jsonl_rows, parquet_columns, parquet_rows
from ted.tasks.sources import DatasetFormat, Source, locate

_CONVERTERS: dict[DatasetFormat, Callable[[Mapping[str, Any], RowPlace], Item]] = {
    "mathvision": mathvision.to_item,
    "visualpuzzles": visualpuzzles.to_item,
    "jsonl": generic.to_item,
}
_REQUIRED: dict[DatasetFormat, tuple[str, ...]] = {
    "mathvision": mathvision.REQUIRED_COLUMNS,
    "visualpuzzles": visualpuzzles.REQUIRED_COLUMNS,
    "jsonl": generic.REQUIRED_COLUMNS,
}


@dataclass
class Scan:
    """What reading a dataset found.

    Attributes:
        name: The path or dataset name that was read.
        format: The dataset format.
        split: The split read, when the format has splits.
        items: The items of the rows that were fine.
        problems: The row problems met, in order (empty when everything was fine).
    """

    name: str
    format: DatasetFormat
    split: str | None
    items: list[Item] = field(default_factory=list)
    problems: list[DatasetError] = field(default_factory=list)


def _check_columns(file: Path, format: DatasetFormat) -> None:
    columns = set(parquet_columns(file))
    missing = [name for name in _REQUIRED[format] if name not in columns]
    if format == "mathvision" and not columns & set(mathvision.IMAGE_COLUMNS):
        missing.append("decoded_image (or image)")
    if missing:
        raise DatasetError(
            f"missing column{'s' if len(missing) > 1 else ''} {', '.join(missing)} for the {format} format",
            file=file,
        )


def _local_rows(source: Source) -> Iterator[tuple[Path, int, RowOrProblem]]:
    for file in source.files:
        if file.suffix == ".parquet":
            _check_columns(file, source.format)
            rows = parquet_rows(file)
        else:
            rows = jsonl_rows(file)
        for number, row in rows:
            yield file, number, row


def _read(
    scan: Scan,
    rows: Iterator[tuple[Path | str, int, RowOrProblem]],
    *,
    root: Path | None,
    limit: int | None,
    max_pixels: int,
    collect: bool,
) -> Scan:
    convert = _CONVERTERS[scan.format]
    first_row: dict[str, tuple[str, int]] = {}
    for file, number, row in rows:
        if limit is not None and len(scan.items) >= limit:
            break
        folder = file.parent if isinstance(file, Path) else None
        place = RowPlace(str(file), number, folder, root, scan.split, max_pixels)
        try:
            if isinstance(row, DatasetError):
                raise row
            item = convert(row, place)
            if item.id in first_row:
                seen_file, seen_row = first_row[item.id]
                raise DatasetError(f"duplicate id {item.id!r}, first used in {location(seen_file, seen_row)}")
        except DatasetError as exc:
            problem = exc.located(place.file, number)
            if not collect:
                if problem is exc:
                    raise
                raise problem from exc
            scan.problems.append(problem)
            continue
        first_row[item.id] = (place.file, number)
        scan.items.append(item)
    return scan


def scan_dataset(
    path: str | Path,
    *,
    format: DatasetFormat | None = None,
    split: str | None = None,
    limit: int | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    collect: bool = False,
) -> Scan:
    """Read a dataset and report its items and, with ``collect``, every bad row instead of the first.

    Problems with the dataset as a whole (no such file, unknown format, missing column, empty file,
    missing optional package) are raised even with ``collect``.

    Args:
        path: A file, a folder, or a dataset name such as ``MathLLMs/MathVision``.
        format: ``mathvision``, ``visualpuzzles`` or ``jsonl``; detected when None.
        split: The split to read (MathVision: ``test`` by default, or ``testmini``; VisualPuzzles:
            ``train`` and ``test`` name its one split).
        limit: Read at most this many items.
        max_pixels: Images with more pixels are refused.
        collect: Gather row problems in `Scan.problems` rather than raising the first one.

    Raises:
        DatasetError: The dataset cannot be read (with ``collect``: as a whole).
        ValueError: ``limit`` is negative.
    """
    from ted.tasks.hub import hub_format, hub_rows, looks_like_name

    if limit is not None and limit < 0:
        raise ValueError("limit must not be negative")
    local = Path(path).expanduser()
    if not local.exists() and isinstance(path, str) and looks_like_name(path):
        hub_dataset_format = hub_format(path, format)
        chosen, rows = hub_rows(path, hub_dataset_format, split)
        scan = Scan(path, hub_dataset_format, chosen)
        named_rows = ((path, number, row) for number, row in rows)
        return _read(scan, named_rows, root=None, limit=limit, max_pixels=max_pixels, collect=collect)
    source = locate(local, format, split)
    scan = Scan(str(local), source.format, source.split)
    return _read(
        scan, _local_rows(source), root=source.root, limit=limit, max_pixels=max_pixels, collect=collect
    )


def load_dataset(
    path: str | Path,
    *,
    format: DatasetFormat | None = None,
    split: str | None = None,
    limit: int | None = None,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> list[Item]:
    """Load a dataset as a list of items; the first bad row stops it with a clear error.

    Args:
        path: A file, a folder, or a dataset name such as ``MathLLMs/MathVision`` (needs the ``hf``
            extra and a network connection, or a filled cache).
        format: ``mathvision``, ``visualpuzzles`` or ``jsonl``; detected from the files when None.
        split: The split to read; see `scan_dataset`.
        limit: Load at most this many items (the first ones).
        max_pixels: Images with more pixels are refused while loading.

    Returns:
        The items, in file order.

    Raises:
        DatasetError: A file, a row or an image is bad; the message names the file and the row.
    """
    return scan_dataset(path, format=format, split=split, limit=limit, max_pixels=max_pixels).items
