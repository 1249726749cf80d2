"""What the model's quality in a partition's summary must hold (specops.monitoring.
quality_partial): the roles and gates, the classes, each reading's counts (the confusion
matrix adding up to the rows kept, each class's counts, each class's scores on the grid and
value by value, agreeing), the latency's bins, the reference's metrics, and the target's and
score's drift, each a summary of its own."""

from __future__ import annotations

import itertools
import math
import sys
from collections.abc import Callable
from typing import Any

from specops.monitoring.methods import NUMERIC_ONLY
from specops.monitoring.quality_sums import GROWTH, SCORE_BINS, SCORE_VALUES, Latency
from specops.monitoring.summary_fields import (
    Damaged,
    adds_up,
    count,
    field,
    finite,
    integer,
    obj,
    pairs,
)

ROLES = ("target", "prediction", "predicted_class", "latency")
#: The latency's bins of finite positive values: from the smallest float's to the largest's.
LATENCY_BINS = (
    math.floor(math.log(5e-324) / math.log(GROWTH)),
    math.floor(math.log(sys.float_info.max) / math.log(GROWTH)) - 1,
)


def check(
    quality: Any, rows: int, settings: dict[str, Any], summary: Callable[[dict[str, Any]], None]
) -> None:
    """Raise Damaged at the first field of `quality` (None: the summary has none) that no
    summary of this specops has, in a summary of a partition of `rows` rows made with
    `settings`; `summary` checks the drift summaries inside it."""
    if quality is None:
        return
    if not isinstance(quality, dict):
        raise Damaged("quality", "must be an object")
    roles = obj(quality, "roles", "quality")
    if set(roles) != set(ROLES) or not all(v is None or isinstance(v, str) for v in roles.values()):
        raise Damaged("quality.roles", f"must name each of {', '.join(ROLES)}: a column or null")
    if not any(roles.values()):
        raise Damaged("quality.roles", "must name a column")
    _gates(field(quality, "quality", "gates"))
    current = obj(quality, "current", "quality")
    family, classes = _classes(current)
    labelled = roles["target"] is not None
    if not labelled and (family is not None or classes):
        raise Damaged("quality.current.classes", "must be empty without a target")
    readings = (
        ["multiclass"] if labelled and (roles["prediction"] or roles["predicted_class"]) else []
    )
    if readings and family in (None, "numbers") and all(c in (0, 1) for c in classes):
        readings.append("binary")
    for reading in ("multiclass", "binary"):
        there = current.get(reading) is not None
        if there != (reading in readings):
            needed = "must be there" if reading in readings else "must not be there"
            raise Damaged(f"quality.current.{reading}", f"{needed} with these roles and classes")
    for reading in readings:
        _reading(current[reading], f"quality.current.{reading}", reading, classes, rows)
    latency = field(current, "quality.current", "latency")
    if (latency is None) != (roles["latency"] is None):
        raise Damaged("quality.current.latency", "must be there exactly with a latency column")
    if latency is not None:
        _latency(latency, "quality.current.latency")
    _reference(obj(quality, "reference", "quality"), readings, classes)
    notes = quality["reference"]["notes"]
    _concept(field(quality, "quality", "concept"), roles, settings, notes, summary)


def _gates(gates: Any) -> None:
    from pydantic import ValidationError

    from specops.spec.models import Gate

    if not isinstance(gates, list):
        raise Damaged("quality.gates", "must be a list")
    for index, gate in enumerate(gates):
        try:
            Gate.model_validate(gate)
        except ValidationError:
            raise Damaged(f"quality.gates[{index}]", "is no performance gate") from None


def _classes(current: dict[str, Any]) -> tuple[str | None, list[Any]]:
    family = field(current, "quality.current", "family")
    if family not in (None, "numbers", "strings"):
        raise Damaged("quality.current.family", "must be numbers, strings or null")
    classes = field(current, "quality.current", "classes")
    good = isinstance(classes, list) and (
        not classes
        if family is None
        else all(finite(c) if family == "numbers" else isinstance(c, str) for c in classes)
    )
    if not good or any(a >= b for a, b in itertools.pairwise(classes)):
        raise Damaged(
            "quality.current.classes", f"must be {family or 'no classes'}, each once, in order"
        )
    batch = field(current, "quality.current", "batch")
    if not isinstance(batch, list) or any(c not in classes for c in batch):
        raise Damaged("quality.current.batch", "must be some of the classes")
    return family, classes


def _problems(found: dict[str, Any], key: str) -> bool:
    """Whether a reading holds the problems it met instead of its counts."""
    if "problems" not in found:
        return False
    problems = found["problems"]
    good = (
        isinstance(problems, list)
        and problems
        and all(
            isinstance(p, list) and len(p) == 2 and all(isinstance(s, str) for s in p)
            for p in problems
        )
    )
    if not good:
        raise Damaged(f"{key}.problems", "must be pairs of a file and a message")
    return True


def _reading(found: Any, key: str, reading: str, classes: list[Any], rows: int) -> None:
    if not isinstance(found, dict):
        raise Damaged(key, "must be an object")
    if _problems(found, key):
        return
    if count(field(found, key, "rows"), f"{key}.rows") != rows:
        raise Damaged(f"{key}.rows", f"must be the partition's {rows:,} rows")
    kept = count(field(found, key, "kept"), f"{key}.kept")
    if kept > rows:
        raise Damaged(f"{key}.kept", f"is more than the {rows:,} rows")
    if reading == "binary":
        _binary(found, key, kept)
        return
    per_class = field(found, key, "counts")
    if per_class is None:
        return
    good = isinstance(per_class, list) and all(
        isinstance(c, list)
        and len(c) == 4
        and c[0] in classes
        and all(integer(v) and v >= 0 for v in c[1:])
        and c[3] <= min(c[1], c[2])
        and any(c[1:])
        for c in per_class
    )
    if not good or len({c[0] for c in per_class}) != len(per_class):
        raise Damaged(
            f"{key}.counts",
            "must be each class once with its rows, rows predicted and rows predicted right",
        )
    for at, what in ((1, "rows of each class"), (2, "rows predicted")):
        adds_up(f"{key}.counts", kept, [c[at] for c in per_class], what, "kept")


def _binary(found: dict[str, Any], key: str, kept: int) -> None:
    confusion = field(found, key, "confusion")
    if not (
        isinstance(confusion, list)
        and len(confusion) == 4
        and all(integer(c) and c >= 0 for c in confusion)
    ):
        raise Damaged(f"{key}.confusion", "must be 4 counts: tp, fp, fn and tn")
    if sum(confusion) != kept:
        raise Damaged(
            f"{key}.confusion", f"adds up to {sum(confusion):,}, not the {kept:,} rows kept"
        )
    scores = field(found, key, "scores")
    if scores is None:
        return
    key = f"{key}.scores"
    if not isinstance(scores, dict):
        raise Damaged(key, "must be an object")
    tp, fp, fn, tn = confusion
    grids = []
    for side, total, of in (("positive", tp + fn, "tp + fn"), ("negative", fp + tn, "fp + tn")):
        found_side = field(scores, key, side)
        found_counts = pairs(found_side, f"{key}.{side}", numbers=True, keys=int)
        adds_up(f"{key}.{side}", total, found_counts, "scores", of)
        if any(not 0 <= k < SCORE_BINS for k, _ in found_side):
            raise Damaged(f"{key}.{side}", f"must count bins from 0 to {SCORE_BINS - 1:,}")
        grids.append(dict(found_side))
    values = field(scores, key, "values")
    if values is None:
        return
    good = (
        isinstance(values, list)
        and len(values) <= SCORE_VALUES
        and all(
            isinstance(v, list)
            and len(v) == 3
            and finite(v[0])
            and 0 <= v[0] <= 1
            and all(integer(c) and c >= 0 for c in v[1:])
            and v[1] + v[2] > 0
            for v in values
        )
    )
    if not good or len({v[0] for v in values}) != len(values):
        raise Damaged(
            f"{key}.values",
            f"must be at most {SCORE_VALUES:,} scores from 0 to 1, each once with its counts",
        )
    binned: list[dict[int, int]] = [{}, {}]
    for score, *both in values:
        cell = min(int(score * SCORE_BINS), SCORE_BINS - 1)
        for grid, c in zip(binned, both, strict=True):
            if c:
                grid[cell] = grid.get(cell, 0) + c
    if binned != grids:
        raise Damaged(f"{key}.values", "disagree with the scores' grid")


def _latency(latency: Any, key: str) -> None:
    if not isinstance(latency, dict):
        raise Damaged(key, "must be an object")
    n = count(field(latency, key, "n"), f"{key}.n")
    bins = field(latency, key, "bins")
    adds_up(key, n, pairs(bins, f"{key}.bins", numbers=True, keys=int), "bins")
    first, last = LATENCY_BINS
    if any(k != Latency.NONPOSITIVE and not first <= k <= last for k, _ in bins):
        raise Damaged(f"{key}.bins", "must be bins of finite values")
    ends = [field(latency, key, "low"), field(latency, key, "high")]
    if not n:
        if ends != [None, None]:
            raise Damaged(key, "must have no low or high without values")
        return
    if not all(finite(v) for v in ends) or ends[0] > ends[1]:
        raise Damaged(f"{key}.low", "must be a finite number, at most high")
    found = Latency(n, ends[0], ends[1], dict(bins))
    for bound, at in (("low", min(found.bins)), ("high", max(found.bins))):
        start, end = found._edges(at)
        if not start <= getattr(found, bound) <= end:
            raise Damaged(f"{key}.{bound}", "must lie in the latency's first or last bin")


def _reference(reference: dict[str, Any], readings: list[str], classes: list[Any]) -> None:
    key = "quality.reference"
    known = field(reference, key, "known")
    if known is not None and not (isinstance(known, list) and all(c in classes for c in known)):
        raise Damaged(f"{key}.known", "must be some of the classes")
    notes = field(reference, key, "notes")
    if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
        raise Damaged(f"{key}.notes", "must be a list of notes")
    for reading in ("multiclass", "binary"):
        found = reference.get(reading)
        if (found is not None) != (reading in readings):
            needed = "must be there" if reading in readings else "must not be there"
            raise Damaged(f"{key}.{reading}", f"{needed} with these roles and classes")
        if found is not None:
            _reference_reading(found, f"{key}.{reading}")


def _reference_reading(found: Any, key: str) -> None:
    if not isinstance(found, dict):
        raise Damaged(key, "must be an object")
    if _problems(found, key):
        return
    notes = field(found, key, "notes")
    if not isinstance(notes, list) or not all(isinstance(n, str) for n in notes):
        raise Damaged(f"{key}.notes", "must be a list of notes")
    side = field(found, key, "side")
    if (side is None) != bool(notes):  # the reference's metrics, or the note that says why not
        raise Damaged(f"{key}.side", "must be there exactly when no note says why it is not")
    if side is None:
        return
    key = f"{key}.side"
    if not isinstance(side, dict):
        raise Damaged(key, "must be an object")
    for name in ("rows", "left_out"):
        count(field(side, key, name), f"{key}.{name}")
    values = field(side, key, "values")
    good = isinstance(values, dict) and all(
        v is None or (finite(v) and 0 <= v <= 1) for v in values.values()
    )
    if not good:
        raise Damaged(f"{key}.values", "must be metrics from 0 to 1, or null")
    for name in ("undefined", "remarks"):
        texts = field(side, key, name)
        if not isinstance(texts, dict) or not all(isinstance(t, str) for t in texts.values()):
            raise Damaged(f"{key}.{name}", "must map metrics to notes")
    if {k for k, v in values.items() if v is None} != set(side["undefined"]):
        raise Damaged(f"{key}.values", "must be null exactly where undefined says why")


def _concept(
    concept: Any,
    roles: dict[str, Any],
    settings: dict[str, Any],
    notes: list[str],
    summary: Callable[[dict[str, Any]], None],
) -> None:
    """The target's and the score's drift: a summary each, checked as the summary is, of
    each of them that the reference has (else a note says so), with the batch's settings."""
    key = "quality.concept"
    if not isinstance(concept, list):
        raise Damaged(key, "must be a list")
    kinds = {"target": "categorical", "prediction": "numeric"}
    expected = [
        role
        for role, name in ((r, roles[r]) for r in kinds)
        if name is not None
        and f"the reference has no column {name!r}: its drift is not computed" not in notes
    ]
    if not all(isinstance(p, list) and p for p in concept) or [p[0] for p in concept] != expected:
        raise Damaged(key, f"must hold the drift of: {', '.join(expected) or 'nothing'}")
    for index, pair in enumerate(concept):
        at = f"{key}[{index}]"
        if len(pair) != 2 or not isinstance(pair[1], dict):
            raise Damaged(at, "must be a role and its drift's summary")
        role, found = pair
        for name in ("settings", "reference", "current", "contract", "columns", "skipped"):
            field(found, f"{at}[1]", name)
        if found.get("quality") is not None:
            raise Damaged(f"{at}[1].quality", "must not be there")
        try:
            summary(found)
        except Damaged as exc:
            raise exc.under(f"{at}[1]") from None
        name, kind = roles[role], kinds[role]
        method, threshold = settings["method"], settings["threshold"]
        if kind == "categorical" and method in NUMERIC_ONLY:
            method, threshold = "auto", None
        wanted = {"method": method, "threshold": threshold, "share": 1.0, "types": {name: kind}}
        if found["settings"] != wanted:
            raise Damaged(f"{at}[1].settings", "must be the batch's, for the one column")
        if found["columns"] not in ([], [name]):
            raise Damaged(f"{at}[1].columns", f"must be [{name!r}] or empty")
