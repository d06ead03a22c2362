"""Live progress of distillation and evaluation on stderr.

On a terminal it is a rich progress bar with the figures beside it; otherwise (logs, pipes, CI) one
plain line per point of the learning curve (every batch_size items), so that stdout stays clean for
``--json``.
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)

from ted.cli.output import err_console
from ted.runs.costs import running_cost

if TYPE_CHECKING:
    from ted.graph.state import DistillOutput, ItemResult, Usage
    from ted.runs import DistillRun, Evaluation, PriceTable
    from ted.runs.answers import Answer


def _tokens(count: int) -> str:
    if count >= 1_000_000:
        return f"{count / 1_000_000:.2f}M"
    if count >= 1_000:
        return f"{count / 1_000:.1f}k"
    return str(count)


class _Display:
    """A progress bar on a terminal, plain lines elsewhere."""

    def __init__(self, label: str, total: int, done: int, console: Console | None, live: bool | None) -> None:
        self.console = console or err_console
        self.live = self.console.is_terminal if live is None else live
        self.label = label
        self.total = total
        self.done = done
        self._progress: Progress | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> Self:
        if self.live:
            self._progress = Progress(
                SpinnerColumn(),
                TextColumn("[bold]{task.description}"),
                BarColumn(bar_width=20),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("{task.fields[stats]}"),
                console=self.console,
            )
            self._progress.start()
            self._task = self._progress.add_task(self.label, total=self.total, completed=self.done, stats="")
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self._progress is not None:
            self._progress.stop()

    def update(self, done: int, stats: str) -> None:
        self.done = done
        if self._progress is not None and self._task is not None:
            self._progress.update(self._task, completed=done, stats=stats)

    def line(self, text: str) -> None:
        if not self.live:
            self.console.print(text, highlight=False, soft_wrap=True)


class DistillProgress(_Display):
    """Items done, trajectories, accuracy so far, library size, tokens and cost of a distillation run.

    Feed it the ``on_event`` callbacks of `DistillRun.run`. ``initial`` is what the checkpoints of a
    resumed run already hold.
    """

    def __init__(
        self,
        *,
        total_items: int,
        total_batches: int,
        prices: PriceTable,
        initial: DistillOutput | None = None,
        console: Console | None = None,
        live: bool | None = None,
    ) -> None:
        results = list(initial["results"]) if initial else []
        super().__init__("distilling", total_items, len(results), console, live)
        self.total_batches = total_batches
        self.prices = prices
        self.items_done = len(results)
        self.trajectories = sum(result["rollouts"] for result in results)
        self.correct = sum(result["correct"] for result in results)
        self.graded = sum(result["graded"] for result in results)
        self.usage: list[Usage] = list(initial["usage"]) if initial else []
        progress = initial["progress"] if initial else []
        self.steps = len(progress)
        self.library_size = progress[-1]["library_size"] if progress else 0
        self.library_version = progress[-1]["library_version"] if progress else 0

    @classmethod
    def of(cls, run: DistillRun, *, initial: DistillOutput | None = None) -> DistillProgress:
        """The display of ``run``; ``initial`` is what its checkpoints already hold."""
        return cls(
            total_items=run.total_items, total_batches=run.total_batches, prices=run.prices, initial=initial
        )

    def stats(self) -> str:
        """The figures shown beside the bar and in each line."""
        accuracy = f"{self.correct / self.graded:.2f}" if self.graded else "-"
        tokens = sum(u["input_tokens"] + u["output_tokens"] for u in self.usage)
        cost = running_cost(self.usage, self.prices.models)
        money = f" · ${cost:.2f}" if cost is not None else ""
        return (
            f"{self.trajectories} trajectories · accuracy {accuracy} · library {self.library_size} "
            f"· {_tokens(tokens)} tokens{money}"
        )

    def on_event(self, namespace: tuple[str, ...], node: str, update: dict[str, Any]) -> None:
        """Take one step of the dataset loop or of an item's graph."""
        inside_item = bool(namespace)
        # The loop's `distill_items` update repeats what the items' own nodes reported already.
        if "usage" in update and (inside_item or node != "distill_items"):
            self.usage.extend(update["usage"])
        if inside_item and node == "student":
            self.trajectories += 1
        if inside_item and node == "record":
            self._add_results(update.get("results", []))
        for report in update.get("compressions", []) if not inside_item else []:
            self.library_size = report["library_size"]
        for point in update.get("progress", []) if not inside_item else []:
            # The point is authoritative: a resumed run replays the last step it had saved.
            self.steps = point["step"] + 1
            self.items_done = max(self.items_done, point["items_done"])
            self.library_size = point["library_size"]
            self.library_version = point["library_version"]
            self.line(
                f"step {self.steps}/{self.total_batches}: {self.items_done}/{self.total} items · "
                f"{self.stats()}"
            )
        self.update(self.items_done, self.stats())

    def _add_results(self, results: list[ItemResult]) -> None:
        for result in results:
            self.items_done += 1
            self.correct += result["correct"]
            self.graded += result["graded"]


class EvalProgress(_Display):
    """Answers done and accuracy so far per condition; feed it the ``on_answer`` callbacks."""

    def __init__(self, *, total: int, console: Console | None = None, live: bool | None = None) -> None:
        super().__init__("evaluating", total, 0, console, live)
        self.correct: dict[str, int] = {}
        self.graded: dict[str, int] = {}
        self._next_line = 0.25

    @classmethod
    def of(cls, evaluation: Evaluation) -> EvalProgress:
        """The display of ``evaluation``."""
        return cls(total=evaluation.total_answers)

    def stats(self) -> str:
        """Accuracy so far per condition."""
        return " · ".join(
            f"{condition} {self.correct[condition] / count:.2f}"
            for condition, count in self.graded.items()
            if count
        )

    def on_answer(self, answer: Answer) -> None:
        """Take one answer."""
        condition = answer["condition"]
        self.correct.setdefault(condition, 0)
        self.graded.setdefault(condition, 0)
        if answer["error"] is None:
            self.graded[condition] += 1
            self.correct[condition] += answer["correct"]
        done = self.done + 1
        if done >= self.total * self._next_line:
            self.line(f"evaluated {done}/{self.total} answers · {self.stats()}")
            while done >= self.total * self._next_line:
                self._next_line += 0.25
        self.update(done, self.stats())
