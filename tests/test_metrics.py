"""Evaluation statistics: bootstrap intervals, exact McNemar / sign tests, spread."""

from __future__ import annotations

import math

import pytest

from ted.tasks.metrics import (
    binomial_two_sided,
    bootstrap_interval,
    mcnemar_exact,
    paired_difference,
    sign_test,
    spread,
)


def test_binomial_two_sided_matches_hand_computed_values() -> None:
    # 0 of 5: 2 * (1/32) = 0.0625; 1 of 10: 2 * (1 + 10) / 1024.
    assert binomial_two_sided(0, 5) == pytest.approx(0.0625)
    assert binomial_two_sided(1, 10) == pytest.approx(22 / 1024)
    assert binomial_two_sided(9, 10) == binomial_two_sided(1, 10)
    # The middle of the distribution is capped at 1, and no trials is no evidence.
    assert binomial_two_sided(5, 10) == 1.0
    assert binomial_two_sided(0, 0) == 1.0
    with pytest.raises(ValueError):
        binomial_two_sided(3, 2)


def test_mcnemar_counts_only_discordant_pairs() -> None:
    baseline = [True, True, False, False, False, False, False, True]
    library = [True, False, True, True, True, True, True, True]
    result = mcnemar_exact(baseline, library)
    assert (result.first_better, result.second_better, result.ties) == (1, 5, 2)
    # Exact binomial: 2 * P(X <= 1 | n=6) = 2 * 7/64.
    assert result.p_value == pytest.approx(14 / 64)


def test_mcnemar_on_a_large_effect_is_significant_and_symmetric() -> None:
    baseline = [False] * 30 + [True] * 10
    library = [True] * 30 + [True] * 10
    forward = mcnemar_exact(baseline, library)
    backward = mcnemar_exact(library, baseline)
    assert forward.p_value < 1e-8
    assert forward.p_value == backward.p_value
    assert (backward.first_better, backward.second_better) == (30, 0)


def test_mcnemar_rejects_scores_and_unequal_lengths() -> None:
    with pytest.raises(ValueError, match="True/False"):
        mcnemar_exact([0.5], [1.0])  # type: ignore[list-item]
    with pytest.raises(ValueError, match="same number"):
        mcnemar_exact([True], [True, False])


def test_sign_test_on_mean_scores_keeps_one_vote_per_item() -> None:
    # Three repeats per item: item means. Item 3 ties.
    first = [0.0, 1 / 3, 2 / 3, 1.0]
    second = [1.0, 2 / 3, 2 / 3, 0.0]
    result = sign_test(first, second)
    assert (result.first_better, result.second_better, result.ties) == (1, 2, 1)
    assert result.p_value == 1.0


def test_bootstrap_interval_is_seeded_and_brackets_the_mean() -> None:
    outcomes = [True] * 30 + [False] * 20
    first = bootstrap_interval(outcomes, seed=7)
    again = bootstrap_interval(outcomes, seed=7)
    other = bootstrap_interval(outcomes, seed=8)
    assert first == again
    assert (first.low, first.high) != (other.low, other.high)
    assert first.estimate == 0.6 and first.n == 50
    assert first.low < 0.6 < first.high
    # The normal approximation gives a half-width near 1.96 * sqrt(.6 * .4 / 50) = 0.136.
    assert 0.10 < (first.high - first.low) / 2 < 0.17


def test_bootstrap_interval_of_constant_scores_is_a_point() -> None:
    interval = bootstrap_interval([1.0, 1.0, 1.0])
    assert (interval.low, interval.estimate, interval.high) == (1.0, 1.0, 1.0)


def test_bootstrap_rejects_bad_settings() -> None:
    with pytest.raises(ValueError, match="confidence"):
        bootstrap_interval([1.0], confidence=1.5)
    with pytest.raises(ValueError, match="resamples"):
        bootstrap_interval([1.0], resamples=0)
    with pytest.raises(ValueError, match="NaN"):
        bootstrap_interval([math.nan])


def test_paired_difference_resamples_pairs() -> None:
    first = [False] * 20 + [True] * 20
    second = [True] * 20 + [True] * 20
    difference = paired_difference(first, second, seed=1)
    assert difference.estimate == 0.5
    assert 0.3 < difference.low < 0.5 < difference.high < 0.7
    with pytest.raises(ValueError, match="same number"):
        paired_difference([True], [True, True])


def test_spread_uses_the_sample_standard_deviation() -> None:
    result = spread([0.5, 0.7, 0.6])
    assert result.mean == pytest.approx(0.6)
    assert result.std == pytest.approx(0.1)
    assert (result.min, result.max, result.n) == (0.5, 0.7, 3)
    assert spread([0.4]).std == 0.0
