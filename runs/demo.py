"""The whole pipeline offline, on synthetic puzzles and the built-in simulated models.

A demo generates a dataset, starts the simulated endpoint in this process, distils a library from the
training items, evaluates the student with and without it on the held-out items, and writes a report.
The models are simulated, and every output says so.

Example:
    >>> result = await run_demo(Demo("demo-folder", embeddings="hash"))  # doctest: +SKIP
    >>> result.baseline_accuracy, result.library_accuracy  # doctest: +SKIP
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Self

from ted.graph import Context
from ted.runs.answers import AnswerHandler
from ted.runs.checkpoints import EventHandler
from ted.runs.datasets import DatasetSplit
from ted.runs.distillation import DistillRun
from ted.runs.evaluation import Evaluation
from ted.runs.reports import write_combined_report
from ted.runs.results import SIMULATED_BANNER, DemoResult, DistillResult, EvaluationResult, WrongAdvice

if TYPE_CHECKING:
    from ted.sim import SimConfig, SimServer, World

STUDENT, TEACHER = "sim-student", "sim-teacher"
SHOWS = [
    "the whole pipeline runs end to end: dataset, student rollouts, teacher, reflection through tool "
    "calls, library upkeep, checkpointed runs, evaluation with and without the library, reports",
    "the library carries what was learned to held-out items of the same kinds, as the simulated "
    "student is built to use a relevant experience when it is in its prompt",
    "the statistics: confidence intervals and a paired test on the same items",
]


def does_not_show(config: SimConfig) -> list[str]:
    """What a demo run does not show, with the simulator's settings it used."""
    return [
        "how well TED works with real models: the simulated student's accuracies "
        f"({config.p_student_base:g} alone, {config.p_student_skill:g} with a relevant experience) are "
        "settings of the simulator, not measurements",
        "anything about the published MathVision or VisualPuzzles results",
    ]


class Demo:
    """A demo in ``workdir``: the dataset in ``data/``, the library in ``library/``, reports in ``report/``.

    Use it as a context manager, which generates the puzzles and serves the simulated models for the
    duration; `distill_run` and `evaluation` prepare the two steps, `finish` writes the reports.
    `run_demo` does all of it.

    Args:
        workdir: An empty or new folder.
        train: Training puzzles.
        test: Held-out puzzles.
        rollouts: Student attempts per training item.
        batch: Items in flight at once, and per point of the learning curve.
        epochs: Passes over the training items.
        seed: Seed of the puzzles, the split and the simulated models.
        latency: Seconds per simulated call.
        embeddings: ``minilm`` (the bundled model) or ``hash`` (no model at all).
        world: ``classic`` (six drawn puzzle families) or ``skills`` (card puzzles on up to two dozen
            topics, read by meaning, with wrong advice; see `ted.tasks.synth.catalogue`).
        families: Families of the skills world (default: all of the catalogue).
        library_cap: Most active experiences (default: the context's).
        retrieval: The retrieval strategies the evaluation compares (``none`` and ``default`` at
            least; ``similarity``, ``random``, ``all`` are ablations).
    """

    def __init__(
        self,
        workdir: str | Path,
        *,
        train: int = 48,
        test: int = 48,
        rollouts: int = 4,
        batch: int = 8,
        epochs: int = 1,
        seed: int = 0,
        latency: float = 0.05,
        embeddings: str = "minilm",
        world: str = "classic",
        families: int | None = None,
        library_cap: int | None = None,
        retrieval: tuple[str, ...] = ("none", "default"),
    ) -> None:
        from ted.sim import SimConfig

        self.workdir = Path(workdir).expanduser().absolute()
        self.train, self.test, self.rollouts, self.batch, self.epochs = train, test, rollouts, batch, epochs
        self.seed, self.embeddings = seed, embeddings
        self.world_name, self.families = world, self.check(world, families, retrieval)
        self.library_cap, self.retrieval = library_cap, tuple(retrieval)
        self._world: World | None = None
        self.config = SimConfig(seed=seed, latency=latency)
        self.split = DatasetSplit.of(self.workdir / "data", format="jsonl", train_size=train, seed=seed)
        self._server: SimServer | None = None
        self._clock = 0.0

    @staticmethod
    def check(world: str, families: int | None, retrieval: tuple[str, ...]) -> int:
        """Check a demo's world and retrieval strategies; returns the number of families.

        Raises:
            ValueError: An unknown world or strategy, a number of families the world does not have, or
                strategies without ``none`` and ``default``.
        """
        from ted.runs.answers import conditions_for
        from ted.tasks.synth import world_families

        count = len(world_families(world, families))
        if not {"baseline", "library"} <= set(conditions_for(retrieval)):
            raise ValueError("a demo compares at least none and default retrieval")
        return count

    def __enter__(self) -> Self:
        from ted.sim import SimServer, World
        from ted.tasks.synth import generate

        self._clock = time.monotonic()
        self.workdir.mkdir(parents=True, exist_ok=True)
        items = generate(
            self.workdir / "data",
            n=self.train + self.test,
            seed=self.seed,
            world=self.world_name,
            families=self.families if self.world_name == "skills" else None,
        )
        self._world = World.from_items(items)
        self._server = SimServer(self._world, config=self.config).start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    @property
    def context(self) -> Context:
        """The settings of both steps: the simulated models, the library in the workdir."""
        if self._server is None:
            raise RuntimeError("the demo's models are served only inside `with Demo(...)`")
        url = self._server.base_url
        context = Context(
            library=str(self.workdir / "library"),
            library_root=None,
            student_model=STUDENT,
            student_base_url=url,
            teacher_model=TEACHER,
            teacher_base_url=url,
            rollouts=self.rollouts,
            embeddings=self.embeddings,
        )
        return context if self.library_cap is None else replace(context, library_cap=self.library_cap)

    async def distill_run(self) -> DistillRun:
        """The distillation of the training puzzles, ready to run."""
        run = await DistillRun.start(self.split, self.context, epochs=self.epochs, batch_size=self.batch)
        run.simulated = True
        return run

    async def evaluation(self) -> Evaluation:
        """The evaluation on the held-out puzzles, ready to run."""
        evaluation = await Evaluation.prepare(self.split, self.context, retrieval=self.retrieval)
        evaluation.simulated = True
        return evaluation

    async def wrong_advice(self) -> WrongAdvice | None:
        """Skills world: the wrong advice the library ever held, and what became of it (else None).

        Every experience the library ever held is read by the simulated world (`ted.sim.meaning`).
        """
        from ted.graph import open_library
        from ted.memory import Status
        from ted.memory.models import shows_harm

        if self._world is None or self.world_name != "skills":
            return None
        store = await open_library(self.context)
        everything = await store.experiences(status=None)
        readings = self._world.reader.read_many([e.text for e in everything])
        wrong = [e for e, r in zip(everything, readings, strict=True) if r.stance == "wrong"]
        ever: dict[str, Status] = {e.id: e.status for e in wrong}
        stats = {e.id: e.stats for e in wrong}
        # An experience whose text was rewritten keeps its id: read its first text from the journal.
        for e, r in zip(everything, readings, strict=True):
            if r.stance != "wrong" and e.version > 1:
                history = await store.history(e.id)
                before = [entry.before.text for entry in history if entry.before is not None]
                if before and any(x.stance == "wrong" for x in self._world.reader.read_many(before)):
                    ever[e.id] = Status.SUPERSEDED if e.status is Status.ACTIVE else e.status
                    stats[e.id] = e.stats
        return WrongAdvice(
            planted=len(ever),
            deleted=sum(s is Status.DELETED for s in ever.values()),
            superseded=sum(s is Status.SUPERSEDED for s in ever.values()),
            active=sum(s is Status.ACTIVE for s in ever.values()),
            unproven=sum(status is Status.ACTIVE and not shows_harm(stats[i]) for i, status in ever.items()),
            cited_wrong=sum(s.cited_wrong for s in stats.values()),
            cited_correct=sum(s.cited_correct for s in stats.values()),
            harmful_votes=sum(s.harmful for s in stats.values()),
        )

    def finish(
        self, distilled: DistillResult, evaluated: EvaluationResult, wrong_advice: WrongAdvice | None = None
    ) -> DemoResult:
        """Write the two reports and the combined one; returns what the demo showed."""
        distilled.write_report()
        evaluated.write_report()
        comparison = evaluated.comparison
        report_dir = self.workdir / "report"
        result = DemoResult(
            baseline_accuracy=evaluated.baseline_accuracy,
            library_accuracy=evaluated.library_accuracy,
            difference=comparison.difference if comparison else None,
            p_value=comparison.test.p_value if comparison else None,
            train_items=distilled.dataset.train_items,
            test_items=evaluated.dataset.test_items - len(evaluated.contamination.removed),
            library_size=distilled.library.active,
            seconds=time.monotonic() - self._clock,
            workdir=str(self.workdir),
            library=distilled.library.path,
            report_dir=str(report_dir),
            distill_report_dir=distilled.report_dir,
            eval_report_dir=evaluated.report_dir,
            shows=SHOWS,
            does_not_show=does_not_show(self.config),
            distill=distilled,
            eval=evaluated,
            world=self.world_name,
            families=self.families,
            wrong_advice=wrong_advice,
        )
        write_combined_report(
            report_dir, result, preface=_preface(result), distilled=distilled, evaluated=evaluated
        )
        return result


def _preface(result: DemoResult) -> str:
    shows = "\n".join(f"- {line}" for line in result.shows)
    does_not = "\n".join(f"- {line}" for line in result.does_not_show)
    accuracy = (
        f"Held-out accuracy: **{result.baseline_accuracy:.3f}** without the library, "
        f"**{result.library_accuracy:.3f}** with it"
        if result.baseline_accuracy is not None and result.library_accuracy is not None
        else "Held-out accuracy: not available"
    )
    p_value = f" (McNemar's exact test: p = {result.p_value:.3g})" if result.p_value is not None else ""
    workdir = Path(result.workdir)
    return (
        "# TED demo report\n\n"
        f"> **{SIMULATED_BANNER}**\n\n"
        f"{accuracy}{p_value}, on {result.test_items} held-out synthetic puzzles after distilling "
        f"{result.train_items} training puzzles into a library of {result.library_size} experiences, "
        f"in {result.seconds:.0f} s.\n\n"
        f"What this run shows:\n\n{shows}\n\nWhat it does not show:\n\n{does_not}\n\n"
        f"Everything is in `{workdir}`: the dataset (`data/`), the library (`library/`, with its run "
        "record and checkpoints) and this report. Look at the library with "
        f"`ted experiences --library {workdir / 'library'} list`.\n"
    )


async def run_demo(
    demo: Demo, *, on_event: EventHandler | None = None, on_answer: AnswerHandler | None = None
) -> DemoResult:
    """Run the whole ``demo`` and write its reports."""
    with demo:
        distilled = await (await demo.distill_run()).run(on_event=on_event)
        evaluated = await (await demo.evaluation()).run(on_answer=on_answer)
        wrong = await demo.wrong_advice()
    return demo.finish(distilled, evaluated, wrong)
