"""Synthetic visual puzzles: seeded families drawn with pillow, each with the skill that solves it.

The generator writes datasets in the generic JSONL format, and the same families are the world the
simulated endpoint (`ted.sim`) knows.

Public API:
    FAMILIES: mapping of family name -> `Family` (skill, paraphrases, keywords, answer kind, make).
    NOISE: generic advice that helps with no puzzle in particular.
    DECOYS: per family, on-topic advice that carries no skill (plausible but useless).
    Family, Puzzle, AnswerKind: the family and puzzle types.
    generate_items(n, *, seed, image_dir) -> list[Item]: draw puzzles and save their images.
    generate(out_dir, *, n=200, seed=0) -> list[Item]: write items.jsonl and images/ into a folder.
    skill_of(text) -> str | None: which family's skill a text carries.
"""

from ted.tasks.synth.families import FAMILIES
from ted.tasks.synth.family import AnswerKind, Family, Puzzle
from ted.tasks.synth.generator import generate, generate_items
from ted.tasks.synth.noise import DECOYS, NOISE
from ted.tasks.synth.skills import skill_of

__all__ = [
    "DECOYS",
    "FAMILIES",
    "NOISE",
    "AnswerKind",
    "Family",
    "Puzzle",
    "generate",
    "generate_items",
    "skill_of",
]
