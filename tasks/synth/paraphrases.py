"""A paraphrase set for calibrating near-duplicate detection: what says the same thing, and what does not.

Each group is one piece of advice in several wordings: a family's skill and the teachers' rewordings of
it (the skills catalogue and the classic puzzle families). The distinct texts are wrong rules on the
same topics (the catalogue's misconceptions): close in wording to a group, different in meaning. A
compression that works merges every group into one experience and merges nothing across groups.
"""

from __future__ import annotations

from pathlib import Path

from ted.tasks.items import Item
from ted.tasks.synth.catalogue import SKILL_FAMILIES
from ted.tasks.synth.families import FAMILIES
from ted.tasks.synth.generator import generate_items

# The classic polygon family states the catalogue's interior-angle rule: one piece of advice, not two.
SAME_ADVICE_AS_THE_CATALOGUE = ("polygon_angles",)


def paraphrase_groups() -> list[list[str]]:
    """One group per family: its skill, then its rewordings (29 groups).

    The classic families whose skill the catalogue already states are left out, so that no two
    groups say the same thing.
    """
    classic = [f for name, f in FAMILIES.items() if name not in SAME_ADVICE_AS_THE_CATALOGUE]
    return [[family.skill, *family.paraphrases] for family in (*SKILL_FAMILIES.values(), *classic)]


def distinct_advice() -> list[str]:
    """Advice that must stay apart from every group: the misconception of each skills family."""
    return [text for family in SKILL_FAMILIES.values() for text in (family.misconception or "",) if text]


def paraphrase_items(image_dir: Path) -> list[Item]:
    """Puzzles of every family the set advises on, for a simulated teacher that judges the merges."""
    items = generate_items(24, seed=0, image_dir=image_dir, world="skills")
    classic = generate_items(6, seed=1, image_dir=image_dir, world="classic")
    return items + [item for item in classic if item.category not in SAME_ADVICE_AS_THE_CATALOGUE]
