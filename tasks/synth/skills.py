"""Recognising which family's skill a piece of text states."""

from __future__ import annotations

from ted.tasks.synth.families import FAMILIES


def skill_of(text: str) -> str | None:
    """Name the family whose skill ``text`` carries, judged by the family's keywords.

    Args:
        text: Any advice, for example an experience injected into a prompt.

    Returns:
        The family name, or None when the text carries no family's skill. When several families
        match (a text mixing two skills), the first in `FAMILIES` order wins.
    """
    for family in FAMILIES.values():
        if family.carries_skill(text):
            return family.name
    return None
