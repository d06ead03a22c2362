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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from ted.graph import Context, open_library
from ted.runs.answers import CONDITIONS, AnswerHandler, Condition, answer_items, conditions_for
from ted.runs.costs import PriceTable, cost_report
from ted.runs.datasets import DatasetSplit, dataset_key
from ted.runs.errors import NothingToEvaluate
from ted.runs.records import latest_finished, now, training_ids
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
        info = (
            split.info()
            if split is not None
            else DatasetInfo(
                path="(items given in Python)",
                format=None,
                split=None,
                items=len(candidates),
                train_size=0,
                seed=0,
                train_items=0,
                test_items=len(candidates),
            )
        )
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
        )

    async def run(
        self, *, on_answer: AnswerHandler | None = None, on_note: NoteHandler | None = None
    ) -> EvaluationResult:
        """Answer every held-out item under each condition and compute the statistics.

        Args:
            on_answer: Called with each answer as it comes (progress displays).
            on_note: Called with each passing problem the endpoint check found.

        Raises:
            ModelCallError: A fatal failure (unreachable endpoint, key refused ...); nothing is written.
        """
        from ted.graph.nodes.retrieve import query_text
        from ted.graph.preflight import preflight
        from ted.memory.retrieval import estimate_tokens

        started, clock = now(), time.monotonic()
        if self.preflight:
            checked = await preflight(self.context, roles=("student",))
            if on_note is not None:
                for note in checked.notes:
                    on_note(note)
            if self.simulated is None:
                self.simulated = checked.simulated
        store = await open_library(self.context)
        output = await answer_items(
            self.test,
            self.context,
            conditions=self.conditions,
            repeats=self.repeats,
            concurrency=self.concurrency,
            on_answer=on_answer,
        )
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
            started=started,
            finished=now(),
            seconds=time.monotonic() - clock,
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
