"""A short description of a dataset: size, categories, images, options and problems."""

from __future__ import annotations

from collections import Counter

from pydantic import BaseModel, Field

from ted.tasks.loading import Scan

MAX_PROBLEMS_SHOWN = 10


class DatasetSummary(BaseModel):
    """What `ted data inspect` reports about a dataset."""

    path: str = Field(description="The file, folder or dataset name that was read.")
    format: str = Field(description="The dataset format: mathvision, visualpuzzles or jsonl.")
    benchmark: str = Field(description="The scoring rules its items follow.")
    split: str | None = Field(description="The split read, when the format has splits.")
    count: int = Field(description="How many items loaded without problems.")
    categories: dict[str, int] = Field(description="Items per category, most frequent first.")
    levels: dict[str, int] = Field(description="Items per level, in level order.")
    with_images: int = Field(description="Items with at least one image.")
    with_options: int = Field(description="Items with option texts (multiple choice).")
    problem_count: int = Field(description="How many rows had problems.")
    problems: list[str] = Field(description="The first problems, each naming its file and row.")


def _level_order(level: str) -> tuple[int, float, str]:
    try:
        return (0, float(level), level)
    except ValueError:
        return (1, 0.0, level)


def summarize(scan: Scan, *, max_problems: int = MAX_PROBLEMS_SHOWN) -> DatasetSummary:
    """Summarise a scan; the first ``max_problems`` problems are listed."""
    items = scan.items
    categories = Counter(item.category or "(none)" for item in items)
    levels = Counter(item.level or "(none)" for item in items)
    return DatasetSummary(
        path=scan.name,
        format=scan.format,
        benchmark="generic" if scan.format == "jsonl" else scan.format,
        split=scan.split,
        count=len(items),
        categories=dict(sorted(categories.items(), key=lambda pair: (-pair[1], pair[0]))),
        levels=dict(sorted(levels.items(), key=lambda pair: _level_order(pair[0]))),
        with_images=sum(1 for item in items if item.images),
        with_options=sum(1 for item in items if item.options),
        problem_count=len(scan.problems),
        problems=[str(problem) for problem in scan.problems[:max_problems]],
    )
