"""Datasets, images, scoring and synthetic puzzles.

Public API: `Item`, `Benchmark`.
"""

from ted.tasks.items import Benchmark, Item

__all__ = ["Benchmark", "Item"]
