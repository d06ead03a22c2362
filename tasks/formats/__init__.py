"""Row converters of the dataset formats: one row of a file becomes one `ted.tasks.Item`.

Modules (each with ``REQUIRED_COLUMNS`` and ``to_item(row, place)``):
- `ted.tasks.formats.mathvision`: MathVision (MATH-V), HF parquet or GitHub JSONL.
- `ted.tasks.formats.visualpuzzles`: VisualPuzzles, HF parquet.
- `ted.tasks.formats.generic`: the generic JSONL format for users' own data.
- `ted.tasks.formats.fields`: reading and checking single fields; `RowPlace` (where a row comes from).
"""

from ted.tasks.formats.fields import RowPlace

__all__ = ["RowPlace"]
