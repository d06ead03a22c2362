"""Table-driven scoring cases: MathVision and VisualPuzzles against verdicts recorded from their
official harnesses (tests/data/official_scoring_cases.json), the generic format against its documented
rules, and the lenient scoring."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ted.graph import Context
from ted.graph.errors import ConfigurationError
from ted.graph.grading import grade
from ted.tasks import (
    Item,
    answer_instruction,
    extract_answer,
    format_question,
    render_prompt,
    score_answer,
)
from ted.tasks.scoring import DEFAULT_TIMEOUT, grade_response
from ted.tasks.scoring.printed_eval import Refused, evaluate_printed

COLOURS = ["red", "green", "blue", "yellow"]
FIVE = ["1", "2", "3", "4", "5"]
IN_IMAGE = ["A", "B", "C", "D", "E"]  # MathVision options drawn in the image
PIECES = ["32", "35", "37", "40"]

# Expected verdicts of MathVision and VisualPuzzles were obtained by running the official harnesses
# themselves on each case (see the file's "provenance"); every case names where it comes from.
OFFICIAL = json.loads((Path(__file__).parent / "data" / "official_scoring_cases.json").read_text())["cases"]
# Official runs that gave no verdict in 60 s: ours must stop at its deadline and count them wrong.
HOSTILE_TIMEOUT = 3.0


def _official_cases() -> list[object]:
    return [
        pytest.param(case, id=f"{case['benchmark']} {number}: {case['source']}")
        for number, case in enumerate(OFFICIAL)
    ]


@pytest.mark.parametrize("case", _official_cases())
def test_official_scoring_matches_the_official_harness(case: dict[str, Any]) -> None:
    official = case["official"]
    options = case["options"] if case["benchmark"] == "visualpuzzles" else case["options"] or None
    timeout = HOSTILE_TIMEOUT if official.get("outcome") else DEFAULT_TIMEOUT
    verdict = grade_response(case["benchmark"], case["response"], case["answer"], options, timeout=timeout)
    if official.get("outcome"):
        assert verdict.timed_out and not verdict.correct
    elif official.get("guess"):
        assert verdict.guessed
        assert extract_answer(case["benchmark"], case["response"], options) is None
    else:
        assert verdict.correct is official["correct"]
        assert not verdict.guessed and not verdict.timed_out
        read = official["read"]
        expected = (read or None) if case["benchmark"] == "mathvision" else read.upper()
        assert verdict.answer == expected


def test_a_late_comparison_stops_the_worker_and_closes_its_pipes() -> None:
    from ted.tasks.scoring.bounded import _worker

    process = _worker._start()
    assert _worker.ask({"op": "official", "a": "x^2", "b": "y^2"}, timeout=0.0) is None
    assert process.returncode is not None
    assert process.stdin is not None and process.stdin.closed
    assert process.stdout is not None and process.stdout.closed
    # The next comparison starts a new worker.
    assert _worker.ask({"op": "official", "a": "\\frac{4}{2}", "b": "2"}, timeout=DEFAULT_TIMEOUT) == {
        "equal": True
    }
    assert _worker._process is not process


def test_every_listed_deviation_has_official_cases() -> None:
    sources = {case["source"] for case in OFFICIAL}
    for deviation in (
        "unit \\mathrm{~kg}",
        "unit cm^2",
        "unit ft",
        "degrees",
        "raw ground truth",
        "option value raw",
        "\\text{(E)} then a number",
        "ratio option read as division",
        "exponent above 1000",
        "tuple rounding",
        "option text case kept",
        "unreadable answer guessed",
    ):
        assert any(deviation in source for source in sources), deviation
    assert len(OFFICIAL) >= 150


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


@pytest.mark.parametrize(
    ("response", "answer", "options", "expected"),
    [
        pytest.param(response, answer, options, expected, id=name)
        for name, response, answer, options, expected in GENERIC
    ],
)
def test_generic_scoring(response: str, answer: str, options: list[str] | None, expected: bool) -> None:
    assert score_answer("generic", response, answer, options) is expected


@pytest.mark.parametrize(
    ("benchmark", "response", "options", "expected"),
    [
        ("mathvision", r"so \boxed{\frac{1}{2}} square units", None, r"\frac{1}{2}"),
        ("mathvision", "The answer is C.", FIVE, "c"),
        ("mathvision", r"\boxed{12\text{ cm}}", None, "12{cm}"),
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


def test_the_official_visualpuzzles_guess_is_seeded_and_reported() -> None:
    verdicts = [grade_response("visualpuzzles", f"no idea {n}", "A") for n in range(40)]
    assert all(v.guessed and v.answer in "ABCD" for v in verdicts)
    assert {v.answer for v in verdicts} == set("ABCD")  # a guess, not a constant
    again = [grade_response("visualpuzzles", f"no idea {n}", "A") for n in range(40)]
    assert again == verdicts
    other_seed = [grade_response("visualpuzzles", f"no idea {n}", "A", seed=1) for n in range(40)]
    assert [v.answer for v in other_seed] != [v.answer for v in verdicts]


@pytest.mark.parametrize(
    ("benchmark", "response", "answer", "options"),
    [
        pytest.param("mathvision", r"\boxed{5 \mathrm{~kg}}", "5", None, id="mathvision unit"),
        pytest.param(
            "mathvision",
            r"so the result is $\frac{\sqrt{2}}{2}$",
            r"$\frac{1}{\sqrt{2}}$",
            None,
            id="mathvision no box",
        ),
        pytest.param("generic", r"Answer: $2\sqrt{3}$", r"\sqrt{12}", None, id="generic expression"),
        pytest.param(
            "visualpuzzles", "I pick red.", "A", ["Red", "Blue", "Green", "Yellow"], id="option text case"
        ),
    ],
)
def test_lenient_accepts_equivalent_answers_official_rejects(
    benchmark: str, response: str, answer: str, options: list[str] | None
) -> None:
    assert not grade_response(benchmark, response, answer, options).correct
    assert grade_response(benchmark, response, answer, options, scoring="lenient").correct


def test_lenient_never_guesses_and_still_rejects_wrong_answers() -> None:
    verdict = grade_response("visualpuzzles", "no idea", "A", scoring="lenient")
    assert (verdict.answer, verdict.correct, verdict.guessed) == (None, False, False)
    assert not grade_response("mathvision", r"\boxed{\frac{1}{3}}", "0.5", scoring="lenient").correct
    assert not grade_response("generic", "Answer: 13", "12", scoring="lenient").correct


def test_unknown_scoring_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="unknown scoring 'strict'"):
        grade_response("generic", "Answer: 1", "1", scoring="strict")  # type: ignore[arg-type]


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


@pytest.mark.parametrize(
    "text",
    [
        "__import__('os').system('true')",
        "(1).__class__",
        "open('x')",
        "[x for x in (1, 2)]",
        "lambda: 1",
        "'text'",
        "E",
        "oo",
    ],
)
def test_printed_expressions_are_never_evaluated_beyond_numbers(text: str) -> None:
    with pytest.raises(Refused):
        evaluate_printed(text)


def test_printed_expressions_evaluate_as_python_would_with_math_names() -> None:
    assert evaluate_printed("sqrt(2)/2") == pytest.approx(0.7071, abs=1e-4)
    assert evaluate_printed("4*pi") == pytest.approx(12.566, abs=1e-3)
    assert evaluate_printed("4**1000") == 2**2000
    assert evaluate_printed("(1, -2.5)") == (1, -2.5)
    assert evaluate_printed("factorial(5) > 100") is True


async def test_grading_in_the_graph_uses_the_runs_scoring() -> None:
    item = Item(id="1", question="Mass?", answer="5", benchmark="mathvision")
    response = r"The mass is \boxed{5 \mathrm{~kg}}"
    official = await grade(item, response)
    assert (official.answer, official.correct) == (r"5\mathrm{~kg}", False)
    lenient = await grade(item, response, Context(scoring="lenient").scoring)
    assert (lenient.answer, lenient.correct) == (r"5\mathrm{~kg}", True)
    with pytest.raises(ConfigurationError, match="scoring must be official or lenient"):
        Context(scoring="strict")  # type: ignore[arg-type]
