"""Accuracy with confidence intervals, and the paired comparison of the library against the baseline.

Accuracy is the mean over items of each item's share of right answers (over repeats), with a seeded
percentile bootstrap interval over items. The comparison is McNemar's exact test with one repeat, or
the exact sign test on per-item mean accuracy with several, and the bootstrapped difference; it is made
for the library against the baseline, and against each retrieval ablation.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import TYPE_CHECKING

from ted.runs.results import CategoryResult, Comparison, ConditionResult
from ted.tasks.metrics import bootstrap_interval, mcnemar_exact, paired_difference, sign_test, spread

if TYPE_CHECKING:
    from ted.runs.answers import Answer, Condition


def item_shares(answers: Sequence[Answer]) -> dict[str, Fraction]:
    """Each item's share of right answers over its graded repeats, as a fraction (never graded: left out)."""
    outcomes: dict[str, list[bool]] = defaultdict(list)
    for answer in answers:
        if answer["error"] is None:
            outcomes[answer["item_id"]].append(answer["correct"])
    return {item_id: Fraction(sum(values), len(values)) for item_id, values in outcomes.items()}


def item_scores(answers: Sequence[Answer]) -> dict[str, float]:
    """Each item's share of right answers over its graded repeats (items never graded are left out)."""
    return {item_id: float(share) for item_id, share in item_shares(answers).items()}


def _condition(answers: Sequence[Answer], condition: str, seed: int) -> ConditionResult | None:
    mine = [a for a in answers if a["condition"] == condition]
    shares = item_shares(mine)
    if not shares:
        return None
    per_repeat = []
    for repeat in sorted({a["repeat"] for a in mine}):
        graded = [a["correct"] for a in mine if a["repeat"] == repeat and a["error"] is None]
        if graded:
            per_repeat.append(sum(graded) / len(graded))
    graded_count = sum(a["error"] is None for a in mine)
    accuracy = bootstrap_interval([float(share) for share in shares.values()], seed=seed)
    # Shares such as 1/3 and 2/3 added up as floats can end an ulp below the same mean counted exactly,
    # and so below the accuracy of every repeat when the repeats all scored the same.
    exact = sum(shares.values(), Fraction(0)) / len(shares)
    return ConditionResult(
        condition=condition,
        accuracy=accuracy.model_copy(update={"estimate": float(exact)}),
        answers=len(mine),
        graded=graded_count,
        failed=len(mine) - graded_count,
        repeats=spread(per_repeat),
    )


def _comparison(
    answers: Sequence[Answer],
    by_condition: Mapping[str, dict[str, float]],
    seed: int,
    other: str = "baseline",
) -> Comparison | None:
    """The library against ``other`` on the items both graded."""
    if "library" not in by_condition or other not in by_condition:
        return None
    paired = sorted(set(by_condition["library"]) & set(by_condition[other]))
    if not paired:
        return None
    baseline = [by_condition[other][i] for i in paired]
    library = [by_condition["library"][i] for i in paired]
    single = max((a["repeat"] for a in answers), default=0) == 0
    test = (
        mcnemar_exact([s == 1.0 for s in baseline], [s == 1.0 for s in library])
        if single
        else sign_test(baseline, library)
    )
    return Comparison(
        items=len(paired),
        method="McNemar's exact test" if single else "Exact sign test on per-item mean accuracy",
        test=test,
        difference=paired_difference(baseline, library, seed=seed),
    )


def analyse(
    answers: Sequence[Answer], conditions: Sequence[Condition], *, seed: int = 0
) -> tuple[list[ConditionResult], list[CategoryResult], Comparison | None]:
    """Accuracy per condition and category with bootstrap intervals, and the paired comparisons.

    The comparison returned is the library against the baseline; every other condition also carries
    its own comparison with the library (``versus_library``).
    """
    by_condition: dict[str, dict[str, float]] = {
        c: item_scores([a for a in answers if a["condition"] == c]) for c in conditions
    }
    results = []
    for c in conditions:
        result = _condition(answers, c, seed)
        if result is not None and c != "library":
            result.versus_library = _comparison(answers, by_condition, seed, other=c)
        if result is not None:
            results.append(result)
    category_of = {a["item_id"]: a["category"] or "(none)" for a in answers}
    categories = []
    for category in sorted(set(category_of.values())):
        members = {item_id for item_id, name in category_of.items() if name == category}
        intervals = {}
        for condition in ("library", "baseline"):
            scores = [s for item_id, s in by_condition.get(condition, {}).items() if item_id in members]
            intervals[condition] = bootstrap_interval(scores, seed=seed) if scores else None
        categories.append(
            CategoryResult(
                category=category,
                items=len(members),
                library=intervals["library"],
                baseline=intervals["baseline"],
            )
        )
    return results, categories, _comparison(answers, by_condition, seed)
