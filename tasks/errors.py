"""Errors of datasets and images: one sentence a user can act on, naming the file and row."""

from __future__ import annotations

from pathlib import Path


def location(file: str | Path, row: int | None = None) -> str:
    """``file, row N`` (``file, line N`` for JSONL files), or just the file without a row."""
    if row is None:
        return str(file)
    unit = "line" if str(file).endswith(".jsonl") else "row"
    return f"{file}, {unit} {row}"


class DatasetError(Exception):
    """A dataset cannot be read as asked: bad file, bad row, bad image, bad option.

    Attributes:
        message: What is wrong, without the location.
        file: The file (or dataset name) the problem is in, when known.
        row: The 1-based row of the problem, when known; in JSONL files it is the line number (and the
            message says "line").
    """

    def __init__(self, message: str, *, file: str | Path | None = None, row: int | None = None) -> None:
        self.message = message
        self.file = str(file) if file is not None else None
        self.row = row
        super().__init__(self._render())

    def _render(self) -> str:
        if self.file is None:
            return self.message
        return f"{location(self.file, self.row)}: {self.message}"

    def located(self, file: str | Path, row: int | None = None) -> DatasetError:
        """Return the same error (same class) placed at ``file`` and ``row``; a known place wins."""
        if self.file is not None:
            return self
        return type(self)(self.message, file=file, row=row)


class ImageError(DatasetError):
    """An image is unreadable, too large, or outside its dataset folder."""


class MissingDependencyError(DatasetError):
    """An optional package that the requested route needs is not installed."""
