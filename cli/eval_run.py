"""Running one evaluation for the command line, and turning its answers into statistics.

Shared by `ted eval` and `ted demo`. Accuracy is the mean over items of each item's share of right
answers (over repeats), with a seeded percentile bootstrap interval over items; the paired comparison
is McNemar's exact test (one repeat) or the exact sign test on per-item means (several repeats).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rich.markup import escape

from ted.cli.costs import PriceTable, cost_report
from ted.cli.errors import CliError
from ted.cli.output import err_console
from ted.cli.progress import EvalProgress
from ted.cli.runs import now
from ted.cli.splits import Split
from ted.cli.summaries import (
    CategoryResult,
    Comparison,
    ConditionResult,
    Contamination,
    EvalSummary,
    LibraryInfo,
)
from ted.tasks.metrics import bootstrap_interval, mcnemar_exact, paired_difference, sign_test, spread

if TYPE_CHECKING:
    from ted.graph import Context
    from ted.graph.evaluate import Condition, EvalRecord
    from ted.tasks import Item

SHOWN_ERRORS = 10
REPORTED_SETTINGS = (
    "solve_temperature",
    "k",
    "token_budget",
    "min_similarity",
    "utility_weight",
    "max_image_side",
)


class EvalInterrupted(CliError):
    """The user interrupted an evaluation."""


def _item_scores(records: Sequence[EvalRecord]) -> dict[str, float]:
    """Each item's share of right answers over its graded repeats (items never graded are left out)."""
    outcomes: dict[str, list[bool]] = defaultdict(list)
    for record in records:
        if record["error"] is None:
            outcomes[record["item_id"]].append(record["correct"])
    return {item_id: sum(values) / len(values) for item_id, values in outcomes.items()}


def _condition(records: Sequence[EvalRecord], condition: str, seed: int) -> ConditionResult | None:
    answers = [r for r in records if r["condition"] == condition]
    scores = _item_scores(answers)
    if not scores:
        return None
    repeats = sorted({r["repeat"] for r in answers})
    per_repeat = []
    for repeat in repeats:
        graded = [r["correct"] for r in answers if r["repeat"] == repeat and r["error"] is None]
        if graded:
            per_repeat.append(sum(graded) / len(graded))
    graded_count = sum(r["error"] is None for r in answers)
    return ConditionResult(
        condition=condition,
        accuracy=bootstrap_interval(list(scores.values()), seed=seed),
        answers=len(answers),
        graded=graded_count,
        failed=len(answers) - graded_count,
        repeats=spread(per_repeat),
    )


def analyse(
    records: Sequence[EvalRecord], conditions: Sequence[Condition], *, seed: int = 0
) -> tuple[list[ConditionResult], list[CategoryResult], Comparison | None]:
    """Accuracy per condition and category with bootstrap intervals, and the paired comparison."""
    results = [r for c in conditions if (r := _condition(records, c, seed)) is not None]
    by_condition: dict[str, dict[str, float]] = {
        c: _item_scores([r for r in records if r["condition"] == c]) for c in conditions
    }
    category_of = {r["item_id"]: r["category"] or "(none)" for r in records}
    categories = []
    for category in sorted(set(category_of.values())):
        members = {item_id for item_id, name in category_of.items() if name == category}
        intervals = {}
        for condition in ("library", "baseline"):
            scores = [s for item_id, s in by_condition.get(condition, {}).items() if item_id in members]
            intervals[condition] = bootstrap_interval(scores, seed=seed) if scores else None
        categories.append(
            CategoryResult(
                category=category,
                items=len(members),
                library=intervals["library"],
                baseline=intervals["baseline"],
            )
        )
    comparison = None
    if "library" in by_condition and "baseline" in by_condition:
        paired = sorted(set(by_condition["library"]) & set(by_condition["baseline"]))
        if paired:
            baseline = [by_condition["baseline"][i] for i in paired]
            library = [by_condition["library"][i] for i in paired]
            single = max((r["repeat"] for r in records), default=0) == 0
            test = (
                mcnemar_exact([s == 1.0 for s in baseline], [s == 1.0 for s in library])
                if single
                else sign_test(baseline, library)
            )
            comparison = Comparison(
                items=len(paired),
                method="McNemar's exact test" if single else "Exact sign test on per-item mean accuracy",
                test=test,
                difference=paired_difference(baseline, library, seed=seed),
            )
    return results, categories, comparison


@dataclass
class EvalJob:
    """An evaluation to run."""

    eval_id: str
    context: Context
    library: Path
    split: Split
    test: list[Item]
    """The held-out items actually evaluated (training items of the library's runs removed)."""
    contamination: Contamination
    prices: PriceTable
    report_dir: Path
    conditions: tuple[Condition, ...] = ("library", "baseline")
    repeats: int = 1
    concurrency: int = 8
    preflight: bool = True
    simulated: bool | None = None
    live: bool | None = None


async def _run(job: EvalJob) -> EvalSummary:
    from ted.cli.options import model_infos
    from ted.graph import open_library
    from ted.graph.evaluate import evaluate
    from ted.graph.nodes.retrieve import query_text
    from ted.graph.preflight import preflight
    from ted.memory import estimate_tokens

    started, clock = now(), time.monotonic()
    if job.preflight:
        checked = await preflight(job.context, roles=("student",))
        for report in checked.reports:
            for note in report.notes:
                err_console.print(
                    f"[yellow]note:[/] {escape(f'{report.role} {report.model}: {note}')}", highlight=False
                )
        if job.simulated is None:
            job.simulated = checked.simulated
    store = await open_library(job.context)
    total = len(job.test) * len(job.conditions) * job.repeats
    with EvalProgress(total=total, live=job.live) as progress:
        output = await evaluate(
            job.test,
            job.context,
            conditions=job.conditions,
            repeats=job.repeats,
            concurrency=job.concurrency,
            on_record=progress.on_record,
        )
    records = output["records"]
    conditions, categories, comparison = analyse(records, job.conditions, seed=job.split.choice.seed)
    accuracy = {r.condition: r.accuracy.estimate for r in conditions}
    embedded = (
        sum(estimate_tokens(query_text(item)) for item in job.test) * job.repeats
        if "library" in job.conditions
        else 0
    )
    errors = [dict(e) for e in output["errors"]]
    return EvalSummary(
        eval_id=job.eval_id,
        simulated=bool(job.simulated),
        started=started,
        finished=now(),
        seconds=time.monotonic() - clock,
        models=model_infos(job.context, ["student"]),
        dataset=job.split.info(test_items=len(job.split.test)),
        library=await LibraryInfo.of(store),
        settings={
            "conditions": list(job.conditions),
            "repeats": job.repeats,
            "concurrency": job.concurrency,
            **{name: getattr(job.context, name) for name in REPORTED_SETTINGS},
        },
        contamination=job.contamination,
        conditions=conditions,
        categories=categories,
        comparison=comparison,
        library_accuracy=accuracy.get("library"),
        baseline_accuracy=accuracy.get("baseline"),
        experiences_injected=len({e for r in records for e in r["injected"]}),
        costs=cost_report(
            output["usage"], job.prices, embedding_model=store.embedding_model, embedding_tokens=embedded
        ),
        error_counts=dict(Counter(f"{e['stage']}: {e['kind']}" for e in errors)),
        errors=errors[:SHOWN_ERRORS],
        report_dir=str(job.report_dir),
    )


def execute(job: EvalJob) -> EvalSummary:
    """Run the evaluation and return its summary; the report is the caller's.

    Raises:
        EvalInterrupted: Ctrl-C (nothing is written).
    """
    from ted.graph import close_libraries

    try:
        return asyncio.run(_run(job))
    except KeyboardInterrupt:
        raise EvalInterrupted("interrupted; the evaluation stopped and wrote no report") from None
    finally:
        close_libraries()
