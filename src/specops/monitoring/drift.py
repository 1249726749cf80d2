"""`specops drift`: the data contract, then each column's drift, then the batch's.

Both files are read in one pass each, into sketches (specops.monitoring.sketch).
Counts decide the categorical methods exactly; Wasserstein's distance gets exact bounds from
histograms, and only a column whose bounds hold the threshold is read again and computed
exactly; KS, and PSI or Jensen-Shannon on many numeric values, read what they need again.
Without the rows (the summaries of partitions, specops.monitoring.partial), KS comes from
counts at the reference's values, and a column that would need the rows is undecided.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from specops.monitoring import ks, methods
from specops.monitoring.contract import contract, watch
from specops.monitoring.plots import Distribution, distribution
from specops.monitoring.result import ColumnDrift, DriftResult
from specops.monitoring.settings import Settings, check_settings
from specops.monitoring.sketch import (
    CAP,
    CategoricalSketch,
    Grid,
    NumericSketch,
    histogram,
    too_many,
    wasserstein_bounds,
)
from specops.monitoring.tables import Table, error, floats, kind
from specops.spec.monitoring import DEFAULT_THRESHOLD, threshold_problem
from specops.spec.problems import Problem, SpecError

#: Relative slack on a sketched verdict, for the rounding of sums over millions of values.
SLACK = 1e-9
TYPES = ("numeric", "categorical")

Sketch = NumericSketch | CategoricalSketch


def compare(reference: Table, current: Table, settings: Settings) -> DriftResult:
    """The contract first; when it holds, each column's drift."""
    check_settings(settings)
    chosen, breaches = contract(reference, current, settings)
    result = DriftResult(
        reference.display,
        current.display,
        reference.rows,
        current.rows,
        settings.share,
        breaches,
        [],
        [],
    )
    if breaches:
        return result
    watched, skipped = watch(reference, chosen, settings)
    ref_sketches, cur_sketches = sketch_sides(reference, current, watched, settings)
    many = too_many(ref_sketches, cur_sketches, watched)
    watched = [c for c in watched if c not in dict(many)]
    skipped = [*skipped, *many]
    return DriftResult(
        reference.display,
        current.display,
        reference.rows,
        current.rows,
        settings.share,
        [],
        decide(ref_sketches, cur_sketches, watched, settings, (reference, current)),
        skipped,
    )


def _sketches(
    table: Table,
    reference: Table,
    columns: Sequence[str],
    plan: dict[str, Any],
    settings: Settings,
    side: str,
) -> dict[str, Sketch]:
    """Each column's sketch, of the reference's kind: a column of the current batch that is
    empty throughout (Arrow's null type) is counted as dropped values."""
    sketches: dict[str, Sketch] = {}
    for name in columns:
        grid = plan.get(name)
        if kind(reference.types[name]) == "number":
            sketches[name] = NumericSketch(grid, integer=_integer(reference.types[name]))
        else:
            sketches[name] = CategoricalSketch()
    total = table.count_batches(columns)
    for done, batch in enumerate(table.batches(columns), 1):
        if settings.progress is not None:
            settings.progress(side, done, total)
        for name, array in batch.items():
            sketch = sketches[name]
            if isinstance(sketch, NumericSketch):
                sketch.add(floats(array))
            else:
                sketch.add_arrow(array)
    return sketches


def _grids(reference: Table, columns: Sequence[str]) -> dict[str, Grid]:
    """A grid per numeric column, from the quantiles of the reference's first batch."""
    numeric = [c for c in columns if kind(reference.types[c]) == "number"]
    grids = {}
    for batch in reference.batches(numeric, first=True):
        grids.update({name: Grid.around(finite(floats(array))) for name, array in batch.items()})
    return grids


def finite(values: Any) -> Any:
    import numpy as np

    return values[np.isfinite(values)]


def sketch_sides(
    reference: Table,
    current: Table,
    columns: Sequence[str],
    settings: Settings,
) -> tuple[dict[str, Sketch], dict[str, Sketch]]:
    """Both sides' sketches on the reference's grids (the reference's first, then the
    current's: Arrow decodes with its own threads, and two sides in parallel measured slower
    on two cores)."""
    grids = _grids(reference, columns)
    ref = _sketches(reference, reference, columns, grids, settings, "reference")
    return ref, _sketches(current, reference, columns, grids, settings, "current")


def decide(
    ref_sketches: dict[str, Sketch],
    cur_sketches: dict[str, Sketch],
    columns: Sequence[str],
    settings: Settings,
    rows: tuple[Table, Table] | None,
    displays: tuple[str, str] | None = None,
) -> list[ColumnDrift]:
    """Each column's verdict from both sides' sketches; with `rows`, the tables to read again
    where the sketches do not decide, else such a column is undecided."""
    if displays is None:
        assert rows is not None
        displays = (rows[0].display, rows[1].display)
    for name in columns:
        for display, sketches in zip(displays, (ref_sketches, cur_sketches), strict=True):
            sketch = sketches[name]
            if sketch.n == 0:
                raise no_values(display, name, sketch)
    plans = {
        name: _plan(name, ref_sketches[name], cur_sketches[name], settings) for name in columns
    }
    binned = [n for n, (t, m) in plans.items() if _binned(m, t, ref_sketches[n])]
    counts = {}
    if rows is not None:
        edges = {
            n: _edges(n, plans[n][1], ref_sketches[n], cur_sketches[n], displays) for n in binned
        }
        counts = _histograms(rows[0], rows[1], edges)
    results = []
    for name in columns:
        column_type, method = plans[name]
        ref, cur = ref_sketches[name], cur_sketches[name]
        threshold = (
            settings.threshold if settings.threshold is not None else DEFAULT_THRESHOLD[method]
        )
        if rows is None and method == "ks" and _counted(ref, cur):
            assert isinstance(ref, NumericSketch) and isinstance(cur, NumericSketch)
            found = _ks_counted(ref, cur, threshold)
        elif rows is None and (name in binned or method == "ks"):
            found = Found(math.nan, 0.0, False, None, undecided=True)
        else:
            found = _statistic(name, method, ref, cur, counts, rows, settings, threshold)
        drifted = not found.undecided and methods.drifted(method, found.statistic, threshold)
        results.append(
            ColumnDrift(
                name,
                column_type,
                method,
                found.statistic,
                threshold,
                drifted,
                ref.n,
                cur.n,
                ref.dropped,
                cur.dropped,
                found.error,
                found.exact,
                found.undecided,
                # Only a drifted column is plotted: many categories take a while to rank.
                _distribution(column_type, ref, cur, found) if drifted else None,
            )
        )
    return results


def no_values(display: str, name: str, sketch: Sketch) -> SpecError:
    """The error of a side where a column has nothing to compare."""
    if sketch.dropped == 0:  # every row counts a value or a dropped one: there is no row
        return error(display, "has no rows")
    return error(
        display,
        f"column {name!r} has no value left once {sketch.dropped:,} empty, NaN or infinite"
        " value(s) are dropped",
    )


@dataclass(frozen=True)
class Found:
    """A column's statistic, how far it may be from the exact one, whether it is exact, the
    counts of values it was computed from, and whether its verdict needs the rows."""

    statistic: float
    error: float
    exact: bool
    counts: tuple[dict[Any, int], dict[Any, int]] | None
    undecided: bool = False


def _distribution(column_type: str, ref: Sketch, cur: Sketch, found: Found) -> Distribution | None:
    """A histogram of a numeric column; a categorical one's counts, as its statistic used them."""
    counts = None
    if column_type == "categorical":
        counts = found.counts or _maybe_counts(ref, cur)
        if counts is None:
            return None
    return distribution(ref, cur, counts)


def _maybe_counts(ref: Sketch, cur: Sketch) -> tuple[dict[Any, int], dict[Any, int]] | None:
    if any(isinstance(s, NumericSketch) and s.distinct is None for s in (ref, cur)):
        return None
    return _counts(ref), _counts(cur)


def _plan(name: str, ref: Sketch, cur: Sketch, settings: Settings) -> tuple[str, str]:
    """The column's type and method."""
    inferred = "categorical"
    if isinstance(ref, NumericSketch):
        # Evidently: floats are numeric, integers with at most 10 values categorical.
        few = ref.distinct is not None and len(ref.distinct) <= 10
        inferred = "categorical" if ref.integer and few else "numeric"
    column_type = settings.types.get(name, inferred)
    if column_type == "numeric" and isinstance(ref, CategoricalSketch):
        raise SpecError([Problem.plain("--column-type", f"column {name!r} holds no numbers")])
    values = _values(ref, cur)
    method = settings.method
    if method == "auto":
        method = methods.auto_method(column_type, ref.n, values)
    elif method in methods.NUMERIC_ONLY and column_type == "categorical":
        raise SpecError(
            [
                Problem.plain(
                    "--method",
                    f"column {name!r} is categorical, and {method} compares numbers; use"
                    " --column-type to treat it as numeric, or chi2, z, jensenshannon or psi",
                )
            ]
        )
    if settings.threshold is not None:
        reason = threshold_problem(method, settings.threshold)
        if reason:
            raise SpecError([Problem.plain("--threshold", reason)])
    return column_type, method


def _integer(arrow_type: Any) -> bool:
    import pyarrow as pa

    return bool(pa.types.is_integer(arrow_type))


def _values(ref: Sketch, cur: Sketch) -> int | None:
    """The number of distinct values on both sides, or None when above FEW_VALUES."""
    a = ref.distinct if isinstance(ref, NumericSketch) else ref.counts
    b = cur.distinct if isinstance(cur, NumericSketch) else cur.counts
    if a is None or b is None:
        return None
    values = len(a.keys() | b.keys())
    return values if values <= methods.FEW_VALUES else None


def _binned(method: str, column_type: str, ref: Sketch) -> bool:
    many = isinstance(ref, NumericSketch) and (ref.distinct is None or len(ref.distinct) > 20)
    return method in ("psi", "jensenshannon") and column_type == "numeric" and many


def _edges(name: str, method: str, ref: Sketch, cur: Sketch, displays: tuple[str, str]) -> Any:
    assert isinstance(ref, NumericSketch) and isinstance(cur, NumericSketch)
    span = methods.Range(min(ref.low, cur.low), max(ref.high, cur.high), ref.n + cur.n)
    if not math.isfinite(span.high - span.low):  # as NumPy's own binning, it cannot be cut
        raise error(
            displays[1],
            f"column {name!r} spans from {span.low:g} to {span.high:g} over both sides, wider"
            f" than a float holds: {method} cannot bin it; choose another method",
        )
    return methods.sturges_edges(span)


def _histograms(
    reference: Table, current: Table, edges: dict[str, Any]
) -> dict[str, tuple[Any, Any]]:
    """Each binned column's counts on its Sturges grid, in one more pass over both sides."""
    found: dict[str, tuple[Any, Any]] = {}
    sides = []
    for table in (reference, current):
        totals: dict[str, Any] = {}
        for batch in table.batches(list(edges)):
            for name, array in batch.items():
                counts = histogram(floats(array), edges[name])
                totals[name] = counts if name not in totals else totals[name] + counts
        sides.append(totals)
    for name in edges:
        found[name] = (sides[0][name], sides[1][name])
    return found


def _counts(sketch: Sketch) -> dict[Any, int]:
    if isinstance(sketch, CategoricalSketch):
        return sketch.counts
    assert sketch.distinct is not None
    return sketch.distinct


def _statistic(
    name: str,
    method: str,
    ref: Sketch,
    cur: Sketch,
    counts: dict[str, tuple[Any, Any]],
    rows: tuple[Table, Table] | None,
    settings: Settings,
    threshold: float,
) -> Found:
    by_value = method in ("chi2", "z") or (
        method in ("psi", "jensenshannon") and name not in counts
    )
    if by_value:
        if any(isinstance(s, NumericSketch) and s.distinct is None for s in (ref, cur)):
            # Numbers counted value by value, more of them than the sketch kept: count again.
            if rows is None:
                return Found(math.nan, 0.0, False, None, undecided=True)
            ref, cur = _categorical_again(rows[0], name), _categorical_again(rows[1], name)
        a, b = _counts(ref), _counts(cur)
        if method == "chi2":
            return Found(methods.chi2(a, b), 0.0, True, (a, b))
        if method == "z":
            return Found(methods.z_test(a, b), 0.0, True, (a, b))
        return Found(methods.of_shares(method, *methods.shares(a, b)), 0.0, True, (a, b))
    if method in ("psi", "jensenshannon"):
        ref_counts, cur_counts = counts[name]
        shares = ref_counts / ref.n, cur_counts / cur.n
        return Found(methods.of_shares(method, *shares), 0.0, True, None)
    if method == "ks":
        assert rows is not None
        return Found(methods.ks(_exact(rows[0], name), _exact(rows[1], name)), 0.0, True, None)
    assert isinstance(ref, NumericSketch) and isinstance(cur, NumericSketch)
    if rows is None or ref.n + cur.n > settings.exact_rows:
        norm = max(ref.std, methods.STD_FLOOR)
        low, high = (bound / norm for bound in wasserstein_bounds(ref, cur))
        if not math.isfinite(norm):  # moments of values near the float's limit: no bound
            low = high = math.nan
        certain = low >= threshold * (1 + SLACK) or high < threshold * (1 - SLACK)
        if certain or rows is None:
            return Found((low + high) / 2, (high - low) / 2, False, None, not certain)
    exact = methods.wasserstein(_exact(rows[0], name), _exact(rows[1], name))
    return Found(exact, 0.0, True, None)


def _counted(ref: Sketch, cur: Sketch) -> bool:
    """Whether both sides hold their counts at the reference's knots (partitions' KS)."""
    return (
        isinstance(ref, NumericSketch)
        and isinstance(cur, NumericSketch)
        and ref.steps is not None
        and cur.steps is not None
    )


def _ks_counted(ref: NumericSketch, cur: NumericSketch, threshold: float) -> Found:
    """KS from the counts at the reference's knots: SciPy's p-value when the knots are every
    reference value; else bounds, and a verdict only when both give it."""
    assert ref.steps is not None and cur.steps is not None
    low, high = ks.bounds(ref.n, cur.n, ref.steps, cur.steps)
    largest = ks.p_value(low, ref.n, cur.n)  # the p-value falls as D grows
    if ref.every or low.value(ref.n, cur.n) == high.value(ref.n, cur.n):
        return Found(largest, 0.0, True, None)
    smallest = ks.p_value(high, ref.n, cur.n)
    certain = methods.drifted("ks", largest, threshold) or not methods.drifted(
        "ks", smallest, threshold
    )
    middle, error = (largest + smallest) / 2, (largest - smallest) / 2
    return Found(middle, error, False, None, undecided=not certain)


def _exact(table: Table, name: str) -> Any:
    return finite(floats(table.column(name)))


def _categorical_again(table: Table, name: str) -> CategoricalSketch:
    sketch = CategoricalSketch()
    for batch in table.batches([name]):
        sketch.add_floats(floats(batch[name]))
    return sketch


__all__ = [
    "CAP",
    "Sketch",
    "compare",
    "decide",
    "finite",
    "no_values",
    "sketch_sides",
    "too_many",
]
