"""A catalogue of skill families for a world too large for one prompt: card puzzles on two dozen topics.

Each topic is a card (a picture with a few numbers and a unit) and a question that needs one piece of
knowledge to answer: seven days to a week, opposite faces of a die adding up to seven, one more fence
post than gaps. Every topic carries three texts of its own:

- ``skill``: the right advice, the reference a simulated student compares advice with;
- ``paraphrases``: other wordings of it, as a teacher writes them;
- ``misconception`` and ``wrong_advice``: a wrong rule on the same topic, the reference and the
  teacher's wording, so that a library can hold advice that misleads.

Recognising which of these a piece of advice states is done by meaning (`ted.sim` compares sentence
embeddings with the references); no keyword is shared on purpose between a reference and its wordings.
``skill_families(n)`` takes the first ``n`` topics as puzzle families.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from ted.tasks.synth.drawing import INK, canvas, centred_text
from ted.tasks.synth.family import Family, Puzzle

Values = dict[str, int]
# A value is drawn from range(low, high + 1, step).
Range = tuple[int, int] | tuple[int, int, int]


def _no_values(values: Values) -> Values:
    return {}


@dataclass(frozen=True)
class Topic:
    """One card puzzle: what the card shows, what is asked, and the advice about it (right and wrong)."""

    name: str
    title: str
    question: str
    card: str
    ranges: Mapping[str, Range]
    answer: Callable[[Values], int]
    skill: str
    paraphrases: tuple[str, ...]
    misconception: str
    wrong_advice: tuple[str, ...]
    derived: Callable[[Values], Values] = field(default=_no_values)

    def make(self, rng: random.Random) -> Puzzle:
        """Draw the card's numbers and picture."""
        values: Values = {}
        for name, bounds in self.ranges.items():
            low, high, *step = bounds
            values[name] = rng.randrange(low, high + 1, step[0] if step else 1)
        values |= self.derived(values)
        text = self.card.format(**values)
        image, draw = canvas()
        draw.rounded_rectangle((30, 70, image.width - 30, image.height - 70), radius=14, outline=INK, width=3)
        centred_text(draw, image.width / 2, image.height / 2, text, 20)
        return Puzzle(
            question=self.question,
            answer=str(self.answer(values)),
            options=None,
            image=image,
            facts={"card": text, **values},
        )

    def family(self) -> Family:
        """The puzzle family of this topic."""
        return Family(
            name=self.name,
            title=self.title,
            skill=self.skill,
            paraphrases=self.paraphrases,
            keywords=(),
            answer_kind="number",
            make=self.make,
            misconception=self.misconception,
            wrong_advice=self.wrong_advice,
        )


TOPICS: tuple[Topic, ...] = (
    Topic(
        name="weeks_to_days",
        title="turning weeks into days",
        question="The card shows a number of weeks. How many days is that?",
        card="{a} weeks",
        ranges={"a": (2, 9)},
        answer=lambda v: 7 * v["a"],
        skill="Every week holds seven days, so multiply the number of weeks by seven.",
        paraphrases=(
            "To convert weeks to days, take seven days for each week.",
            "A span given in weeks becomes days when each week counts as seven days.",
        ),
        misconception="Weeks and days are the same unit, so keep the number of weeks unchanged.",
        wrong_advice=("Keep the number of weeks as it is; weeks and days are interchangeable units.",),
    ),
    Topic(
        name="hours_to_minutes",
        title="turning hours into minutes",
        question="The card shows a number of hours. How many minutes is that?",
        card="{a} hours",
        ranges={"a": (2, 9)},
        answer=lambda v: 60 * v["a"],
        skill="An hour lasts sixty minutes, so multiply the hours by sixty.",
        paraphrases=(
            "To get minutes from hours, count sixty minutes for every hour.",
            "Convert a duration in hours to minutes by scaling it by sixty.",
        ),
        misconception="An hour lasts one hundred minutes, as with decimal units.",
        wrong_advice=("Convert hours to minutes the metric way: one hundred minutes per hour.",),
    ),
    Topic(
        name="dozens",
        title="counting items sold by the dozen",
        question="The card shows boxes of eggs sold by the dozen. How many eggs are there?",
        card="{a} dozen eggs",
        ranges={"a": (2, 9)},
        answer=lambda v: 12 * v["a"],
        skill="A dozen means twelve, so multiply the number of dozens by twelve.",
        paraphrases=(
            "Each dozen stands for twelve items; multiply accordingly.",
            "Boxes sold by the dozen contain twelve pieces per dozen.",
        ),
        misconception="A dozen means ten, like a decade.",
        wrong_advice=("Count each dozen as ten items, the same as a ten-pack.",),
    ),
    Topic(
        name="spider_legs",
        title="counting the legs of spiders",
        question="The card shows some spiders. How many legs do they have in total?",
        card="{a} spiders",
        ranges={"a": (2, 9)},
        answer=lambda v: 8 * v["a"],
        skill="Spiders have eight legs, so multiply the number of spiders by eight.",
        paraphrases=(
            "Each spider walks on eight legs; scale the count of spiders by eight.",
            "Multiply the spiders by eight, the number of legs each one has.",
        ),
        misconception="Spiders are insects and have six legs each.",
        wrong_advice=("Count six legs for every spider, since spiders are insects.",),
    ),
    Topic(
        name="dice_opposite",
        title="the hidden face of a die",
        question="A standard die lies with the number on the card on top. What number is on its bottom face?",
        card="top face: {a}",
        ranges={"a": (1, 6)},
        answer=lambda v: 7 - v["a"],
        skill=(
            "Opposite faces of a standard die always add up to seven, so the hidden face is"
            " seven minus the top face."
        ),
        paraphrases=(
            "On a normal die the top and bottom faces sum to seven; subtract the visible number from seven.",
            "The face underneath a die equals seven minus the face on top.",
        ),
        misconception="The hidden bottom face of a die repeats the number on the top face.",
        wrong_advice=("A die shows the same number on its bottom as on its top.",),
    ),
    Topic(
        name="nickels",
        title="the value of a pile of nickels",
        question="The card shows a pile of nickels. How many cents are they worth?",
        card="{a} nickels",
        ranges={"a": (2, 19)},
        answer=lambda v: 5 * v["a"],
        skill="A nickel is worth five cents, so multiply the number of nickels by five.",
        paraphrases=(
            "Each nickel adds five cents to the total.",
            "To value nickels in cents, count five cents per coin.",
        ),
        misconception="A nickel is worth ten cents, like a dime.",
        wrong_advice=("Value every nickel at ten cents.",),
    ),
    Topic(
        name="square_perimeter",
        title="the perimeter of a square",
        question="The card describes a square. What is its perimeter, in cm?",
        card="square, side {a} cm",
        ranges={"a": (2, 15)},
        answer=lambda v: 4 * v["a"],
        skill="A square has four equal sides, so its perimeter is four times the side length.",
        paraphrases=(
            "Go around the square: four sides of the same length make the perimeter.",
            "Perimeter of a square equals the side multiplied by four.",
        ),
        misconception="The perimeter of a square is its side length multiplied by itself.",
        wrong_advice=("Square the side length to get the distance around a square.",),
    ),
    Topic(
        name="rectangle_area",
        title="the area of a rectangle",
        question="The card describes a rectangle. What is its area, in square cm?",
        card="rectangle, {a} cm by {b} cm",
        ranges={"a": (2, 12), "b": (2, 12)},
        answer=lambda v: v["a"] * v["b"],
        skill="The area of a rectangle is its width multiplied by its height.",
        paraphrases=(
            "Multiply the two side lengths of the rectangle to find how much surface it covers.",
            "Rectangle area: width times height.",
        ),
        misconception="The area of a rectangle is the sum of its width and height.",
        wrong_advice=("Add the width and the height to get the rectangle's area.",),
    ),
    Topic(
        name="handshakes",
        title="handshakes in a group",
        question=(
            "Everyone in the group on the card shakes hands with everyone else. How many"
            " handshakes are there?"
        ),
        card="{a} people",
        ranges={"a": (3, 10)},
        answer=lambda v: v["a"] * (v["a"] - 1) // 2,
        skill=(
            "Each pair shakes hands once: multiply the number of people by one less than it"
            " and halve the result."
        ),
        paraphrases=(
            "Count handshakes as pairs of people: n times n minus one, divided by two.",
            "Every two people shake hands exactly once, so the count is the number of pairs.",
        ),
        misconception="Each person shakes every hand including their own, so square the number of people.",
        wrong_advice=("The number of handshakes is the number of people squared.",),
    ),
    Topic(
        name="triangle_angle",
        title="the missing angle of a triangle",
        question="Two angles of a triangle are on the card. What is the third angle, in degrees?",
        card="angles {a} and {b} degrees",
        ranges={"a": (20, 80, 5), "b": (20, 80, 5)},
        answer=lambda v: 180 - v["a"] - v["b"],
        skill="The three angles of a triangle add up to 180 degrees; subtract the two known angles from 180.",
        paraphrases=(
            "Angles inside a triangle total one hundred eighty degrees, so the last one is what remains.",
            "Find the third angle by taking the known two away from 180 degrees.",
        ),
        misconception="The angles of a triangle add up to 360 degrees, like a full turn.",
        wrong_advice=(
            "A triangle's angles make a full turn of 360 degrees, so take the known angles from 360.",
        ),
    ),
    Topic(
        name="polygon_diagonals",
        title="the diagonals of a polygon",
        question="How many diagonals does the polygon described on the card have?",
        card="polygon with {a} sides",
        ranges={"a": (4, 12)},
        answer=lambda v: v["a"] * (v["a"] - 3) // 2,
        skill="A polygon with n sides has n times n minus three, divided by two, diagonals.",
        paraphrases=(
            "The number of diagonals of an n-sided polygon is n times n minus three, halved.",
            "To count diagonals of a polygon, use n(n-3)/2 with n the number of sides.",
        ),
        misconception="A polygon has as many diagonals as it has sides.",
        wrong_advice=("Count one diagonal for every side of the polygon.",),
    ),
    Topic(
        name="fence_posts",
        title="posts along a straight fence",
        question="How many posts does the straight fence on the card need, counting both ends?",
        card="fence {c} m long, a post every {b} m",
        derived=lambda v: {"c": v["a"] * v["b"]},
        ranges={"a": (3, 12), "b": (2, 5, 3)},
        answer=lambda v: v["a"] + 1,
        skill="A straight fence needs one more post than the number of gaps between posts.",
        paraphrases=(
            "Divide the fence length by the spacing and add one post for the end.",
            "Put a post at each end as well: the posts are one more than the gaps.",
        ),
        misconception=(
            "The number of posts along a fence equals the number of gaps between them, with no extra post."
        ),
        wrong_advice=("Posts along a straight fence: count the gaps, and that is the number of posts.",),
    ),
    Topic(
        name="sock_pairs",
        title="making pairs of socks",
        question="How many pairs can be made from the socks on the card?",
        card="{a} socks",
        ranges={"a": (4, 24, 2)},
        answer=lambda v: v["a"] // 2,
        skill="Two socks make a pair, so halve the number of socks.",
        paraphrases=(
            "Divide the number of socks by two to get the pairs.",
            "Pairs of socks: divide the sock count by two.",
        ),
        misconception="Each sock is already a pair, so the number of pairs equals the number of socks.",
        wrong_advice=("Count every single sock as one pair.",),
    ),
    Topic(
        name="tricycle_wheels",
        title="wheels on tricycles",
        question="How many wheels do the tricycles on the card have in total?",
        card="{a} tricycles",
        ranges={"a": (2, 12)},
        answer=lambda v: 3 * v["a"],
        skill="A tricycle has three wheels, so multiply the number of tricycles by three.",
        paraphrases=(
            "Count three wheels for each tricycle.",
            "Tricycles stand on three wheels each; scale by three.",
        ),
        misconception="A tricycle has two wheels like a bicycle.",
        wrong_advice=("Tricycles have two wheels, the same as bicycles.",),
    ),
    Topic(
        name="kilometres",
        title="turning kilometres into metres",
        question="The card shows a distance in kilometres. How many metres is it?",
        card="{a} km",
        ranges={"a": (2, 9)},
        answer=lambda v: 1000 * v["a"],
        skill="A kilometre is a thousand metres, so multiply the kilometres by one thousand.",
        paraphrases=(
            "Convert kilometres to metres by scaling by 1000.",
            "Each kilometre contains one thousand metres.",
        ),
        misconception="A kilometre is a hundred metres.",
        wrong_advice=("A kilometre is one hundred metres long.",),
    ),
    Topic(
        name="reading_pages",
        title="pages read over several days",
        question="The card says how much someone read. How many pages did they read in total?",
        card="{a} pages a day for {b} days",
        ranges={"a": (5, 30), "b": (2, 7)},
        answer=lambda v: v["a"] * v["b"],
        skill="Pages read in total equal the pages per day multiplied by the number of days.",
        paraphrases=(
            "Multiply the daily reading by the number of days to get all pages read.",
            "Total pages: daily amount times the days spent reading.",
        ),
        misconception="Add the pages per day and the number of days to get the total pages.",
        wrong_advice=("The total is the daily pages plus the count of days.",),
    ),
    Topic(
        name="temperature_change",
        title="a change of temperature",
        question=(
            "The card shows a temperature and how much it dropped. What is the temperature"
            " now, in degrees Celsius?"
        ),
        card="{a} C, then a drop of {b} C",
        ranges={"a": (10, 30), "b": (2, 9)},
        answer=lambda v: v["a"] - v["b"],
        skill="A drop in temperature is subtracted from the starting temperature.",
        paraphrases=(
            "When the thermometer falls, take the drop away from the first reading.",
            "New temperature after cooling: start minus the drop.",
        ),
        misconception="A drop in temperature is added to the starting temperature.",
        wrong_advice=("Add the temperature drop to the first reading.",),
    ),
    Topic(
        name="half_price",
        title="a price at half off",
        question="The price on the card is cut in half in a sale. What is the sale price, in dollars?",
        card="price: {a} dollars, half off",
        ranges={"a": (10, 80, 2)},
        answer=lambda v: v["a"] // 2,
        skill="Half price means dividing the original price by two.",
        paraphrases=(
            "Divide the original price by two when it is half off.",
            "Halve the original price to get the half-price amount.",
        ),
        misconception="Half price means subtracting fifty from the price.",
        wrong_advice=("Remove fifty from the original price for a half-off sale.",),
    ),
    Topic(
        name="stairs",
        title="steps climbed over several floors",
        question="The card describes a staircase. How many steps are climbed in total?",
        card="{a} steps per floor, {b} floors up",
        ranges={"a": (10, 20), "b": (2, 6)},
        answer=lambda v: v["a"] * v["b"],
        skill="Multiply the steps per floor by the number of floors climbed.",
        paraphrases=(
            "Total steps on a staircase: floors climbed times steps in each flight.",
            "Each floor adds the same number of steps, so scale by the floors.",
        ),
        misconception="Climbing to floor n means climbing n plus one flights of stairs.",
        wrong_advice=("Count one extra flight of stairs beyond the floors climbed.",),
    ),
    Topic(
        name="hands_fingers",
        title="counting fingers on hands",
        question="How many fingers are on the hands shown on the card?",
        card="{a} hands",
        ranges={"a": (2, 9)},
        answer=lambda v: 5 * v["a"],
        skill="Each hand has five fingers, so multiply the number of hands by five.",
        paraphrases=("Count five fingers for every hand shown.", "Fingers: five on each hand."),
        misconception="Each hand has ten fingers.",
        wrong_advice=("Count ten fingers for every hand.",),
    ),
    Topic(
        name="interior_angles",
        title="the interior angles of a polygon",
        question="What do the interior angles of the polygon on the card add up to, in degrees?",
        card="a polygon of {a} sides",
        ranges={"a": (4, 10)},
        answer=lambda v: (v["a"] - 2) * 180,
        skill="The interior angles of a polygon with n sides add up to n minus two times 180 degrees.",
        paraphrases=(
            "Split the polygon into triangles from one corner: n minus two triangles of 180 degrees.",
            "Angle sum of a polygon: (n - 2) x 180 degrees.",
        ),
        misconception="Every polygon's interior angles add up to 360 degrees.",
        wrong_advice=("The angles inside any polygon total 360 degrees.",),
    ),
    Topic(
        name="minutes_to_seconds",
        title="turning minutes into seconds",
        question="The card shows a number of minutes. How many seconds is that?",
        card="{a} minutes",
        ranges={"a": (2, 9)},
        answer=lambda v: 60 * v["a"],
        skill="A minute has sixty seconds, so multiply the minutes by sixty.",
        paraphrases=(
            "Seconds in a span of minutes: sixty for each minute.",
            "Scale minutes by sixty to count seconds.",
        ),
        misconception="A minute has one hundred seconds.",
        wrong_advice=("Count one hundred seconds in each minute.",),
    ),
    Topic(
        name="cube_faces",
        title="painting the faces of cubes",
        question="How many faces do the cubes on the card have in total?",
        card="{a} cubes",
        ranges={"a": (2, 9)},
        answer=lambda v: 6 * v["a"],
        skill="A cube has six faces, so multiply the number of cubes by six.",
        paraphrases=("Each cube shows six square faces.", "Faces of cubes: six per cube."),
        misconception="A cube has four faces, like a square has four sides.",
        wrong_advice=("Count four faces per cube.",),
    ),
    Topic(
        name="leap_year",
        title="days in a leap year",
        question="How many days are there in the leap years on the card?",
        card="{a} leap years",
        ranges={"a": (1, 4)},
        answer=lambda v: 366 * v["a"],
        skill="A leap year has 366 days: one more than a common year.",
        paraphrases=(
            "Leap years add the 29th of February, giving 366 days.",
            "In a leap year count 366 days.",
        ),
        misconception="A leap year has 365 days like any other year.",
        wrong_advice=("Leap years have the same 365 days as common years.",),
    ),
)

SKILL_FAMILIES: Mapping[str, Family] = MappingProxyType({topic.name: topic.family() for topic in TOPICS})
"""Every topic as a puzzle family, in catalogue order."""


def skill_families(count: int | None = None) -> list[Family]:
    """The first ``count`` families of the catalogue (all of them by default).

    Raises:
        ValueError: If ``count`` is below 2 or above the size of the catalogue.
    """
    families = list(SKILL_FAMILIES.values())
    if count is None:
        return families
    if not 2 <= count <= len(families):
        raise ValueError(f"the skills world has 2 to {len(families)} families, not {count}")
    return families[:count]
