"""Pillow helpers shared by the puzzle families: canvas, palette, shapes and text."""

from __future__ import annotations

import math
from functools import cache

from PIL import Image, ImageDraw, ImageFont

WIDTH, HEIGHT = 360, 260
BACKGROUND = (255, 255, 255)
INK = (30, 30, 30)
GRID = (200, 200, 200)

# Colours far enough apart that a name always means one visibly distinct hue.
PALETTE: dict[str, tuple[int, int, int]] = {
    "red": (220, 40, 40),
    "blue": (40, 90, 220),
    "green": (40, 160, 70),
    "yellow": (235, 200, 30),
    "purple": (140, 60, 180),
    "orange": (245, 130, 20),
}

# Regular polygons by number of corners; 0 means a circle.
SHAPE_CORNERS: dict[str, int] = {
    "circle": 0,
    "triangle": 3,
    "square": 4,
    "pentagon": 5,
    "hexagon": 6,
}

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


def canvas(width: int = WIDTH, height: int = HEIGHT) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    """A white RGB image and a drawing context on it."""
    image = Image.new("RGB", (width, height), BACKGROUND)
    return image, ImageDraw.Draw(image)


@cache
def font(size: int = 14) -> Font:
    """Pillow's bundled font at ``size`` (a fixed-size bitmap font when FreeType is missing)."""
    return ImageFont.load_default(size=size)


def polygon_points(cx: float, cy: float, radius: float, corners: int) -> list[tuple[float, float]]:
    """Corners of a regular polygon centred on (cx, cy), one corner pointing up."""
    return [
        (
            cx + radius * math.cos(-math.pi / 2 + 2 * math.pi * k / corners),
            cy + radius * math.sin(-math.pi / 2 + 2 * math.pi * k / corners),
        )
        for k in range(corners)
    ]


def draw_shape(
    draw: ImageDraw.ImageDraw, shape: str, cx: float, cy: float, radius: float, colour: str
) -> None:
    """Draw a filled shape from `SHAPE_CORNERS` in a colour from `PALETTE`, outlined in ink."""
    fill = PALETTE[colour]
    corners = SHAPE_CORNERS[shape]
    if corners == 0:
        draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=fill, outline=INK, width=2)
    elif corners == 4:
        # An upright square reads better than a diamond standing on a corner.
        side = radius * 0.85
        draw.rectangle((cx - side, cy - side, cx + side, cy + side), fill=fill, outline=INK, width=2)
    else:
        draw.polygon(polygon_points(cx, cy, radius, corners), fill=fill, outline=INK, width=2)


def centred_text(draw: ImageDraw.ImageDraw, x: float, y: float, text: str, size: int = 14) -> None:
    """Write ``text`` centred on (x, y) in ink."""
    # Centred by its bounding box rather than anchor="mm", which bitmap fonts do not support.
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font(size))
    draw.text((x - (left + right) / 2, y - (top + bottom) / 2), text, fill=INK, font=font(size))
