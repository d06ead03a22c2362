"""PNG plots for reports, drawn with matplotlib: the learning curve and accuracy per category.

Both are plain charts with a title, labelled axes, grid lines and a legend. Each is drawn on its own
``Figure`` with the Agg canvas, so drawing needs no display, never goes through pyplot, and leaves
matplotlib's global backend and figure registry alone. matplotlib is imported only when a chart is
drawn, which keeps ``ted --help`` fast.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.artist import Artist
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["SERIES_COLOURS", "BarGroup", "CurvePoint", "category_bars", "learning_curve"]

WIDTH, HEIGHT = 960, 540
"""Size of a chart in pixels; the category chart grows wider with many categories."""
DPI = 100
PIXELS_PER_CATEGORY = 110
OUTSIDE_PIXELS = 180
"""About how much of a chart's width the axis labels and margins take, outside the plot area."""
INK = "#282828"
GRID = "#e1e1e1"
BLUE = "#1f77b4"
ORANGE = "#e67814"
GREY = "#969696"
SERIES_COLOURS = {
    "baseline": GREY,
    "all": "#8c564b",
    "random": "#bcbd22",
    "similarity": ORANGE,
    "library": BLUE,
}
"""Bar colour of each series (evaluation condition), in the order the bars stand in a category."""


@dataclass
class CurvePoint:
    """One point of the learning curve."""

    items: int
    """Items distilled so far."""
    accuracy: float | None
    """Training accuracy of the student's attempts since the previous point; None when nothing was graded."""
    library_size: int
    """Active experiences in the library at this point."""


@dataclass
class BarGroup:
    """The bars of one category: per series an (estimate, low, high) triple, or None when not run."""

    label: str
    """The category's name, shortened under the axis when long."""
    values: dict[str, tuple[float, float, float] | None] = field(default_factory=dict)
    """Accuracy and its confidence interval per series name (a key of ``SERIES_COLOURS``)."""
    items: int = 0
    """Items in the category, shown under its name."""


def _nice_max(value: float) -> float:
    """A round axis maximum at or above ``value``, at least 5, so that five ticks fall on round numbers."""
    value = max(value, 5.0)
    magnitude = 10 ** math.floor(math.log10(value))
    return float(next(f * magnitude for f in (1, 2, 2.5, 5, 10) if value <= f * magnitude))


def _short(label: str, limit: int = 16) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _figure(width: int, title: str, subtitle: str) -> tuple[Figure, Axes]:
    """A white figure of ``width`` x ``HEIGHT`` pixels with one plot area, a title and a subtitle."""
    from matplotlib.figure import Figure
    from matplotlib.layout_engine import ConstrainedLayoutEngine

    # Constrained layout sizes the margins to the labels, so long names are never cut off.
    layout = ConstrainedLayoutEngine(w_pad=0.15, h_pad=0.12)
    figure = Figure(figsize=(width / DPI, HEIGHT / DPI), dpi=DPI, facecolor="white", layout=layout)
    figure.suptitle(title, fontsize=15, color=INK)
    axes = figure.add_subplot()
    if subtitle:
        axes.set_title(subtitle, fontsize=9.5, color=GREY, pad=20)
    axes.set_axisbelow(True)
    axes.grid(axis="y", color=GRID, linewidth=0.8)
    axes.tick_params(labelsize=9.5, colors=INK)
    for spine in axes.spines.values():
        spine.set_color(INK)
    return figure, axes


def _legend(axes: Axes, entries: Sequence[tuple[str, Artist]]) -> None:
    """A one-row legend of (label, sample) entries, right-aligned just above the plot area."""
    if not entries:
        return
    axes.legend(
        [sample for _, sample in entries],
        [label for label, _ in entries],
        loc="lower right",
        bbox_to_anchor=(1.0, 1.0),
        ncols=len(entries),
        frameon=False,
        fontsize=10,
        handletextpad=0.4,
        markerscale=1.3,
        borderaxespad=0.2,
    )


def _save(figure: Figure, path: Path) -> Path:
    """Render ``figure`` with the Agg canvas (no display needed) and write it to ``path`` as a PNG."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(figure)
    figure.savefig(path, format="png", dpi=DPI, facecolor="white", transparent=False)
    return path


def learning_curve(points: Sequence[CurvePoint], path: Path, *, title: str, subtitle: str = "") -> Path:
    """Draw training accuracy (left axis) and library size (right axis) against items distilled.

    Points without an accuracy are left out of the accuracy line only; no points give empty axes.

    Args:
        points: The curve, in the order its points were taken.
        path: Where to write the PNG (``WIDTH`` x ``HEIGHT`` pixels).
        title: The chart's title.
        subtitle: A smaller grey line under the title (models, a simulation notice), if any.

    Returns:
        ``path``.
    """
    figure, accuracy_axis = _figure(WIDTH, title, subtitle)
    size_axis = accuracy_axis.twinx()
    max_items = _nice_max(max([point.items for point in points] + [1]))
    max_size = _nice_max(max([point.library_size for point in points] + [1]))

    accuracy_axis.set_xlim(0, max_items)
    accuracy_axis.set_xticks([max_items * tick / 5 for tick in range(6)])
    accuracy_axis.set_xlabel("Items distilled", fontsize=11, color=INK)
    accuracy_axis.set_ylim(0, 1)
    accuracy_axis.set_yticks([tick / 5 for tick in range(6)])
    accuracy_axis.set_ylabel("Training accuracy (student attempts)", fontsize=11, color=BLUE)
    accuracy_axis.tick_params(axis="y", colors=BLUE)
    size_axis.set_ylim(0, max_size)
    size_axis.set_yticks([max_size * tick / 5 for tick in range(6)])
    size_axis.set_ylabel("Library size (experiences)", fontsize=11, color=ORANGE)
    size_axis.tick_params(axis="y", labelsize=9.5, colors=ORANGE)

    sizes = [(p.items, p.library_size) for p in points]
    accuracy = [(p.items, p.accuracy) for p in points if p.accuracy is not None]
    # The twin axis is drawn over the first: library size goes there, under the accuracy line.
    size_axis.set_zorder(0)
    accuracy_axis.set_zorder(1)
    accuracy_axis.patch.set_visible(False)
    # Drawn even without points, so that the legend always explains both axes.
    [size_line] = size_axis.plot(
        [x for x, _ in sizes], [y for _, y in sizes], color=ORANGE, linewidth=2, marker="s", markersize=6
    )
    [accuracy_line] = accuracy_axis.plot(
        [x for x, _ in accuracy],
        [y for _, y in accuracy],
        color=BLUE,
        linewidth=2.5,
        marker="o",
        markersize=7,
    )
    _legend(accuracy_axis, [("training accuracy", accuracy_line), ("library size", size_line)])
    return _save(figure, path)


def _bars(axes: Axes, center: float, group: BarGroup, series: Sequence[str], bar: float) -> None:
    """One category's bars, each with its interval whisker and its estimate written above."""
    start = center - bar * len(series) / 2
    for position, name in enumerate(series):
        value = group.values.get(name)
        if value is None:
            continue
        estimate, low, high = (max(0.0, min(1.0, v)) for v in value)
        middle = start + bar * (position + 0.5)
        axes.bar(middle, estimate, width=bar * 0.9, color=SERIES_COLOURS[name], zorder=2)
        whisker = [[max(0.0, estimate - low)], [max(0.0, high - estimate)]]
        axes.errorbar(
            middle, estimate, yerr=whisker, fmt="none", ecolor=INK, elinewidth=1.5, capsize=4, zorder=3
        )
        axes.annotate(
            f"{estimate:.2f}",
            (middle, max(high, estimate)),
            xytext=(0, 3),
            textcoords="offset points",
            ha="center",
            va="bottom",
            fontsize=8,
            color=INK,
        )


def category_bars(
    groups: Sequence[BarGroup],
    path: Path,
    *,
    title: str,
    subtitle: str = "",
    labels: Mapping[str, str] | None = None,
) -> Path:
    """Draw accuracy per category for each series (baseline, library) with confidence-interval whiskers.

    A series appears (in the legend too) only when some category has a value for it; a category
    without a value for a series leaves that bar out.

    Args:
        groups: The categories, left to right.
        path: Where to write the PNG: ``HEIGHT`` pixels high, ``WIDTH`` wide or wider for many groups.
        title: The chart's title.
        subtitle: A smaller grey line under the title (models, a simulation notice), if any.
        labels: Legend label per series name (default: the name).

    Returns:
        ``path``.
    """
    from matplotlib.lines import Line2D

    labels = labels or {}
    series = [name for name in SERIES_COLOURS if any(group.values.get(name) for group in groups)]
    width = max(WIDTH, OUTSIDE_PIXELS + PIXELS_PER_CATEGORY * len(groups))
    figure, axes = _figure(width, title, subtitle)
    # The axis runs to 1.1 so that value labels above a full bar stay inside the frame.
    axes.set_ylim(0, 1.1)
    axes.set_yticks([tick / 5 for tick in range(6)])
    axes.set_ylabel("Accuracy (95% CI)", fontsize=11, color=INK)
    axes.set_xlim(-0.5, max(1, len(groups)) - 0.5)
    # A bar is at most about 40 pixels wide, so that a lone category keeps slim bars.
    slot_pixels = (width - OUTSIDE_PIXELS) / max(1, len(groups))
    bar = min(40 / slot_pixels, 0.8 / max(1, len(series)))
    for index, group in enumerate(groups):
        _bars(axes, index, group, series, bar)
    axes.set_xticks(range(len(groups)), [_short(group.label) for group in groups], fontsize=10)
    axes.tick_params(axis="x", length=0, pad=6)
    for index, group in enumerate(groups):
        axes.annotate(
            f"n={group.items}",
            (index, 0),
            xycoords=("data", "axes fraction"),
            xytext=(0, -24),
            textcoords="offset points",
            ha="center",
            va="top",
            fontsize=8,
            color=GREY,
        )
    squares = [Line2D([], [], color=SERIES_COLOURS[name], marker="s", linestyle="none") for name in series]
    _legend(axes, [(labels.get(name, name), square) for name, square in zip(series, squares, strict=True)])
    return _save(figure, path)
