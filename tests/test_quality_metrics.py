"""The batch's metrics, computed with NumPy, against scikit-learn's own functions."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import (  # type: ignore[import-untyped]
    accuracy_score,
    f1_score,
    precision_score,
    recall_score,
    roc_auc_score,
)

from specops.monitoring import quality
from specops.monitoring.resources import measure


def sides(seed: int, rows: int, *, ties: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    target = (rng.random(rows) < 0.4).astype(np.float64)
    score = np.clip(0.35 * target + rng.random(rows) * 0.65, 0, 1)
    if ties:  # a forest of 20 trees: scores are multiples of 1/20, with 0.5 among them
        score = np.round(score * 20) / 20
    return target, quality.labels(score), score


@pytest.mark.parametrize("seed, rows, ties", [(1, 50, False), (2, 1000, True), (3, 7, True)])
def test_each_metric_equals_scikit_learns(seed: int, rows: int, ties: bool) -> None:
    target, label, score = sides(seed, rows, ties=ties)
    found = quality.classification(target, label, score)
    expected = {
        "accuracy": accuracy_score(target, label),
        "precision": precision_score(target, label),
        "recall": recall_score(target, label),
        "f1": f1_score(target, label),
        "roc_auc": roc_auc_score(target, score),
    }
    assert found.rows == rows and found.undefined == {}
    assert found.values == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_the_label_is_the_score_at_or_above_one_half() -> None:
    assert quality.labels(np.array([0.0, 0.4999, 0.5, 1.0])).tolist() == [0, 0, 1, 1]


def test_undefined_metrics_are_nan_with_the_reason() -> None:
    target = np.array([0.0, 0.0, 0.0])
    label = np.array([0.0, 0.0, 0.0])
    found = quality.classification(target, label, np.array([0.1, 0.2, 0.2]))
    assert found.values["accuracy"] == 1.0
    assert all(math.isnan(found.values[m]) for m in ("precision", "recall", "f1", "roc_auc"))
    assert found.undefined == {
        "precision": "the model predicted class 1 for no row",
        "recall": "the target holds no row of class 1",
        "f1": "neither the target nor the model has a row of class 1",
        "roc_auc": "the target holds one class only",
    }
    # Where scikit-learn divides by zero, its `zero_division=np.nan` gives the same NaN.
    assert math.isnan(precision_score(target, label, zero_division=np.nan))
    assert math.isnan(recall_score(target, label, zero_division=np.nan))
    assert math.isnan(f1_score(target, label, zero_division=np.nan))
    with pytest.warns(UserWarning, match="Only one class"):
        assert math.isnan(roc_auc_score(target, [0.1, 0.2, 0.2]))


def test_without_scores_there_is_no_auc() -> None:
    found = quality.classification(np.array([0.0, 1.0]), np.array([0.0, 1.0]), None)
    assert found.values["accuracy"] == 1.0 and math.isnan(found.values["roc_auc"])
    assert found.undefined == {"roc_auc": "no column holds the model's score"}


def test_percentiles_are_numpys() -> None:
    values = np.arange(1, 101, dtype=np.float64)
    assert quality.percentiles(values) == {"p50": 50.5, "p95": 95.05}


def test_measure_reports_the_scorings_own_peak() -> None:
    rows = 4_000_000  # 32 MB of float64
    total, usage = measure(lambda: float(np.ones(rows).sum()))
    assert total == rows
    assert usage.seconds > 0 and not usage.since_start
    assert usage.peak_rss_bytes - usage.rss_before_bytes >= rows * 8 * 0.9
    # A second run that allocates nothing has no such peak: the first one's was reset.
    _, quiet = measure(lambda: None)
    assert quiet.peak_rss_bytes - quiet.rss_before_bytes < rows * 8 * 0.5
