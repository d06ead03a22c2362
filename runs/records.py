"""Run records: which distillations a library had, with which settings, and how far each got.

Each run writes ``<library>/runs/<run_id>.json`` beside the checkpoints (``runs.sqlite``): the dataset
and its split, the training item ids, the loop settings and the model settings (names of key
variables only, never keys). `resume` continues an unfinished run with exactly these settings, and
`evaluate` reads the training ids of every run to keep its test items apart.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import fields
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, Field, ValidationError, model_validator

from ted.runs.datasets import DatasetSplit
from ted.runs.errors import RunRecordError

if TYPE_CHECKING:
    from ted.graph import Context

RUNS_DIR = "runs"
RunStatus = Literal["running", "interrupted", "failed", "finished"]
# Where the models are served may change between attempts of a run or an evaluation (a server restarted
# on another port, a key rotated); nothing else may, or the resumed one would not be what it continues.
ENDPOINT_SETTINGS = (
    "student_base_url",
    "teacher_base_url",
    "compress_base_url",
    "student_api_key_env",
    "teacher_api_key_env",
    "compress_api_key_env",
    "tool_mode",
)
# Prompts are long and the command line cannot change them; runs record the rest of the context.
_UNRECORDED_SUFFIX = "_system_prompt"


def now() -> datetime:
    """The current time in UTC."""
    return datetime.now(UTC)


class RunRecord(BaseModel):
    """One distillation run of a library."""

    run_id: str
    status: RunStatus
    started: datetime
    updated: datetime
    finished: datetime | None = None
    attempts: int = Field(default=1, description="1 plus the number of resumes.")
    seconds: float = Field(default=0.0, description="Wall time spent running, over all attempts.")
    error: str | None = None
    dataset: DatasetSplit | None = Field(
        description="The dataset and split trained on; None for items given directly."
    )
    items: int = Field(description="Items in the dataset (the items given, when there is no dataset).")
    train_ids: list[str]
    epochs: int
    batch_size: int
    window: int | None = Field(default=None, description="Items in flight at most (None: batch_size).")
    schedule: Literal["stream", "batches"] = Field(
        default="stream", description="stream (a window in flight) or batches (earlier versions' barriers)."
    )
    seed: int = Field(default=0, description="Seed of the item order in epochs after the first.")
    context: dict[str, Any] = Field(description="The run's Context settings (prompts left out).")
    prices: str | None = None
    simulated: bool = False
    report_dir: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _order_seed(cls, data: Any) -> Any:
        # Records written before the seed had its own field ordered epochs by the split's seed.
        if isinstance(data, dict) and "seed" not in data and isinstance(data.get("dataset"), dict):
            return {**data, "seed": data["dataset"].get("seed", 0)}
        return data

    @property
    def unfinished(self) -> bool:
        """Whether `resume` can continue it."""
        return self.status != "finished"


def new_run_id() -> str:
    """A readable, sortable, unique run id: ``20260101-120000-ab12``."""
    return f"{now():%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


def context_settings(context: Context) -> dict[str, Any]:
    """The settings of ``context`` to record (everything but the prompts)."""
    return {
        f.name: getattr(context, f.name) for f in fields(context) if not f.name.endswith(_UNRECORDED_SUFFIX)
    }


def runs_dir(library: str | Path) -> Path:
    """Where the run records of ``library`` live."""
    return Path(library).expanduser() / RUNS_DIR


def write_record(path: Path, record: BaseModel) -> Path:
    """Write ``record`` as JSON to ``path`` atomically (a half-written record would be unreadable)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".json.tmp")
    temporary.write_text(record.model_dump_json(indent=2) + "\n", encoding="utf-8")
    os.replace(temporary, path)
    return path


def save_run(library: str | Path, record: RunRecord) -> Path:
    """Write ``record`` atomically and return its path."""
    return write_record(runs_dir(library) / f"{record.run_id}.json", record)


def resumed_context(
    recorded: Mapping[str, Any], endpoints: Mapping[str, Any] | None, folder: Path, *, refusal: str
) -> tuple[Context, dict[str, Any]]:
    """The context a resumed run or evaluation continues with, and the endpoint changes it takes.

    It is the recorded context with only `ENDPOINT_SETTINGS` changed, on the library in ``folder``.

    Raises:
        RunRecordError: ``endpoints`` holds another setting; ``refusal`` opens the message.
    """
    from ted.graph import Context

    changes = dict(endpoints or {})
    refused = sorted(set(changes) - set(ENDPOINT_SETTINGS))
    if refused:
        raise RunRecordError(f"{refusal} ({', '.join(ENDPOINT_SETTINGS)}), not {', '.join(refused)}")
    known = {f.name for f in fields(Context)}
    settings = {name: value for name, value in recorded.items() if name in known}
    context = Context(**{**settings, **changes, "library": str(folder), "library_root": None})
    return context, changes


def load_run(path: Path) -> RunRecord:
    """Read one run record.

    Raises:
        RunRecordError: The file is unreadable or not a run record.
    """
    try:
        return RunRecord.model_validate_json(path.read_text(encoding="utf-8"))
    except (OSError, ValidationError, ValueError) as exc:
        raise RunRecordError(f"{path} is not a readable run record: {exc}") from exc


def all_runs(library: str | Path) -> list[RunRecord]:
    """Every run record of ``library``, oldest first."""
    folder = runs_dir(library)
    if not folder.is_dir():
        return []
    records = [load_run(path) for path in sorted(folder.glob("*.json"))]
    return sorted(records, key=lambda record: record.started)


def latest_unfinished(library: str | Path) -> RunRecord:
    """The most recently started run that did not finish.

    Raises:
        RunRecordError: There is none.
    """
    unfinished = [record for record in all_runs(library) if record.unfinished]
    if not unfinished:
        raise RunRecordError(
            f"there is no unfinished run to resume in {library}; start one with "
            f"`ted distill DATA --library {library}`"
        )
    return unfinished[-1]


def find_run(library: str | Path, run_id: str) -> RunRecord:
    """The record of run ``run_id`` of ``library``.

    Raises:
        RunRecordError: There is no such run.
    """
    path = runs_dir(library) / f"{run_id}.json"
    if not path.is_file():
        raise RunRecordError(f"library {library} has no run {run_id!r}")
    return load_run(path)


def latest_finished(library: str | Path, dataset: str) -> RunRecord | None:
    """The most recent finished run of ``library`` on ``dataset`` (as runs record it), if any."""
    matching = [
        r for r in all_runs(library) if r.status == "finished" and r.dataset and r.dataset.path == dataset
    ]
    return matching[-1] if matching else None


def training_ids(library: str | Path) -> tuple[set[str], int]:
    """The ids of every item any run of ``library`` trained on, and the number of runs."""
    records = all_runs(library)
    return {item_id for record in records for item_id in record.train_ids}, len(records)
