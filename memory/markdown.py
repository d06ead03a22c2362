"""A readable Markdown rendering of an exported library (for review, not for import)."""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING

from ted.memory.models import Experience, Status
from ted.memory.utility import evidence, utility

if TYPE_CHECKING:
    from ted.memory.transfer import LibraryExport


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


def render_markdown(document: LibraryExport) -> str:
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
