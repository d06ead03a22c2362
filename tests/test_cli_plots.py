"""The report charts: valid PNGs of the expected size, drawn for odd input too, without global state."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from ted.runs.plots import HEIGHT, WIDTH, BarGroup, CurvePoint, category_bars, learning_curve

BLUE = (31, 119, 180)
ORANGE = (230, 120, 20)
GREY = (150, 150, 150)


def _picture(path: Path) -> tuple[tuple[int, int], set[tuple[int, ...]]]:
    """The size of a PNG and the colours of its pixels, after checking that it is one."""
    with Image.open(path) as image:
        assert image.format == "PNG"
        image.verify()
    with Image.open(path) as image:
        return image.size, {colour for _, colour in image.convert("RGB").getcolors(1 << 20) or []}


@pytest.mark.parametrize(
    ("points", "colours"),
    [
        ([CurvePoint(8, 0.25, 6), CurvePoint(16, 0.8, 9), CurvePoint(24, None, 9)], {BLUE, ORANGE}),
        ([CurvePoint(3, 0.5, 2)], {BLUE, ORANGE}),
        ([CurvePoint(3, None, 2), CurvePoint(6, None, 4)], {ORANGE}),
        ([CurvePoint(100_000, 1.0, 12_345)], {BLUE, ORANGE}),
        ([], set()),
    ],
    ids=["curve", "single-point", "no-accuracy", "large-numbers", "empty"],
)
def test_learning_curve_is_a_png_of_the_report_size(
    tmp_path: Path, points: list[CurvePoint], colours: set[tuple[int, int, int]]
) -> None:
    path = learning_curve(points, tmp_path / "curve.png", title="Learning curve", subtitle="student s")
    size, found = _picture(path)
    assert size == (WIDTH, HEIGHT) == (960, 540)
    assert colours <= found, "a series with points is drawn in its colour"
    assert len(found) > 2, "the axes, ticks and labels are drawn even without points"


@pytest.mark.parametrize(
    ("groups", "colours"),
    [
        ([BarGroup("all", {"baseline": (0.3, 0.1, 0.5), "library": (0.8, 0.6, 1.0)}, 10)], {GREY, BLUE}),
        ([BarGroup("a", {"library": (1.0, 1.0, 1.0)}, 1)], {BLUE}),
        ([BarGroup("a", {"baseline": (0.4, 0.2, 0.6), "library": None}, 3)], {GREY}),
        ([BarGroup("a", {"baseline": None, "library": None}, 0), BarGroup("b", {}, 0)], set()),
        ([BarGroup("a" * 80, {"library": (1.2, -0.1, 1.5)}, 2)], {BLUE}),
        ([BarGroup("a", {"library": (0.5, 0.6, 0.4)}, 2)], {BLUE}),
        ([], set()),
    ],
    ids=["both", "one-series", "library-not-run", "nothing-run", "out-of-range", "inverted", "no-groups"],
)
def test_category_bars_draw_what_was_run(
    tmp_path: Path, groups: list[BarGroup], colours: set[tuple[int, int, int]]
) -> None:
    path = category_bars(groups, tmp_path / "bars.png", title="Accuracy", subtitle="student s")
    size, found = _picture(path)
    assert size == (960, 540)
    assert colours <= found
    if BLUE not in colours:
        assert BLUE not in found, "the library was not run: no library bars, no library legend"


def test_many_categories_widen_the_chart(tmp_path: Path) -> None:
    groups = [
        BarGroup(f"category {n}", {"baseline": (0.3, 0.1, 0.5), "library": (0.8, 0.6, 1.0)}, 5)
        for n in range(12)
    ]
    size, found = _picture(category_bars(groups, tmp_path / "bars.png", title="t"))
    assert size == (180 + 110 * 12, 540)
    assert {GREY, BLUE} <= found


def test_drawing_leaves_matplotlib_global_state_alone() -> None:
    code = (
        "import sys, tempfile\n"
        "from pathlib import Path\n"
        "import ted.cli.main, ted.runs.plots\n"
        "from ted.runs.plots import BarGroup, CurvePoint, category_bars, learning_curve\n"
        "print('matplotlib' in sys.modules)\n"
        "folder = Path(tempfile.mkdtemp())\n"
        "learning_curve([CurvePoint(1, 0.5, 1)], folder / 'c.png', title='t')\n"
        "category_bars([BarGroup('a', {'library': (0.5, 0.2, 0.8)}, 1)], folder / 'b.png', title='t')\n"
        "print('matplotlib.pyplot' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    # Importing the command line loads no matplotlib; drawing goes through no pyplot figure registry.
    assert result.stdout.split() == ["False", "False"]
