"""Evaluation: the student with and without the library on held-out items, with statistics.

The conditions are paired: the same items, the same student, the same decoding settings; only the
injected experiences differ. The solve graph's contamination guard is always on, so no experience
learned from an item is injected when that item is evaluated, and items that any recorded run of the
library trained on are left out of the test set.

Example:
    >>> result = await evaluate(DatasetSplit.of("puzzles", train_size=12), Context(library="lib"))
    >>> result.library_accuracy, result.comparison.test.p_value  # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ted.graph import Context, TedGraphError, open_library
from ted.runs.answers import CONDITIONS, AnswerHandler, Condition, answer_items, conditions_for
from ted.runs.costs import PriceTable, cost_report
from ted.runs.datasets import DatasetSplit, Split, dataset_key
from ted.runs.errors import EvaluationStopped, NothingToEvaluate, RunRecordError
from ted.runs.evaluation_log import (
    AnswerLog,
    EvaluationRecord,
    EvaluationStatus,
    find_evaluation,
    save_record,
)
from ted.runs.records import context_settings, latest_finished, now, resumed_context, training_ids
from ted.runs.results import Contamination, DatasetInfo, EvaluationResult, LibraryInfo, ModelInfo
from ted.runs.statistics import analyse, item_scores
from ted.tasks import Item

NoteHandler = Callable[[str], None]
DEFAULT_TRAIN_SIZE = 100
# Sampling temperature of repeats when the solve temperature is greedy (0): repeats of greedy
# decoding would all be the same answer.
DEFAULT_REPEAT_TEMPERATURE = 0.7
SHOWN_ERRORS = 10
REPORTED_SETTINGS = (
    "scoring",
    "solve_temperature",
    "k",
    "token_budget",
    "min_similarity",
    "utility_weight",
    "max_image_side",
)


def held_out_split(
    data: str | Path,
    library: str | Path,
    *,
    format: str | None = None,
    split: str | None = None,
    limit: int | None = None,
    train_size: int | None = None,
    seed: int | None = None,
) -> DatasetSplit:
    """The split of ``data`` whose test part evaluates ``library``.

    What is not given is taken from the library's latest finished run on the same dataset, so that
    the test part is what that run held out; without such a run, the train size is
    `DEFAULT_TRAIN_SIZE` and the seed 0.
    """
    recorded = latest_finished(library, dataset_key(data))
    base = recorded.dataset if recorded else None
    return DatasetSplit.of(
        data,
        format=format or (base.format if base else None),
        split=split or (base.split if base else None),
        limit=limit or (base.limit if base else None),
        train_size=train_size
        if train_size is not None
        else (base.train_size if base else DEFAULT_TRAIN_SIZE),
        seed=seed if seed is not None else (base.seed if base else 0),
    )


def _recorded_evaluation(library: str | Path, eval_id: str | None) -> tuple[Path, EvaluationRecord]:
    folder = Path(library).expanduser().absolute()
    return folder, find_evaluation(folder, eval_id)


def _dataset_info(split: Split | None, candidates: int) -> DatasetInfo:
    if split is not None:
        return split.info()
    return DatasetInfo(
        path="(items given in Python)",
        format=None,
        split=None,
        items=candidates,
        train_size=0,
        seed=0,
        train_items=0,
        test_items=candidates,
    )


@dataclass
class Evaluation:
    """An evaluation ready to run: the context, the held-out items, how they were kept apart.

    Make one with `Evaluation.prepare`; `run` answers and computes the statistics.
    """

    eval_id: str
    context: Context
    test: list[Item]
    """The held-out items evaluated (training items of the library's runs removed)."""
    dataset: DatasetInfo
    contamination: Contamination
    report_dir: Path
    prices: PriceTable = field(default_factory=PriceTable)
    conditions: tuple[Condition, ...] = CONDITIONS
    repeats: int = 1
    concurrency: int = 8
    seed: int = 0
    """Seed of the bootstrap intervals (the split's seed)."""
    preflight: bool = True
    simulated: bool | None = None
    notes: list[str] = field(default_factory=list)
    """Things worth a warning found while preparing (a student other than the library's ...)."""
    data: DatasetSplit | None = None
    """The dataset split evaluated (None for items given in Python), recorded for `resume`."""
    record: EvaluationRecord | None = None
    """The evaluation's record once it ran (or the one `resume` continues)."""

    @property
    def total_answers(self) -> int:
        """Answers the evaluation will collect."""
        return len(self.test) * len(self.conditions) * self.repeats

    @classmethod
    async def prepare(
        cls,
        data: DatasetSplit | Sequence[Item],
        context: Context,
        *,
        conditions: Sequence[Condition] = CONDITIONS,
        retrieval: Sequence[str] | None = None,
        repeats: int = 1,
        temperature: float | None = None,
        concurrency: int = 8,
        prices: PriceTable | None = None,
        preflight: bool = True,
        report_dir: str | Path | None = None,
    ) -> Evaluation:
        """Check the library, take the held-out items and set the decoding up.

        Args:
            data: A dataset split (its test part is evaluated; see `held_out_split`) or the items.
            context: The student and the library; the library's own embedding model is used.
            conditions: ``library`` and/or ``baseline``, and the retrieval ablations ``similarity``,
                ``random``, ``all`` (see `ted.runs.answers`).
            retrieval: The same as ``conditions``, named as retrieval strategies: ``none`` (the
                baseline), ``default`` (the library), ``similarity``, ``random``, ``all``. When given,
                it replaces ``conditions``.
            repeats: Samples per item and condition.
            temperature: The solve temperature; default the context's, or `DEFAULT_REPEAT_TEMPERATURE`
                when ``repeats`` > 1 and the context decodes greedily.
            concurrency: Student calls in flight at once.
            prices: Prices per model, for the costs.
            preflight: Check the student's endpoint first.
            report_dir: Where the report goes (default ``<library>/reports/<eval_id>``).

        Raises:
            NothingToEvaluate: There is no library, or every test item was a training item.
            DatasetError: The dataset cannot be read or split.
            ValueError: An unknown condition or retrieval strategy.
        """
        from ted.memory.library import read_manifest

        if retrieval is not None:
            conditions = conditions_for(retrieval)

        library = context.library_folder()
        manifest = await asyncio.to_thread(read_manifest, library)
        if manifest is None:
            raise NothingToEvaluate(
                f"no experience library at {library}: distil one first with "
                f"`ted distill DATA --library {library}`"
            )
        if temperature is None:
            greedy = repeats > 1 and context.solve_temperature <= 0
            temperature = DEFAULT_REPEAT_TEMPERATURE if greedy else context.solve_temperature
        context = replace(context, embeddings=manifest.embedding_model, solve_temperature=temperature)
        notes = []
        if manifest.student_model and manifest.student_model != context.student_model:
            notes.append(
                f"the library was distilled for {manifest.student_model}; evaluating {context.student_model}"
            )
        if isinstance(data, DatasetSplit):
            split = await asyncio.to_thread(data.load)
            candidates, seed = split.test, data.seed
        else:
            split, candidates, seed = None, list(data), 0
        trained, runs = training_ids(library)
        removed = [item.id for item in candidates if item.id in trained]
        test = [item for item in candidates if item.id not in trained]
        if not test:
            where = (
                f"of {data.path} (train size {data.train_size}, seed {data.seed})"
                if isinstance(data, DatasetSplit)
                else "given"
            )
            raise NothingToEvaluate(
                f"no held-out items to evaluate: the {len(candidates)} test items {where} were all used "
                "to train this library"
            )
        if removed:
            notes.append(f"{len(removed)} test items were training items of this library and are left out")
        eval_id = f"eval-{now():%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"
        info = _dataset_info(split, len(candidates))
        return cls(
            eval_id=eval_id,
            context=context,
            test=test,
            dataset=info,
            contamination=Contamination(
                guard=True, runs_checked=runs, training_ids=len(trained), removed=removed
            ),
            report_dir=Path(report_dir or library / "reports" / eval_id),
            prices=prices or PriceTable(),
            conditions=tuple(conditions),
            repeats=repeats,
            concurrency=concurrency,
            seed=seed,
            preflight=preflight,
            notes=notes,
            data=data if isinstance(data, DatasetSplit) else None,
        )

    @classmethod
    async def resume(
        cls,
        library: str | Path,
        *,
        eval_id: str | None = None,
        items: Sequence[Item] | None = None,
        endpoints: Mapping[str, Any] | None = None,
        prices: PriceTable | None = None,
        preflight: bool = True,
    ) -> Evaluation:
        """The library's latest unfinished evaluation (or ``eval_id``), with its recorded settings.

        Answers it kept are not asked again, unless they were made with the library before it changed.

        Args:
            library: The library folder.
            eval_id: The evaluation to continue (default: the latest unfinished one).
            items: The items, for an evaluation of items given in Python (a dataset is read again).
            endpoints: New values of `ENDPOINT_SETTINGS` (servers move, keys rotate); nothing else of
                an evaluation may change.
            prices: Prices per model, for the costs.
            preflight: Check the student's endpoint before continuing.

        Raises:
            RunRecordError: No such evaluation, it is finished, its items cannot be found again, or
                ``endpoints`` holds another setting.
        """
        folder, record = await asyncio.to_thread(_recorded_evaluation, library, eval_id)
        if not record.unfinished:
            raise RunRecordError(
                f"evaluation {record.eval_id} of {folder} is finished; there is nothing to resume"
            )
        context, changes = resumed_context(
            record.context,
            endpoints,
            folder,
            refusal="a resumed evaluation keeps its recorded settings; only where the student is served may "
            "change",
        )
        split = await asyncio.to_thread(record.dataset.load) if record.dataset is not None else None
        given = split.items if split is not None else list(items or [])
        by_id = {item.id: item for item in given}
        missing = [item_id for item_id in record.test_ids if item_id not in by_id]
        if missing:
            source = f"the dataset {record.dataset.path}" if record.dataset else "the items given"
            raise RunRecordError(
                f"evaluation {record.eval_id} answered items that {source} no longer has "
                f"({', '.join(missing[:3])}{' ...' if len(missing) > 3 else ''}); start a new evaluation"
            )
        record.attempts += 1
        record.context = {**record.context, **changes}
        return cls(
            eval_id=record.eval_id,
            context=context,
            test=[by_id[item_id] for item_id in record.test_ids],
            dataset=_dataset_info(split, len(record.test_ids) + len(record.removed)),
            contamination=Contamination(
                guard=True,
                runs_checked=record.runs_checked,
                training_ids=record.training_ids,
                removed=record.removed,
            ),
            report_dir=Path(record.report_dir),
            prices=prices or PriceTable(),
            conditions=tuple(record.conditions),
            repeats=record.repeats,
            concurrency=record.concurrency,
            seed=record.seed,
            preflight=preflight,
            data=record.dataset,
            record=record,
        )

    async def run(
        self, *, on_answer: AnswerHandler | None = None, on_note: NoteHandler | None = None
    ) -> EvaluationResult:
        """Answer every held-out item under each condition and compute the statistics.

        Args:
            on_answer: Called with each answer as it comes (progress displays).
            on_note: Called with each passing problem the endpoint check found.

        Raises:
            ModelCallError: The endpoint check failed (unreachable endpoint, key refused ...); nothing
                was written.
            EvaluationStopped: Interrupted, or stopped by a fatal model error; the answers made so far
                are kept and `resume` continues.
        """
        from ted.graph.nodes.retrieve import query_text
        from ted.graph.preflight import preflight
        from ted.memory.retrieval import estimate_tokens

        clock = time.monotonic()
        if self.preflight:
            checked = await preflight(self.context, roles=("student",))
            if on_note is not None:
                for note in checked.notes:
                    on_note(note)
            if self.simulated is None:
                self.simulated = checked.simulated
        store = await open_library(self.context)
        version = store.version
        record = self._start(version)
        log = AnswerLog(self.library, self.eval_id)
        done = await asyncio.to_thread(log.reusable, version)
        try:
            output = await answer_items(
                self.test,
                self.context,
                conditions=self.conditions,
                repeats=self.repeats,
                concurrency=self.concurrency,
                on_answer=on_answer,
                done=done,
                on_answered=lambda answered: log.append(answered, version),
            )
        except (KeyboardInterrupt, asyncio.CancelledError):
            raise self._stop("interrupted", "interrupted by the user", clock, log) from None
        except TedGraphError as exc:
            raise self._stop("failed", str(exc), clock, log) from exc
        finally:
            log.close()
        record.status, record.updated = "finished", now()
        record.seconds += time.monotonic() - clock
        await asyncio.to_thread(save_record, self.library, record)
        answers = output["answers"]
        conditions, categories, comparison = analyse(answers, self.conditions, seed=self.seed)
        accuracy = {r.condition: r.accuracy.estimate for r in conditions}
        embedded = (
            sum(estimate_tokens(query_text(item)) for item in self.test) * self.repeats
            if set(self.conditions) - {"baseline"}
            else 0
        )
        errors = [dict(e) for e in output["errors"]]
        return EvaluationResult(
            eval_id=self.eval_id,
            simulated=bool(self.simulated),
            started=record.started,
            finished=record.updated,
            seconds=record.seconds,
            models=ModelInfo.of(self.context, ["student"]),
            dataset=self.dataset,
            library=await LibraryInfo.of(store),
            settings={
                "conditions": list(self.conditions),
                "repeats": self.repeats,
                "concurrency": self.concurrency,
                **{name: getattr(self.context, name) for name in REPORTED_SETTINGS},
            },
            contamination=self.contamination,
            conditions=conditions,
            categories=categories,
            comparison=comparison,
            library_accuracy=accuracy.get("library"),
            baseline_accuracy=accuracy.get("baseline"),
            experiences_injected=len({e for a in answers for e in a["injected"]}),
            guessed_answers=sum(bool(a.get("guessed")) for a in answers),
            timed_out_answers=sum(bool(a.get("timed_out")) for a in answers),
            costs=cost_report(
                output["usage"], self.prices, embedding_model=store.embedding_model, embedding_tokens=embedded
            ),
            error_counts=dict(Counter(f"{e['stage']}: {e['kind']}" for e in errors)),
            errors=errors[:SHOWN_ERRORS],
            item_scores={
                c: item_scores([a for a in answers if a["condition"] == c]) for c in self.conditions
            },
            report_dir=str(self.report_dir),
        )

    @property
    def library(self) -> Path:
        """The library folder."""
        return self.context.library_folder()

    def _start(self, library_version: int) -> EvaluationRecord:
        """Record the evaluation as running, before its first answer."""
        record = self.record
        if record is None:
            started = now()
            record = EvaluationRecord(
                eval_id=self.eval_id,
                status="running",
                started=started,
                updated=started,
                dataset=self.data,
                test_ids=[item.id for item in self.test],
                removed=self.contamination.removed,
                runs_checked=self.contamination.runs_checked,
                training_ids=self.contamination.training_ids,
                conditions=list(self.conditions),
                repeats=self.repeats,
                concurrency=self.concurrency,
                seed=self.seed,
                context=context_settings(self.context),
                library_version=library_version,
                prices=self.prices.source,
                report_dir=str(self.report_dir),
            )
            self.record = record
        record.status, record.updated, record.error = "running", now(), None
        record.library_version = library_version
        record.simulated = bool(self.simulated)
        save_record(self.library, record)
        return record

    def _stop(self, status: EvaluationStatus, error: str, clock: float, log: AnswerLog) -> EvaluationStopped:
        record = self.record
        assert record is not None
        record.status, record.error, record.updated = status, error, now()
        record.seconds += time.monotonic() - clock
        save_record(self.library, record)
        kept = len(log.read())
        reason = "interrupted" if status == "interrupted" else error
        return EvaluationStopped(
            f"{reason}; evaluation {self.eval_id} stopped with {kept} of {self.total_answers} answers kept",
            eval_id=self.eval_id,
            library=str(self.library),
            answers=kept,
            reason=reason,
        )


async def evaluate(
    data: DatasetSplit | Sequence[Item],
    context: Context,
    *,
    conditions: Sequence[Condition] = CONDITIONS,
    retrieval: Sequence[str] | None = None,
    repeats: int = 1,
    temperature: float | None = None,
    concurrency: int = 8,
    prices: PriceTable | None = None,
    preflight: bool = True,
    report_dir: str | Path | None = None,
    on_answer: AnswerHandler | None = None,
    on_note: NoteHandler | None = None,
) -> EvaluationResult:
    """Evaluate the student with and without ``context``'s library on the held-out items of ``data``.

    With ``retrieval``, compare retrieval strategies instead (``none``, ``default``, ``similarity``,
    ``random``, ``all``): each result condition then carries its paired test against the default.

    The arguments are those of `Evaluation.prepare` and `Evaluation.run`; notes found while preparing
    go to ``on_note`` too.
    """
    evaluation = await Evaluation.prepare(
        data,
        context,
        conditions=conditions,
        retrieval=retrieval,
        repeats=repeats,
        temperature=temperature,
        concurrency=concurrency,
        prices=prices,
        preflight=preflight,
        report_dir=report_dir,
    )
    if on_note is not None:
        for note in evaluation.notes:
            on_note(note)
    return await evaluation.run(on_answer=on_answer, on_note=on_note)
