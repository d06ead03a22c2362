"""Export and import of experience libraries.

The export is a versioned JSON document::

    {"schema": "ted-experiences", "schema_version": 1, "embedding_model": "...", "student_model": "...",
     "library_version": 42, "exported_at": "...", "experiences": [{...Experience...}, ...]}

Vectors are not exported: an import embeds the texts with the receiving library's own model, so a
library can move between embedding models. `import_file` also reads a minimal JSONL, one experience
per line, ``{"text": "...", "id": "...", "tags": [...]}`` with only ``text`` required; a line without
an id gets one derived from its text, so importing the same file twice adds nothing the second time.

The whole file is validated before anything is written: a malformed file leaves the library as it was.
`export_markdown` writes a readable rendering of the library, for review rather than import.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ted.memory.errors import ImportFormatError
from ted.memory.models import (
    Experience,
    Origin,
    Provenance,
    Refusal,
    Status,
    evidence,
    normalize_tags,
    utc_now,
    utility,
)

if TYPE_CHECKING:
    from ted.memory.store import ExperienceStore

EXPORT_SCHEMA = "ted-experiences"
EXPORT_VERSION = 1
# Ids derived from texts of a minimal JSONL import (uuid5 in this namespace).
_TEXT_IDS = uuid.UUID("5b0d3c1e-7a4f-4f3c-9a51-3c8c1f0e2d77")


class LibraryExport(BaseModel):
    """The exported library (JSON)."""

    model_config = ConfigDict(populate_by_name=True)

    schema_name: Literal["ted-experiences"] = Field(default="ted-experiences", alias="schema")
    schema_version: int = EXPORT_VERSION
    embedding_model: str
    student_model: str | None = None
    library_version: int = 0
    exported_at: datetime = Field(default_factory=utc_now)
    experiences: list[Experience]


class _MinimalLine(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str
    id: str | None = None
    tags: list[str] = Field(default_factory=list)


class ImportResult(BaseModel):
    """What an import did."""

    format: Literal["json", "jsonl"]
    imported: list[str] = Field(description="Ids of the experiences added.")
    skipped: list[str] = Field(description="Ids already in the library, left as they were.")
    refused: list[Refusal] = Field(
        default_factory=list, description="Experiences left out because their text was refused, and why."
    )


async def export_library(store: ExperienceStore, *, include_inactive: bool = False) -> LibraryExport:
    """The library as an export document (active experiences only unless ``include_inactive``)."""
    experiences = await store.experiences(status=None if include_inactive else Status.ACTIVE)
    return LibraryExport(
        embedding_model=store.embedding_model,
        student_model=store.student_model,
        library_version=await store.current_version(),
        experiences=experiences,
    )


def _write_atomically(path: Path, text: str) -> None:
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


async def export_json(store: ExperienceStore, path: str | Path, *, include_inactive: bool = False) -> int:
    """Write the JSON export to ``path``; returns the number of experiences written."""
    document = await export_library(store, include_inactive=include_inactive)
    text = document.model_dump_json(by_alias=True, indent=2) + "\n"
    await asyncio.to_thread(_write_atomically, Path(path), text)
    return len(document.experiences)


async def export_markdown(store: ExperienceStore, path: str | Path, *, include_inactive: bool = False) -> int:
    """Write a readable Markdown rendering to ``path``; returns the number of experiences written."""
    document = await export_library(store, include_inactive=include_inactive)
    await asyncio.to_thread(_write_atomically, Path(path), _render_markdown(document))
    return len(document.experiences)


def _usage(e: Experience) -> str:
    s = e.stats
    return (
        f"retrieved {s.retrieved}, cited {s.cited} ({s.cited_correct} in correct, {s.cited_wrong} in wrong "
        f"answers), votes {s.helpful} helpful / {s.harmful} harmful"
    )


def _provenance(e: Experience) -> str:
    p = e.provenance
    parts = [p.origin.value]
    if p.source_items:
        parts.append("from items " + ", ".join(f"`{i}`" for i in p.source_items))
    if p.merged_from:
        parts.append("merged from " + ", ".join(f"`{i}`" for i in p.merged_from))
    if p.run:
        parts.append(f"run `{p.run}`")
    return "; ".join(parts)


def _entry(number: int, e: Experience) -> list[str]:
    lines = [
        f"### {number}. {e.text}",
        "",
        f"- id: `{e.id}`",
        f"- tags: {', '.join(e.tags) if e.tags else '(none)'}",
        f"- status: {e.status.value}, version {e.version}"
        + (f", superseded by `{e.superseded_by}`" if e.superseded_by else ""),
        f"- utility: {utility(e.stats):.2f} (evidence {evidence(e.stats):.1f})",
        f"- usage: {_usage(e)}",
        f"- provenance: {_provenance(e)}",
    ]
    if e.student_model:
        lines.append(f"- student model: {e.student_model}")
    lines += [f"- created {e.created_at:%Y-%m-%d %H:%M} UTC, updated {e.updated_at:%Y-%m-%d %H:%M} UTC", ""]
    return lines


def _render_markdown(document: LibraryExport) -> str:
    """The library as Markdown: a summary, then every experience, active and most useful first."""
    statuses = Counter(e.status.value for e in document.experiences)
    lines = [
        "# Experience library",
        "",
        f"- embedding model: {document.embedding_model}",
        f"- student model: {document.student_model or '(not recorded)'}",
        f"- library version: {document.library_version}, exported {document.exported_at:%Y-%m-%d %H:%M} UTC",
        "- experiences: " + (", ".join(f"{n} {status}" for status, n in sorted(statuses.items())) or "none"),
        "",
        "## Experiences",
        "",
    ]
    ranked = sorted(
        document.experiences,
        key=lambda e: (e.status is not Status.ACTIVE, -utility(e.stats), e.created_at, e.id),
    )
    for number, experience in enumerate(ranked, start=1):
        lines += _entry(number, experience)
    return "\n".join(lines).rstrip() + "\n"


def _problem(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        where = ".".join(str(p) for p in item["loc"])
        parts.append(f"{where}: {item['msg']}" if where else str(item["msg"]))
    return "; ".join(parts)


def _parse_export(path: Path, data: dict[str, object]) -> list[Experience]:
    version = data.get("schema_version")
    if data.get("schema") != EXPORT_SCHEMA or not isinstance(version, int):
        raise ImportFormatError(f"{path}: not a ted-experiences export (missing schema or schema_version)")
    if version > EXPORT_VERSION:
        raise ImportFormatError(
            f"{path}: export schema version {version} is newer than this ted-distill reads ({EXPORT_VERSION})"
        )
    try:
        return LibraryExport.model_validate(data).experiences
    except ValidationError as exc:
        raise ImportFormatError(f"{path}: {_problem(exc)}") from exc


def _parse_jsonl(path: Path, text: str) -> list[Experience]:
    experiences: list[Experience] = []
    first_line: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path}, line {number}"
        try:
            raw = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ImportFormatError(f"{where}: not valid JSON ({exc.msg})") from exc
        if not isinstance(raw, dict):
            raise ImportFormatError(f'{where}: expected an object such as {{"text": "..."}}')
        try:
            parsed = _MinimalLine.model_validate(raw)
        except ValidationError as exc:
            raise ImportFormatError(f"{where}: {_problem(exc)}") from exc
        text_value = " ".join(parsed.text.split())
        if not text_value:
            raise ImportFormatError(f"{where}: text is empty")
        if parsed.id is not None and not parsed.id.strip():
            raise ImportFormatError(f"{where}: id is empty")
        experience_id = parsed.id.strip() if parsed.id else str(uuid.uuid5(_TEXT_IDS, text_value))
        if experience_id in first_line:
            raise ImportFormatError(
                f"{where}: experience {experience_id} repeats line {first_line[experience_id]} "
                "(same id, or same text without an id)"
            )
        first_line[experience_id] = number
        experiences.append(
            Experience(
                id=experience_id,
                # As written: collapsing whitespace first would hide characters that screening refuses.
                text=parsed.text,
                tags=normalize_tags(parsed.tags),
                provenance=Provenance(origin=Origin.IMPORT),
            )
        )
    if not experiences:
        raise ImportFormatError(f"{path}: no experiences in the file")
    return experiences


def read_import_file(path: str | Path) -> tuple[Literal["json", "jsonl"], list[Experience]]:
    """Parse and validate a JSON export or a minimal JSONL file, without touching any library.

    Raises:
        ImportFormatError: the file is missing, unreadable or malformed (the message names the line).
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ImportFormatError(f"{file}: no such file") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportFormatError(f"{file}: cannot read it as UTF-8 text ({exc})") from exc
    try:
        whole = json.loads(text)
    except json.JSONDecodeError:
        whole = None
    if isinstance(whole, dict) and "experiences" in whole:
        return "json", _parse_export(file, whole)
    return "jsonl", _parse_jsonl(file, text)


async def import_file(
    store: ExperienceStore, path: str | Path, *, op_id: str | None = None, reason: str = ""
) -> ImportResult:
    """Import a JSON export or minimal JSONL into ``store`` as one journaled operation.

    Experiences keep their ids, statistics and provenance (JSONL lines get origin import and the
    store's student model); ids already in the library are skipped. An experience whose text the
    library refuses is left out, recorded with its reason, and listed in ``refused``; the rest is
    imported.
    """
    fmt, experiences = await asyncio.to_thread(read_import_file, path)
    if fmt == "jsonl":
        experiences = [e.model_copy(update={"student_model": store.student_model}) for e in experiences]
    result = await store.insert(experiences, op_id=op_id, reason=reason or f"import of {Path(path).name}")
    added = {e.id for e in result.added}
    refused = {i for r in result.refused for i in r.experience_ids}
    return ImportResult(
        format=fmt,
        imported=[e.id for e in experiences if e.id in added],
        skipped=[e.id for e in experiences if e.id not in added and e.id not in refused],
        refused=result.refused,
    )
