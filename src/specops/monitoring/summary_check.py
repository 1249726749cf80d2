"""What a partition's summary must hold before `specops drift --combine` trusts it.

A summary is an artifact of another job, so it may be broken or forged: every field is checked
for its type and range, and the sketches for agreeing with themselves (counts that add up to
`n`, a histogram with one count per bin of the reference's grid whose first and last values are
the range's ends, bins beyond the grid that hold the histogram's outer counts, counts at KS's
knots that grow with the knots and agree with the histogram and the range), so that a bad one
is an error at its key (exit 2), never a wrong verdict or a crash. The model's quality is
checked in specops.monitoring.summary_check_quality.
"""

from __future__ import annotations

import itertools
import math
from typing import Any

from specops.monitoring import summary_check_quality
from specops.monitoring.ks import MAX_KNOTS
from specops.monitoring.sketch import BEYOND_BINS, CAP, FAR, MAX_CATEGORIES
from specops.monitoring.summary_fields import (
    MAX_COUNT,
    Damaged,
    adds_up,
    count,
    counts,
    field,
    finite,
    integer,
    obj,
    pairs,
    unique_strings,
)
from specops.spec.monitoring import DEFAULT_THRESHOLD, threshold_problem

__all__ = ["MAX_BINS", "MAX_COUNT", "Damaged", "check"]

METHODS = ("auto", *DEFAULT_THRESHOLD)
#: The most bins a grid may have: enough for any summary this specops writes (4,096).
MAX_BINS = 65_536
#: The coarsest bins beyond the grid: 2**62 of the grid's bins hold any finite value.
MAX_LEVEL = 64
#: The relative slack of a mean or a variance, for their rounding.
SLACK = 1e-9


def check(data: dict[str, Any]) -> None:
    """Raise Damaged at the first field of `data` that no summary of this specops has."""
    settings = obj(data, "settings")
    _settings(settings)
    for side in ("reference", "current"):
        found = obj(data, side)
        if not isinstance(field(found, side, "path"), str):
            raise Damaged(f"{side}.path", "must be a string")
        count(field(found, side, "rows"), f"{side}.rows")
    contract = data["contract"]
    if not isinstance(contract, list):
        raise Damaged("contract", "must be a list")
    for index, breach in enumerate(contract):
        strings = isinstance(breach, dict) and all(
            isinstance(breach.get(k), str) for k in ("column", "problem")
        )
        if not strings:
            raise Damaged(f"contract[{index}]", "must be an object with a column and a problem")
    columns = data["columns"]
    if not isinstance(columns, list) or not unique_strings(columns):
        raise Damaged("columns", "must be a list of column names, each once")
    skipped = data["skipped"]
    if not isinstance(skipped, list):
        raise Damaged("skipped", "must be a list")
    for index, pair in enumerate(skipped):
        if not (isinstance(pair, list) and len(pair) == 2 and unique_strings(pair, once=False)):
            raise Damaged(f"skipped[{index}]", "must be a column and a reason")
    if not contract:
        _sketches(data, columns)
    summary_check_quality.check(data.get("quality"), data["current"]["rows"], settings, check)


def _sketches(data: dict[str, Any], columns: list[str]) -> None:
    sketches = {side: obj(data[side], "sketches", side) for side in ("reference", "current")}
    for name in columns:
        ref = _sketch(sketches["reference"], name, "reference", data["reference"]["rows"])
        key = f"current.sketches.{name}"
        given = sketches["current"].get(name)
        # The grid first: the current's histogram and bins beyond it are on the grid.
        if (
            isinstance(given, dict)
            and ref["numeric"]
            and given.get("numeric") is True
            and given.get("grid") != ref["grid"]
        ):
            raise Damaged(f"{key}.grid", "is not the reference's grid")
        cur = _sketch(sketches["current"], name, "current", data["current"]["rows"])
        if ref["numeric"] != cur["numeric"]:
            kinds = ("categorical", "numeric") if ref["numeric"] else ("numeric", "categorical")
            raise Damaged(key, f"is {kinds[0]}, and the reference's {kinds[1]}")
        if ref["numeric"]:
            _ks(ref, cur, f"reference.sketches.{name}", key)
    for side, found in sketches.items():
        extra = sorted(set(found) - set(columns))
        if extra:  # a column dropped from the list would leave its drift out unseen
            raise Damaged(f"{side}.sketches.{extra[0]}", "is of no watched column")


def _settings(settings: dict[str, Any]) -> None:
    method = field(settings, "settings", "method")
    if method not in METHODS:
        raise Damaged("settings.method", f"{method!r} is no method")
    threshold = field(settings, "settings", "threshold")
    if threshold is not None:
        if not finite(threshold):
            raise Damaged("settings.threshold", "must be a number")
        reason = threshold_problem(method, threshold)
        if reason:
            raise Damaged("settings.threshold", reason)
    share = field(settings, "settings", "share")
    if not finite(share):
        raise Damaged("settings.share", "must be a number")
    if not 0 < share <= 1:
        raise Damaged("settings.share", "must be above 0 and at most 1")
    types = field(settings, "settings", "types")
    if not isinstance(types, dict):
        raise Damaged("settings.types", "must be an object")
    for name, kind in types.items():
        if kind not in ("numeric", "categorical"):
            raise Damaged(f"settings.types.{name}", "must be numeric or categorical")


def _sketch(sketches: dict[str, Any], name: str, side: str, rows: int) -> dict[str, Any]:
    key = f"{side}.sketches.{name}"
    if name not in sketches:
        raise Damaged(key, "missing")
    sketch = sketches[name]
    if not isinstance(sketch, dict):
        raise Damaged(key, "must be an object")
    if not isinstance(field(sketch, key, "numeric"), bool):
        raise Damaged(f"{key}.numeric", "must be true or false")
    n = count(field(sketch, key, "n"), f"{key}.n")
    dropped = count(field(sketch, key, "dropped"), f"{key}.dropped")
    if n + dropped != rows:  # each row holds a value or a dropped one
        raise Damaged(key, f"n and dropped add up to {n + dropped:,}, not the {rows:,} rows")
    if not sketch["numeric"]:
        found = pairs(field(sketch, key, "counts"), f"{key}.counts", numbers=False)
        over = field(sketch, key, "over")
        if not isinstance(over, bool):
            raise Damaged(f"{key}.over", "must be true or false")
        if over and found:
            raise Damaged(f"{key}.counts", "must be empty: the column has too many values")
        if len(found) > MAX_CATEGORIES:
            raise Damaged(f"{key}.counts", f"must be at most {MAX_CATEGORIES:,} values")
        if not over:
            adds_up(key, n, found, "counts")
        return sketch
    if not isinstance(field(sketch, key, "integer"), bool):
        raise Damaged(f"{key}.integer", "must be true or false")
    for bound in ("low", "high"):
        value = field(sketch, key, bound)
        if not (value is None and n == 0) and not finite(value):
            raise Damaged(f"{key}.{bound}", "must be a finite number")
    # The moments of values near the float's limit overflow (inf, or NaN from inf - inf): a run
    # writes them as they are, and drift takes no bound from them. Only there.
    size = max(abs(sketch["low"]), abs(sketch["high"])) if n else 0.0
    if not _moment(field(sketch, key, "mean"), size * n):
        raise Damaged(f"{key}.mean", "must be a finite number")
    m2 = field(sketch, key, "m2")
    if not _moment(m2, size * size * n) or m2 < 0:
        raise Damaged(f"{key}.m2", "must be a finite number, 0 or more")
    distinct = field(sketch, key, "distinct")
    if distinct is not None:
        adds_up(key, n, pairs(distinct, f"{key}.distinct", numbers=True), "distinct values")
        if len(distinct) > CAP:
            raise Damaged(f"{key}.distinct", f"must be at most {CAP} values")
    if n:
        _range(sketch, key, n)
    _grid(sketch, key, n)
    _beyond(sketch, key)
    return sketch


def _moment(value: Any, most: float) -> bool:
    """Whether `value` is a moment of values whose sum or sum of squares is at most `most`:
    finite, or any float when that overflows."""
    return finite(value) or (isinstance(value, float) and math.isinf(most))


def _range(sketch: dict[str, Any], key: str, n: int) -> None:
    """The range, mean and variance of values that are there, and the distinct values in it."""
    low, high, mean = sketch["low"], sketch["high"], sketch["mean"]
    if low > high:
        raise Damaged(f"{key}.low", "must be at most high")
    slack = SLACK * max(abs(low), abs(high))
    if finite(mean) and not low - slack <= mean <= high + slack:
        raise Damaged(f"{key}.mean", "must lie between low and high")
    # Popoviciu: the variance of values in [low, high] is at most (high - low)**2 / 4 (a product,
    # not **, which raises where the float overflows).
    width = high - low
    if sketch["m2"] > n * width * width / 4 * (1 + SLACK) + slack:
        raise Damaged(f"{key}.m2", "is more than values between low and high can have")
    values = [] if sketch["distinct"] is None else [v for v, _ in sketch["distinct"]]
    if values and (min(values) != low or max(values) != high):
        raise Damaged(f"{key}.distinct", "must range from low to high")
    if sketch["integer"] and not all(float(v).is_integer() for v in [low, high, *values]):
        raise Damaged(f"{key}.integer", "is true, but the values are not all integers")


def _grid(sketch: dict[str, Any], key: str, n: int) -> None:
    grid, hist = field(sketch, key, "grid"), field(sketch, key, "hist")
    if grid is None and hist is None:
        return
    good = (
        isinstance(grid, list)
        and len(grid) == 3
        and finite(grid[0])
        and finite(grid[1])
        and grid[0] < grid[1]
        and integer(grid[2])
        and 1 <= grid[2] <= MAX_BINS
    )
    if not good:
        raise Damaged(
            f"{key}.grid",
            f"must be [low, high, bins] with low below high and 1 to {MAX_BINS:,} bins",
        )
    size = grid[2] + 2
    if hist is None and n == 0:  # a partition with no value of the column has no histogram
        return
    found = hist if isinstance(hist, list) else []
    if len(found) != size or not all(integer(c) and 0 <= c <= MAX_COUNT for c in found):
        raise Damaged(f"{key}.hist", f"must have {size:,} counts, one per bin of the grid")
    if sum(found) != n:
        raise Damaged(key, f"n is {n:,}, but its histogram adds up to {sum(found):,}")
    nonzero = [i for i, c in enumerate(found) if c]
    if nonzero and (_bin(grid, sketch["low"]), _bin(grid, sketch["high"])) != (
        nonzero[0],
        nonzero[-1],
    ):
        raise Damaged(f"{key}.hist", "must have its first and last values in low's and high's bins")


def _bin(grid: list[Any], value: float) -> int:
    """The bin of the grid that holds `value`, as Grid.histogram computes it."""
    low, high, bins = grid
    scale = bins / (high - low)
    return int(min(max((value - low) * scale + 1, 0), bins + 1))


def _beyond(sketch: dict[str, Any], key: str) -> None:
    """The bins beyond the grid: [level, [[bin, count], ...]] (sketch.Beyond), the bins below
    it holding the histogram's first count, those above its last."""
    key = f"{key}.beyond"
    beyond = field(sketch, key.rpartition(".")[0], "beyond")
    shape = isinstance(beyond, list) and len(beyond) == 2 and integer(beyond[0])
    if not shape or not 0 <= beyond[0] <= MAX_LEVEL:
        raise Damaged(key, f"must be [level, bins] with a level from 0 to {MAX_LEVEL}")
    level, found = beyond
    pairs(found, f"{key}[1]", numbers=True, keys=int)
    if len(found) > BEYOND_BINS or any(abs(k) > FAR for k, _ in found):
        raise Damaged(f"{key}[1]", f"must be at most {BEYOND_BINS:,} bins within 2**62")
    hist = sketch["hist"]
    outer = (0, 0) if hist is None else (hist[0], hist[-1])
    below = sum(c for k, c in found if k < 0)
    above = sum(c for k, c in found if k >= 0)
    if (below, above) != outer:
        raise Damaged(
            key,
            f"holds {below:,} value(s) below the grid and {above:,} above it, but the histogram"
            f" {outer[0]:,} and {outer[1]:,}",
        )
    if not found:
        return
    grid = sketch["grid"]
    if any((k + 1) << level < grid[2] for k, _ in found if k >= 0):
        raise Damaged(f"{key}[1]", "must hold bins beyond the grid, not on it")
    # The outermost bins hold the extreme values, placed as sketch.Beyond places them.
    keys = [k for k, _ in found]
    ends = [(below, min(keys), sketch["low"]), (above, max(keys), sketch["high"])]
    if any(there and key_ != _beyond_bin(grid, value, level) for there, key_, value in ends):
        raise Damaged(f"{key}[1]", "must have its outermost bins at low and high")


def _beyond_bin(grid: list[Any], value: float, level: int) -> int:
    offset: float = (value - grid[0]) * (grid[2] / (grid[1] - grid[0]))
    # Clamped before the floor: an offset that overflows to inf has no integer.
    return math.floor(min(max(offset, -FAR), FAR - 1)) >> level


def _ks(ref: dict[str, Any], cur: dict[str, Any], ref_key: str, cur_key: str) -> None:
    """The counts below and up to each knot of KS (the reference's values): present on both
    sides or neither, growing with the knots, within `n`, and agreeing with each side's
    histogram and range."""
    found = [field(ref, ref_key, "ks"), field(cur, cur_key, "ks")]
    if found[0] is None and found[1] is None:
        return
    if (found[0] is None) != (found[1] is None):
        where = ref_key if found[0] is None else cur_key
        raise Damaged(f"{where}.ks", "must be there on both sides or neither")
    knots = None
    for sketch, key, at in ((ref, ref_key, found[0]), (cur, cur_key, found[1])):
        key = f"{key}.ks"
        if not isinstance(at, dict):
            raise Damaged(key, "must be an object")
        if not isinstance(field(at, key, "every"), bool):
            raise Damaged(f"{key}.every", "must be true or false")
        below = counts(field(at, key, "below"), f"{key}.below", sketch["n"])
        upto = counts(field(at, key, "upto"), f"{key}.upto", sketch["n"])
        if sketch is ref:
            knots = _knots(field(at, key, "knots"), sketch, f"{key}.knots")
        elif field(at, key, "knots") is not None:
            raise Damaged(f"{key}.knots", "must be null: the knots are the reference's")
        assert knots is not None
        for name, side in (("below", below), ("upto", upto)):
            if len(side) != len(knots):
                raise Damaged(f"{key}.{name}", f"must have {len(knots):,} counts, one per knot")
        _steps(sketch, key, knots, below, upto, reference=sketch is ref)


def _knots(knots: Any, sketch: dict[str, Any], key: str) -> list[float]:
    good = (
        isinstance(knots, list)
        and 1 <= len(knots) <= MAX_KNOTS
        and all(finite(k) for k in knots)
        and all(a < b for a, b in itertools.pairwise(knots))
    )
    if not good:
        raise Damaged(key, f"must be 1 to {MAX_KNOTS:,} finite numbers in increasing order")
    if (knots[0], knots[-1]) != (sketch["low"], sketch["high"]):
        raise Damaged(key, "must range from the reference's low to its high")
    return [float(k) for k in knots]


def _steps(
    sketch: dict[str, Any],
    key: str,
    knots: list[float],
    below: list[int],
    upto: list[int],
    *,
    reference: bool,
) -> None:
    n = sketch["n"]
    ordered = all(b <= u for b, u in zip(below, upto, strict=True)) and all(
        u <= b for u, b in zip(upto, below[1:], strict=False)
    )
    if not ordered:
        raise Damaged(key, "must have counts below and up to each knot that grow with the knots")
    if reference and not all(u > b for b, u in zip(below, upto, strict=True)):
        raise Damaged(f"{key}.upto", "must count each knot: every knot is a value of the reference")
    if not n:
        return
    low, high = sketch["low"], sketch["high"]
    # Values below a knot exactly when the smallest is; up to it all of them exactly when the
    # largest is.
    for i, knot in enumerate(knots):
        if (below[i] > 0) != (low < knot) or (upto[i] < n) != (high > knot):
            raise Damaged(f"{key}.below", f"disagrees with low and high at knot {i:,}")
    if sketch["distinct"] is not None:
        values = sorted(sketch["distinct"])
        for i, knot in enumerate(knots):
            less = sum(c for v, c in values if v < knot)
            if (below[i], upto[i]) != (less, less + sum(c for v, c in values if v == knot)):
                raise Damaged(f"{key}.below", f"disagrees with the distinct values at knot {i:,}")
    if sketch["hist"] is not None:
        _steps_in_bins(sketch, key, knots, below, upto)


def _steps_in_bins(
    sketch: dict[str, Any], key: str, knots: list[float], below: list[int], upto: list[int]
) -> None:
    """The values below a knot are at least those of the bins before its bin, and those up to
    it at most those of its bin and before."""
    hist, grid = sketch["hist"], sketch["grid"]
    before = [0]
    for c in hist:
        before.append(before[-1] + c)
    for i, knot in enumerate(knots):
        at = _bin(grid, knot)
        if below[i] < before[at] or upto[i] > before[at + 1]:
            raise Damaged(f"{key}.below", f"disagrees with the histogram at knot {i:,}")
