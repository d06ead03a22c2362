"""Finding the missing interior angle of a triangle or a quadrilateral."""

from __future__ import annotations

import math
import random

from ted.tasks.synth.drawing import INK, PALETTE, canvas, centred_text
from ted.tasks.synth.family import Family, Puzzle

Point = tuple[float, float]
POLYGONS = {3: "triangle", 4: "quadrilateral"}


def _angles(rng: random.Random, corners: int) -> list[int]:
    """Interior angles in whole multiples of 5 degrees, none too sharp or too flat to draw."""
    total = (corners - 2) * 180
    low, high = (30, 120) if corners == 3 else (55, 150)
    while True:
        angles = [5 * rng.randint(low // 5, high // 5) for _ in range(corners - 1)]
        last = total - sum(angles)
        if low <= last <= high:
            return [*angles, last]


def _vertices(rng: random.Random, angles: list[int]) -> list[Point]:
    """A convex polygon with these interior angles, walked counter-clockwise from the origin."""
    headings = [0.0]
    for angle in angles[1:]:
        headings.append(headings[-1] + math.radians(180 - angle))
    # Side lengths: choose all but the last two, then solve for those two so that the walk closes.
    for _ in range(1000):
        lengths = [rng.uniform(0.7, 1.3) for _ in range(len(angles) - 2)]
        x = sum(length * math.cos(h) for length, h in zip(lengths, headings[:-2], strict=True))
        y = sum(length * math.sin(h) for length, h in zip(lengths, headings[:-2], strict=True))
        (ax, ay), (bx, by) = (
            (math.cos(headings[-2]), math.sin(headings[-2])),
            (math.cos(headings[-1]), math.sin(headings[-1])),
        )
        determinant = ax * by - ay * bx
        first = (-x * by + y * bx) / determinant
        second = (-ax * y + ay * x) / determinant
        if first > 0.4 and second > 0.4:
            lengths += [first, second]
            break
    else:  # pragma: no cover - the angle ranges above always admit a solution
        raise RuntimeError(f"no convex polygon with angles {angles}")
    points = [(0.0, 0.0)]
    for length, heading in zip(lengths[:-1], headings[:-1], strict=True):
        points.append(
            (points[-1][0] + length * math.cos(heading), points[-1][1] + length * math.sin(heading))
        )
    return points


def make(rng: random.Random) -> Puzzle:
    """Draw a triangle or quadrilateral with all angles but one marked and ask for the missing one."""
    corners = rng.choice((3, 4))
    angles = _angles(rng, corners)
    unknown = rng.randrange(corners)
    points = _vertices(rng, angles)
    image, draw = canvas()
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    scale = min(280 / (max(xs) - min(xs)), 180 / (max(ys) - min(ys)))
    # Mathematical y points up, image y points down.
    screen = [
        (
            image.width / 2 + (x - (max(xs) + min(xs)) / 2) * scale,
            image.height / 2 - (y - (max(ys) + min(ys)) / 2) * scale,
        )
        for x, y in points
    ]
    draw.polygon(screen, fill=(235, 242, 252), outline=INK, width=3)
    cx = sum(p[0] for p in screen) / corners
    cy = sum(p[1] for p in screen) / corners
    for index, ((x, y), angle) in enumerate(zip(screen, angles, strict=True)):
        # Labels sit inside the corner, pulled towards the centre.
        distance = math.hypot(cx - x, cy - y)
        lx, ly = x + (cx - x) * 32 / distance, y + (cy - y) * 32 / distance
        text = "?" if index == unknown else f"{angle}°"
        if index == unknown:
            draw.ellipse((lx - 13, ly - 13, lx + 13, ly + 13), fill=PALETTE["yellow"])
        centred_text(draw, lx, ly, text, 15)
    shape = POLYGONS[corners]
    return Puzzle(
        question=f"In the {shape} shown, what is the size in degrees of the angle marked '?'",
        answer=str(angles[unknown]),
        options=None,
        image=image,
        facts={"polygon": shape, "angles": angles},
    )


FAMILY = Family(
    name="polygon_angles",
    title="finding a missing angle",
    skill=(
        "The interior angles of a polygon with n sides add up to (n - 2) x 180 degrees, so subtract the "
        "known angles from that total to get the missing one."
    ),
    paraphrases=(
        "The inside angles of an n-sided polygon sum to (n - 2) x 180 degrees; subtract the marked angles"
        " from this total to find the missing angle.",
        "To find a missing interior angle, use that a polygon's angles add up to (n - 2) times 180 "
        "degrees and take away the known ones.",
        "A polygon with n sides has interior angles totalling (n - 2) x 180 degrees, so the unknown angle"
        " is that total minus the given angles.",
        "Interior angles sum to 180 degrees in a triangle and 360 in a quadrilateral, in general (n - 2) "
        "x 180; subtract the known angles to get the missing one.",
        "For any polygon, the interior angles add up to (n - 2) x 180 degrees; the missing angle is what "
        "remains after subtracting the others.",
        "When one angle of a polygon is unknown, take the angle sum (n - 2) x 180 degrees and subtract "
        "every angle that is given.",
    ),
    keywords=(("angle",), ("180", "360", "sum", "add up", "total")),
    answer_kind="number",
    make=make,
)
