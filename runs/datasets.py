"""A dataset and its seeded train/test split, chosen once and loaded the same way by every run.

`distill` trains on the train part; `evaluate` answers the test part of the same split, which it
finds from the library's runs on that dataset when its size and seed are not given.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast

from pydantic import BaseModel

if TYPE_CHECKING:
    from ted.runs.results import DatasetInfo
    from ted.tasks import DatasetFormat, Item


def dataset_key(path: str | Path) -> str:
    """How runs record a dataset: the absolute path of a local one, a dataset name as given."""
    local = Path(path).expanduser()
    return str(local.resolve()) if local.exists() else str(path)


class DatasetSplit(BaseModel):
    """A dataset (folder, file or Hugging Face name) and its seeded train/test split.

    Build it with `DatasetSplit.of`, which records a local dataset by its absolute path.
    """

    path: str
    format: str | None = None
    split: str | None = None
    """The dataset's own split (e.g. MathVision ``testmini``), not ours."""
    limit: int | None = None
    train_size: int
    seed: int

    @classmethod
    def of(
        cls,
        path: str | Path,
        *,
        train_size: int,
        seed: int = 0,
        format: str | None = None,
        split: str | None = None,
        limit: int | None = None,
    ) -> DatasetSplit:
        """The split of the dataset at ``path`` (a local path is made absolute)."""
        return cls(
            path=dataset_key(path), format=format, split=split, limit=limit, train_size=train_size, seed=seed
        )

    def load(self) -> Split:
        """Load the dataset and split it.

        Raises:
            DatasetError: The dataset cannot be read, or it has fewer items than ``train_size``.
        """
        from ted.tasks import load_dataset, split_items

        items = load_dataset(
            self.path, format=cast("DatasetFormat | None", self.format), split=self.split, limit=self.limit
        )
        train, test = split_items(items, train_size=self.train_size, seed=self.seed)
        return Split(choice=self, items=items, train=train, test=test)


@dataclass
class Split:
    """A loaded dataset and its two parts."""

    choice: DatasetSplit
    items: list[Item]
    train: list[Item]
    test: list[Item]

    def info(self, *, test_items: int | None = None) -> DatasetInfo:
        """The dataset as reports show it."""
        from ted.runs.results import DatasetInfo

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
