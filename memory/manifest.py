"""The library manifest: ``library.json`` in the library folder says what the folder holds."""

from __future__ import annotations

import json
import os
import uuid
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, Field, ValidationError

from ted.memory.errors import LibraryError
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


def manifest_path(folder: Path) -> Path:
    """Where the manifest of the library in ``folder`` lives."""
    return folder / MANIFEST_NAME


def read_manifest(folder: Path) -> Manifest | None:
    """The manifest of the library in ``folder``, or None if there is none."""
    path = manifest_path(folder)
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


def write_manifest(folder: Path, manifest: Manifest) -> None:
    """Write the manifest atomically (a half-written manifest would make the library unopenable)."""
    path = manifest_path(folder)
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(manifest.model_dump_json(indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def new_manifest(embedding_model: str, student_model: str | None) -> Manifest:
    """A manifest for a new library, with a collection name unique to it (libraries may share a server)."""
    library_id = uuid.uuid4().hex
    return Manifest(
        library_id=library_id,
        embedding_model=embedding_model,
        student_model=student_model,
        collection=f"ted-{library_id[:16]}",
    )
