"""Reading the time on an analogue clock."""

from __future__ import annotations

import math
import random

from ted.tasks.synth.drawing import INK, canvas, centred_text
from ted.tasks.synth.family import Family, Puzzle, multiple_choice

CX, CY, RADIUS = 180, 130, 105


def _label(hour: int, minute: int) -> str:
    return f"{hour}:{minute:02d}"


def _hand(angle_turns: float, length: float) -> tuple[float, float, float, float]:
    angle = 2 * math.pi * angle_turns - math.pi / 2
    return CX, CY, CX + length * math.cos(angle), CY + length * math.sin(angle)


def _distractors(rng: random.Random, hour: int, minute: int) -> list[str]:
    # The usual mistakes: hands swapped, hour misread when the hand sits between numerals, minutes
    # off by one numeral.
    swapped_hour = minute // 5 or 12
    candidates = [
        _label(swapped_hour, (hour % 12) * 5),
        _label(hour % 12 + 1, minute),
        _label((hour - 2) % 12 + 1, minute),
        _label(hour, (minute + 5) % 60),
        _label(hour, (minute - 5) % 60),
        _label(hour, (minute + 30) % 60),
    ]
    correct = _label(hour, minute)
    unique = [text for text in dict.fromkeys(candidates) if text != correct]
    return rng.sample(unique, 3)


def make(rng: random.Random) -> Puzzle:
    """Draw a clock face at a random five-minute time and ask which time it shows."""
    hour = rng.randint(1, 12)
    minute = 5 * rng.randint(0, 11)
    image, draw = canvas()
    draw.ellipse((CX - RADIUS, CY - RADIUS, CX + RADIUS, CY + RADIUS), outline=INK, width=3)
    for numeral in range(1, 13):
        angle = 2 * math.pi * numeral / 12 - math.pi / 2
        centred_text(
            draw, CX + 0.82 * RADIUS * math.cos(angle), CY + 0.82 * RADIUS * math.sin(angle), str(numeral), 16
        )
    for tick in range(60):
        angle = 2 * math.pi * tick / 60 - math.pi / 2
        inner = RADIUS * (0.93 if tick % 5 else 0.9)
        draw.line(
            (
                CX + inner * math.cos(angle),
                CY + inner * math.sin(angle),
                CX + RADIUS * math.cos(angle),
                CY + RADIUS * math.sin(angle),
            ),
            fill=INK,
            width=1,
        )
    # The hour hand moves between numerals as the minutes pass, as on a real clock.
    draw.line(_hand((hour % 12 + minute / 60) / 12, RADIUS * 0.5), fill=INK, width=7)
    draw.line(_hand(minute / 60, RADIUS * 0.8), fill=INK, width=3)
    draw.ellipse((CX - 5, CY - 5, CX + 5, CY + 5), fill=INK)
    options, answer = multiple_choice(rng, _label(hour, minute), _distractors(rng, hour, minute))
    return Puzzle(
        question="What time does the clock show?",
        answer=answer,
        options=options,
        image=image,
        facts={"time": _label(hour, minute)},
    )


FAMILY = Family(
    name="clock_reading",
    title="reading an analogue clock",
    skill=(
        "On an analogue clock the short hand gives the hour and the long hand the minutes; every numeral "
        "the long hand passes adds five minutes."
    ),
    paraphrases=(
        "Read a clock face by taking the hour from the short hand and the minutes from the long hand, "
        "counting five minutes per numeral.",
        "The short clock hand points to the hour and the long hand to the minutes; each number the long "
        "hand moves past is five more minutes.",
        "For analogue clocks, take the hour from the shorter hand and the minutes from the longer hand, "
        "five minutes for every numeral.",
        "To tell the time on a clock, the short hand gives the hour, the long hand the minutes, and each "
        "numeral stands for five minutes.",
        "The hour comes from the clock's short hand and the minutes from its long hand, which adds five "
        "minutes at every numeral.",
        "When reading a clock, do not swap the hands: the short one is the hour, the long one counts "
        "minutes in steps of five per numeral.",
    ),
    keywords=(("clock",), ("hand",), ("minute", "hour")),
    answer_kind="choice",
    make=make,
)
