"""Opening a library folder: manifest, embeddings check, database."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from langchain_core.embeddings import Embeddings

from ted.memory.database import LibraryDatabase
from ted.memory.embeddings import MiniLMEmbeddings, embedding_model_name, get_embeddings
from ted.memory.errors import EmbeddingMismatch, LibraryError, LibraryNotFound
from ted.memory.manifest import (
    JOURNAL_NAME,
    MANIFEST_NAME,
    Manifest,
    new_manifest,
    read_manifest,
    write_manifest,
)


@dataclass
class OpenedLibrary:
    """The parts of an opened library folder."""

    folder: Path
    manifest: Manifest
    database: LibraryDatabase
    embeddings: Embeddings
    student_model: str | None


def _create(
    folder: Path, embeddings: Embeddings | None, student_model: str | None
) -> tuple[Manifest, Embeddings]:
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise LibraryError(
            f"{folder} exists but is not an experience library (it has no {MANIFEST_NAME}); choose an empty "
            "or new folder"
        )
    embeddings = embeddings or MiniLMEmbeddings()
    manifest = new_manifest(embedding_model_name(embeddings), student_model)
    folder.mkdir(parents=True, exist_ok=True)
    return manifest, embeddings


def open_library(
    path: Path, *, embeddings: Embeddings | None, create: bool, student_model: str | None
) -> OpenedLibrary:
    """Open (or create) the library in folder ``path`` and check its embedding model.

    Raises:
        LibraryNotFound: no library at ``path`` and ``create`` is false.
        EmbeddingMismatch: ``embeddings`` are not the model the library was built with.
        LibraryError: ``path`` is a folder with other content, or its manifest is unreadable.
    """
    folder = path.expanduser().absolute()
    manifest = read_manifest(folder)
    if manifest is None:
        if not create:
            raise LibraryNotFound(f"no experience library at {folder} (no {MANIFEST_NAME}); check the path")
        manifest, embeddings = _create(folder, embeddings, student_model)
        database = LibraryDatabase(folder / JOURNAL_NAME)
        # The manifest comes last: a folder with a manifest is a complete library.
        write_manifest(folder, manifest)
    else:
        if embeddings is None:
            embeddings = get_embeddings(manifest.embedding_model)
        elif (name := embedding_model_name(embeddings)) != manifest.embedding_model:
            raise EmbeddingMismatch(
                f"library {folder} was built with embeddings {manifest.embedding_model!r}, not {name!r}; "
                f"open it with {manifest.embedding_model!r}, or export it and import it into a new library"
            )
        if student_model and manifest.student_model is None:
            manifest = manifest.model_copy(update={"student_model": student_model})
            write_manifest(folder, manifest)
        database = LibraryDatabase(folder / JOURNAL_NAME)
    return OpenedLibrary(folder, manifest, database, embeddings, student_model or manifest.student_model)
