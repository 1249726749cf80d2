"""Both sides' distributions of a column, from its sketches, drawn as inline SVG.

A numeric column is drawn as a histogram on the reference's grid (the sketch's fine bins merged,
so both sides share the bins exactly, and partitions combine them exactly), with an open bin on
each side for the values beyond the reference's 0.1% and 99.9% quantiles when there are any.
When the current's own 0.1% or 99.9% quantile lies beyond the grid (a batch shifted far away,
which would fill one open bin), the bins span from the lower of both to the higher, and each
side's fine bins, and its bins beyond the grid (sketch.Beyond), are spread evenly over them: the
plot of a combined batch is still that of one run, since those bins combine exactly too. A
categorical column is drawn as the share of each category. Every text is escaped here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from specops.monitoring.sketch import GRID_QUANTILES
from specops.spec.problems import printable

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from specops.monitoring.sketch import CategoricalSketch, Grid, NumericSketch

    Floats = npt.NDArray[np.float64]

#: Bars of a numeric column's histogram between the reference's quantiles.
HISTOGRAM_BINS = 32
#: Categories drawn; the others share one bar.
TOP_CATEGORIES = 12
REFERENCE_COLOUR = "#4c78a8"
CURRENT_COLOUR = "#f58518"
WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 56, 12, 28, 40


@dataclass(frozen=True)
class Distribution:
    """The share of each side's values in each bar: a histogram's bins (`edges` has one more
    item than `labels`) or categories."""

    kind: str
    labels: tuple[str, ...]
    reference: tuple[float, ...]
    current: tuple[float, ...]
    edges: tuple[float, ...] = ()


def distribution(
    ref: NumericSketch | CategoricalSketch,
    cur: NumericSketch | CategoricalSketch,
    counts: tuple[Mapping[Any, int], Mapping[Any, int]] | None,
) -> Distribution | None:
    """A categorical column's shares from its counts, else a numeric column's histogram;
    None when the sketches hold neither (a column counted again from the rows)."""
    if counts is not None:
        return _categories(*counts)
    hist_ref, hist_cur = getattr(ref, "hist", None), getattr(cur, "hist", None)
    if hist_ref is None or hist_cur is None or ref.n == 0 or cur.n == 0:
        return None
    return _histogram(ref, cur)  # type: ignore[arg-type]


def _categories(reference: Mapping[Any, int], current: Mapping[Any, int]) -> Distribution:
    n_ref, n_cur = sum(reference.values()) or 1, sum(current.values()) or 1
    shares = {
        key: (reference.get(key, 0) / n_ref, current.get(key, 0) / n_cur)
        for key in reference.keys() | current.keys()
    }
    ranked = sorted(shares, key=lambda k: (-max(shares[k]), str(k)))
    shown, rest = ranked[:TOP_CATEGORIES], ranked[TOP_CATEGORIES:]
    labels = [str(k) for k in shown]
    ref = [shares[k][0] for k in shown]
    cur = [shares[k][1] for k in shown]
    if rest:
        labels.append(f"{len(rest):,} others")
        ref.append(sum(shares[k][0] for k in rest))
        cur.append(sum(shares[k][1] for k in rest))
    return Distribution("categories", tuple(labels), tuple(ref), tuple(cur))


def _histogram(ref: NumericSketch, cur: NumericSketch) -> Distribution:
    """On the reference's grid when the current's bulk lies inside it; else on equal bins
    spanning the grid and the current's bulk, so that a batch shifted far away is drawn
    where it is, not in one open bin."""
    import numpy as np

    assert ref.grid is not None and ref.hist is not None and cur.hist is not None
    grid = ref.grid
    low, high = _bulk(cur, grid)
    if low < grid.low or high > grid.high:
        return _spread(ref, cur, min(low, grid.low), max(high, grid.high))
    starts = np.linspace(0, grid.bins, HISTOGRAM_BINS + 1).astype(np.intp)[:-1]
    step = (grid.high - grid.low) / HISTOGRAM_BINS
    edges = [grid.low + i * step for i in range(HISTOGRAM_BINS)] + [grid.high]
    sides = []
    for sketch in (ref, cur):
        hist = sketch.hist
        assert hist is not None
        inner = np.add.reduceat(hist[1:-1], starts).tolist()
        sides.append(([int(hist[0])], inner, [int(hist[-1])], sketch.n))
    return _with_open_bins(ref, cur, edges, sides)


def _with_open_bins(
    ref: NumericSketch,
    cur: NumericSketch,
    edges: list[float],
    sides: Sequence[tuple[list[Any], list[Any], list[Any], int]],
) -> Distribution:
    """The bars between `edges`, and one on each side for the values beyond them, if any."""
    below = sides[0][0][0] + sides[1][0][0] > 0
    above = sides[0][2][0] + sides[1][2][0] > 0
    if below:
        edges.insert(0, min(ref.low, cur.low))
    if above:
        edges.append(max(ref.high, cur.high))
    shares = []
    for low, inner, high, n in sides:
        counts = (low if below else []) + inner + (high if above else [])
        shares.append(tuple(c / n for c in counts))
    labels = tuple(f"{_number(a)} to {_number(b)}" for a, b in pairwise(edges))
    return Distribution("histogram", labels, shares[0], shares[1], tuple(edges))


def _bins(sketch: NumericSketch, grid: Grid) -> tuple[Floats, Floats, Floats]:
    """Where a side's values lie, as the starts, ends and counts of its bins in order: the
    bins beyond the grid (each clamped to the values' range), and the grid's own."""
    import numpy as np

    assert sketch.hist is not None
    step = (grid.high - grid.low) / grid.bins
    width = step * 2.0**sketch.beyond.level
    keys = np.array(sorted(sketch.beyond.counts), dtype=np.float64)
    counts = np.array([sketch.beyond.counts[int(k)] for k in keys], dtype=np.float64)
    lows, highs = grid.low + keys * width, grid.low + (keys + 1) * width
    below = keys < 0  # negative keys hold the values below the grid, the others above it
    lows = np.where(below, lows, np.maximum(lows, grid.high))
    highs = np.where(below, np.minimum(highs, grid.low), highs)
    if keys.size:  # the outermost bins reach the extreme values, even clipped ones
        lows[0] = sketch.low if below[0] else lows[0]
        highs[-1] = sketch.high if not below[-1] else highs[-1]
    lows, highs = np.maximum(lows, sketch.low), np.minimum(highs, sketch.high)
    inner = grid.low + np.arange(grid.bins + 1) * step
    starts = np.concatenate((lows[below], inner[:-1], lows[~below]))
    ends = np.concatenate((highs[below], inner[1:], highs[~below]))
    ends = np.maximum(ends, np.nextafter(starts, np.inf))  # no bin of no width
    found = np.concatenate((counts[below], sketch.hist[1:-1], counts[~below]))
    return (
        starts.astype(np.float64),
        ends.astype(np.float64),
        found.astype(np.float64),
    )


def _bulk(sketch: NumericSketch, grid: Grid) -> tuple[float, float]:
    """Bounds on the side's quantiles of GRID_QUANTILES: the edges of the bins they fall in."""
    import numpy as np

    starts, ends, counts = _bins(sketch, grid)
    cumulative = np.cumsum(counts)
    low_q, high_q = (q * sketch.n for q in GRID_QUANTILES)
    first = min(int(np.searchsorted(cumulative, low_q, "left")), counts.size - 1)
    last = min(int(np.searchsorted(cumulative, high_q, "left")), counts.size - 1)
    # Within the values' range: a bin's end, pushed past its start, is no value.
    return max(float(starts[first]), sketch.low), min(float(ends[last]), sketch.high)


def _spread(ref: NumericSketch, cur: NumericSketch, low: float, high: float) -> Distribution:
    """Both sides on HISTOGRAM_BINS equal bins from `low` to `high`, each side's bins spread
    evenly over them (its distribution function drawn straight inside a bin)."""
    import numpy as np

    assert ref.grid is not None
    edges = np.linspace(low, high, HISTOGRAM_BINS + 1)
    sides = []
    for sketch in (ref, cur):
        starts, ends, counts = _bins(sketch, ref.grid)
        before = np.cumsum(counts) - counts
        knots = np.column_stack((starts, ends)).ravel()
        cumulative = np.column_stack((before, before + counts)).ravel()
        at = np.interp(edges, knots, cumulative, left=0.0, right=float(sketch.n))
        inner = np.diff(at).tolist()
        sides.append(([float(at[0])], inner, [sketch.n - float(at[-1])], sketch.n))
    return _with_open_bins(ref, cur, edges.tolist(), sides)


def _number(value: float) -> str:
    return f"{value:.4g}"


def _percent(value: float) -> str:
    return f"{value:.1%}" if value < 0.1 else f"{value:.0%}"


def _text(value: str, limit: int) -> str:
    shown = printable(value)
    return escape(shown if len(shown) <= limit else shown[: max(1, limit - 1)] + "…")


def svg(plot: Distribution, title: str) -> str:
    """The plot as an inline SVG element; `title` names it for screen readers."""
    inner_w, inner_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = max(max(plot.reference, default=0.0), max(plot.current, default=0.0)) or 1.0
    slot = inner_w / len(plot.labels)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{WIDTH}"'
        f' height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" class="plot">',
        f"<title>{escape(printable(title))}</title>",
        f'<line x1="{LEFT}" y1="{TOP + inner_h}" x2="{LEFT + inner_w}" y2="{TOP + inner_h}"'
        ' stroke="#444"/>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{TOP + inner_h}" stroke="#444"/>',
        f'<text x="{LEFT - 6}" y="{TOP + 4}" text-anchor="end">{_percent(top)}</text>',
        f'<text x="{LEFT - 6}" y="{TOP + inner_h + 4}" text-anchor="end">0%</text>',
    ]
    for index, label in enumerate(plot.labels):
        x = LEFT + index * slot
        for offset, share, colour, side in (
            (0.1, plot.reference[index], REFERENCE_COLOUR, "reference"),
            (0.5, plot.current[index], CURRENT_COLOUR, "current"),
        ):
            height = inner_h * share / top
            if height <= 0:
                continue
            parts.append(
                f'<rect x="{x + offset * slot:.2f}" y="{TOP + inner_h - height:.2f}"'
                f' width="{0.4 * slot:.2f}" height="{height:.2f}" fill="{colour}">'
                f"<title>{_text(label, 500)}: {side} {_percent(share)}</title></rect>"
            )
    parts += _axis(plot, slot, TOP + inner_h)
    parts += _legend()
    parts.append("</svg>")
    return "".join(parts)


def _axis(plot: Distribution, slot: float, base: float) -> list[str]:
    """Category names under their bars, or a histogram's edges at both ends and the middle."""
    parts = []
    if plot.kind == "categories":
        limit = max(2, int(slot / 7))
        for index, label in enumerate(plot.labels):
            x = LEFT + (index + 0.5) * slot
            parts.append(
                f'<text x="{x:.2f}" y="{base + 16}" text-anchor="middle">'
                f"{_text(label, limit)}</text>"
            )
        return parts
    count = len(plot.labels)
    for index, anchor in ((0, "start"), (count // 2, "middle"), (count, "end")):
        x = LEFT + index * slot
        parts.append(
            f'<text x="{x:.2f}" y="{base + 16}" text-anchor="{anchor}">'
            f"{_number(plot.edges[index])}</text>"
        )
    return parts


def _legend() -> list[str]:
    right = WIDTH - RIGHT
    parts = []
    for x, colour, name in (
        (right - 170, REFERENCE_COLOUR, "reference"),
        (right - 80, CURRENT_COLOUR, "current"),
    ):
        parts.append(f'<rect x="{x}" y="6" width="12" height="12" fill="{colour}"/>')
        parts.append(f'<text x="{x + 16}" y="16">{name}</text>')
    return parts
