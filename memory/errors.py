"""Errors of the experience memory; each message says what to do about it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ted.memory.models import Refusal, RefusalReason


class LibraryError(Exception):
    """Base class of every error the experience library raises on purpose."""


class LibraryNotFound(LibraryError):
    """The library folder does not exist (or holds no library) and creating it was not allowed."""


class JournalDamaged(LibraryError):
    """The library's journal (``journal.sqlite``, the source of truth) is missing or unreadable.

    `ted.memory.repair_library` (``ted experiences repair``) restores it from the last good backup.
    """


class EmbeddingMismatch(LibraryError):
    """The library was built with another embedding model than the one it is being opened with."""


class ExperienceNotFound(LibraryError):
    """No experience has the requested id."""


class InactiveExperience(LibraryError):
    """The experience was superseded or deleted, and only active experiences can change."""


class VersionConflict(LibraryError):
    """An update expected a version of the experience that is no longer current."""

    def __init__(self, message: str, *, current_version: int) -> None:
        super().__init__(message)
        self.current_version = current_version


class TextRefused(LibraryError):
    """An experience text was refused by the library's screening; nothing was written.

    Attributes:
        reason: A short machine-readable code, one of `RefusalReason`.
        refusal: The journaled record of the refusal, once the library has recorded it.
    """

    def __init__(self, message: str, *, reason: RefusalReason) -> None:
        super().__init__(message)
        self.reason = reason
        self.refusal: Refusal | None = None


class ImportFormatError(LibraryError):
    """An import file is malformed; the message names the file and the line."""


class ToolInputError(LibraryError):
    """A model called a memory tool with an argument it can correct (bad label, empty text ...)."""


class UnknownLabel(ToolInputError):
    """A short label such as ``E7`` does not name an experience of this session."""
