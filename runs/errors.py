"""Errors of runs: their records, price tables and datasets, each one sentence a person can act on."""

from __future__ import annotations


class RunError(Exception):
    """Base of the errors of `ted.runs`."""


class PricesError(RunError):
    """The price table cannot be read; the message names the file."""


class RunRecordError(RunError):
    """A run to resume is missing, or its record cannot be read."""


class NothingToEvaluate(RunError):
    """No library to evaluate, or no held-out item left once training items are removed."""


class RunStopped(RunError):
    """A distillation stopped before its end (interrupted, or a fatal model error); it can be resumed.

    Attributes:
        run_id: The run, which ``resume`` continues.
        library: The library folder holding its record and checkpoints.
        reason: What stopped it.
    """

    def __init__(self, message: str, *, run_id: str, library: str, reason: str) -> None:
        super().__init__(message)
        self.run_id = run_id
        self.library = library
        self.reason = reason


class EvaluationStopped(RunError):
    """An evaluation stopped before its end (interrupted, or a fatal model error); it can be resumed.

    Attributes:
        eval_id: The evaluation, which `Evaluation.resume` continues.
        library: The library folder holding its record and answers.
        answers: Answers kept so far (a resumed evaluation does not ask them again).
        reason: What stopped it (``interrupted``, or the error).
    """

    def __init__(self, message: str, *, eval_id: str, library: str, answers: int, reason: str) -> None:
        super().__init__(message)
        self.eval_id = eval_id
        self.library = library
        self.answers = answers
        self.reason = reason
