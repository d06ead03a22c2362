"""Reading the experiences a prompt shows as ``[E1] text`` lines, and the sections of a compress prompt."""

from __future__ import annotations

import re

EXPERIENCE_LINE = re.compile(r"^\s*\[(E\d+)\]\s*(.+?)\s*$", re.MULTILINE)
MERGE_HEADING = "## near-duplicates to merge"
REWRITE_HEADING = "## verbose experiences to rewrite"

Labelled = tuple[str, str]


def experience_lines(text: str) -> list[Labelled]:
    """The ``(label, text)`` of every ``[E<n>] text`` line, first occurrence of each label."""
    seen: dict[str, str] = {}
    for match in EXPERIENCE_LINE.finditer(text):
        seen.setdefault(match.group(1), match.group(2))
    return list(seen.items())


def compress_sections(text: str) -> tuple[list[list[Labelled]], list[Labelled]]:
    """The clusters to merge (one per merge section) and the experiences to rewrite.

    A section runs from its ``##`` heading to the next ``##`` heading; headings are matched without
    regard to case.
    """
    clusters: list[list[Labelled]] = []
    verbose: list[Labelled] = []
    current: list[Labelled] | None = None
    for line in text.splitlines():
        heading = line.strip().lower()
        if heading.startswith("##"):
            if heading.startswith(MERGE_HEADING):
                current = []
                clusters.append(current)
            elif heading.startswith(REWRITE_HEADING):
                current = verbose
            else:
                current = None
            continue
        match = EXPERIENCE_LINE.match(line)
        if match and current is not None:
            current.append((match.group(1), match.group(2)))
    return [cluster for cluster in clusters if cluster], verbose
