"""Distil, evaluate and solve on datasets: the public API that the `ted` command is built on.

- `distill(data, context)`: distil the train part of a dataset (a `DatasetSplit`) or the items given
  into the context's library, checkpointed and recorded; `resume(library)` continues a stopped run.
  Returns a `DistillResult` (training accuracy, learning curve, library, costs, errors).
- `evaluate(data, context)`: the student with and without the library on the held-out items, with
  bootstrap intervals and the paired test. Returns an `EvaluationResult`. Answers are kept as they
  arrive; `Evaluation.resume(library)` continues a stopped evaluation without asking them again.
- `solve(item, context)`: one answer, with the experiences it was given. Returns a `SolveResult`.
- `score_responses(responses, data, scoring=)`: accuracy of a JSONL file of responses on a dataset,
  overall, per category and level (MathVision: also as MATH-V prints it). Returns a `ScoreResult`.
- `Demo` / `run_demo`: the whole pipeline offline on synthetic puzzles and simulated models.

Every result writes its report folder (``summary.json``, ``report.md``, charts) with `write_report`.
`DistillRun` and `Evaluation` are the same steps prepared first, for progress displays that want the
totals before the work starts. Costs need a price table (`load_prices`).

Example:
    >>> from ted.graph import Context
    >>> from ted.runs import DatasetSplit, distill, evaluate
    >>> data = DatasetSplit.of("puzzles", train_size=12)
    >>> context = Context(library="library")
    >>> run = await distill(data, context)  # doctest: +SKIP
    >>> result = await evaluate(data, context)  # doctest: +SKIP
    >>> result.library_accuracy, result.comparison.test.p_value  # doctest: +SKIP
    >>> result.write_report()  # doctest: +SKIP
"""

from ted.runs.costs import PriceTable, load_prices
from ted.runs.datasets import DatasetSplit
from ted.runs.demo import Demo, run_demo
from ted.runs.distillation import DistillRun, distill, resume
from ted.runs.errors import EvaluationStopped, NothingToEvaluate, RunError, RunStopped
from ted.runs.evaluation import Evaluation, evaluate, held_out_split
from ted.runs.records import all_runs
from ted.runs.rescoring import ScoreResult, score_responses
from ted.runs.results import DemoResult, DistillResult, EvaluationResult, SolveResult
from ted.runs.solving import solve

__all__ = [
    "DatasetSplit",
    "Demo",
    "DemoResult",
    "DistillResult",
    "DistillRun",
    "Evaluation",
    "EvaluationResult",
    "EvaluationStopped",
    "NothingToEvaluate",
    "PriceTable",
    "RunError",
    "RunStopped",
    "ScoreResult",
    "SolveResult",
    "all_runs",
    "distill",
    "evaluate",
    "held_out_split",
    "load_prices",
    "resume",
    "run_demo",
    "score_responses",
    "solve",
]
