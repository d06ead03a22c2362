"""The order a distillation run visits its items, and where its learning-curve points fall.

A run visits ``epochs`` passes over its items: the first in the given order, later ones in an order
seeded by the run's ``seed``. Each visit is a *unit* (an epoch and an item), numbered in that order.

Two schedules run the units:

- ``stream`` (the default): up to ``window`` units in flight; a new unit starts as soon as one
  frees its slot, when it finishes or, earlier, when its reflection is over (it calls no model after
  that; recording its usage statistics goes on beside the new unit). A point of the learning curve is
  taken every ``batch_size`` finished units (and at the end), in the order they finish.
- ``batches``: the units in batches of ``batch_size`` (a batch never crosses an epoch), each batch
  started when the previous one has finished; a point is taken after each batch. This is the
  schedule of earlier versions, kept for comparison: every batch waits for its slowest item.

Compression is considered at each point, as before: on schedule (``compress_every`` items since the
last one) or when the library is over its cap, never at the last point (the run's end compresses).
"""

from __future__ import annotations

import math
import random
from typing import Literal, NamedTuple

Schedule = Literal["stream", "batches"]
SCHEDULES: tuple[Schedule, ...] = ("stream", "batches")


class Unit(NamedTuple):
    """One visit of an item: its epoch and the item's position in the run's items."""

    epoch: int
    item: int


def units(count: int, epochs: int, seed: int) -> list[Unit]:
    """Every visit of a run, in the order the run starts them."""
    order: list[Unit] = []
    for epoch in range(epochs):
        indices = list(range(count))
        if epoch > 0:
            random.Random(f"{seed}/{epoch}").shuffle(indices)
        order.extend(Unit(epoch, index) for index in indices)
    return order


def batch_starts(count: int, epochs: int, batch_size: int) -> list[int]:
    """Positions (in `units` order) where a batch of the ``batches`` schedule starts."""
    per_epoch = math.ceil(count / batch_size)
    return [epoch * count + n * batch_size for epoch in range(epochs) for n in range(per_epoch)]


def point_count(count: int, epochs: int, batch_size: int, schedule: Schedule) -> int:
    """How many learning-curve points a finished run has."""
    if schedule == "batches":
        return math.ceil(count / batch_size) * epochs
    return math.ceil(count * epochs / batch_size)


def points_due(done_before: int, done_now: int, total: int, batch_size: int) -> list[int]:
    """Finished-unit counts at which the ``stream`` schedule takes a point, between two counts."""
    marks = [n for n in range(done_before + 1, done_now + 1) if n % batch_size == 0 or n == total]
    return marks
