"""What of the model's quality adds up across partitions, beyond counts: the scores of each
class on a grid of [0, 1] (and value by value while they are few), for ROC AUC; the latency in
bins that grow by GROWTH, for its percentiles."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from specops.monitoring.quality import Bools, Floats

#: The score's grid for ROC AUC's bounds: this many bins between 0 and 1.
SCORE_BINS = 1 << 16
#: Distinct scores counted exactly, over both classes and every partition, up to this many.
SCORE_VALUES = 20_000
#: Each bin of the latency's histogram is this much wider than the one before.
GROWTH = 1.01


@dataclass
class Scores:
    """Each class's scores counted on a grid of [0, 1], and value by value while they are few:
    {score: [positives, negatives]}, None once there are more than SCORE_VALUES."""

    positive: dict[int, int]
    negative: dict[int, int]
    values: dict[float, list[int]] | None

    @classmethod
    def of(cls, truth: Bools, score: Floats) -> Scores:
        """The scores of the rows of class 1 (`truth`) and of the others."""
        import numpy as np

        bins = np.minimum((score * SCORE_BINS).astype(np.int64), SCORE_BINS - 1)
        grid = []
        for mask in (truth, ~truth):
            keys, counts = np.unique(bins[mask], return_counts=True)
            grid.append(dict(zip(keys.tolist(), counts.tolist(), strict=True)))
        values: dict[float, list[int]] | None = {}
        distinct = np.unique(score)
        if distinct.size > SCORE_VALUES:
            values = None
        else:
            assert values is not None
            for at, m in ((0, truth), (1, ~truth)):
                keys, counts = np.unique(score[m], return_counts=True)
                for key, count in zip(keys.tolist(), counts.tolist(), strict=True):
                    values.setdefault(key, [0, 0])[at] += count
        return cls(grid[0], grid[1], values)

    def add(self, other: Scores) -> None:
        for mine, theirs in ((self.positive, other.positive), (self.negative, other.negative)):
            for key, count in theirs.items():
                mine[key] = mine.get(key, 0) + count
        if self.values is None or other.values is None:
            self.values = None
            return
        for score, (pos, neg) in other.values.items():
            both = self.values.setdefault(score, [0, 0])
            both[0] += pos
            both[1] += neg
        if len(self.values) > SCORE_VALUES:
            self.values = None

    def auc(self) -> tuple[float, float]:
        """ROC AUC's bounds: equal, and scikit-learn's, when the scores were counted value by
        value; else from the grid, where a positive and a negative in one bin count 0 or 1."""
        if self.values is not None:
            keys = sorted(self.values)
            pos = [self.values[k][0] for k in keys]
            neg = [self.values[k][1] for k in keys]
            twice, below = 0, 0
            for p, n in zip(pos, neg, strict=True):
                twice += p * (2 * below + n)  # lower negatives count 1, equal ones 1/2
                below += n
            both = sum(pos) * sum(neg)
            return (twice / (2 * both),) * 2 if both else (math.nan, math.nan)
        cells = sorted(self.positive.keys() | self.negative.keys())
        low = same = below = 0
        for cell in cells:
            p, n = self.positive.get(cell, 0), self.negative.get(cell, 0)
            low += p * below
            same += p * n
            below += n
        both = sum(self.positive.values()) * below
        if not both:
            return math.nan, math.nan
        return low / both, (low + same) / both

    def dump(self) -> dict[str, Any]:
        return {
            "positive": [[k, c] for k, c in self.positive.items()],
            "negative": [[k, c] for k, c in self.negative.items()],
            "values": None
            if self.values is None
            else [[k, p, n] for k, (p, n) in self.values.items()],
        }

    @classmethod
    def load(cls, data: dict[str, Any]) -> Scores:
        values = None
        if data["values"] is not None:
            values = {float(k): [int(p), int(n)] for k, p, n in data["values"]}
        return cls(
            {int(k): int(c) for k, c in data["positive"]},
            {int(k): int(c) for k, c in data["negative"]},
            values,
        )


@dataclass
class Latency:
    """Latency values counted in bins that grow by GROWTH (those at or below 0 in one bin),
    with their number, smallest and largest."""

    n: int
    low: float
    high: float
    bins: dict[int, int]
    #: The bin of the values at or below 0: below every other.
    NONPOSITIVE = -(1 << 62)

    @classmethod
    def of(cls, values: Floats) -> Latency:
        import numpy as np

        if not values.size:
            return cls(0, math.inf, -math.inf, {})
        keys = np.full(values.size, cls.NONPOSITIVE, dtype=np.int64)
        positive = values > 0
        keys[positive] = np.floor(np.log(values[positive]) / math.log(GROWTH)).astype(np.int64)
        found, counts = np.unique(keys, return_counts=True)
        bins = dict(zip(found.tolist(), counts.tolist(), strict=True))
        return cls(int(values.size), float(values.min()), float(values.max()), bins)

    def add(self, other: Latency) -> None:
        self.n += other.n
        self.low, self.high = min(self.low, other.low), max(self.high, other.high)
        for key, count in other.bins.items():
            self.bins[key] = self.bins.get(key, 0) + count

    def _edges(self, key: int) -> tuple[float, float]:
        if key == self.NONPOSITIVE:
            return self.low, min(0.0, self.high)
        # A hair wider than the bin, for the rounding of the logarithm that placed a value.
        low, high = GROWTH**key * (1 - 1e-9), GROWTH ** (key + 1) * (1 + 1e-9)
        return max(low, self.low), min(high, self.high)

    def percentiles(self) -> dict[str, float]:
        """p50 and p95 as the middle of their bounds, and each bound's half-width: NumPy's
        percentile lies between the values of two neighbouring ranks, each in a known bin."""
        keys = sorted(self.bins)
        ends, total = [], 0
        for key in keys:
            total += self.bins[key]
            ends.append(total)  # the ranks below `total` are in this bin or before
        found: dict[str, float] = {}
        for name, q in (("p50", 0.5), ("p95", 0.95)):
            rank = (self.n - 1) * q
            first, second = math.floor(rank), min(math.floor(rank) + 1, self.n - 1)
            low = self._edges(keys[_bin(ends, first)])[0]
            high = self._edges(keys[_bin(ends, second)])[1]
            found[name], found[f"{name}_error"] = (low + high) / 2, (high - low) / 2
        return found

    def dump(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "low": None if not self.n else self.low,
            "high": None if not self.n else self.high,
            "bins": [[k, c] for k, c in self.bins.items()],
        }

    @classmethod
    def load(cls, data: dict[str, Any]) -> Latency:
        n = int(data["n"])
        low = math.inf if not n else float(data["low"])
        high = -math.inf if not n else float(data["high"])
        return cls(n, low, high, {int(k): int(c) for k, c in data["bins"]})


def _bin(ends: list[int], rank: int) -> int:
    """The index of the bin that holds the value of this rank (from 0)."""
    import bisect

    return bisect.bisect_right(ends, rank)
