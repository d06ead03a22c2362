"""Datasets, images and scoring: what TED learns from and how answers are graded.

Public API:
- `Item`, `Benchmark`: one labelled multimodal question, and the names of the scoring rules.
- `load_dataset(path, format=, split=, limit=)`: MathVision, VisualPuzzles or generic JSONL, from local
  parquet/JSONL files or, with the ``hf`` extra, by dataset name; `scan_dataset` also collects bad rows.
- `split_items(items, train_size=, seed=)`: a seeded, disjoint train/test split.
- `score_answer`, `extract_answer`, `answer_instruction`, `format_question`, `render_prompt`:
  each benchmark's official prompt, answer extraction and matching.
- `prepare_image(source, max_side=, max_pixels=, root=)`: an image as a data URL for a vision model.
- `summarize(scan)`, `DatasetSummary`: what `ted data inspect` shows.
- Errors: `DatasetError` (names the file and row), `ImageError`, `MissingDependencyError`.

The synthetic puzzle generator lives in `ted.tasks.synth` and is imported from there.
"""

from ted.tasks.errors import DatasetError, ImageError, MissingDependencyError
from ted.tasks.images import prepare_image, probe_image
from ted.tasks.items import Benchmark, Item
from ted.tasks.loading import Scan, load_dataset, scan_dataset
from ted.tasks.scoring import (
    BENCHMARKS,
    answer_instruction,
    extract_answer,
    format_question,
    render_prompt,
    score_answer,
)
from ted.tasks.sources import FORMATS, DatasetFormat
from ted.tasks.split import split_items
from ted.tasks.summary import DatasetSummary, summarize

__all__ = [
    "BENCHMARKS",
    "FORMATS",
    "Benchmark",
    "DatasetError",
    "DatasetFormat",
    "DatasetSummary",
    "ImageError",
    "Item",
    "MissingDependencyError",
    "Scan",
    "answer_instruction",
    "extract_answer",
    "format_question",
    "load_dataset",
    "prepare_image",
    "probe_image",
    "render_prompt",
    "scan_dataset",
    "score_answer",
    "split_items",
    "summarize",
]
