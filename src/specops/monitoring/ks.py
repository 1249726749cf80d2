"""The Kolmogorov-Smirnov test over a batch split into partitions, from counts that add up.

SciPy's `ks_2samp` takes D = sup_x |F_ref(x) - F_cur(x)| over the values of both sides.
Between two consecutive distinct values of the reference F_ref is constant and F_cur
non-decreasing, so the supremum is reached at a reference value or just below one: at each
distinct reference value r, the counts of current values `< r` and `<= r` give D exactly, and
those counts add across partitions. The p-value depends on D and the two sizes only, so it is
SciPy's own: for sizes where SciPy computes it exactly, from two samples of those sizes with
that D; above, from its asymptotic formula.

A reference with more than MAX_KNOTS distinct values is summed up at MAX_KNOTS of its values
(its quantiles, the same in every partition): D then lies between bounds, and the verdict is
taken only when both bounds give it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Floats = npt.NDArray[np.float64]
    Ints = npt.NDArray[np.int64]

#: The reference's distinct values kept in a summary: every one up to this many (which covers
#: every reference for which SciPy's p-value is exact), else this many of its quantiles.
MAX_KNOTS = 10_000
#: SciPy's `ks_2samp(method="auto")` is exact while neither side has more values than this.
MAX_AUTO_N = 10_000


@dataclass
class Steps:
    """How many values of a side lie below, and up to, each knot (a value of the reference):
    the counts of partitions add up."""

    below: Ints
    upto: Ints

    def add(self, other: Steps) -> None:
        self.below = self.below + other.below
        self.upto = self.upto + other.upto


def knots(values: Floats) -> tuple[Floats, bool]:
    """The reference's distinct values, or MAX_KNOTS of its quantiles when it has more; and
    whether they are every distinct value."""
    import numpy as np

    distinct = np.unique(values)
    if distinct.size <= MAX_KNOTS:
        return distinct, True
    ordered = np.sort(values)
    where = np.linspace(0, ordered.size - 1, MAX_KNOTS).round().astype(np.intp)
    return np.unique(ordered[where]), False


def steps(knots: Floats, values: Floats) -> Steps:
    """One side's counts below and up to each knot, from its finite values."""
    import numpy as np

    ordered = np.sort(values)
    below = np.searchsorted(ordered, knots, "left").astype(np.int64)
    return Steps(below, np.searchsorted(ordered, knots, "right").astype(np.int64))


@dataclass(frozen=True)
class Candidate:
    """A value of F_ref - F_cur (sign 1) or F_cur - F_ref (sign -1) from the counts `ref` and
    `cur`, computed as SciPy computes it."""

    ref: int
    cur: int
    sign: int

    def value(self, n_ref: int, n_cur: int) -> float:
        if self.sign > 0:
            return self.ref / n_ref - self.cur / n_cur
        return self.cur / n_cur - self.ref / n_ref


def _best(n_ref: int, n_cur: int, found: list[tuple[Any, Any, int]], floor: Candidate) -> Candidate:
    """The largest of the candidates, given as arrays of counts with their sign."""
    import numpy as np

    best, top = floor, floor.value(n_ref, n_cur)
    for ref, cur, sign in found:
        if not len(ref):
            continue
        values = ref / n_ref - cur / n_cur if sign > 0 else cur / n_cur - ref / n_ref
        i = int(np.argmax(values))
        if values[i] > top:
            best, top = Candidate(int(ref[i]), int(cur[i]), sign), float(values[i])
    return best


def bounds(n_ref: int, n_cur: int, ref: Steps, cur: Steps) -> tuple[Candidate, Candidate]:
    """D's lower and upper bounds; equal when the knots are every reference value.

    The lower bound is the largest |F_ref - F_cur| at the knots and just below them, which are
    values D is taken over. Between two knots each CDF lies between its values at both ends,
    which bounds |F_ref - F_cur| there from above."""
    import numpy as np

    zero = Candidate(0, 0, 1)
    low = _best(
        n_ref,
        n_cur,
        [
            (ref.upto, cur.upto, 1),
            (ref.upto, cur.upto, -1),
            (ref.below, cur.below, 1),
            (ref.below, cur.below, -1),
        ],
        zero,
    )
    # The cells between knots, and below the first and above the last: each CDF goes from its
    # value at the knot before (0 below the first) to its value just below the knot after.
    start_ref = np.concatenate(([0], ref.upto))
    start_cur = np.concatenate(([0], cur.upto))
    end_ref = np.concatenate((ref.below, [n_ref]))
    end_cur = np.concatenate((cur.below, [n_cur]))
    high = _best(n_ref, n_cur, [(end_ref, start_cur, 1), (start_ref, end_cur, -1)], low)
    return low, high


def p_value(d: Candidate, n_ref: int, n_cur: int) -> float:
    """SciPy's two-sided `ks_2samp(...)[1]` for two samples of these sizes whose statistic is
    `d`'s value."""
    import numpy as np

    statistic = d.value(n_ref, n_cur)
    if statistic <= 0:
        d, statistic = Candidate(0, 0, 1), 0.0
    if max(n_ref, n_cur) <= MAX_AUTO_N:
        from scipy.stats import ks_2samp

        # Two samples with that statistic: d.ref values of 0 then 1s, d.cur values of 0 then 1s.
        ref = np.repeat([0.0, 1.0], [d.ref, n_ref - d.ref])
        cur = np.repeat([0.0, 1.0], [d.cur, n_cur - d.cur])
        return float(ks_2samp(ref, cur)[1])
    from scipy.stats import kstwo

    # SciPy's asymptotic branch of ks_2samp, as it writes it.
    m, n = sorted([float(n_ref), float(n_cur)], reverse=True)
    en = m * n / (m + n)
    return float(np.clip(kstwo.sf(statistic, np.round(en)), 0, 1))
