"""split_items: seeded, disjoint, complete, and independent of item order."""

from __future__ import annotations

import pytest

from ted.tasks import DatasetError, Item, split_items


def _items(count: int) -> list[Item]:
    return [Item(id=str(number), question=f"q{number}", answer="1") for number in range(count)]


def test_split_is_disjoint_complete_and_sized() -> None:
    items = _items(300)
    train, test = split_items(items, train_size=100, seed=7)
    train_ids, test_ids = {item.id for item in train}, {item.id for item in test}
    assert len(train) == 100 and len(test) == 200
    assert not train_ids & test_ids
    assert train_ids | test_ids == {item.id for item in items}


def test_split_keeps_the_original_order() -> None:
    items = _items(50)
    train, test = split_items(items, train_size=10, seed=1)
    position = {item.id: index for index, item in enumerate(items)}
    assert [position[item.id] for item in train] == sorted(position[item.id] for item in train)
    assert [position[item.id] for item in test] == sorted(position[item.id] for item in test)


def test_same_seed_same_split_whatever_the_order() -> None:
    items = _items(120)
    train, _ = split_items(items, train_size=30, seed=3)
    train_reversed, _ = split_items(list(reversed(items)), train_size=30, seed=3)
    assert {item.id for item in train} == {item.id for item in train_reversed}


def test_other_seed_other_split() -> None:
    items = _items(120)
    first, _ = split_items(items, train_size=30, seed=3)
    second, _ = split_items(items, train_size=30, seed=4)
    assert {item.id for item in first} != {item.id for item in second}


def test_growing_the_dataset_moves_few_training_items() -> None:
    train_small, _ = split_items(_items(1000), train_size=100, seed=0)
    train_large, _ = split_items(_items(1010), train_size=100, seed=0)
    assert len({item.id for item in train_small} & {item.id for item in train_large}) >= 95


def test_edge_sizes() -> None:
    items = _items(5)
    assert split_items(items, train_size=0, seed=0) == ([], items)
    assert split_items(items, train_size=5, seed=0) == (items, [])


def test_bad_sizes_and_repeated_ids() -> None:
    with pytest.raises(DatasetError, match="cannot take 6 training items from a dataset of 5"):
        split_items(_items(5), train_size=6, seed=0)
    with pytest.raises(DatasetError, match="cannot take -1"):
        split_items(_items(5), train_size=-1, seed=0)
    with pytest.raises(DatasetError, match="repeated: 1"):
        split_items([*_items(3), Item(id="1", question="again", answer="2")], train_size=1, seed=0)
