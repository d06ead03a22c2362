"""Counting shapes of one colour among distractors."""

from __future__ import annotations

import random

from ted.tasks.synth.drawing import PALETTE, canvas, draw_shape
from ted.tasks.synth.family import Family, Puzzle

SHAPES = ("circle", "triangle", "square")
COLUMNS, ROWS = 6, 4


def make(rng: random.Random) -> Puzzle:
    """Scatter coloured shapes on a grid of cells and ask how many have one colour and one shape."""
    colour = rng.choice(list(PALETTE))
    shape = rng.choice(SHAPES)
    target = rng.randint(1, 7)
    total = rng.randint(target + 5, COLUMNS * ROWS - 2)
    # Distractors share either the colour or the shape, so both have to be checked.
    kinds = [(colour, shape)] * target
    while len(kinds) < total:
        other = (rng.choice(list(PALETTE)), rng.choice(SHAPES))
        if other != (colour, shape):
            kinds.append(other)
    cells = rng.sample(range(COLUMNS * ROWS), total)
    image, draw = canvas()
    cell_w, cell_h = image.width / COLUMNS, image.height / ROWS
    for (kind_colour, kind_shape), cell in zip(kinds, cells, strict=True):
        radius = rng.uniform(14, 19)
        cx = (cell % COLUMNS + 0.5) * cell_w + rng.uniform(-6, 6)
        cy = (cell // COLUMNS + 0.5) * cell_h + rng.uniform(-6, 6)
        draw_shape(draw, kind_shape, cx, cy, radius, kind_colour)
    return Puzzle(
        question=f"How many {colour} {shape}s are there in the picture?",
        answer=str(target),
        options=None,
        image=image,
        facts={"colour": colour, "shape": shape, "shapes_drawn": total},
    )


FAMILY = Family(
    name="count_shapes",
    title="counting shapes of one colour",
    skill=(
        "To count shapes of one colour, scan the picture row by row and tick off every shape that matches"
        " both the colour and the shape asked for."
    ),
    paraphrases=(
        "When counting shapes of a given colour, sweep the picture row by row and mark each shape that "
        "matches both the requested colour and shape.",
        "Count coloured shapes by scanning the image row by row, ticking off every shape whose colour and"
        " outline both match the question.",
        "Scan the picture systematically, row by row, and tick every shape with the requested colour and "
        "the requested shape to count them without missing any.",
        "For counting shapes of one colour, move through the image row by row and count only the shapes "
        "matching the colour and the shape together.",
        "Counting shapes by colour is easiest row by row: tick off each shape only if both its colour and"
        " its shape match.",
        "A reliable way to count shapes of a colour: scan rows left to right, tick every shape of the "
        "right colour and shape, then total the ticks.",
    ),
    keywords=(("count", "tally"), ("colour", "color", "hue"), ("shape",)),
    answer_kind="number",
    make=make,
)
