"""Counting the shortest paths across a grid."""

from __future__ import annotations

import math
import random

from ted.tasks.synth.drawing import INK, PALETTE, canvas, centred_text
from ted.tasks.synth.family import Family, Puzzle

MAX_SIDE = 5


def make(rng: random.Random) -> Puzzle:
    """Draw a grid of streets with S and G at opposite corners and ask how many shortest routes join them."""
    columns = rng.randint(2, MAX_SIDE)
    rows = rng.randint(1, 4)
    image, draw = canvas()
    cell = min(260 / columns, 190 / rows)
    left = (image.width - cell * columns) / 2
    top = (image.height - cell * rows) / 2
    for row in range(rows + 1):
        y = top + row * cell
        draw.line((left, y, left + columns * cell, y), fill=INK, width=3)
    for column in range(columns + 1):
        x = left + column * cell
        draw.line((x, top, x, top + rows * cell), fill=INK, width=3)
    for (x, y), label, colour in (
        ((left, top), "S", "green"),
        ((left + columns * cell, top + rows * cell), "G", "red"),
    ):
        draw.ellipse((x - 11, y - 11, x + 11, y + 11), fill=PALETTE[colour], outline=INK, width=2)
        centred_text(draw, x, y, label, 13)
    return Puzzle(
        question=(
            "Moving only right or down along the lines of the grid, how many different shortest paths "
            "lead from S to G?"
        ),
        answer=str(math.comb(rows + columns, rows)),
        options=None,
        image=image,
        facts={"columns": columns, "rows": rows},
    )


FAMILY = Family(
    name="grid_paths",
    title="counting shortest paths on a grid",
    skill=(
        "The number of shortest grid paths that move only right and down is the binomial coefficient: "
        "(right steps + down steps) choose (down steps)."
    ),
    paraphrases=(
        "Shortest routes on a grid using only right and down moves are counted by a binomial coefficient,"
        " total moves choose down moves.",
        "To count shortest grid paths going right and down, compute how many ways to choose the down "
        "steps among all the steps.",
        "Every shortest path through a grid is an arrangement of right and down steps, so count them as "
        "total steps choose down steps.",
        "Use Pascal's triangle or the binomial coefficient to count shortest grid paths: choose which "
        "moves go down out of all moves.",
        "Shortest grid paths moving right and down correspond to choosing which steps go down, so their "
        "number is a binomial coefficient.",
        "On a grid with only right and down moves, the shortest paths are counted by choosing the down "
        "steps: a binomial coefficient.",
    ),
    keywords=(("path", "route"), ("binomial", "choose", "combination", "pascal")),
    answer_kind="number",
    make=make,
)
