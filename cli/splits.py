"""Loading a dataset and its seeded train/test split, the same way for `ted distill` and `ted eval`."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast

from ted.cli.runs import DatasetChoice
from ted.cli.summaries import DatasetInfo

if TYPE_CHECKING:
    from ted.tasks import DatasetFormat, Item


@dataclass
class Split:
    """A loaded dataset and its two parts."""

    choice: DatasetChoice
    items: list[Item]
    train: list[Item]
    test: list[Item]

    def info(self, *, test_items: int | None = None) -> DatasetInfo:
        """The dataset as reports show it."""
        return DatasetInfo(
            path=self.choice.path,
            format=self.choice.format,
            split=self.choice.split,
            limit=self.choice.limit,
            items=len(self.items),
            train_size=self.choice.train_size,
            seed=self.choice.seed,
            train_items=len(self.train),
            test_items=len(self.test) if test_items is None else test_items,
        )


def dataset_key(path: str | Path) -> str:
    """How runs record a dataset: the absolute path of a local one, a dataset name as given."""
    local = Path(path).expanduser()
    return str(local.resolve()) if local.exists() else str(path)


def dataset_choice(
    path: str | Path, *, format: str | None, split: str | None, limit: int | None, train_size: int, seed: int
) -> DatasetChoice:
    """A dataset choice as runs record it."""
    return DatasetChoice(
        path=dataset_key(path), format=format, split=split, limit=limit, train_size=train_size, seed=seed
    )


def load_split(choice: DatasetChoice) -> Split:
    """Load the dataset and split it.

    Raises:
        DatasetError: The dataset cannot be read, or it has fewer items than ``train_size``.
    """
    from ted.tasks import load_dataset, split_items

    items = load_dataset(
        choice.path,
        format=cast("DatasetFormat | None", choice.format),
        split=choice.split,
        limit=choice.limit,
    )
    train, test = split_items(items, train_size=choice.train_size, seed=choice.seed)
    return Split(choice=choice, items=items, train=train, test=test)
