"""Drift over a batch split into partitions: each partition's run writes its sketches as a
versioned JSON summary (`specops drift --partial OUT`), and the summaries combine into the
batch's verdict (`specops drift --combine ...`).

What combines exactly: counts of values, of dropped values and of rows, ranges, and the
histograms on the reference's grid (each run sketches the same reference, so the grid is the
same); the mean and variance combine up to rounding; KS, from each partition's counts below and
up to each of the reference's values (specops.monitoring.ks). So the categorical methods,
numeric columns counted value by value and KS decide exactly, and Wasserstein's distance gets
the same bounds as one run's. What does not: PSI and Jensen-Shannon on Sturges' grid over both
sides, a column with many values counted value by value, a Wasserstein distance whose bounds
hold the threshold, and KS on a reference of more than ks.MAX_KNOTS values whose bounds hold
it. Such a column is undecided; the batch's verdict is undecided when those columns could tip
it (exit 1). The model's quality combines in specops.monitoring.quality_partial.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from specops.monitoring import ks
from specops.monitoring.contract import contract, watch
from specops.monitoring.drift import (
    Sketch,
    decide,
    finite,
    no_values,
    sketch_sides,
    too_many,
)
from specops.monitoring.methods import SMALL_REFERENCE
from specops.monitoring.result import Breach, DriftResult
from specops.monitoring.settings import Settings, check_settings
from specops.monitoring.sketch import Beyond, CategoricalSketch, Grid, NumericSketch
from specops.monitoring.summary_check import MAX_COUNT, Damaged, check
from specops.monitoring.tables import Table, error, floats
from specops.spec.files import Unreadable, read_bytes

FORMAT = "specops-drift-partial"
#: The largest summary read: far above any real one (KS's counts take about 0.5 MB a column).
MAX_SUMMARY_BYTES = 256 * 1024 * 1024
#: 2: KS's counts at the reference's knots, the model's quality, or the bins beyond the grid
#: (for the plots); 3: all of them; 4: categorical columns of too many values (`over`).
VERSION = 4


def summarize(reference: Table, current: Table, settings: Settings) -> dict[str, Any]:
    """One partition's summary: the contract's breaches, or both sides' sketches."""
    check_settings(settings)
    chosen, breaches = contract(reference, current, settings)
    summary: dict[str, Any] = {
        "format": FORMAT,
        "version": VERSION,
        "settings": {
            "method": settings.method,
            "threshold": settings.threshold,
            "share": settings.share,
            "types": settings.types,
        },
        "reference": {"path": reference.display, "rows": reference.rows},
        "current": {"path": current.display, "rows": current.rows},
        "contract": [b.__dict__ for b in breaches],
        "columns": [],
        "skipped": [],
    }
    if breaches:
        return summary
    watched, skipped = watch(reference, chosen, settings)
    ref, cur = sketch_sides(reference, current, watched, settings)
    for name, sketch in ref.items():
        if sketch.n == 0:  # as a whole run would say; a partition may be empty
            raise no_values(reference.display, name, sketch)
    _count_at_knots(reference, current, _ks_columns(ref, settings), ref, cur)
    summary["columns"] = watched
    summary["skipped"] = [list(s) for s in skipped]
    summary["reference"]["sketches"] = {n: _dump(s) for n, s in ref.items()}
    summary["current"]["sketches"] = {n: _dump(s) for n, s in cur.items()}
    return summary


def _ks_columns(ref: dict[str, Sketch], settings: Settings) -> list[str]:
    """The numeric columns KS may judge once the partitions combine: every one under `ks`;
    under `auto`, those of a reference small enough for KS (whether `auto` picks it depends on
    the whole batch's distinct values, which no partition knows)."""
    if settings.method not in ("ks", "auto"):
        return []
    return [
        name
        for name, sketch in ref.items()
        if isinstance(sketch, NumericSketch)
        and settings.types.get(name) != "categorical"
        and (settings.method == "ks" or sketch.n <= SMALL_REFERENCE)
    ]


def _count_at_knots(
    reference: Table,
    current: Table,
    names: list[str],
    ref: dict[str, Sketch],
    cur: dict[str, Sketch],
) -> None:
    """The reference's knots for KS, and both sides' counts at them: the reference's column is
    read whole (as a whole run's KS reads it), the partition's batch by batch."""
    import numpy as np

    for name in names:
        sketch = ref[name]
        assert isinstance(sketch, NumericSketch)
        values = finite(floats(reference.column(name)))
        sketch.knots, sketch.every = ks.knots(values)
        sketch.steps = ks.steps(sketch.knots, values)
        zeros = np.zeros(sketch.knots.size, dtype=np.int64)
        part = cur[name]
        assert isinstance(part, NumericSketch)
        part.steps = ks.Steps(zeros, zeros.copy())
    for batch in current.batches(names):
        for name, array in batch.items():
            knots, part = ref[name].knots, cur[name]  # type: ignore[union-attr]
            assert knots is not None and isinstance(part, NumericSketch) and part.steps
            part.steps.add(ks.steps(knots, finite(floats(array))))


def combine(paths: list[Path]) -> DriftResult:
    """The batch's verdict from its partitions' summaries, and the model's quality on it."""
    import dataclasses

    from specops.monitoring import quality_partial

    summaries = [(str(path), _load(path)) for path in paths]
    _once(summaries)
    _within_a_count(summaries)
    result = combine_loaded(summaries)
    if result.breaches:
        return result
    return dataclasses.replace(result, quality=quality_partial.combine(summaries, result.current))


def combine_loaded(summaries: list[tuple[str, dict[str, Any]]]) -> DriftResult:
    """The columns' verdicts from the partitions' summaries, each with the path it came from."""
    first_path, first = summaries[0]
    _same(summaries, "settings", "settings (method, threshold, share, column types)")
    saved = first["settings"]
    settings = Settings(
        method=saved["method"],
        threshold=saved["threshold"],
        share=saved["share"],
        types=dict(saved["types"]),
    )
    parts = [s["current"]["path"] for _, s in summaries]
    current = " + ".join(parts) if len(parts) <= 3 else f"{parts[0]} + {len(parts) - 1} more"
    rows = sum(s["current"]["rows"] for _, s in summaries)
    breaches: list[Breach] = []
    for _, summary in summaries:
        for found in summary["contract"]:
            breach = Breach(found["column"], found["problem"])
            if breach not in breaches:
                breaches.append(breach)
    reference = first["reference"]
    if breaches:  # the contract comes first, as in a whole run
        return DriftResult(
            reference["path"], current, reference["rows"], rows, settings.share, breaches, [], []
        )
    _same(summaries, "columns", "watched columns")
    for path, summary in summaries[1:]:
        if {k: v for k, v in summary["reference"].items() if k != "path"} != {
            k: v for k, v in reference.items() if k != "path"
        }:
            raise error(path, f"summarizes another reference than {first_path}")
    columns = first["columns"]
    ref = _sketches(first_path, reference, columns)
    cur = _sketches(first_path, first["current"], columns)
    for path, summary in summaries[1:]:
        for name, part in _sketches(path, summary["current"], columns).items():
            sketch = cur[name]
            if type(part) is not type(sketch):
                raise error(path, f"summarizes column {name!r} as another type than {first_path}")
            sketch.merge(part)  # type: ignore[arg-type]
    for name in columns:
        knots = getattr(ref[name], "knots", None)
        steps = getattr(cur[name], "steps", None)
        if knots is not None and (steps is None or steps.below.size != knots.size):
            raise error(first_path, f"is damaged: column {name!r} has no counts at the knots")
    many = too_many(ref, cur, columns)  # as a whole run counts them
    columns = [c for c in columns if c not in dict(many)]
    found = decide(ref, cur, columns, settings, None, (reference["path"], current))
    skipped = [(c, r) for c, r in first["skipped"]] + many
    return DriftResult(
        reference["path"], current, reference["rows"], rows, settings.share, [], found, skipped
    )


def _once(summaries: list[tuple[str, dict[str, Any]]]) -> None:
    """Refuse a partition given twice (a file named twice, or a copy), which would count its
    rows twice. An empty partition adds nothing, however often it is given."""
    seen: dict[str, str] = {}
    for path, summary in summaries:
        if not summary["current"]["rows"]:
            continue
        key = json.dumps([summary["current"], summary.get("quality")], sort_keys=True)
        if key in seen:
            raise error(path, f"summarizes the same partition as {seen[key]}")
        seen[key] = path


def _within_a_count(summaries: list[tuple[str, dict[str, Any]]]) -> None:
    """Refuse partitions whose rows add up past what a count holds: every count combined (a
    histogram's bin, KS's counts) is at most the rows, and sums in 64-bit integers would wrap."""
    total = 0
    for path, summary in summaries:
        total += summary["current"]["rows"]
        if total > MAX_COUNT:
            raise error(
                path,
                f"is damaged: current.rows: brings the partitions' rows to {total:,}, more than"
                " a count holds",
            )


def _sketches(path: str, side: dict[str, Any], columns: list[str]) -> dict[str, Sketch]:
    try:
        return {name: _undump(side["sketches"][name]) for name in columns}
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise error(path, f"is damaged: {type(exc).__name__}: {exc}") from None


def _same(summaries: list[tuple[str, dict[str, Any]]], key: str, what: str) -> None:
    first_path, first = summaries[0]
    for path, summary in summaries[1:]:
        if summary[key] != first[key]:
            raise error(path, f"was made with other {what} than {first_path}")


def _load(path: Path) -> dict[str, Any]:
    # A summary is a regular file of bounded size: not a pipe, a device or /dev/zero.
    try:
        raw = read_bytes(path, MAX_SUMMARY_BYTES)
    except Unreadable as exc:
        reason = exc.reason.removeprefix("cannot read: ")
        raise error(str(path), f"cannot read it: {reason}") from None
    if raw is None:
        raise error(str(path), "cannot read it: No such file or directory")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(str(path), f"cannot read it: {exc}") from None
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):  # RecursionError: arrays nested past Python's stack
        data = None
    keys = ("settings", "reference", "current", "contract", "columns", "skipped")
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise error(str(path), "is not a summary written by `specops drift --partial`")
    if data.get("version") != VERSION:
        raise error(
            str(path),
            f"is a summary of version {data.get('version')!r}; this specops combines version"
            f" {VERSION}: run the partitions again with this version",
        )
    missing = [key for key in keys if key not in data]
    if missing:
        raise error(str(path), f"is damaged: it has no {missing[0]!r}")
    try:
        check(data)
    except Damaged as exc:
        raise error(str(path), f"is damaged: {exc}") from None
    return data


def _dump(sketch: Sketch) -> dict[str, Any]:
    if isinstance(sketch, CategoricalSketch):
        return {
            "numeric": False,
            "n": sketch.n,
            "dropped": sketch.dropped,
            "counts": [[k, c] for k, c in sketch.counts.items()],
            "over": sketch.over,
        }
    grid = sketch.grid
    empty = sketch.n == 0
    return {
        "numeric": True,
        "integer": sketch.integer,
        "n": sketch.n,
        "dropped": sketch.dropped,
        "low": None if empty else sketch.low,
        "high": None if empty else sketch.high,
        "mean": sketch.mean,
        "m2": sketch.m2,
        "distinct": None
        if sketch.distinct is None
        else [[k, c] for k, c in sketch.distinct.items()],
        "grid": None if grid is None else [grid.low, grid.high, grid.bins],
        "hist": None if sketch.hist is None else sketch.hist.tolist(),
        "beyond": [sketch.beyond.level, [[k, c] for k, c in sketch.beyond.counts.items()]],
        "ks": None
        if sketch.steps is None
        else {
            "knots": None if sketch.knots is None else sketch.knots.tolist(),
            "every": sketch.every,
            "below": sketch.steps.below.tolist(),
            "upto": sketch.steps.upto.tolist(),
        },
    }


def _undump(data: dict[str, Any]) -> Sketch:
    if not data["numeric"]:
        counts = {k: c for k, c in data["counts"]}
        return CategoricalSketch(data["n"], data["dropped"], counts, data["over"])
    import numpy as np

    grid = data["grid"]
    counted = data["ks"]
    steps = knots = None
    if counted is not None:
        below = np.array(counted["below"], dtype=np.int64)
        upto = np.array(counted["upto"], dtype=np.int64)
        if below.shape != upto.shape or below.ndim != 1:
            raise ValueError("the counts at the knots differ in length")
        steps = ks.Steps(below, upto)
        if counted["knots"] is not None:
            knots = np.array(counted["knots"], dtype=np.float64)
            if knots.shape != below.shape:
                raise ValueError("the knots and their counts differ in length")
    return NumericSketch(
        grid=None if grid is None else Grid(grid[0], grid[1], grid[2]),
        integer=data["integer"],
        n=data["n"],
        dropped=data["dropped"],
        low=math.inf if data["low"] is None else data["low"],
        high=-math.inf if data["high"] is None else data["high"],
        mean=data["mean"],
        m2=data["m2"],
        distinct=None if data["distinct"] is None else {k: c for k, c in data["distinct"]},
        hist=None if data["hist"] is None else np.array(data["hist"], dtype=np.int64),
        beyond=Beyond(data["beyond"][0], {k: c for k, c in data["beyond"][1]}),
        knots=knots,
        every=bool(counted["every"]) if counted is not None else True,
        steps=steps,
    )
