"""Find the files of a dataset, tell its format and pick its split.

A dataset is a file or a folder. In a folder, the ``.parquet`` and ``.jsonl`` files directly inside it,
or else inside its ``data/`` subfolder (the Hugging Face layout), are the candidates. A file's split is
its name up to a shard suffix: ``test-00000-of-00001-3532b8d3.parquet`` and ``test.jsonl`` both hold
``test``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, get_args

from ted.tasks.errors import DatasetError
from ted.tasks.formats import mathvision, visualpuzzles
from ted.tasks.readers import first_jsonl_row, parquet_columns

DatasetFormat = Literal["mathvision", "visualpuzzles", "jsonl"]
FORMATS: tuple[str, ...] = get_args(DatasetFormat)
_SUFFIXES = (".parquet", ".jsonl")
_SHARD = re.compile(r"^(?P<split>.+?)-\d{5}-of-\d{5}(?:-[0-9a-f]+)?$")


@dataclass(frozen=True)
class Source:
    """The files to read for one dataset split.

    Attributes:
        format: The dataset format.
        files: The files holding the split, in order.
        root: The dataset folder; image paths must stay inside it.
        split: The split name, when the format has splits.
    """

    format: DatasetFormat
    files: tuple[Path, ...]
    root: Path
    split: str | None


def split_of(file: Path) -> str:
    """The split a file holds, from its name."""
    stem = file.name.removesuffix(file.suffix)
    match = _SHARD.match(stem)
    return match.group("split") if match else stem


def sniff_format(file: Path) -> DatasetFormat | None:
    """Tell a file's format from its columns (parquet) or its first row (JSONL); None if unknown.

    Raises:
        DatasetError: The file is unreadable or empty.
    """
    if file.suffix == ".parquet":
        columns = set(parquet_columns(file))
        if "decoded_image" in columns or {"subject", "level"} <= columns:
            return "mathvision"
        if {"category", "image"} <= columns:
            return "visualpuzzles"
        return None
    row = first_jsonl_row(file)
    if row is not None and {"subject", "solution"} <= row.keys():
        return "mathvision"
    return "jsonl"


def _candidates(folder: Path) -> list[Path]:
    for place in (folder, folder / "data"):
        files = sorted(path for path in place.glob("*") if path.suffix in _SUFFIXES and path.is_file())
        if files:
            return files
    raise DatasetError("no .parquet or .jsonl files in the folder or in its data/ subfolder", file=folder)


def _detect(files: list[Path], folder: Path) -> DatasetFormat:
    found = {file: sniff_format(file) for file in files}
    formats = {value for value in found.values() if value is not None}
    if formats == {"mathvision", "jsonl"}:
        # The MATH-V repository keeps gpt4v-captions.jsonl beside test.jsonl in data/.
        return "mathvision"
    if len(formats) == 1:
        return formats.pop()
    if not formats:
        raise DatasetError("cannot tell the dataset format; pass the format explicitly", file=folder)
    raise DatasetError(
        f"the folder mixes formats ({', '.join(sorted(formats))}); pass a file or the format explicitly",
        file=folder,
    )


def _by_split(files: list[Path]) -> dict[str, list[Path]]:
    groups: dict[str, list[Path]] = {}
    for file in files:
        groups.setdefault(split_of(file), []).append(file)
    return groups


def _prefer_parquet(files: list[Path]) -> tuple[Path, ...]:
    parquet = [file for file in files if file.suffix == ".parquet"]
    return tuple(parquet or files)


def _pick_split(format: DatasetFormat, files: list[Path], split: str | None, where: Path) -> Source:
    groups = _by_split(files)
    names = ", ".join(sorted(groups))
    given = split
    if format == "visualpuzzles":
        if split is not None and split not in visualpuzzles.SPLITS:
            raise DatasetError(
                f"VisualPuzzles has one split, named 'train' or 'test', not {split!r}", file=where
            )
        wanted = [name for name in (split, *visualpuzzles.SPLITS) if name in groups]
        chosen = groups[wanted[0]] if wanted else files
        return Source(format, _prefer_parquet(chosen), where, wanted[0] if wanted else (split or "test"))
    if split is None:
        if format == "mathvision" and mathvision.DEFAULT_SPLIT in groups:
            split = mathvision.DEFAULT_SPLIT
        elif len(groups) == 1:
            split = next(iter(groups))
        else:
            raise DatasetError(f"the folder holds several splits ({names}); choose one", file=where)
    if split not in groups:
        raise DatasetError(f"no split {split!r} here; found {names}", file=where)
    # A generic JSONL file has no split of its own: its name is not worth recording as one.
    label = None if format == "jsonl" and given is None else split
    return Source(format, _prefer_parquet(groups[split]), where, label)


def locate(path: Path, format: DatasetFormat | None = None, split: str | None = None) -> Source:
    """Find what to read for ``path`` (a file or a folder), in ``format`` (detected when None).

    Raises:
        DatasetError: Nothing readable is there, the format cannot be told, or the split is unknown.
    """
    if format is not None and format not in FORMATS:
        raise DatasetError(f"unknown format {format!r}: expected one of {', '.join(FORMATS)}")
    if not path.exists():
        raise DatasetError("no such file or folder", file=path)
    if path.is_dir():
        files = _candidates(path)
        if format is None:
            format = _detect(files, path)
        if format == "mathvision":
            files = [file for file in files if sniff_format(file) == "mathvision"]
        elif format == "jsonl":
            files = [file for file in files if file.suffix == ".jsonl"]
        else:
            files = [file for file in files if sniff_format(file) in (format, None)]
        if not files:
            raise DatasetError(f"no {format} files in the folder", file=path)
        return _pick_split(format, files, split, path)
    if path.suffix not in _SUFFIXES:
        raise DatasetError("expected a .parquet or .jsonl file, or a folder", file=path)
    if format is None:
        format = sniff_format(path)
        if format is None:
            raise DatasetError(
                "cannot tell the dataset format from the columns; pass the format explicitly", file=path
            )
    return _pick_split(format, [path], split, _file_root(path, format))


def _file_root(path: Path, format: DatasetFormat) -> Path:
    """The folder a single file's image paths live in.

    The MATH-V repository keeps data/test.jsonl with ``images/1.jpg`` paths relative to the repository
    root, so a MathVision file inside a ``data`` folder whose parent has ``images/`` belongs to that
    parent.
    """
    parent = path.parent
    if format == "mathvision" and parent.name == "data" and (parent.parent / "images").is_dir():
        return parent.parent
    return parent
