"""Evaluation statistics: accuracy, bootstrap confidence intervals and exact paired tests.

Pure functions over per-item outcomes (``True``/``False``, or a score in [0, 1] such as the mean of
several sampled answers to one item). Everything is deterministic: the bootstrap is seeded.

- `bootstrap_interval(scores, ...)`: a percentile bootstrap interval of the mean, resampling items.
- `paired_difference(first, second, ...)`: the mean of ``second - first`` per item, with its interval.
- `mcnemar_exact(first, second)`: McNemar's exact two-sided test on paired right/wrong outcomes.
- `sign_test(first, second)`: the same test on paired scores (it equals McNemar's for 0/1 outcomes).
- `spread(values)`: mean, sample standard deviation, minimum and maximum (e.g. over repeats).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction

from pydantic import BaseModel, Field

DEFAULT_RESAMPLES = 2000
DEFAULT_CONFIDENCE = 0.95


class Interval(BaseModel):
    """A point estimate with a confidence interval."""

    estimate: float
    low: float
    high: float
    confidence: float = Field(description="Coverage of the interval, e.g. 0.95.")
    n: int = Field(description="Number of items the estimate is over.")


class PairedTest(BaseModel):
    """An exact two-sided test of paired outcomes (McNemar's test, or the sign test on scores)."""

    first_better: int = Field(description="Items where the first condition scored higher.")
    second_better: int = Field(description="Items where the second condition scored higher.")
    ties: int = Field(description="Items with equal scores; they carry no evidence either way.")
    p_value: float


class Spread(BaseModel):
    """How a quantity varied over repeats."""

    mean: float
    std: float = Field(description="Sample standard deviation (0 for a single value).")
    min: float
    max: float
    n: int


def _scores(values: Sequence[float | bool], name: str = "scores") -> list[float]:
    if len(values) == 0:
        raise ValueError(f"{name} must not be empty")
    scores = [float(value) for value in values]
    if any(math.isnan(score) for score in scores):
        raise ValueError(f"{name} must not contain NaN")
    return scores


def _percentile_interval(
    values: Sequence[float], *, resamples: int, confidence: float, seed: int
) -> tuple[float, float]:
    import numpy as np

    data = np.asarray(values, dtype=float)
    rng = np.random.default_rng(seed)
    picks = rng.integers(0, len(data), size=(resamples, len(data)))
    means = data[picks].mean(axis=1)
    tail = (1.0 - confidence) / 2.0
    low, high = np.quantile(means, [tail, 1.0 - tail])
    return float(low), float(high)


def _check(resamples: int, confidence: float) -> None:
    if resamples < 1:
        raise ValueError(f"resamples must be at least 1, got {resamples}")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")


def bootstrap_interval(
    scores: Sequence[float | bool],
    *,
    resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int = 0,
) -> Interval:
    """The mean of ``scores`` with a percentile bootstrap interval (items resampled with replacement).

    Args:
        scores: One score per item.
        resamples: Bootstrap resamples.
        confidence: Coverage of the interval.
        seed: Seed of the resampling; the same inputs and seed give the same interval.

    Raises:
        ValueError: If ``scores`` is empty or the settings are out of range.
    """
    _check(resamples, confidence)
    values = _scores(scores)
    low, high = _percentile_interval(values, resamples=resamples, confidence=confidence, seed=seed)
    return Interval(
        estimate=sum(values) / len(values), low=low, high=high, confidence=confidence, n=len(values)
    )


def _paired(first: Sequence[float | bool], second: Sequence[float | bool]) -> tuple[list[float], list[float]]:
    a, b = _scores(first, "first"), _scores(second, "second")
    if len(a) != len(b):
        raise ValueError(f"paired outcomes need the same number of items, got {len(a)} and {len(b)}")
    return a, b


def paired_difference(
    first: Sequence[float | bool],
    second: Sequence[float | bool],
    *,
    resamples: int = DEFAULT_RESAMPLES,
    confidence: float = DEFAULT_CONFIDENCE,
    seed: int = 0,
) -> Interval:
    """The mean per-item difference ``second - first``, with a bootstrap interval over items.

    Resampling items keeps each item's pair together, so the interval reflects the paired design.

    Raises:
        ValueError: If the sequences are empty or of different lengths.
    """
    _check(resamples, confidence)
    a, b = _paired(first, second)
    differences = [y - x for x, y in zip(a, b, strict=True)]
    return bootstrap_interval(differences, resamples=resamples, confidence=confidence, seed=seed)


def binomial_two_sided(successes: int, trials: int) -> float:
    """Exact two-sided p-value of ``successes`` in ``trials`` fair coin flips.

    Twice the smaller tail, capped at 1 (the distribution is symmetric, so this is the usual
    "as or more extreme" p-value). Zero trials give 1.
    """
    if trials < 0 or not 0 <= successes <= trials:
        raise ValueError(f"need 0 <= successes <= trials, got {successes} of {trials}")
    if trials == 0:
        return 1.0
    smaller = min(successes, trials - successes)
    tail = Fraction(sum(math.comb(trials, k) for k in range(smaller + 1)), 2**trials)
    return float(min(Fraction(1), 2 * tail))


def sign_test(first: Sequence[float | bool], second: Sequence[float | bool]) -> PairedTest:
    """Exact two-sided sign test on paired per-item scores.

    Items where both conditions score the same are ties and drop out; under the null hypothesis each
    remaining item is equally likely to favour either condition. For right/wrong outcomes this is
    exactly McNemar's exact test; for scores averaged over repeated samples it is its natural
    generalisation that keeps one vote per item (repeats of one item are not independent).

    Raises:
        ValueError: If the sequences are empty or of different lengths.
    """
    a, b = _paired(first, second)
    first_better = sum(x > y for x, y in zip(a, b, strict=True))
    second_better = sum(y > x for x, y in zip(a, b, strict=True))
    discordant = first_better + second_better
    return PairedTest(
        first_better=first_better,
        second_better=second_better,
        ties=len(a) - discordant,
        p_value=binomial_two_sided(second_better, discordant),
    )


def mcnemar_exact(first: Sequence[bool], second: Sequence[bool]) -> PairedTest:
    """McNemar's exact two-sided test on paired right/wrong outcomes of the same items.

    Only discordant pairs count: ``first_better`` items were right under the first condition only,
    ``second_better`` under the second only; the p-value is that of a fair binomial on them.

    Raises:
        ValueError: If the sequences are empty, of different lengths, or not all True/False.
    """
    if any(not isinstance(value, bool) for value in [*first, *second]):
        raise ValueError("McNemar's test takes True/False outcomes; use sign_test for scores")
    return sign_test(first, second)


def spread(values: Sequence[float]) -> Spread:
    """Mean, sample standard deviation, minimum and maximum of ``values``.

    Raises:
        ValueError: If ``values`` is empty.
    """
    data = _scores(values, "values")
    mean = sum(data) / len(data)
    variance = sum((x - mean) ** 2 for x in data) / (len(data) - 1) if len(data) > 1 else 0.0
    return Spread(mean=mean, std=math.sqrt(variance), min=min(data), max=max(data), n=len(data))
