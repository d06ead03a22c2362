"""Table-driven scoring cases, written from each benchmark's official rules (MATH-V evaluate.py and
utils.py; VisualPuzzles' lmms-eval utils.py) and from the generic format's documented rules."""

from __future__ import annotations

import pytest

from ted.tasks import (
    Item,
    answer_instruction,
    extract_answer,
    format_question,
    render_prompt,
    score_answer,
)

FIVE = ["1", "2", "3", "4", "5"]  # MathVision multiple choice: C is "3"
IN_IMAGE = ["A", "B", "C", "D", "E"]  # MathVision options drawn in the image
FRACTIONS = [r"$\frac{1}{2}$", r"$\frac{1}{3}$", r"$\frac{1}{4}$", r"$\frac{1}{5}$", r"$\frac{1}{6}$"]
PIECES = ["32", "35", "37", "40"]
COLOURS = ["red", "green", "blue", "yellow"]

MATHVISION = [
    # boxed letters and the last \boxed{}
    ("boxed letter", r"The shaded part is \boxed{C}.", "C", FIVE, True),
    ("boxed lowercase letter", r"\boxed{c}", "C", FIVE, True),
    ("boxed wrong letter", r"\boxed{D}", "C", FIVE, False),
    ("letter in text inside box", r"\boxed{\text{(C)}}", "C", FIVE, True),
    ("last of several boxes wins", r"First \boxed{A}, but checking again \boxed{C}", "C", FIVE, True),
    ("an earlier right box does not count", r"\boxed{C} ... no, rather \boxed{A}", "C", FIVE, False),
    # option text instead of the letter
    ("option text instead of letter", r"The count is \boxed{3}", "C", FIVE, True),
    ("wrong option text", r"\boxed{4}", "C", FIVE, False),
    ("LaTeX option text", r"\boxed{\frac{1}{3}}", "B", FRACTIONS, True),
    ("decimal for LaTeX option text", r"\boxed{0.33}", "B", FRACTIONS, True),
    ("options drawn in the image", r"\boxed{D}", "D", IN_IMAGE, True),
    ("options drawn in the image, wrong", r"\boxed{E}", "D", IN_IMAGE, False),
    # letter rules of evaluate.py
    ("ends with ' X.'", "Comparing all five figures, the answer is C.", "C", FIVE, True),
    ("ends with ' (X).'", "So we pick (C).", "C", FIVE, True),
    ("starts with 'X' line", "C\nBecause the triangle is half the square.", "C", FIVE, True),
    ("starts with '(X)' line", "(C)\nThe square has area 3.", "C", FIVE, True),
    # "The answer is" family
    ("the answer is a number", "The answer is 12", "12", None, True),
    ("the final answer is, cut at sentence end", "The final answer is 7. Hope this helps.", "7", None, True),
    ("the correct answer is, first line only", "so the correct answer is 8\nDone.", "8", None, True),
    ("the answer should be", "Hence the answer should be 9", "9", None, True),
    ("number after the last 'is '", "Adding the sides, the perimeter is 24.", "24", None, True),
    ("no answer given", "I cannot determine it from the figure.", "12", None, False),
    ("empty response", "", "12", None, False),
    # fractions vs decimals
    ("decimal vs integer", r"\boxed{12.0}", "12", None, True),
    ("fraction vs decimal", r"\boxed{\frac{1}{2}}", "0.5", None, True),
    ("decimal vs LaTeX fraction", r"\boxed{0.5}", r"$\frac{1}{2}$", None, True),
    ("a/b vs frac", r"\boxed{1/2}", r"\frac{1}{2}", None, True),
    ("dfrac vs decimal", r"\boxed{\dfrac{3}{4}}", "0.75", None, True),
    ("2-decimal rounding of 1/3", r"\boxed{0.33}", r"$\frac{1}{3}$", None, True),
    ("1 decimal is not enough", r"\boxed{0.3}", r"\frac{1}{3}", None, False),
    ("frac without braces", r"\boxed{\frac12}", "0.5", None, True),
    # roots, pi, signs
    ("same sqrt expression", r"\boxed{2\sqrt{3}}", r"2\sqrt{3}", None, True),
    ("decimal of sqrt", r"\boxed{3.46}", r"$2\sqrt{3}$", None, True),
    ("sqrt without braces", r"\boxed{\sqrt3}", r"\sqrt{3}", None, True),
    ("sqrt of fraction answer", r"\boxed{\frac{\sqrt{6}}{6}}", r"$\frac{\sqrt{6}}{6}$", None, True),
    ("pi multiple", r"\boxed{4\pi}", r"4\pi", None, True),
    ("decimal of pi multiple", r"\boxed{12.57}", r"$4\pi$", None, True),
    ("negative", r"\boxed{-3}", "-3", None, True),
    ("sign matters", r"\boxed{3}", "-3", None, False),
    # degrees, units, percent, equations
    ("degrees ^\\circ", r"The angle is \boxed{30^\circ}", "30", None, True),
    ("degree sign", r"\boxed{30°}", "30", None, True),
    ("unit in \\text", r"\boxed{12\text{ cm}}", "12", None, True),
    ("squared unit", r"\boxed{48 cm^2}", "48", None, True),
    ("percent", r"\boxed{50\%}", "50", None, True),
    ("value after =", r"\boxed{x = 5}", "5", None, True),
    ("value after \\approx", r"\boxed{\pi \approx 3.14}", "3.14", None, True),
    ("thousands separator", r"\boxed{1,000}", "1000", None, True),
    # tuples and ratios
    ("tuple", r"\boxed{(1, 2)}", "(1,2)", None, True),
    ("tuple rounded to 2 decimals", r"\boxed{(1.004, 2)}", "(1,2)", None, True),
    ("different tuple", r"\boxed{(1, 3)}", "(1,2)", None, False),
    ("ratio text", r"\boxed{1:2}", "1:2", None, True),
]

VISUALPUZZLES = [
    ("Answer: (X)", "The pattern alternates.\nAnswer: (B)", "B", None, True),
    ("Answer: X", "Answer: B", "B", None, True),
    ("Answer: wrong letter", "Answer: C", "B", None, False),
    ("Final Answer loses to Answer", "Final Answer: A\nAnswer: B", "B", None, True),
    ("Final Answer alone", "Final Answer: B", "B", None, True),
    ("last Answer wins", "Answer: A ... on second thought. Answer: B", "B", None, True),
    ("several candidate letters in parentheses", "Not (A), not (C); the fit is (D)", "D", None, True),
    ("X)", "I choose B) because it rotates", "B", None, True),
    ("{X}", "The result is {C}", "C", None, True),
    ("$X$", "The result is $D$", "D", None, True),
    ("' X.'", "I think it is B.", "B", None, True),
    ("bare short letter", "B", "B", None, True),
    ("bare short lowercase letter", "b", "B", None, True),
    ("letter outside A-D", "Answer: E", "B", None, False),
    ("unparseable is wrong, never guessed", "I have no idea", "B", None, False),
    ("option text appearing last", "Counting the path, he eats 37 pieces", "C", PIECES, True),
    ("answer: option text", "so the answer: 35", "B", PIECES, True),
    ("official quirk: first letter after 'Answer:'", "Answer: Based on the figure, (C)", "C", None, False),
    ("official quirk: 'Answer:' is case-sensitive", "ANSWER: C is right", "C", None, False),
    ("markdown around Answer falls back to (X)", "**Answer:** (A)", "A", None, True),
]

GENERIC = [
    ("Answer: X", "The bar is tallest.\nAnswer: C", "C", COLOURS, True),
    ("Answer: (X)", "Answer: (C)", "C", COLOURS, True),
    ("Answer: X.", "Answer: C.", "C", COLOURS, True),
    ("option text", "Answer: blue", "C", COLOURS, True),
    ("option text, other case", "Answer: Blue", "C", COLOURS, True),
    ("letter and text", "Answer: C) blue", "C", COLOURS, True),
    ("(letter) and text", "Answer: (C) blue", "C", COLOURS, True),
    ("wrong letter", "Answer: B", "C", COLOURS, False),
    ("letter outside the options", "Answer: E", "C", COLOURS, False),
    ("last Answer line wins", "Answer: A\nWait, recount.\nAnswer: C", "C", COLOURS, True),
    ("markdown bold", "**Answer:** C", "C", COLOURS, True),
    ("Final answer:", "Final answer: C", "C", COLOURS, True),
    ("lowercase answer:", "answer: c", "C", COLOURS, True),
    ("boxed fallback", r"So \boxed{C}", "C", COLOURS, True),
    ("'the answer is' fallback", "The answer is C", "C", COLOURS, True),
    ("no final answer", "I think it's C", "C", COLOURS, False),
    ("integer", "Answer: 12", "12", None, True),
    ("integer written as decimal", "Answer: 12.0", "12", None, True),
    ("near integer is wrong", "Answer: 12.4", "12", None, False),
    ("thousands separator", "Answer: 1,200", "1200", None, True),
    ("more decimals than the truth", "Answer: 0.333", "0.33", None, True),
    ("fraction for a decimal truth", "Answer: 1/3", "0.33", None, True),
    ("decimal for a fraction truth", "Answer: 0.33", "1/3", None, True),
    ("too coarse for a fraction truth", "Answer: 0.3", "1/3", None, False),
    ("pi to the truth's precision", "Answer: 3.14159", "3.14", None, True),
    ("short of the truth's precision", "Answer: 3.1", "3.14", None, False),
    ("trailing unit", "Answer: 12 cm", "12", None, True),
    ("percent sign", "Answer: 50%", "50", None, True),
    ("negative", "Answer: -4", "-4", None, True),
    ("sign matters", "Answer: 4", "-4", None, False),
    ("equation", "Answer: x = 7", "7", None, True),
    ("text, case folded", "Answer: Paris", "paris", None, True),
    ("text, spaces and period", "Answer:  The  Eiffel tower.", "the eiffel tower", None, True),
    ("different text", "Answer: London", "Paris", None, False),
    ("words for a number", "Answer: twelve", "12", None, False),
    ("letter truth without options", "Answer: (B)", "B", None, True),
    ("empty response", "", "12", None, False),
]


def _cases(benchmark: str, table: list[tuple[str, str, str, list[str] | None, bool]]) -> list[object]:
    return [
        pytest.param(benchmark, response, answer, options, expected, id=f"{benchmark}: {name}")
        for name, response, answer, options, expected in table
    ]


@pytest.mark.parametrize(
    ("benchmark", "response", "answer", "options", "expected"),
    _cases("mathvision", MATHVISION) + _cases("visualpuzzles", VISUALPUZZLES) + _cases("generic", GENERIC),
)
def test_score_answer(
    benchmark: str, response: str, answer: str, options: list[str] | None, expected: bool
) -> None:
    assert score_answer(benchmark, response, answer, options) is expected


def test_there_are_enough_cases() -> None:
    assert len(MATHVISION) + len(VISUALPUZZLES) + len(GENERIC) >= 60


@pytest.mark.parametrize(
    ("benchmark", "response", "options", "expected"),
    [
        ("mathvision", r"so \boxed{\frac{1}{2}} square units", None, r"\frac{1}{2}"),
        ("mathvision", "The answer is C.", FIVE, "c"),
        ("mathvision", r"\boxed{12\text{ cm}}", None, "12"),
        ("mathvision", "", None, None),
        ("visualpuzzles", "Answer: (C)", None, "C"),
        ("visualpuzzles", "no letter here at all", None, None),
        ("generic", "Answer: blue", COLOURS, "C"),
        ("generic", "Answer: 12 cm", None, "12 cm"),
        ("generic", "nothing to read", None, None),
    ],
)
def test_extract_answer_reports_what_the_scorer_read(
    benchmark: str, response: str, options: list[str] | None, expected: str | None
) -> None:
    assert extract_answer(benchmark, response, options) == expected


def test_scoring_is_deterministic_for_unparseable_visualpuzzles_answers() -> None:
    results = {score_answer("visualpuzzles", "hmm", letter) for letter in "ABCD" for _ in range(20)}
    assert results == {False}


def test_unknown_benchmark_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown benchmark 'mmmu'"):
        score_answer("mmmu", "Answer: A", "A")


def test_answer_instructions() -> None:
    assert r'"\boxed{}"' in answer_instruction("mathvision", has_options=True)
    assert "'Answer: $LETTER'" in answer_instruction("visualpuzzles", has_options=True)
    generic_choice = answer_instruction("generic", has_options=True)
    generic_free = answer_instruction("generic", has_options=False)
    assert "'Answer: X'" in generic_choice and "letter" in generic_choice
    assert "'Answer: <answer>'" in generic_free and "number" in generic_free


def test_format_question_follows_each_official_prompt() -> None:
    mathvision = Item(id="1", question="Which?", answer="C", options=FIVE, benchmark="mathvision")
    assert format_question(mathvision) == "Which?\n(A) 1\n(B) 2\n(C) 3\n(D) 4\n(E) 5"
    in_image = mathvision.model_copy(update={"options": IN_IMAGE})
    assert format_question(in_image) == "Which?"
    puzzle = Item(id="2", question=" Which cube? ", answer="A", benchmark="visualpuzzles")
    assert (
        format_question(puzzle) == "Question: Which cube?\nOptions: Choose from (A) (B) (C) (D) in the image."
    )
    with_text = puzzle.model_copy(update={"options": PIECES})
    assert format_question(with_text) == "Question: Which cube?\nOptions:\n(A) 32\n(B) 35\n(C) 37\n(D) 40"
    generic = Item(id="3", question="Colour?", answer="B", options=["red", "blue"])
    assert format_question(generic) == "Colour?\nOptions:\n(A) red\n(B) blue"


def test_render_prompt_puts_the_instruction_where_the_benchmark_does() -> None:
    mathvision = Item(id="1", question="Area?", answer="12", benchmark="mathvision")
    assert render_prompt(mathvision).startswith("Please solve the problem")
    assert render_prompt(mathvision).endswith("Area?")
    generic = Item(id="2", question="How many?", answer="12")
    assert render_prompt(generic).startswith("How many?\n")
    assert render_prompt(generic).endswith(answer_instruction("generic", has_options=False))
