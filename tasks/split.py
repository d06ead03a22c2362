"""A seeded train/test split that never overlaps and does not depend on item order."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence

from ted.tasks.errors import DatasetError
from ted.tasks.items import Item


def _rank(seed: int, item_id: str) -> str:
    return hashlib.sha256(f"{seed}\x00{item_id}".encode()).hexdigest()


def split_items(items: Sequence[Item], *, train_size: int, seed: int) -> tuple[list[Item], list[Item]]:
    """Split items into a training part of ``train_size`` items and a test part with the rest.

    The training items are those whose id ranks first under a hash seeded by ``seed``: the same ids
    and seed always give the same split, whatever the order of the items or the Python version, and
    adding items to a dataset moves few of them. Both parts keep the items' original order.

    Args:
        items: The items to split; their ids must be unique.
        train_size: How many training items to take.
        seed: Chooses which items.

    Returns:
        ``(train, test)``, disjoint and together holding every item.

    Raises:
        DatasetError: ``train_size`` is negative or larger than the dataset, or ids repeat.
    """
    if train_size < 0 or train_size > len(items):
        raise DatasetError(f"cannot take {train_size} training items from a dataset of {len(items)}")
    ids = [item.id for item in items]
    if len(set(ids)) != len(ids):
        repeated = sorted(item_id for item_id, count in Counter(ids).items() if count > 1)
        raise DatasetError(f"item ids must be unique to split a dataset; repeated: {', '.join(repeated[:5])}")
    chosen = set(sorted(ids, key=lambda item_id: _rank(seed, item_id))[:train_size])
    train = [item for item in items if item.id in chosen]
    test = [item for item in items if item.id not in chosen]
    return train, test
