"""The drift statistics, as Evidently 0.7 computes them (its `legacy/calculations/stattests`),
on columns with their NaN and infinite values dropped.

A numeric column comes as a float64 array; a categorical one as the counts of its values, which
is all the categorical methods look at. numpy and scipy are imported by the caller's first use.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from specops.spec.monitoring import P_VALUE

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Floats = npt.NDArray[np.float64]

Counts = Mapping[Any, int]

#: Evidently's `auto` choice: a reference of at most this many rows gets the tests...
SMALL_REFERENCE = 1000
#: ...and a numeric column with at most this many values (both sides together) is counted.
FEW_VALUES = 5
#: PSI and Jensen-Shannon bin a numeric column with more than this many reference values on
#: Sturges' grid; fewer are counted value by value.
BINNED_ABOVE = 20
#: The floor of the reference's standard deviation that normalizes Wasserstein's distance.
STD_FLOOR = 0.001

NUMERIC_ONLY = frozenset({"ks", "wasserstein"})


def auto_method(kind: str, reference_rows: int, values: int | None) -> str:
    """Evidently's default test for a column: `values` is the number of distinct values of both
    sides together, None when it is above FEW_VALUES."""
    few = values is not None and values <= FEW_VALUES
    if reference_rows <= SMALL_REFERENCE:
        if kind == "numeric" and not few:
            return "ks"
        return "z" if values is not None and values <= 2 else "chi2"
    return "jensenshannon" if kind == "categorical" or few else "wasserstein"


def drifted(method: str, statistic: float, threshold: float) -> bool:
    """Each method's comparison with its threshold, as Evidently writes it (`<=` for KS)."""
    if method == "ks":
        return statistic <= threshold
    if method in P_VALUE:
        return statistic < threshold
    return statistic >= threshold


# Categorical methods: counts of values on both sides.


def chi2(reference: Counts, current: Counts) -> float:
    """Pearson's chi-squared test of the current counts against the reference's proportions."""
    from scipy.stats import chisquare

    # In one order whatever the order the values were counted in, or the hash seed: the sums
    # over them, hence the statistic, are then the same to the last bit, in one run or combined.
    keys = list(reference.keys() | current.keys())
    try:
        keys.sort()
    except TypeError:  # values of several types: each type's apart
        keys.sort(key=lambda k: (type(k).__name__, k))
    n_ref, n_cur = sum(reference.values()), sum(current.values())
    expected = [reference.get(k, 0) * (n_cur / n_ref) for k in keys]
    observed = [current.get(k, 0) for k in keys]
    import numpy as np

    with np.errstate(divide="ignore", invalid="ignore"):  # an unseen value: p = 0
        return float(chisquare(observed, expected)[1])


def z_test(reference: Counts, current: Counts) -> float:
    """The two-sided Z-test of the proportion of the first value (in sorted order) against the
    rest; p = 1 when both sides hold the same single value."""
    keys = sorted(reference.keys() | current.keys())
    if len(keys) == 1:
        return 1.0
    n1, n2 = sum(reference.values()), sum(current.values())
    p1 = (n1 - reference.get(keys[0], 0)) / n1
    p2 = (n2 - current.get(keys[0], 0)) / n2
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    z = (p1 - p2) / math.sqrt(pooled * (1 - pooled) * (1.0 / n1 + 1.0 / n2))
    # Evidently's 2 * (1 - norm.cdf(|z|)), with SciPy's normal CDF: erfc(-x / sqrt 2) / 2.
    return 2 * (1 - 0.5 * math.erfc(-abs(z) / math.sqrt(2)))


def shares(reference: Counts, current: Counts) -> tuple[Floats, Floats]:
    """The share of each value on both sides, over the values of either."""
    import numpy as np

    # In one order whatever the order the values were counted in, or the hash seed: the sums
    # over them, hence the statistic, are then the same to the last bit, in one run or combined.
    keys = list(reference.keys() | current.keys())
    try:
        keys.sort()
    except TypeError:  # values of several types: each type's apart
        keys.sort(key=lambda k: (type(k).__name__, k))
    n_ref, n_cur = sum(reference.values()), sum(current.values())
    ref = np.array([reference.get(k, 0) / n_ref for k in keys], dtype=np.float64)
    cur = np.array([current.get(k, 0) / n_cur for k in keys], dtype=np.float64)
    return ref, cur


def fill_zeroes(percents: Floats) -> Floats:
    """Evidently's epsilon for an empty bin of PSI: a millionth of the smallest share when that
    is at most 0.0001, else 0.0001."""
    import numpy as np

    out = percents.copy()
    smallest = float(out[out != 0].min())
    np.place(out, out == 0, smallest / 10**6 if smallest <= 0.0001 else 0.0001)
    filled: Floats = out
    return filled


def psi(ref: Floats, cur: Floats) -> float:
    """The population stability index of two lists of shares."""
    import numpy as np

    ref, cur = fill_zeroes(ref), fill_zeroes(cur)
    return float(np.sum((ref - cur) * np.log(ref / cur)))


def jensenshannon(ref: Floats, cur: Floats) -> float:
    """SciPy's Jensen-Shannon distance (natural logarithm) of two lists of shares, as SciPy
    computes it (`scipy.spatial.distance.jensenshannon`), without importing SciPy."""
    import numpy as np

    p, q = ref / np.sum(ref), cur / np.sum(cur)
    m = (p + q) / 2.0
    with np.errstate(divide="ignore", invalid="ignore"):
        left = np.where(p > 0, p * np.log(p / m), 0.0)
        right = np.where(q > 0, q * np.log(q / m), 0.0)
    return float(np.sqrt((np.sum(left) + np.sum(right)) / 2.0))


def of_shares(method: str, ref: Floats, cur: Floats) -> float:
    return psi(ref, cur) if method == "psi" else jensenshannon(ref, cur)


# Numeric methods on whole columns.


def ks(reference: Floats, current: Floats) -> float:
    """The two-sample Kolmogorov-Smirnov test's two-sided p-value."""
    from scipy.stats import ks_2samp

    return float(ks_2samp(reference, current)[1])


def wasserstein(reference: Floats, current: Floats) -> float:
    """The first Wasserstein distance divided by the reference's standard deviation, floored."""
    import numpy as np

    with np.errstate(over="ignore"):
        spread = float(np.std(reference))
    if math.isinf(spread):  # the squares of values near the float's limit overflow, not it
        scale = float(np.max(np.abs(reference)))
        spread = float(np.std(reference / scale)) * scale
    norm = max(spread, STD_FLOOR)
    return wasserstein_distance(reference, current) / norm


def wasserstein_distance(u: Floats, v: Floats) -> float:
    """SciPy's `wasserstein_distance(u, v)`: the integral of |F_u - F_v| over the values of
    both, computed as SciPy does but with sorts NumPy does faster than SciPy's argsort."""
    import numpy as np

    u, v = np.sort(u), np.sort(v)
    both = np.concatenate((u, v))
    both.sort()
    deltas = np.diff(both)
    u_cdf = np.searchsorted(u, both[:-1], "right") / u.size
    v_cdf = np.searchsorted(v, both[:-1], "right") / v.size
    return float(np.sum(np.abs(u_cdf - v_cdf) * deltas))


@dataclass(frozen=True)
class Range:
    """The smallest and largest finite value of a column on both sides, and how many there are:
    all that Sturges' grid depends on."""

    low: float
    high: float
    size: int
    integer: bool = False


def sturges_edges(span: Range) -> Floats:
    """`np.histogram_bin_edges(concat, "sturges")` from the range alone, as NumPy computes it."""
    import numpy as np

    first, last = span.low, span.high
    width = (last - first) / (math.log2(span.size) + 1.0)
    if first == last:
        first, last = first - 0.5, last + 0.5
    if width and span.integer and width < 1:
        width = 1
    bins = math.ceil((last - first) / width) if width else 1
    return np.linspace(first, last, bins + 1, endpoint=True, dtype=np.float64)


def binned_shares(reference: Floats, current: Floats) -> tuple[Floats, Floats]:
    """PSI's and Jensen-Shannon's shares of a numeric column with many values: the share of each
    side in each bin of Sturges' grid over both sides."""
    import numpy as np

    span = Range(
        float(min(reference.min(), current.min())),
        float(max(reference.max(), current.max())),
        reference.size + current.size,
    )
    edges = sturges_edges(span)
    ref = np.histogram(reference, edges)[0] / reference.size
    cur = np.histogram(current, edges)[0] / current.size
    return ref.astype(np.float64), cur.astype(np.float64)
