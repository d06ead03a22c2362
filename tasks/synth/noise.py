"""Advice that helps with no puzzle, as useless experiences sometimes are.

`NOISE` is generic advice that fits any problem. `DECOYS` is advice that sounds on topic for one
family (it names the kind of picture, so retrieval brings it up for that family's puzzles) but does
not carry the family's skill: the kind of plausible, useless experience that pruning must catch.
"""

from __future__ import annotations

from collections.abc import Mapping

NOISE: tuple[str, ...] = (
    "Read the question carefully before answering.",
    "Double-check your final answer before you submit it.",
    "Take your time and think step by step.",
    "Stay calm and focused on the task at hand.",
    "Make sure the answer is written in the requested format.",
    "Consider every option before choosing one.",
    "Trust your first instinct when you are unsure.",
    "Avoid rushing, because accuracy matters more than speed.",
    "Look at the whole image before focusing on details.",
    "Write down intermediate results so you do not lose track.",
)

DECOYS: Mapping[str, tuple[str, ...]] = {
    "count_shapes": (
        "Pictures full of coloured shapes are busy, so look at the whole picture before answering.",
        "Images with many shapes can be confusing; stay calm and answer in the requested format.",
    ),
    "bar_heights": (
        "Bar charts often look alike, so read the question about the chart twice.",
        "With a bar chart, trust your first impression of the picture.",
    ),
    "clock_reading": (
        "Clock puzzles are common, so answer them quickly and move on.",
        "When a clock is shown, remember that the answer must be one of the options.",
    ),
    "grid_paths": (
        "Path puzzles on a grid can be long, so double-check the final number you write.",
        "For grid paths, write the answer as a plain number without words.",
    ),
    "odd_one_out": (
        "In odd-one-out puzzles, consider every option before choosing one.",
        "Odd-one-out questions reward patience, so do not rush your choice.",
    ),
    "polygon_angles": (
        "Angle puzzles need care, so write the answer with its unit when asked for one.",
        "When a polygon is drawn, look at the whole picture before reading any angle.",
    ),
}
