"""The plots' histograms: a batch shifted far beyond the reference's range is drawn where it
is, on bins that span both sides, and the bins beyond the grid add up across parts."""

from __future__ import annotations

import numpy as np
import pytest

from specops.monitoring.plots import HISTOGRAM_BINS, Distribution, distribution
from specops.monitoring.sketch import BEYOND_BINS, Beyond, Grid, NumericSketch


def sketch(values: np.ndarray, grid: Grid, parts: int = 1) -> NumericSketch:
    found = NumericSketch(grid)
    for part in np.array_split(values, parts):
        found.add(part)
    return found


def plot(reference: np.ndarray, current: np.ndarray) -> Distribution:
    grid = Grid.around(reference)
    found = distribution(sketch(reference, grid), sketch(current, grid), None)
    assert found is not None
    return found


def test_a_far_batch_is_drawn_where_it_is() -> None:
    rng = np.random.default_rng(1)
    reference, current = rng.normal(0, 1, 20_000), rng.normal(50, 2, 10_000)
    found = plot(reference, current)
    edges = np.array(found.edges)
    # Equal bins from the reference's 0.1% quantile to the current's 99.9%, and a bin for
    # the values beyond on each side.
    assert len(found.labels) == HISTOGRAM_BINS + 2
    assert edges[0] == min(reference.min(), current.min())
    assert edges[-1] == max(reference.max(), current.max())
    assert edges[1] == pytest.approx(np.quantile(reference, 0.001), abs=0.05)
    assert edges[-2] == pytest.approx(np.quantile(current, 0.999), abs=0.2)
    # Each side's shares are those of its values on the same bins, up to the spreading of
    # the bins beyond the grid (a few hundredths of a bar here).
    for values, shares in ((reference, found.reference), (current, found.current)):
        expected = np.histogram(values, edges)[0] / values.size
        assert np.abs(np.array(shares) - expected).max() < 0.01, shares
    current_bars = [i for i, share in enumerate(found.current) if share > 0.01]
    reference_bars = [i for i, share in enumerate(found.reference) if share > 0.01]
    assert len(current_bars) >= 5 and min(current_bars) > max(reference_bars) + 10
    assert found.current[-1] < 0.01  # not one open bin holding the batch


def test_a_batch_inside_the_grid_keeps_the_references_bins() -> None:
    rng = np.random.default_rng(2)
    reference, current = rng.normal(0, 1, 20_000), rng.normal(0.3, 0.7, 10_000)
    grid = Grid.around(reference)
    found = plot(reference, current)
    assert found.edges[1] == grid.low and found.edges[-2] == grid.high
    assert len(found.labels) == HISTOGRAM_BINS + 2


def test_the_bins_beyond_add_up_exactly_across_parts() -> None:
    """The bins' level is the least that fits all values, so any split gives the same."""
    rng = np.random.default_rng(3)
    grid = Grid(0.0, 1.0, 64)
    values = np.concatenate((rng.normal(-500, 300, 5000), rng.lognormal(8, 3, 5000)))
    whole = sketch(values, grid)
    assert whole.beyond.level > 0 and len(whole.beyond.counts) <= BEYOND_BINS
    assert whole.hist is not None
    assert sum(whole.beyond.counts.values()) == whole.hist[0] + whole.hist[-1]
    merged = NumericSketch(grid)
    for part in np.array_split(rng.permutation(values), 7):
        merged.merge(sketch(part, grid, parts=3))
    assert merged.beyond == whole.beyond
    least = Beyond()
    least.add(grid.offsets(values[(values < 0) | (values >= 1)]))
    assert least == whole.beyond
    # One level finer would take more bins than kept.
    finer = {k >> (whole.beyond.level - 1) for k in np.floor(grid.offsets(values)).astype(int)}
    assert len(finer - set(range(64 >> (whole.beyond.level - 1)))) > BEYOND_BINS
