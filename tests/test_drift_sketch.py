"""The one-pass sketches: their bounds hold the exact statistic, and every verdict is exact."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from specops.monitoring import methods, tables
from specops.monitoring.drift import compare
from specops.monitoring.settings import Settings
from specops.monitoring.sketch import Grid, NumericSketch, wasserstein_bounds
from specops.monitoring.tables import Table


def sketch(values: Any, grid: Grid, batch: int = 1000) -> NumericSketch:
    found = NumericSketch(grid)
    for start in range(0, values.size, batch):
        found.add(values[start : start + batch])
    return found


RNG = np.random.default_rng(3)
PAIRS: dict[str, tuple[Any, Any]] = {
    "shifted normal": (RNG.normal(0, 1, 20_000), RNG.normal(0.2, 1, 15_000)),
    "heavy tails": (RNG.standard_cauchy(20_000), RNG.standard_cauchy(15_000) * 1.1),
    "few values": (RNG.integers(0, 4, 20_000) * 1.0, RNG.integers(0, 5, 15_000) * 1.0),
    "wide current": (RNG.normal(0, 1, 20_000), RNG.normal(0, 5, 15_000)),
}


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_bounds_hold_the_exact_distance(name: str) -> None:
    ref, cur = PAIRS[name]
    grid = Grid.around(ref[:1000])
    a, b = sketch(ref, grid), sketch(cur, grid)
    low, high = wasserstein_bounds(a, b)
    exact = methods.wasserstein(ref, cur) * max(float(np.std(ref)), methods.STD_FLOOR)
    assert low <= exact * (1 + 1e-12) and exact <= high * (1 + 1e-12)
    assert a.std == pytest.approx(float(np.std(ref)), rel=1e-12)
    assert (a.n, a.low, a.high) == (ref.size, ref.min(), ref.max())


def test_the_bound_is_tight_on_ordinary_data() -> None:
    ref, cur = PAIRS["shifted normal"]
    grid = Grid.around(ref[:1000])
    low, high = wasserstein_bounds(sketch(ref, grid), sketch(cur, grid))
    assert (high - low) / np.std(ref) < 0.02


def test_nan_and_inf_are_dropped_and_counted() -> None:
    values = np.array([1.0, np.nan, np.inf, -np.inf, 2.0])
    found = sketch(values, Grid(0, 3), batch=2)
    assert (found.n, found.dropped, found.distinct) == (2, 3, {1.0: 1, 2.0: 1})


def write(path: Path, columns: dict[str, Any]) -> Path:
    pq.write_table(pa.table(columns), path, row_group_size=50_000)
    return path


@pytest.fixture(scope="module")
def near(tmp_path_factory: pytest.TempPathFactory) -> tuple[Table, Table, dict[str, float]]:
    """Columns whose current batch is the reference shifted by a multiple of its std: the
    normed Wasserstein distance is that multiple, some a hair from the 0.1 threshold."""
    root = tmp_path_factory.mktemp("near")
    rng = np.random.default_rng(11)
    base = rng.normal(5, 2, 120_000)
    shifts = {
        "below": 0.1 * (1 - 1e-6),
        "above": 0.1 * (1 + 1e-6),
        "at": 0.1,
        "far_below": 0.01,
        "far_above": 0.5,
    }
    std = float(np.std(base))
    ref = {name: base for name in shifts}
    cur = {name: base + shift * std for name, shift in shifts.items()}
    reference = Table.open(write(root / "ref.parquet", ref), "ref.parquet")
    current = Table.open(write(root / "cur.parquet", cur), "cur.parquet")
    return reference, current, shifts


def test_verdicts_near_the_threshold_are_exact(
    near: tuple[Table, Table, dict[str, float]], monkeypatch: pytest.MonkeyPatch
) -> None:
    reference, current, shifts = near
    monkeypatch.setattr(tables, "BATCH_VALUES", 40_000)  # many batches per column
    sketched = compare(reference, current, Settings(exact_rows=0)).columns
    exact = compare(reference, current, Settings(exact_rows=10**9)).columns
    verdicts = {c.column: c.drifted for c in exact}
    assert {c.column: c.drifted for c in sketched} == verdicts
    assert verdicts["far_above"] and not verdicts["far_below"] and verdicts["above"]
    assert not verdicts["below"]
    # Only the columns close to the threshold were computed again from all values.
    assert {c.column for c in sketched if c.exact} == {"below", "above", "at"}
    for column in sketched:
        truth = next(c for c in exact if c.column == column.column)
        assert abs(column.statistic - truth.statistic) <= column.error + 1e-12
        assert column.method == "wasserstein"
        assert shifts[column.column] == pytest.approx(truth.statistic, rel=1e-6)


def test_batches_add_up_to_the_whole(
    near: tuple[Table, Table, dict[str, float]], monkeypatch: pytest.MonkeyPatch
) -> None:
    reference, current, _ = near
    whole = compare(reference, current, Settings(method="psi")).as_dict()
    monkeypatch.setattr(tables, "BATCH_VALUES", 30_000)
    assert compare(reference, current, Settings(method="psi")).as_dict() == whole


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_merged_parts_are_the_whole(name: str) -> None:
    """Sketches of parts, merged, hold what one sketch of all the values holds."""
    values = np.concatenate(PAIRS[name])
    values[::97] = np.nan
    grid = Grid.around(values[np.isfinite(values)][:1000])
    whole = sketch(values, grid)
    merged = NumericSketch(grid)
    for part in (values[:0], values[:7000], values[7000:7001], values[7001:]):
        merged.merge(sketch(part, grid))
    assert (merged.n, merged.dropped, merged.low, merged.high) == (
        whole.n,
        whole.dropped,
        whole.low,
        whole.high,
    )
    assert merged.distinct == whole.distinct
    assert merged.hist is not None and whole.hist is not None
    assert (merged.hist == whole.hist).all()
    assert merged.mean == pytest.approx(whole.mean, rel=1e-12, abs=1e-12)
    assert merged.std == pytest.approx(whole.std, rel=1e-12)
