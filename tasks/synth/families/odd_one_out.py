"""Finding the figure that breaks the rule the others share."""

from __future__ import annotations

import random

from ted.tasks.synth.drawing import PALETTE, SHAPE_CORNERS, canvas, centred_text, draw_shape
from ted.tasks.synth.family import LETTERS, Family, Puzzle

FIGURES = 5
SIZES = {"small": 18.0, "large": 30.0}


def make(rng: random.Random) -> Puzzle:
    """Draw five figures that share a shape, a colour or a size, except one, and ask which one."""
    rule = rng.choice(("shape", "colour", "size"))
    shapes = list(SHAPE_CORNERS)
    colours = list(PALETTE)
    # Attributes that are not the rule are either all equal or all different, so that no second
    # figure stands out.
    figure_shapes = [rng.choice(shapes)] * FIGURES if rule != "shape" else []
    figure_colours = rng.sample(colours, FIGURES) if rule != "colour" else []
    figure_sizes = [rng.choice(list(SIZES))] * FIGURES if rule != "size" else []
    odd = rng.randrange(FIGURES)
    if rule == "shape":
        common, different = rng.sample(shapes, 2)
        figure_shapes = [different if index == odd else common for index in range(FIGURES)]
    elif rule == "colour":
        common, different = rng.sample(colours, 2)
        figure_colours = [different if index == odd else common for index in range(FIGURES)]
        figure_shapes = rng.sample(shapes, FIGURES)
    else:
        common, different = rng.sample(list(SIZES), 2)
        figure_sizes = [different if index == odd else common for index in range(FIGURES)]
    image, draw = canvas()
    slot = image.width / FIGURES
    for index in range(FIGURES):
        cx = slot * (index + 0.5)
        draw_shape(draw, figure_shapes[index], cx, 110, SIZES[figure_sizes[index]], figure_colours[index])
        centred_text(draw, cx, 190, LETTERS[index], 18)
    return Puzzle(
        question="Which figure is the odd one out?",
        # Option letters are the figure letters: option (C) is figure C.
        answer=LETTERS[odd],
        options=tuple(f"Figure {LETTERS[index]}" for index in range(FIGURES)),
        image=image,
        facts={"rule": rule, "odd_figure": LETTERS[odd]},
    )


FAMILY = Family(
    name="odd_one_out",
    title="finding the odd one out",
    skill=(
        "To find the odd one out, list each figure's attributes (shape, colour, size) and pick the figure"
        " that breaks the property all the others share."
    ),
    paraphrases=(
        "To spot the odd one out, compare the attributes of the figures (shape, colour, size) and pick "
        "the one that lacks the property the others share.",
        "When looking for the odd one out, check each attribute of the figures in turn and choose the "
        "figure breaking the property all others follow.",
        "Check which attribute of the figures (shape, colour or size) is shared by all but one; that "
        "figure is the odd one out.",
        "For an odd-one-out figure, compare the figures attribute by attribute and choose the single "
        "figure that breaks the shared property.",
        "The odd one out breaks a property that every other figure shares, so compare shape, colour and "
        "size across the figures.",
        "Look for the property shared by all figures except one, checking shape, colour and size; that "
        "one figure is the odd one out.",
    ),
    keywords=(("odd",), ("figure", "attribute", "property")),
    answer_kind="choice",
    make=make,
)
