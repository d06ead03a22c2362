"""Comparing the heights of bars in a bar chart."""

from __future__ import annotations

import random

from ted.tasks.synth.drawing import GRID, INK, PALETTE, canvas, centred_text
from ted.tasks.synth.family import Family, Puzzle, multiple_choice

NAMES = ("oak", "pine", "elm", "ash", "birch", "maple", "cedar", "willow")
QUESTIONS = {
    "tallest": ("Which bar in the chart is the tallest?", 0),
    "shortest": ("Which bar in the chart is the shortest?", -1),
    "second tallest": ("Which bar in the chart is the second tallest?", 1),
}
TOP, BOTTOM, LEFT, RIGHT = 20, 220, 40, 345
MAX_VALUE = 10


def make(rng: random.Random) -> Puzzle:
    """Draw 4 or 5 bars of distinct heights, with varied widths and colours, and ask for one by rank."""
    count = rng.choice((4, 5))
    names = rng.sample(NAMES, count)
    # Heights on a half-unit grid, at least one unit apart, so the ranking is visible but not obvious.
    values = [v / 2 for v in rng.sample(range(4, 2 * MAX_VALUE + 1, 2), count)]
    colours = rng.sample(list(PALETTE), count)
    image, draw = canvas()
    scale = (BOTTOM - TOP) / MAX_VALUE
    for step in range(MAX_VALUE + 1):
        y = BOTTOM - step * scale
        draw.line((LEFT, y, RIGHT, y), fill=GRID, width=1)
    slot = (RIGHT - LEFT) / count
    for index, (name, value, colour) in enumerate(zip(names, values, colours, strict=True)):
        # Wider bars are not taller: widths vary on purpose.
        half_width = slot * rng.uniform(0.18, 0.38)
        centre = LEFT + slot * (index + 0.5)
        draw.rectangle(
            (centre - half_width, BOTTOM - value * scale, centre + half_width, BOTTOM),
            fill=PALETTE[colour],
            outline=INK,
            width=2,
        )
        centred_text(draw, centre, BOTTOM + 18, name)
    draw.line((LEFT, BOTTOM, RIGHT, BOTTOM), fill=INK, width=2)
    draw.line((LEFT, TOP, LEFT, BOTTOM), fill=INK, width=2)
    rank = rng.choice(list(QUESTIONS))
    question, position = QUESTIONS[rank]
    ranking = sorted(zip(values, names, strict=True), reverse=True)
    correct = ranking[position][1]
    distractors = rng.sample([name for name in names if name != correct], 3)
    options, answer = multiple_choice(rng, correct, distractors)
    return Puzzle(
        question=question,
        answer=answer,
        options=options,
        image=image,
        facts={"rank": rank, "heights": dict(zip(names, values, strict=True))},
    )


FAMILY = Family(
    name="bar_heights",
    title="comparing bar heights",
    skill=(
        "To compare bars in a chart, read where the top of each bar meets the gridlines above the common "
        "baseline; ignore the width and colour of the bars."
    ),
    paraphrases=(
        "For bar charts, look at which gridline each bar's top reaches above the baseline, and ignore bar"
        " width and colour.",
        "Compare the bars of a chart by reading the gridline at the top of each bar, measured from the "
        "common baseline; width and colour do not matter.",
        "When comparing the bars of a chart, read the gridline each bar top reaches from the baseline, "
        "whatever the bar's width or colour.",
        "In bar charts, compare bars by lining up each bar's top with the gridlines from the baseline, "
        "and disregard bar widths and colours.",
        "Judge the bars in a chart by the gridline their tops reach above the common baseline, not by "
        "their width or colour.",
        "Rank chart bars by the height of their tops on the gridlines, all measured from the same "
        "baseline, ignoring width and colour.",
    ),
    keywords=(("bar",), ("top", "height", "tall", "gridline")),
    answer_kind="choice",
    make=make,
)
