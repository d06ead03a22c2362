"""Generate a synthetic dataset of visual puzzles in the generic JSONL format."""

from __future__ import annotations

import hashlib
import json
import random
from pathlib import Path

from ted.tasks.items import Item
from ted.tasks.synth.catalogue import skill_families
from ted.tasks.synth.families import FAMILIES
from ted.tasks.synth.family import Family

ITEMS_FILE = "items.jsonl"
IMAGES_DIR = "images"
WORLDS = ("classic", "skills")
"""``classic``: the six drawn puzzle families; ``skills``: the card puzzles of the skills catalogue."""


def world_families(world: str = "classic", families: int | None = None) -> list[Family]:
    """The puzzle families of a world: the six classic ones, or the first ``families`` skill families.

    Raises:
        ValueError: An unknown world, or a number of families for the classic world.
    """
    if world == "classic":
        if families is not None and families != len(FAMILIES):
            raise ValueError(f"the classic world has {len(FAMILIES)} families; use world='skills' for more")
        return list(FAMILIES.values())
    if world == "skills":
        return skill_families(families)
    raise ValueError(f"unknown world {world!r}; use one of {', '.join(WORLDS)}")


def item_rng(seed: int, index: int) -> random.Random:
    """The random generator of one item.

    Items depend on (seed, index) only, so a smaller dataset of the same seed is a prefix of a larger one.
    """
    digest = hashlib.sha256(f"ted-synth:{seed}:{index}".encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def generate_items(
    n: int, *, seed: int, image_dir: Path, world: str = "classic", families: int | None = None
) -> list[Item]:
    """Draw ``n`` puzzles, cycling through the families, and save their images as PNG files.

    Question texts start with the puzzle number, which keeps them unique within a dataset: the
    simulated endpoint recognises an item by its question.

    Args:
        n: How many items.
        seed: Seed of the whole dataset; the same seed gives the same items and images.
        image_dir: Folder for the images (created if missing).
        world: ``classic`` or ``skills`` (see `world_families`).
        families: How many families of the skills world (default: all of the catalogue).

    Returns:
        The items, with absolute image paths.

    Raises:
        ValueError: If ``n`` is negative, or the world is unknown.
    """
    if n < 0:
        raise ValueError(f"the number of items must be zero or more, got {n}")
    chosen = world_families(world, families)
    image_dir.mkdir(parents=True, exist_ok=True)
    items = []
    for index in range(n):
        family = chosen[index % len(chosen)]
        puzzle = family.make(item_rng(seed, index))
        item_id = f"synth-{seed}-{index:04d}"
        image_path = (image_dir / f"{item_id}.png").resolve()
        puzzle.image.save(image_path, format="PNG")
        items.append(
            Item(
                id=item_id,
                question=f"Puzzle {index + 1}: {puzzle.question}",
                answer=puzzle.answer,
                options=list(puzzle.options) if puzzle.options is not None else None,
                images=[str(image_path)],
                category=family.name,
                benchmark="generic",
                metadata={
                    "family": family.name,
                    "answer_kind": family.answer_kind,
                    "synthetic": True,
                    "seed": seed,
                    **puzzle.facts,
                },
            )
        )
    return items


def generate(
    out_dir: str | Path, *, n: int = 200, seed: int = 0, world: str = "classic", families: int | None = None
) -> list[Item]:
    """Write a synthetic dataset: ``out_dir/items.jsonl`` and ``out_dir/images/*.png``.

    Each JSONL line has the generic fields (id, question, answer (a letter for multiple choice),
    options, images relative to the file, category = family name) and the metadata fields (family,
    answer_kind, synthetic, seed, and what was drawn) at the top level, where the generic loader
    collects unknown fields into the item's metadata.

    Args:
        out_dir: The dataset folder (created if missing).
        n: How many items.
        seed: Seed of the whole dataset.
        world: ``classic`` or ``skills`` (see `world_families`).
        families: How many families of the skills world.

    Returns:
        The items, with absolute image paths.
    """
    root = Path(out_dir)
    root.mkdir(parents=True, exist_ok=True)
    items = generate_items(n, seed=seed, image_dir=root / IMAGES_DIR, world=world, families=families)
    lines = []
    for item in items:
        record = {
            "id": item.id,
            "question": item.question,
            "answer": item.answer,
            **({"options": item.options} if item.options is not None else {}),
            "images": [f"{IMAGES_DIR}/{Path(image).name}" for image in item.images],
            "category": item.category,
            **item.metadata,
        }
        lines.append(json.dumps(record, ensure_ascii=False))
    (root / ITEMS_FILE).write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return items
