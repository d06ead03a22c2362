"""The utility score: how useful an experience has proved, from its usage statistics.

The score is the mean of a Beta posterior over "this experience helps", starting from a uniform
prior (one pseudo-observation each way), so an experience without evidence scores exactly 0.5 and
a few observations cannot push it to the extremes::

    positive = 2 * helpful + cited_correct
    negative = 2 * harmful + cited_wrong + 0.1 * max(0, retrieved - cited)
    utility  = (positive + 1) / (positive + negative + 2)          # in (0, 1)

- A teacher vote weighs twice a citation: it is an explicit judgement by the stronger model, while a
  citation in a correct (or wrong) trajectory is only a correlation.
- Being retrieved and then ignored is weak evidence of irrelevance: ten uncited retrievals count
  as one negative observation.

`evidence` is ``positive + negative``, the weighted number of observations behind the score; pruning
acts only on experiences with enough of it.
"""

from __future__ import annotations

from ted.memory.models import UsageStats

VOTE_WEIGHT = 2.0
"""Weight of one helpful / harmful teacher vote."""

CITATION_WEIGHT = 1.0
"""Weight of one citation in a trajectory graded correct / wrong."""

IGNORED_WEIGHT = 0.1
"""Weight of one retrieval that no trajectory cited (a negative observation)."""

PRIOR = 1.0
"""Pseudo-observations on each side; with no evidence the utility is 0.5."""


def _positive(stats: UsageStats) -> float:
    return VOTE_WEIGHT * stats.helpful + CITATION_WEIGHT * stats.cited_correct


def _negative(stats: UsageStats) -> float:
    ignored = max(0, stats.retrieved - stats.cited)
    return VOTE_WEIGHT * stats.harmful + CITATION_WEIGHT * stats.cited_wrong + IGNORED_WEIGHT * ignored


def utility(stats: UsageStats) -> float:
    """Smoothed usefulness in (0, 1); 0.5 when there is no evidence. See the module docstring."""
    positive, negative = _positive(stats), _negative(stats)
    return (positive + PRIOR) / (positive + negative + 2 * PRIOR)


def evidence(stats: UsageStats) -> float:
    """The weighted number of observations behind `utility` (0 for an unused experience)."""
    return _positive(stats) + _negative(stats)
