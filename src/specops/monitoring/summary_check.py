"""What a partition's summary must hold before `specops drift --combine` trusts it.

A summary is an artifact of another job, so it may be broken or forged: every field is checked
for its type and range, and the sketches for agreeing with themselves (counts that add up to
`n`, a histogram with one count per bin of the reference's grid), so that a bad one is an error
at its key (exit 2), never a wrong verdict or a crash.
"""

from __future__ import annotations

import math
from typing import Any

from specops.spec.monitoring import DEFAULT_THRESHOLD, threshold_problem

METHODS = ("auto", *DEFAULT_THRESHOLD)
#: The most bins a grid may have: enough for any summary this specops writes (4,096).
MAX_BINS = 65_536
#: The largest count: what a 64-bit integer holds.
MAX_COUNT = 2**63 - 1


class Damaged(Exception):
    """Where a summary is broken, and how."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")


def check(data: dict[str, Any]) -> None:
    """Raise Damaged at the first field of `data` that no summary of this specops has."""
    settings = _object(data, "settings")
    _settings(settings)
    for side in ("reference", "current"):
        found = _object(data, side)
        if not isinstance(_field(found, side, "path"), str):
            raise Damaged(f"{side}.path", "must be a string")
        _count(_field(found, side, "rows"), f"{side}.rows")
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
    if not isinstance(columns, list) or not _unique_strings(columns):
        raise Damaged("columns", "must be a list of column names, each once")
    skipped = data["skipped"]
    if not isinstance(skipped, list):
        raise Damaged("skipped", "must be a list")
    for index, pair in enumerate(skipped):
        if not (isinstance(pair, list) and len(pair) == 2 and _unique_strings(pair, once=False)):
            raise Damaged(f"skipped[{index}]", "must be a column and a reason")
    if contract:
        return
    sketches = {side: _object(data[side], "sketches", side) for side in ("reference", "current")}
    for name in columns:
        ref = _sketch(sketches["reference"], name, "reference")
        cur = _sketch(sketches["current"], name, "current")
        key = f"current.sketches.{name}"
        if ref["numeric"] != cur["numeric"]:
            kinds = ("categorical", "numeric") if ref["numeric"] else ("numeric", "categorical")
            raise Damaged(key, f"is {kinds[0]}, and the reference's {kinds[1]}")
        if ref["numeric"] and ref["grid"] != cur["grid"]:
            raise Damaged(f"{key}.grid", "is not the reference's grid")


def _settings(settings: dict[str, Any]) -> None:
    method = _field(settings, "settings", "method")
    if method not in METHODS:
        raise Damaged("settings.method", f"{method!r} is no method")
    threshold = _field(settings, "settings", "threshold")
    if threshold is not None:
        if not _finite(threshold):
            raise Damaged("settings.threshold", "must be a number")
        reason = threshold_problem(method, threshold)
        if reason:
            raise Damaged("settings.threshold", reason)
    share = _field(settings, "settings", "share")
    if not _finite(share):
        raise Damaged("settings.share", "must be a number")
    if not 0 < share <= 1:
        raise Damaged("settings.share", "must be above 0 and at most 1")
    types = _field(settings, "settings", "types")
    if not isinstance(types, dict):
        raise Damaged("settings.types", "must be an object")
    for name, kind in types.items():
        if kind not in ("numeric", "categorical"):
            raise Damaged(f"settings.types.{name}", "must be numeric or categorical")


def _sketch(sketches: dict[str, Any], name: str, side: str) -> dict[str, Any]:
    key = f"{side}.sketches.{name}"
    if name not in sketches:
        raise Damaged(key, "missing")
    sketch = sketches[name]
    if not isinstance(sketch, dict):
        raise Damaged(key, "must be an object")
    if not isinstance(_field(sketch, key, "numeric"), bool):
        raise Damaged(f"{key}.numeric", "must be true or false")
    n = _count(_field(sketch, key, "n"), f"{key}.n")
    _count(_field(sketch, key, "dropped"), f"{key}.dropped")
    if not sketch["numeric"]:
        counts = _pairs(_field(sketch, key, "counts"), f"{key}.counts", numbers=False)
        _adds_up(key, n, counts, "counts")
        return sketch
    if not isinstance(_field(sketch, key, "integer"), bool):
        raise Damaged(f"{key}.integer", "must be true or false")
    for bound in ("low", "high"):
        value = _field(sketch, key, bound)
        if not (value is None and n == 0) and not _finite(value):
            raise Damaged(f"{key}.{bound}", "must be a finite number")
    if n and sketch["low"] > sketch["high"]:
        raise Damaged(f"{key}.low", "must be at most high")
    if not _finite(_field(sketch, key, "mean")):
        raise Damaged(f"{key}.mean", "must be a finite number")
    m2 = _field(sketch, key, "m2")
    if not _finite(m2) or m2 < 0:
        raise Damaged(f"{key}.m2", "must be a finite number, 0 or more")
    distinct = _field(sketch, key, "distinct")
    if distinct is not None:
        _adds_up(key, n, _pairs(distinct, f"{key}.distinct", numbers=True), "distinct values")
    _grid(sketch, key, n)
    return sketch


def _grid(sketch: dict[str, Any], key: str, n: int) -> None:
    grid, hist = _field(sketch, key, "grid"), _field(sketch, key, "hist")
    if grid is None and hist is None:
        return
    good = (
        isinstance(grid, list)
        and len(grid) == 3
        and _finite(grid[0])
        and _finite(grid[1])
        and grid[0] < grid[1]
        and _integer(grid[2])
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
    counts = hist if isinstance(hist, list) else []
    if len(counts) != size or not all(_integer(c) and 0 <= c <= MAX_COUNT for c in counts):
        raise Damaged(f"{key}.hist", f"must have {size:,} counts, one per bin of the grid")
    if sum(counts) != n:
        raise Damaged(key, f"n is {n:,}, but its histogram adds up to {sum(counts):,}")


def _pairs(value: Any, key: str, *, numbers: bool) -> list[int]:
    """The counts of a list of [value, count] pairs, each value once."""
    scalars = (int, float) if numbers else (str, int, float, bool)
    good = isinstance(value, list) and all(
        isinstance(p, list)
        and len(p) == 2
        and isinstance(p[0], scalars)
        and (not numbers or _finite(p[0]))
        and _integer(p[1])
        and 1 <= p[1] <= MAX_COUNT
        for p in value
    )
    if not good or len({p[0] for p in value}) != len(value):
        raise Damaged(key, "must be pairs of a value and a count (1 or more)")
    return [p[1] for p in value]


def _adds_up(key: str, n: int, counts: list[int], what: str) -> None:
    if sum(counts) != n:
        raise Damaged(key, f"n is {n:,}, but its {what} add up to {sum(counts):,}")


def _object(data: dict[str, Any], name: str, where: str = "") -> dict[str, Any]:
    value = data[name] if not where else _field(data, where, name)
    if not isinstance(value, dict):
        raise Damaged(f"{where}.{name}" if where else name, "must be an object")
    return value


def _field(data: dict[str, Any], where: str, name: str) -> Any:
    if name not in data:
        raise Damaged(f"{where}.{name}", "missing")
    return data[name]


def _count(value: Any, key: str) -> int:
    if not _integer(value) or not 0 <= value <= MAX_COUNT:
        raise Damaged(key, "must be a count (0 or more)")
    return int(value)


def _integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _unique_strings(values: list[Any], *, once: bool = True) -> bool:
    strings = all(isinstance(v, str) for v in values)
    return strings and (not once or len(set(values)) == len(values))
