"""Scoring a file of model responses against a dataset: what `ted score` prints.

The responses are JSONL, one ``{"id": ..., "response": ...}`` per line (the layout of the model outputs
released with MATH-V; other fields are ignored, and a stored ``model_answer`` is read again, as the
official harness does). Each response is graded with its item's benchmark scorer under the chosen
scoring, and accuracy is given overall, per category (MathVision: subject) and per level, with
bootstrap intervals. For MathVision the result also holds the breakdown exactly as MATH-V's
``math_level_subject_acc`` prints it (``"-all": "692/3040=22.76%"`` ...), for comparison with
published ``*_result.json`` files.

Example:
    >>> result = score_responses("outputs/GPT4V.jsonl", "MATH-V")  # doctest: +SKIP
    >>> result.accuracy.estimate, result.official_breakdown["-all"]  # doctest: +SKIP
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from pathlib import Path

from pydantic import BaseModel, Field

from ted.runs.errors import RunError
from ted.tasks import DatasetError, Item, load_dataset
from ted.tasks.metrics import Interval, bootstrap_interval
from ted.tasks.scoring import DEFAULT_TIMEOUT, Scoring, grade_response
from ted.tasks.scoring.verdict import check_scoring
from ted.tasks.sources import DatasetFormat

SHOWN_IDS = 10


class GroupAccuracy(BaseModel):
    """Accuracy of one category or level."""

    name: str
    correct: int
    total: int
    accuracy: Interval


class ItemScore(BaseModel):
    """One scored response."""

    id: str
    answer: str | None = Field(description="What the scorer read (or guessed).")
    correct: bool
    guessed: bool = False
    timed_out: bool = False


class ScoreResult(BaseModel):
    """Accuracy of a responses file on a dataset, under one scoring."""

    responses: str
    dataset: str
    benchmark: str
    scoring: Scoring
    seed: int = Field(description="Seed of the official guesses and of the bootstrap intervals.")
    scored: int = Field(description="Responses scored (those whose id is in the dataset).")
    correct: int
    accuracy: Interval
    by_category: list[GroupAccuracy] = Field(description="Per subject (MathVision) or category.")
    by_level: list[GroupAccuracy]
    official_breakdown: dict[str, str] = Field(
        default_factory=dict,
        description="MathVision: the breakdown as MATH-V's evaluate.py prints it (keys and 'c/n=p%' texts).",
    )
    guessed: int = Field(description="Unreadable answers replaced by the official harness's random guess.")
    timed_out: int = Field(description="Comparisons that missed their deadline and counted as wrong.")
    unknown_ids: list[str] = Field(description=f"Response ids not in the dataset (first {SHOWN_IDS}).")
    unknown_count: int
    unanswered: int = Field(description="Dataset items with no response (not counted in the accuracy).")
    items: list[ItemScore]


def read_responses(path: str | Path) -> dict[str, str]:
    """The responses of a JSONL file, by item id.

    Raises:
        RunError: The file is unreadable, a line is not a JSON object with a text ``response`` and an
            ``id``, or an id repeats.
    """
    file = Path(path)
    try:
        lines = file.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise RunError(f"cannot read responses {file}: {exc}") from exc
    responses: dict[str, str] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise RunError(f"{file}, line {number}: not JSON ({exc.msg})") from None
        if not isinstance(row, dict) or "id" not in row or not isinstance(row.get("response"), str):
            raise RunError(f"{file}, line {number}: expected an object with 'id' and a text 'response'")
        item_id = str(row["id"])
        if item_id in responses:
            raise RunError(f"{file}, line {number}: id {item_id!r} appears twice")
        responses[item_id] = row["response"]
    if not responses:
        raise RunError(f"{file} holds no responses")
    return responses


def _groups(scores: Iterable[tuple[str | None, bool]], seed: int) -> list[GroupAccuracy]:
    grouped: dict[str, list[bool]] = defaultdict(list)
    for name, correct in scores:
        if name is not None:
            grouped[name].append(correct)
    return [
        GroupAccuracy(
            name=name,
            correct=sum(values),
            total=len(values),
            accuracy=bootstrap_interval(values, seed=seed),
        )
        for name, values in sorted(grouped.items())
    ]


def official_breakdown(items: list[Item], correct: list[bool]) -> dict[str, str]:
    """MATH-V's ``math_level_subject_acc`` (evaluation/evaluate.py): keys and texts as it writes them."""
    counts: dict[str, list[int]] = {}
    for item, right in zip(items, correct, strict=True):
        subject, level = item.category, item.level
        for key in (
            "-all",
            f"-level{level}",
            f"{subject}",
            f"{subject}_level{level}",
            f"-level{level}_{subject}",
        ):
            count = counts.setdefault(key, [0, 0])
            count[0] += 1 if right else 0
            count[1] += 1
    return {
        key: f"{hits}/{total}={round(hits / max(total, 1) * 100, 2)}%"
        for key, (hits, total) in sorted(counts.items())
    }


def score_responses(
    responses: str | Path,
    data: str | Path,
    *,
    format: DatasetFormat | None = None,
    split: str | None = None,
    scoring: Scoring = "official",
    seed: int = 0,
    timeout: float = DEFAULT_TIMEOUT,
    on_item: Callable[[ItemScore], None] | None = None,
) -> ScoreResult:
    """Score a JSONL file of responses against the items of ``data``.

    Args:
        responses: JSONL with ``id`` and ``response`` per line.
        data: The dataset (file, folder, or a MATH-V checkout), as `ted.tasks.load_dataset` reads it.
        format: The dataset format (detected when None).
        split: The dataset split.
        scoring: ``official`` or ``lenient``.
        seed: Seeds the official VisualPuzzles guesses and the bootstrap intervals.
        timeout: Seconds one latex2sympy or math-verify comparison may take.
        on_item: Called with each scored response (progress displays).

    Raises:
        RunError: The responses cannot be read, or none of their ids is in the dataset.
        DatasetError: The dataset cannot be read.
        MissingDependencyError: The scoring's library is not installed.
    """
    check_scoring(scoring)
    given = read_responses(responses)
    dataset = load_dataset(data, format=format, split=split)
    by_id = {item.id: item for item in dataset}
    unknown = [item_id for item_id in given if item_id not in by_id]
    items = [by_id[item_id] for item_id in given if item_id in by_id]
    if not items:
        raise RunError(f"none of the {len(given)} response ids of {responses} is an item of {data}")
    benchmarks = {item.benchmark for item in items}
    if len(benchmarks) != 1:
        raise DatasetError(f"the dataset mixes benchmarks ({', '.join(sorted(benchmarks))})")
    scores = []
    for item in items:
        verdict = grade_response(
            item.benchmark,
            given[item.id],
            item.answer,
            item.options,
            scoring=scoring,
            seed=seed,
            timeout=timeout,
        )
        score = ItemScore(
            id=item.id,
            answer=verdict.answer,
            correct=verdict.correct,
            guessed=verdict.guessed,
            timed_out=verdict.timed_out,
        )
        scores.append(score)
        if on_item is not None:
            on_item(score)
    correct = [score.correct for score in scores]
    benchmark = benchmarks.pop()
    return ScoreResult(
        responses=str(responses),
        dataset=str(data),
        benchmark=benchmark,
        scoring=scoring,
        seed=seed,
        scored=len(scores),
        correct=sum(correct),
        accuracy=bootstrap_interval(correct, seed=seed),
        by_category=_groups(((item.category, c) for item, c in zip(items, correct, strict=True)), seed),
        by_level=_groups(((item.level, c) for item, c in zip(items, correct, strict=True)), seed),
        official_breakdown=official_breakdown(items, correct) if benchmark == "mathvision" else {},
        guessed=sum(score.guessed for score in scores),
        timed_out=sum(score.timed_out for score in scores),
        unknown_ids=unknown[:SHOWN_IDS],
        unknown_count=len(unknown),
        unanswered=len(dataset) - len(items),
        items=scores,
    )
