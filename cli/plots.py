"""PNG plots for reports, drawn with Pillow: the learning curve and accuracy per category.

Both are plain charts with a title, labelled axes, grid lines and a legend; they need no plotting
library.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import ImageDraw, ImageFont

WIDTH, HEIGHT = 960, 540
LEFT, RIGHT, TOP, BOTTOM = 90, 90, 88, 90
Colour = tuple[int, int, int] | str
BACKGROUND = "white"
INK = (40, 40, 40)
GRID = (225, 225, 225)
BLUE = (31, 119, 180)
ORANGE = (230, 120, 20)
GREY = (150, 150, 150)


@cache
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except (OSError, ImportError, TypeError):  # Pillow built without FreeType: the fixed bitmap font
        return ImageFont.load_default()


def _text_size(draw: ImageDraw.ImageDraw, text: str, size: int) -> tuple[int, int]:
    left, top, right, bottom = draw.textbbox((0, 0), text, font=_font(size))
    return int(right - left), int(bottom - top)


def _centered(
    draw: ImageDraw.ImageDraw, xy: tuple[float, float], text: str, size: int, fill: Colour = INK
) -> None:
    width, height = _text_size(draw, text, size)
    draw.text((xy[0] - width / 2, xy[1] - height / 2), text, font=_font(size), fill=fill)


def _vertical_label(image: object, text: str, center: tuple[float, float], size: int, fill: Colour) -> None:
    from PIL import Image, ImageDraw

    assert isinstance(image, Image.Image)
    probe = ImageDraw.Draw(image)
    width, height = _text_size(probe, text, size)
    label = Image.new("RGBA", (width + 6, height + 8), (255, 255, 255, 0))
    ImageDraw.Draw(label).text((3, 0), text, font=_font(size), fill=fill)
    rotated = label.rotate(90, expand=True)
    image.paste(rotated, (int(center[0] - rotated.width / 2), int(center[1] - rotated.height / 2)), rotated)


def _nice_max(value: float) -> float:
    """A round axis maximum at or above ``value``, at least 5, so that five ticks fall on round numbers."""
    value = max(value, 5.0)
    magnitude = 10 ** math.floor(math.log10(value))
    return float(next(f * magnitude for f in (1, 2, 2.5, 5, 10) if value <= f * magnitude))


def _legend(draw: ImageDraw.ImageDraw, entries: Sequence[tuple[str, Colour]], right: float, y: float) -> None:
    """A one-line legend ending at ``right``, above the plot area."""
    widths = [_text_size(draw, label, 14)[0] + 44 for label, _ in entries]
    x = right - sum(widths)
    for (label, colour), width in zip(entries, widths, strict=True):
        draw.rectangle((x, y + 3, x + 14, y + 15), fill=colour)
        draw.text((x + 20, y), label, font=_font(14), fill=INK)
        x += width


@dataclass
class CurvePoint:
    """One point of the learning curve."""

    items: int
    """Items distilled so far."""
    accuracy: float | None
    """Training accuracy of the student's attempts in this batch."""
    library_size: int


def learning_curve(points: Sequence[CurvePoint], path: Path, *, title: str, subtitle: str = "") -> Path:
    """Draw training accuracy (left axis) and library size (right axis) against items distilled."""
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(image)
    x0, y0, x1, y1 = LEFT, TOP, WIDTH - RIGHT, HEIGHT - BOTTOM
    max_items = _nice_max(max([point.items for point in points] + [1]))
    max_size = _nice_max(max([point.library_size for point in points] + [1]))

    def x_of(items: float) -> float:
        return x0 + (x1 - x0) * items / max_items

    def y_of(fraction: float) -> float:
        return y1 - (y1 - y0) * fraction

    _centered(draw, (WIDTH / 2, 22), title, 20)
    if subtitle:
        _centered(draw, (WIDTH / 2, 46), subtitle, 13, GREY)
    for tick in range(6):
        fraction = tick / 5
        y = y_of(fraction)
        draw.line((x0, y, x1, y), fill=GRID)
        label = f"{fraction:.1f}"
        width, height = _text_size(draw, label, 13)
        draw.text((x0 - 10 - width, y - height / 2 - 2), label, font=_font(13), fill=BLUE)
        size_label = f"{max_size * fraction:g}"
        draw.text((x1 + 10, y - height / 2 - 2), size_label, font=_font(13), fill=ORANGE)
    for tick in range(6):
        items = max_items * tick / 5
        x = x_of(items)
        draw.line((x, y1, x, y1 + 5), fill=INK)
        _centered(draw, (x, y1 + 16), f"{items:g}", 13)
    draw.rectangle((x0, y0, x1, y1), outline=INK)
    _centered(draw, ((x0 + x1) / 2, HEIGHT - 40), "Items distilled", 15)
    _vertical_label(image, "Training accuracy (student attempts)", (24, (y0 + y1) / 2), 15, BLUE)
    _vertical_label(image, "Library size (experiences)", (WIDTH - 24, (y0 + y1) / 2), 15, ORANGE)

    accuracy = [(x_of(p.items), y_of(p.accuracy)) for p in points if p.accuracy is not None]
    sizes = [(x_of(p.items), y_of(p.library_size / max_size)) for p in points]
    if len(sizes) > 1:
        draw.line(sizes, fill=ORANGE, width=3)
    for x, y in sizes:
        draw.rectangle((x - 4, y - 4, x + 4, y + 4), fill=ORANGE)
    if len(accuracy) > 1:
        draw.line(accuracy, fill=BLUE, width=3)
    for x, y in accuracy:
        draw.ellipse((x - 5, y - 5, x + 5, y + 5), fill=BLUE)
    _legend(draw, [("training accuracy", BLUE), ("library size", ORANGE)], x1, y0 - 24)
    image.save(path, format="PNG")
    return path


@dataclass
class BarGroup:
    """The bars of one category: per series an (estimate, low, high) triple, or None when not run."""

    label: str
    values: dict[str, tuple[float, float, float] | None] = field(default_factory=dict)
    items: int = 0


SERIES_COLOURS = {"baseline": GREY, "library": BLUE}


def _short(label: str, limit: int = 16) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def category_bars(groups: Sequence[BarGroup], path: Path, *, title: str, subtitle: str = "") -> Path:
    """Draw accuracy per category for each series (baseline, library) with confidence-interval whiskers."""
    from PIL import Image, ImageDraw

    series = [name for name in SERIES_COLOURS if any(group.values.get(name) for group in groups)]
    width = max(WIDTH, LEFT + RIGHT + 110 * len(groups))
    image = Image.new("RGB", (width, HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(image)
    x0, y0, x1, y1 = LEFT, TOP, width - RIGHT, HEIGHT - BOTTOM

    def y_of(fraction: float) -> float:
        # The axis runs to 1.1 so that value labels above a full bar stay inside the frame.
        return y1 - (y1 - y0) * max(0.0, min(1.0, fraction)) / 1.1

    _centered(draw, (width / 2, 22), title, 20)
    if subtitle:
        _centered(draw, (width / 2, 46), subtitle, 13, GREY)
    for tick in range(6):
        fraction = tick / 5
        y = y_of(fraction)
        draw.line((x0, y, x1, y), fill=GRID)
        label = f"{fraction:.1f}"
        text_width, height = _text_size(draw, label, 13)
        draw.text((x0 - 10 - text_width, y - height / 2 - 2), label, font=_font(13), fill=INK)
    draw.rectangle((x0, y0, x1, y1), outline=INK)
    _vertical_label(image, "Accuracy (95% CI)", (28, (y0 + y1) / 2), 15, INK)

    slot = (x1 - x0) / max(1, len(groups))
    bar = min(40.0, slot * 0.8 / max(1, len(series)))
    for index, group in enumerate(groups):
        center = x0 + slot * (index + 0.5)
        start = center - bar * len(series) / 2
        for position, name in enumerate(series):
            value = group.values.get(name)
            if value is None:
                continue
            estimate, low, high = value
            left = start + position * bar
            draw.rectangle((left + 2, y_of(estimate), left + bar - 2, y1), fill=SERIES_COLOURS[name])
            middle = left + bar / 2
            draw.line((middle, y_of(low), middle, y_of(high)), fill=INK, width=2)
            draw.line((middle - 5, y_of(low), middle + 5, y_of(low)), fill=INK, width=2)
            draw.line((middle - 5, y_of(high), middle + 5, y_of(high)), fill=INK, width=2)
            _centered(draw, (middle, y_of(high) - 10), f"{estimate:.2f}", 11)
        _centered(draw, (center, y1 + 16), _short(group.label), 13)
        _centered(draw, (center, y1 + 33), f"n={group.items}", 11, GREY)
    _legend(draw, [(name, SERIES_COLOURS[name]) for name in series], x1, y0 - 24)
    image.save(path, format="PNG")
    return path
