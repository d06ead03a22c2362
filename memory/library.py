"""Opening a library folder: its manifest, embedding model, database and vector index.

A library is a folder::

    library.json     manifest: schema version, embedding model, student model, collection name
    journal.sqlite   experiences, vectors and the operation journal (the source of truth)
    writer.lock      the writer lock (`ted.memory.lock`), naming its last holder
    chroma/          the embedded Chroma index of the active experiences (absent with a Chroma server)
    backups/         copies of the journal (see `ted.memory.backups`)

The manifest says what the folder holds and is written last, so a folder with a manifest is a
complete library. Opening checks that the embeddings are the model the library was built with:
vectors of different models are not comparable.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from langchain_core.embeddings import Embeddings
from pydantic import BaseModel, Field, ValidationError

from ted.memory.database import LibraryDatabase
from ted.memory.embeddings import embedding_model_name, get_embeddings
from ted.memory.errors import EmbeddingMismatch, LibraryError, LibraryNotFound
from ted.memory.index import VectorIndex
from ted.memory.lock import LOCK_NAME
from ted.memory.minilm import MiniLMEmbeddings
from ted.memory.models import utc_now

SCHEMA_VERSION = 1
MANIFEST_NAME = "library.json"
JOURNAL_NAME = "journal.sqlite"
CHROMA_DIR = "chroma"


class Manifest(BaseModel):
    """What a library folder holds and how its vectors were made."""

    schema_version: int = Field(default=SCHEMA_VERSION, description="Layout version of the library folder.")
    library_id: str = Field(default_factory=lambda: uuid.uuid4().hex)
    embedding_model: str = Field(description="Name of the embedding model every vector was made with.")
    student_model: str | None = Field(default=None, description="The student model the library is for.")
    collection: str = Field(description="Name of the Chroma collection that indexes the active experiences.")
    created_at: datetime = Field(default_factory=utc_now)


def read_manifest(folder: Path) -> Manifest | None:
    """The manifest of the library in ``folder``, or None if there is none.

    Raises:
        LibraryError: the manifest is unreadable, or newer than this version reads.
    """
    path = folder / MANIFEST_NAME
    if not path.is_file():
        return None
    try:
        manifest = Manifest.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, ValidationError) as exc:
        raise LibraryError(f"{path} is not a valid library manifest: {exc}") from exc
    if manifest.schema_version > SCHEMA_VERSION:
        raise LibraryError(
            f"{path} has schema version {manifest.schema_version}; this ted-distill reads up to "
            f"{SCHEMA_VERSION}, upgrade it"
        )
    return manifest


def _write_manifest(folder: Path, manifest: Manifest) -> None:
    """Write the manifest atomically (a half-written manifest would make the library unopenable)."""
    path = folder / MANIFEST_NAME
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(manifest.model_dump_json(indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def _create(
    folder: Path, embeddings: Embeddings | None, student_model: str | None
) -> tuple[Manifest, Embeddings]:
    # The writer lock's file may come first: a run claims a new library before creating it.
    if folder.exists() and (not folder.is_dir() or any(p.name != LOCK_NAME for p in folder.iterdir())):
        raise LibraryError(
            f"{folder} exists but is not an experience library (it has no {MANIFEST_NAME}); choose an empty "
            "or new folder"
        )
    embeddings = embeddings or MiniLMEmbeddings()
    library_id = uuid.uuid4().hex
    manifest = Manifest(
        library_id=library_id,
        embedding_model=embedding_model_name(embeddings),
        student_model=student_model,
        # Unique to the library, because libraries may share a Chroma server.
        collection=f"ted-{library_id[:16]}",
    )
    folder.mkdir(parents=True, exist_ok=True)
    return manifest, embeddings


@dataclass
class OpenedLibrary:
    """The parts of an opened library folder."""

    folder: Path
    manifest: Manifest
    database: LibraryDatabase
    index: VectorIndex
    embeddings: Embeddings
    student_model: str | None


def open_library(
    path: Path,
    *,
    embeddings: Embeddings | None,
    chroma_url: str | None,
    create: bool,
    student_model: str | None,
) -> OpenedLibrary:
    """Open (or create) the library in folder ``path`` and check its embedding model.

    The vector index connects on first use, to the embedded Chroma in ``chroma/`` or to the server at
    ``chroma_url``.

    Raises:
        LibraryNotFound: no library at ``path`` and ``create`` is false.
        EmbeddingMismatch: ``embeddings`` are not the model the library was built with.
        JournalDamaged: the journal is missing or damaged.
        LibraryError: ``path`` is a folder with other content, or its manifest is unreadable.
    """
    # Resolved, so that two spellings of one folder (a symlink) share one write lock in this process.
    folder = path.expanduser().resolve()
    manifest = read_manifest(folder)
    if manifest is None:
        if not create:
            raise LibraryNotFound(f"no experience library at {folder} (no {MANIFEST_NAME}); check the path")
        manifest, embeddings = _create(folder, embeddings, student_model)
        database = LibraryDatabase(folder / JOURNAL_NAME)
        _write_manifest(folder, manifest)
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
            _write_manifest(folder, manifest)
        # The manifest is written after the journal, so a library with a manifest has one.
        database = LibraryDatabase(folder / JOURNAL_NAME, create=False)
    index = VectorIndex(
        folder=None if chroma_url else folder / CHROMA_DIR, url=chroma_url, collection=manifest.collection
    )
    return OpenedLibrary(
        folder, manifest, database, index, embeddings, student_model or manifest.student_model
    )
