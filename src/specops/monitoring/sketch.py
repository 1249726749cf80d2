"""One pass over a column, a batch at a time, keeping what the drift methods need in memory that
does not grow with the rows: counts, range, moments, the distinct values while they are few, and
a histogram on a fine grid whose error on Wasserstein's distance is known exactly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from specops.monitoring.ks import Steps
from specops.monitoring.methods import BINNED_ABOVE

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Floats = npt.NDArray[np.float64]
    Ints = npt.NDArray[np.int64]
    Bools = npt.NDArray[np.bool_]

#: Distinct values are counted up to this many: enough for every decision on few values.
CAP = BINNED_ABOVE + 1
#: Bins of the grid between the reference's 0.1% and 99.9% quantiles; one more on each side.
GRID_BINS = 4096
#: The quantiles of the first reference batch that bound the grid.
GRID_QUANTILES = (0.001, 0.999)
#: The size of the sample of the first reference batch whose quantiles bound the grid.
SAMPLE = 65_536
#: Values looked at first to tell a column of many values without counting them all.
PREFIX = 4096
#: A categorical column of more distinct values than this on a side (identifiers, free text)
#: is not compared: past it, its values are no longer counted, so memory stays bounded.
MAX_CATEGORIES = 100_000
#: Bins kept for the values beyond the grid, at most: past that, neighbours pair up.
BEYOND_BINS = 1024
#: Bins beyond the grid are counted into an array up to this span of them, else sorted.
DENSE = 1 << 20
#: A value's distance beyond the grid, in the grid's bins, is clipped here (it fits an int64).
FAR = 2.0**62


@dataclass(frozen=True)
class Grid:
    """Equal bins between `low` and `high`, and one bin below and one above them."""

    low: float
    high: float
    bins: int = GRID_BINS

    @classmethod
    def around(cls, values: Floats) -> Grid:
        import numpy as np

        if values.size == 0:
            return cls(0.0, 1.0)
        # A sample places the grid well enough: the bounds hold wherever the edges are.
        sample = values[:: max(1, values.size // SAMPLE)]
        low, high = (float(q) for q in np.quantile(sample, GRID_QUANTILES))
        if not high > low:
            low, high = low - 0.5, high + 0.5
        return cls(low, high)

    def histogram(self, values: Floats) -> tuple[Ints, Bools | None]:
        """The counts of the bins, and which values lie beyond the grid (None if none)."""
        import numpy as np

        scale = self.bins / (self.high - self.low)
        with np.errstate(over="ignore"):  # a value near the float's limit is clipped below
            index = values - self.low
            index *= scale
        index += 1
        # Clipped to [0, bins + 1], truncation is the floor: below `low` is bin 0.
        np.clip(index, 0, self.bins + 1, out=index)
        counts = np.bincount(index.astype(np.intp), minlength=self.bins + 2).astype(np.int64)
        outside = None
        if counts[0] or counts[-1]:  # the outer bins' members, as the counts placed them
            outside = (index < 1) | (index >= self.bins + 1)
        return counts, outside

    def offsets(self, values: Floats) -> Floats:
        """Each value's distance from `low` in bins, as `histogram` computes it."""
        import numpy as np

        with np.errstate(over="ignore"):  # Beyond.add clips what overflows
            out: Floats = (values - self.low) * (self.bins / (self.high - self.low))
        return out

    def widths(self, low: float, high: float) -> Floats:
        """Each bin's width, the outer ones reaching the data's `low` and `high`."""
        import numpy as np

        inner = (self.high - self.low) / self.bins
        out = np.full(self.bins + 2, inner, dtype=np.float64)
        out[0] = max(0.0, self.low - low)
        out[-1] = max(0.0, high - self.high)
        return out


@dataclass
class Beyond:
    """How many values lie beyond a grid, and where: bins of 2**level of the grid's bins,
    numbered from the grid's `low` (negative below it). The bins do not depend on the data, so
    the parts of a column add up exactly, and the level is the least at which all the values
    so far take at most BEYOND_BINS bins: whatever the order or split of the parts, the sum
    is the same."""

    level: int = 0
    counts: dict[int, int] = field(default_factory=dict)

    def add(self, offsets: Floats) -> None:
        """Count values at their `Grid.offsets`."""
        import numpy as np

        if not offsets.size:
            return
        index = np.clip(np.floor(offsets), -FAR, FAR - 1).astype(np.int64) >> self.level
        first, last = int(index.min()), int(index.max())
        if last - first < DENSE:  # counting is cheaper than sorting
            counts = np.bincount(index - first)
            keys = np.flatnonzero(counts) + first
            counts = counts[keys - first]
        else:
            keys, counts = np.unique(index, return_counts=True)
        level = self.level
        while keys.size > BEYOND_BINS:  # coarser first, so that the dictionary stays small
            level += 1
            keys, starts = np.unique(keys >> 1, return_index=True)
            counts = np.add.reduceat(counts, starts)
        self._coarsen(level)
        shift = self.level - level
        for key, count in zip(keys.tolist(), counts.tolist(), strict=True):
            key >>= shift
            self.counts[key] = self.counts.get(key, 0) + count
        self._coarsen(self.level)

    def merge(self, other: Beyond) -> None:
        """Add the counts of another part of the same column, beyond the same grid."""
        self._coarsen(max(self.level, other.level))
        shift = self.level - other.level
        for key, count in other.counts.items():
            key >>= shift
            self.counts[key] = self.counts.get(key, 0) + count
        self._coarsen(self.level)

    def _coarsen(self, level: int) -> None:
        """Bins of at least `level`, and coarser ones while they are too many."""
        while self.level < level or len(self.counts) > BEYOND_BINS:
            merged: dict[int, int] = {}
            for key, count in self.counts.items():
                merged[key >> 1] = merged.get(key >> 1, 0) + count
            self.counts, self.level = merged, self.level + 1


@dataclass
class NumericSketch:
    """A numeric column's finite values, summed up."""

    grid: Grid | None = None
    integer: bool = False
    n: int = 0
    dropped: int = 0
    low: float = math.inf
    high: float = -math.inf
    mean: float = 0.0
    m2: float = 0.0
    #: Each distinct value's count, or None once there are more than CAP.
    distinct: dict[float, int] | None = field(default_factory=dict)
    hist: Ints | None = None
    #: Where the values beyond the grid lie, for the plots.
    beyond: Beyond = field(default_factory=Beyond)
    #: For KS over partitions (specops.monitoring.ks): the reference's knots, whether they are
    #: its every distinct value, and this side's counts at them; None where not summed up.
    knots: Floats | None = None
    every: bool = True
    steps: Steps | None = None

    def add(self, raw: Floats) -> None:
        import numpy as np

        if raw.size == 0:
            return
        # NaN makes min() NaN, and an infinity shows in min() or max(): when both are finite,
        # so is every value, and the common case needs no mask.
        low, high = float(raw.min()), float(raw.max())
        values = raw
        if not (math.isfinite(low) and math.isfinite(high)):
            values = raw[np.isfinite(raw)]
            self.dropped += raw.size - values.size
            if values.size == 0:
                return
            low, high = float(values.min()), float(values.max())
        self.low, self.high = min(self.low, low), max(self.high, high)
        # Chan's pairwise update: the batch's own mean and squared deviations, then combined.
        with np.errstate(over="ignore", invalid="ignore"):  # near the float's limit: inf, NaN
            mean = float(values.mean())
            deviations = values - mean
            m2 = float(np.einsum("i,i->", deviations, deviations))  # not BLAS: no thread pool
        n, total = values.size, self.n + values.size
        delta = mean - self.mean
        self.m2 += m2 + delta * delta * self.n * n / total
        self.mean += delta * n / total
        self.n = total
        self._count(values)
        if self.grid is not None:
            counts, outside = self.grid.histogram(values)
            self.hist = counts if self.hist is None else self.hist + counts
            if outside is not None:
                self.beyond.add(self.grid.offsets(values[outside]))

    def _count(self, values: Floats) -> None:
        import numpy as np

        if self.distinct is None:
            return
        if values.size > PREFIX and len(np.unique(values[:PREFIX])) > CAP:
            self.distinct = None
            return
        keys, counts = np.unique(values, return_counts=True)
        for key, count in zip(keys.tolist(), counts.tolist(), strict=True):
            self.distinct[key] = self.distinct.get(key, 0) + count
        if len(self.distinct) > CAP:
            self.distinct = None

    @property
    def std(self) -> float:
        """np.std of the values (ddof 0)."""
        return math.sqrt(self.m2 / self.n) if self.n else 0.0

    def merge(self, other: NumericSketch) -> None:
        """Add another part of the same column, sketched on the same grid."""
        if self.steps is not None and other.steps is not None:
            self.steps.add(other.steps)
        else:
            self.steps = None
        if other.n == 0:
            self.dropped += other.dropped
            return
        total = self.n + other.n
        delta = other.mean - self.mean
        self.m2 += other.m2 + delta * delta * self.n * other.n / total
        self.mean += delta * other.n / total
        self.n, self.dropped = total, self.dropped + other.dropped
        self.low, self.high = min(self.low, other.low), max(self.high, other.high)
        if self.distinct is not None and other.distinct is not None:
            for key, count in other.distinct.items():
                self.distinct[key] = self.distinct.get(key, 0) + count
            if len(self.distinct) > CAP:
                self.distinct = None
        else:
            self.distinct = None
        if other.hist is not None:
            self.hist = other.hist.copy() if self.hist is None else self.hist + other.hist
        self.beyond.merge(other.beyond)


@dataclass
class CategoricalSketch:
    """A categorical column's values and their counts, until they are more than
    MAX_CATEGORIES: then `over`, and only the values and dropped ones are counted."""

    n: int = 0
    dropped: int = 0
    counts: dict[Any, int] = field(default_factory=dict)
    over: bool = False

    def add_arrow(self, array: Any) -> None:
        import pyarrow.compute as pc

        self.dropped += array.null_count
        values = array.drop_null()
        self.n += len(values)
        if self.over:
            return
        found = pc.value_counts(values)
        for key, count in zip(found.field(0).to_pylist(), found.field(1).to_pylist(), strict=True):
            self.counts[key] = self.counts.get(key, 0) + count
        self._bound()

    def merge(self, other: CategoricalSketch) -> None:
        """Add another part of the same column."""
        self.n += other.n
        self.dropped += other.dropped
        self.over = self.over or other.over
        if not self.over:
            for key, count in other.counts.items():
                self.counts[key] = self.counts.get(key, 0) + count
        self._bound()

    def _bound(self) -> None:
        if self.over or len(self.counts) > MAX_CATEGORIES:
            self.over, self.counts = True, {}

    def add_floats(self, raw: Floats) -> None:
        import numpy as np

        values = raw[np.isfinite(raw)]
        self.dropped += raw.size - values.size
        keys, counts = np.unique(values, return_counts=True)
        for key, count in zip(keys.tolist(), counts.tolist(), strict=True):
            self.counts[key] = self.counts.get(key, 0) + count
            self.n += count


def too_many(
    ref: dict[str, NumericSketch | CategoricalSketch],
    cur: dict[str, NumericSketch | CategoricalSketch],
    columns: Sequence[str],
) -> list[tuple[str, str]]:
    """The categorical columns of more than MAX_CATEGORIES values on a side, with the reason
    they are not compared."""
    found = []
    for name in columns:
        for side, sketches in (("reference", ref), ("current batch", cur)):
            sketch = sketches[name]
            if isinstance(sketch, CategoricalSketch) and sketch.over:
                reason = (
                    f"it has more than {MAX_CATEGORIES:,} distinct values in the {side} (an"
                    " identifier?); list it under `monitoring.ignore`"
                )
                found.append((name, reason))
                break
    return found


def wasserstein_bounds(reference: NumericSketch, current: NumericSketch) -> tuple[float, float]:
    """Bounds on the first Wasserstein distance of two columns from their histograms on one
    grid: it is the integral of |F_ref - F_cur|, and inside a bin each CDF lies between its
    values at the bin's edges."""
    import numpy as np

    assert reference.grid is not None and reference.hist is not None
    assert current.hist is not None
    widths = reference.grid.widths(
        min(reference.low, current.low), max(reference.high, current.high)
    )
    f_ref = np.cumsum(reference.hist) / reference.n
    f_cur = np.cumsum(current.hist) / current.n
    before_ref = np.concatenate(([0.0], f_ref[:-1]))
    before_cur = np.concatenate(([0.0], f_cur[:-1]))
    upper = np.maximum(f_ref - before_cur, f_cur - before_ref)
    lower = np.maximum(0.0, np.maximum(before_ref - f_cur, before_cur - f_ref))
    return float(lower @ widths), float(upper @ widths)


def histogram(values: Floats, edges: Floats) -> Ints:
    """np.histogram's counts, which add up batch by batch."""
    import numpy as np

    return np.histogram(values[np.isfinite(values)], edges)[0].astype(np.int64)
