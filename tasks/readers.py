"""Read the rows of a parquet or JSONL file as plain dicts, one at a time."""

from __future__ import annotations

import json
from collections.abc import Generator
from contextlib import closing
from pathlib import Path
from typing import Any

from ted.tasks.errors import DatasetError

Row = dict[str, Any]
# A row, or the problem that made a line unreadable; readers go on after a bad JSONL line.
RowOrProblem = Row | DatasetError
_BATCH_ROWS = 256


def parquet_columns(path: Path) -> list[str]:
    """The column names of a parquet file, read from its footer only.

    Raises:
        DatasetError: The file is not a readable parquet file.
    """
    import pyarrow.parquet as pq

    try:
        return list(pq.read_schema(path).names)
    except (OSError, ValueError) as exc:
        raise DatasetError(f"not a readable parquet file: {exc}", file=path) from exc


def parquet_rows(path: Path) -> Generator[tuple[int, RowOrProblem]]:
    """Yield ``(row number, row)`` from a parquet file, in batches so that a limit stops early.

    Raises:
        DatasetError: The file is not a readable parquet file, or has no rows.
    """
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(path)
    except (OSError, ValueError) as exc:
        raise DatasetError(f"not a readable parquet file: {exc}", file=path) from exc
    if parquet.metadata.num_rows == 0:
        raise DatasetError("the file is empty (no rows)", file=path)
    number = 0
    try:
        for batch in parquet.iter_batches(batch_size=_BATCH_ROWS):
            for row in batch.to_pylist():
                number += 1
                yield number, row
    except (OSError, ValueError) as exc:
        raise DatasetError(f"cannot read the rows after row {number}: {exc}", file=path) from exc


def jsonl_rows(path: Path) -> Generator[tuple[int, RowOrProblem]]:
    """Yield ``(line number, row)`` for each non-blank line of a JSONL file.

    A line that is not a JSON object is yielded as a located `DatasetError`.

    Raises:
        DatasetError: The file cannot be read, is not UTF-8, or has no rows.
    """
    seen = False
    try:
        with path.open(encoding="utf-8") as lines:
            for number, line in enumerate(lines, start=1):
                if not line.strip():
                    continue
                seen = True
                yield number, _parse_line(line, path, number)
    except UnicodeDecodeError as exc:
        raise DatasetError(f"the file is not UTF-8 text: {exc}", file=path) from exc
    except OSError as exc:
        raise DatasetError(f"cannot read the file: {exc}", file=path) from exc
    if not seen:
        raise DatasetError("the file is empty (no rows)", file=path)


def _parse_line(line: str, path: Path, number: int) -> RowOrProblem:
    try:
        value = json.loads(line)
    except json.JSONDecodeError as exc:
        return DatasetError(f"not valid JSON: {exc.msg} at column {exc.colno}", file=path, row=number)
    if not isinstance(value, dict):
        return DatasetError(f"expected a JSON object, found {type(value).__name__}", file=path, row=number)
    return value


def first_jsonl_row(path: Path) -> Row | None:
    """The first row of a JSONL file, or None when its first line is not a JSON object.

    Raises:
        DatasetError: The file cannot be read or has no rows.
    """
    with closing(jsonl_rows(path)) as rows:
        for _, row in rows:
            return row if isinstance(row, dict) else None
    return None
