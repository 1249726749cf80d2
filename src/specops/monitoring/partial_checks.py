"""What a partition's summary must hold before it combines: a summary is a file anyone can edit,
so its counts are checked to be whole numbers that add up, its numbers finite, and its sketches
drawn on the reference's grid. A summary that breaks any of this is refused as damaged rather
than combined into a verdict it does not support.

Each check raises Damaged with what is wrong; the caller names the file.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

from specops.monitoring.sketch import CategoricalSketch, Grid, NumericSketch
from specops.spec.monitoring import DEFAULT_THRESHOLD, threshold_problem


class Damaged(ValueError):
    """What is wrong with a summary."""


#: No count of rows or values comes near this (it keeps sums of counts within an int64).
MAX_COUNT = 1 << 53
#: The deepest level of bins beyond the grid: one bin of 2**62 of the grid's bins covers all.
MAX_LEVEL = 63


def count(value: Any, what: str) -> int:
    """A count: a whole number from 0 to MAX_COUNT."""
    if type(value) is not int or not 0 <= value <= MAX_COUNT:
        raise Damaged(f"{what} is {value!r}, not a count")
    return value


def number(value: Any, what: str) -> float:
    """A finite number."""
    if type(value) not in (int, float) or not math.isfinite(value):
        raise Damaged(f"{what} is {value!r}, not a finite number")
    return float(value)


def counts(values: Any, what: str) -> int:
    """Counts given as a list or the values of a dictionary: their sum."""
    total = 0
    for value in values:
        if type(value) is not int or not 0 <= value <= MAX_COUNT:
            count(value, what)  # raises, with the message
        total += value
    return total


def pairs(found: Any, what: str) -> list[tuple[Any, Any]]:
    """A list of [key, value] pairs whose keys are unique."""
    if not isinstance(found, list) or not all(isinstance(p, list) and len(p) == 2 for p in found):
        raise Damaged(f"{what} is not a list of [key, count] pairs")
    keys = [_key(k, what) for k, _ in found]
    if len(set(keys)) != len(keys):
        raise Damaged(f"{what} lists a key twice")
    return [(k, v) for k, v in found]


def _key(key: Any, what: str) -> Any:
    if type(key) is float and not math.isfinite(key):
        raise Damaged(f"{what} has the key {key!r}")
    if type(key) not in (str, int, float, bool):
        raise Damaged(f"{what} has a key that is neither a string nor a number")
    # (key, type): True and 1 are one dictionary key, but different values here.
    return key, type(key) if type(key) is bool else None


def settings(saved: Any) -> None:
    """Settings a partition can have run with."""
    if not isinstance(saved, dict):
        raise Damaged("its settings are not an object")
    method, threshold, share = saved.get("method"), saved.get("threshold"), saved.get("share")
    if method != "auto" and method not in DEFAULT_THRESHOLD:
        raise Damaged(f"its method {method!r} is none of specops'")
    if threshold is not None:
        problem = threshold_problem(method, number(threshold, "its threshold"))
        if problem:
            raise Damaged(problem)
    if not 0 < number(share, "its share") <= 1:
        raise Damaged(f"its share {share!r} is not above 0 and at most 1")
    types = saved.get("types")
    if not isinstance(types, dict) or not all(
        isinstance(k, str) and v in ("numeric", "categorical") for k, v in types.items()
    ):
        raise Damaged("its column types are not an object of numeric or categorical")


def sketch(found: NumericSketch | CategoricalSketch, grid: Grid | None, name: str) -> None:
    """A column's sketch whose counts add up, on the reference's `grid`."""
    what = f"column {name!r}"
    n = count(found.n, f"{what}: its count of values")
    count(found.dropped, f"{what}: its count of dropped values")
    if isinstance(found, CategoricalSketch):
        if counts(found.counts.values(), f"{what}: its count of a value") != n:
            raise Damaged(f"{what}: its counts of each value do not add up to its {n:,} values")
        return
    if n:
        low, high = number(found.low, f"{what}: its low"), number(found.high, f"{what}: its high")
        if low > high:
            raise Damaged(f"{what}: its low {low!r} is above its high {high!r}")
        # The moments of values near the float's limit overflow: a run writes them as they are.
        if type(found.mean) is not float or type(found.m2) is not float or found.m2 < 0:
            raise Damaged(f"{what}: its mean and squared deviations are not those of numbers")
    if found.distinct is not None:
        keys = list(found.distinct)
        if not all(type(k) in (int, float) and math.isfinite(k) for k in keys):
            raise Damaged(f"{what}: its distinct values are not all finite numbers")
        if counts(found.distinct.values(), f"{what}: its count of a value") != n:
            raise Damaged(f"{what}: its counts of each value do not add up to its {n:,} values")
    _histogram(found, grid, what)
    if found.steps is not None:
        _steps(found, what)


def _histogram(found: NumericSketch, grid: Grid | None, what: str) -> None:
    if found.grid != grid:
        raise Damaged(f"{what} is counted on another grid than the reference's")
    if grid is None:
        if found.hist is not None:
            raise Damaged(f"{what} has a histogram but no grid")
        return
    if not (number(grid.low, "the grid's low") < number(grid.high, "the grid's high")):
        raise Damaged(f"{what}: its grid is empty")
    if type(grid.bins) is not int or not 0 < grid.bins <= 1 << 20:
        raise Damaged(f"{what}: its grid has {grid.bins!r} bins")
    hist = found.hist
    if hist is None and not found.n and not found.beyond.counts:  # an empty partition's
        return
    if hist is None or hist.shape != (grid.bins + 2,):
        raise Damaged(f"{what}: its histogram does not have its grid's {grid.bins + 2:,} bins")
    if counts(hist.tolist(), f"{what}: its histogram count") != found.n:
        raise Damaged(f"{what}: its histogram does not add up to its {found.n:,} values")
    beyond = found.beyond
    if type(beyond.level) is not int or not 0 <= beyond.level <= MAX_LEVEL:
        raise Damaged(f"{what}: its level of bins beyond the grid is {beyond.level!r}")
    if not all(type(k) is int for k in beyond.counts):
        raise Damaged(f"{what}: its bins beyond the grid are not numbered")
    outer = int(hist[0] + hist[-1])
    if counts(beyond.counts.values(), f"{what}: its count beyond the grid") != outer:
        raise Damaged(f"{what}: its values beyond the grid do not add up to its outer bins'")


def _steps(found: NumericSketch, what: str) -> None:
    import numpy as np

    steps = found.steps
    assert steps is not None
    below, upto = steps.below, steps.upto
    if below.size and (
        below.min() < 0
        or np.any(below > upto)
        or np.any(np.diff(upto) < 0)
        or np.any(upto[:-1] > below[1:])
        or upto[-1] > found.n
    ):
        raise Damaged(f"{what}: its counts at the knots are not those of a sorted column")
    knots = found.knots
    if knots is not None and not (np.all(np.isfinite(knots)) and np.all(np.diff(knots) > 0)):
        raise Damaged(f"{what}: its knots are not finite numbers in increasing order")


def classes(part: dict[str, Any]) -> None:
    """A partition's classes: of its family's type, sorted, once each; its batch's among them."""
    family, found = part["family"], part["classes"]
    kinds = {"numbers": (int,), "strings": (str,), None: ()}
    if family not in kinds:
        raise Damaged(f"its classes are {family!r}, neither numbers nor strings")
    if not isinstance(found, list) or not all(type(c) in kinds[family] for c in found):
        raise Damaged(f"its classes are not all {family or 'absent'}")
    if any(a >= b for a, b in itertools.pairwise(found)):
        raise Damaged("its classes are not sorted, or one is listed twice")
    if not isinstance(part["batch"], list) or not set(part["batch"]) <= set(found):
        raise Damaged("its batch's classes are not among its classes")


def reading(found: dict[str, Any], classes: list[Any], binary: bool) -> None:
    """One reading of a partition's classes (binary or multiclass): counts that add up."""
    if "problems" in found:
        return
    rows = count(found["rows"], "its count of rows")
    kept = count(found["kept"], "its count of rows with a target and a prediction")
    if kept > rows:
        raise Damaged(f"it keeps {kept:,} of {rows:,} row(s)")
    if binary:
        cells = found["confusion"]
        if not isinstance(cells, list) or len(cells) != 4:
            raise Damaged("its confusion matrix is not 4 counts")
        tp, fp, fn, tn = cells
        if counts(cells, "its confusion matrix's count") != kept:
            raise Damaged(f"its confusion matrix does not add up to its {kept:,} row(s)")
        if found["scores"] is not None:
            _scores(found["scores"], tp + fn, fp + tn)
        return
    if found["counts"] is None:
        return
    support = predicted = 0
    known = set(classes)
    for name, *each in found["counts"]:
        if name not in known or len(each) != 3:
            raise Damaged(f"its counts of class {name!r} are not of one of its classes")
        if not all(type(c) is int and 0 <= c <= MAX_COUNT for c in each):
            raise Damaged(f"its counts of class {name!r} are {each!r}, not counts")
        rows_of, said, hits = each
        if hits > min(rows_of, said):
            raise Damaged(f"class {name!r} is predicted right more often than it is seen")
        support, predicted = support + rows_of, predicted + said
    if support != kept or predicted != kept:
        raise Damaged(f"its counts of each class do not add up to its {kept:,} row(s)")


def _scores(found: dict[str, Any], positives: int, negatives: int) -> None:
    from specops.monitoring.quality_sums import SCORE_BINS

    for side, total in (("positive", positives), ("negative", negatives)):
        cells = pairs(found[side], f"its {side} scores")
        if not all(type(k) is int and 0 <= k < SCORE_BINS for k, _ in cells):
            raise Damaged(f"its {side} scores are not on the grid of 0 to 1")
        if counts([c for _, c in cells], f"its count of {side} scores") != total:
            raise Damaged(f"its {side} scores do not add up to its rows of that class")
    if found["values"] is not None:
        seen = set()
        pos = neg = 0
        for score, p, n in found["values"]:
            if not 0 <= number(score, "a score") <= 1 or score in seen:
                raise Damaged(f"its score {score!r} is outside 0 to 1, or listed twice")
            seen.add(score)
            pos, neg = pos + count(p, "a count of scores"), neg + count(n, "a count of scores")
        if (pos, neg) != (positives, negatives):
            raise Damaged("its scores do not add up to its rows of each class")


def latency(found: dict[str, Any]) -> None:
    """A partition's latency histogram: counts that add up, within a finite range."""
    n = count(found["n"], "its count of latencies")
    cells = pairs(found["bins"], "its latency bins")
    if not all(type(k) is int for k, _ in cells):
        raise Damaged("its latency bins are not numbered")
    if counts([c for _, c in cells], "its count of latencies") != n:
        raise Damaged(f"its latency bins do not add up to its {n:,} value(s)")
    if n and not number(found["low"], "its lowest latency") <= number(
        found["high"], "its highest latency"
    ):
        raise Damaged("its lowest latency is above its highest")
