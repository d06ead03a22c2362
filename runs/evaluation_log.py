"""What an evaluation keeps while it runs, so that a stopped one resumes without asking again.

An evaluation of a library keeps ``<library>/evaluations/<eval_id>/``:

- ``evaluation.json``: what it evaluates (the dataset split and the test item ids, the conditions,
  repeats, decoding settings and the library's version) and how far it got;
- ``answers.jsonl``: one line per answer with its token usage and recorded failures, appended and
  flushed as each answer arrives. A line cut short by a kill is ignored on reading.

An answer is known by its item, condition and repeat, and by the library version it was made with:
a resumed evaluation reuses the answers of the same library version, and asks again those made with
the library before it changed (the baseline does not depend on the library and is always reused).
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Literal

from pydantic import BaseModel, Field, ValidationError
from typing_extensions import TypedDict

from ted.graph.state import ErrorRecord, Usage
from ted.runs.answers import Answer, Answered, AnswerKey, Condition
from ted.runs.datasets import DatasetSplit
from ted.runs.errors import RunRecordError
from ted.runs.records import write_record

EVALUATIONS_DIR = "evaluations"
RECORD_NAME = "evaluation.json"
ANSWERS_NAME = "answers.jsonl"
EvaluationStatus = Literal["running", "interrupted", "failed", "finished"]


class EvaluationRecord(BaseModel):
    """One evaluation of a library, as `Evaluation.resume` needs it."""

    eval_id: str
    status: EvaluationStatus
    started: datetime
    updated: datetime
    attempts: int = Field(default=1, description="1 plus the number of resumes.")
    error: str | None = None
    dataset: DatasetSplit | None = Field(description="The dataset and split; None for items given in Python.")
    test_ids: list[str] = Field(description="The held-out items evaluated, in order.")
    removed: list[str] = Field(default_factory=list, description="Test items left out as training items.")
    runs_checked: int = 0
    training_ids: int = 0
    conditions: list[Condition]
    repeats: int
    concurrency: int
    seed: int
    context: dict[str, Any] = Field(description="The evaluation's Context settings (prompts left out).")
    library_version: int = Field(description="The library's version when the answers were last asked.")
    prices: str | None = None
    report_dir: str
    seconds: float = Field(default=0.0, description="Wall time spent answering, over all attempts.")
    simulated: bool = False

    @property
    def unfinished(self) -> bool:
        """Whether `Evaluation.resume` can continue it."""
        return self.status != "finished"


class LoggedAnswer(TypedDict):
    """One line of ``answers.jsonl``."""

    answer: Answer
    usage: list[Usage]
    errors: list[ErrorRecord]
    library_version: int


def evaluation_dir(library: str | Path, eval_id: str) -> Path:
    """Where evaluation ``eval_id`` of ``library`` keeps its record and answers."""
    return Path(library).expanduser() / EVALUATIONS_DIR / eval_id


def save_record(library: str | Path, record: EvaluationRecord) -> None:
    """Write ``record`` atomically."""
    write_record(evaluation_dir(library, record.eval_id) / RECORD_NAME, record)


def _load(path: Path) -> EvaluationRecord:
    try:
        return EvaluationRecord.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValidationError, ValueError) as exc:
        raise RunRecordError(f"{path} is not a readable evaluation record: {exc}") from exc


def find_evaluation(library: str | Path, eval_id: str | None = None) -> EvaluationRecord:
    """Evaluation ``eval_id`` of ``library``, or its most recently started unfinished one.

    Raises:
        RunRecordError: There is no such evaluation, or none is unfinished.
    """
    folder = Path(library).expanduser() / EVALUATIONS_DIR
    if eval_id is not None:
        path = folder / eval_id / RECORD_NAME
        if not path.is_file():
            raise RunRecordError(f"library {library} has no evaluation {eval_id!r}")
        return _load(path)
    records = [_load(path) for path in sorted(folder.glob(f"*/{RECORD_NAME}"))] if folder.is_dir() else []
    unfinished = sorted((r for r in records if r.unfinished), key=lambda r: r.started)
    if not unfinished:
        raise RunRecordError(
            f"there is no unfinished evaluation to resume in {library}; start one with "
            f"`ted eval DATA --library {library}`"
        )
    return unfinished[-1]


class AnswerLog:
    """The answers of one evaluation, appended as they arrive."""

    def __init__(self, library: str | Path, eval_id: str) -> None:
        self.path = evaluation_dir(library, eval_id) / ANSWERS_NAME
        self._file: IO[str] | None = None

    def read(self) -> list[LoggedAnswer]:
        """Every complete line written so far."""
        if not self.path.is_file():
            return []
        logged = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
            except ValueError:
                continue  # the last line, cut short when the process was killed
            logged.append(
                LoggedAnswer(
                    answer=entry["answer"],
                    usage=entry["usage"],
                    errors=entry["errors"],
                    library_version=entry["library_version"],
                )
            )
        return logged

    def reusable(self, library_version: int) -> dict[AnswerKey, Answered]:
        """The logged answers still valid with the library at ``library_version``, by key."""
        reused: dict[AnswerKey, Answered] = {}
        for entry in self.read():
            answer = entry["answer"]
            if answer["condition"] != "baseline" and entry["library_version"] != library_version:
                continue
            key = (answer["item_id"], answer["condition"], answer["repeat"])
            reused[key] = Answered(answer=answer, usage=entry["usage"], errors=entry["errors"])
        return reused

    def append(self, answered: Answered, library_version: int) -> None:
        """Add one answer; it is on disk (in the operating system's hands) when this returns."""
        if self._file is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # A line cut short by an earlier kill would otherwise run into this one.
            if self.path.is_file() and self.path.stat().st_size:
                with open(self.path, "rb") as existing:
                    existing.seek(-1, os.SEEK_END)
                    cut = existing.read(1) != b"\n"
            else:
                cut = False
            self._file = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 (closed by close())
            if cut:
                self._file.write("\n")
        entry = LoggedAnswer(
            answer=answered["answer"],
            usage=answered["usage"],
            errors=answered["errors"],
            library_version=library_version,
        )
        self._file.write(json.dumps(entry) + "\n")
        self._file.flush()

    def close(self) -> None:
        """Close the file."""
        if self._file is not None:
            self._file.close()
            self._file = None
