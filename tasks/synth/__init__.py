"""Synthetic visual puzzles: seeded families drawn with pillow, each with the skill that solves it.

The generator writes datasets in the generic JSONL format, and the same families are the world the
simulated endpoint (`ted.sim`) knows.

Public API:
    FAMILIES: mapping of family name -> `Family` (skill, paraphrases, keywords, answer kind, make).
    NOISE: generic advice that helps with no puzzle in particular.
    DECOYS: per family, on-topic advice that carries no skill (plausible but useless).
    Family, Puzzle, AnswerKind: the family and puzzle types.
    SKILL_FAMILIES, TOPICS: the skills catalogue (two dozen card-puzzle families, each with its skill
        and a misconception), for a world too large for one prompt; ``skill_families(n)``.
    WORLDS, world_families(world, families): the families of the ``classic`` or ``skills`` world.
    generate_items(n, *, seed, image_dir, world, families) -> list[Item]: draw puzzles, save images.
    generate(out_dir, *, n=200, seed=0, world="classic", families=None) -> list[Item]: write
        items.jsonl and images/ into a folder.
    skill_of(text) -> str | None: which classic family's skill a text carries (by keywords).
    paraphrase_groups(), distinct_advice(): the paraphrase set that calibrates merging.
"""

from ted.tasks.synth.catalogue import SKILL_FAMILIES, TOPICS, Topic, skill_families
from ted.tasks.synth.families import FAMILIES
from ted.tasks.synth.family import AnswerKind, Family, Puzzle
from ted.tasks.synth.generator import WORLDS, generate, generate_items, world_families
from ted.tasks.synth.noise import DECOYS, NOISE
from ted.tasks.synth.paraphrases import distinct_advice, paraphrase_groups
from ted.tasks.synth.skills import skill_of

__all__ = [
    "DECOYS",
    "FAMILIES",
    "NOISE",
    "SKILL_FAMILIES",
    "TOPICS",
    "WORLDS",
    "AnswerKind",
    "Family",
    "Puzzle",
    "Topic",
    "distinct_advice",
    "generate",
    "generate_items",
    "paraphrase_groups",
    "skill_families",
    "skill_of",
    "world_families",
]
