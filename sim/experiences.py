"""Reading the experiences a prompt shows in its frames, and the groups of a compress prompt."""

from __future__ import annotations

from ted.prompts.framing import EXPERIENCE, MERGE_GROUP, REWRITE_GROUP, framed

Labelled = tuple[str, str]


def experiences_in(text: str) -> list[Labelled]:
    """The ``(label, text)`` of every labelled experience frame, first occurrence of each label."""
    seen: dict[str, str] = {}
    for attributes, content in framed(EXPERIENCE, text):
        label = attributes.get("label")
        if label:
            seen.setdefault(label, content.strip())
    return list(seen.items())


def compress_sections(text: str) -> tuple[list[list[Labelled]], list[Labelled]]:
    """The clusters to merge (one per merge group) and the experiences to rewrite (all rewrite groups)."""
    clusters = [experiences_in(content) for _, content in framed(MERGE_GROUP, text)]
    verbose = [pair for _, content in framed(REWRITE_GROUP, text) for pair in experiences_in(content)]
    return [cluster for cluster in clusters if cluster], verbose
