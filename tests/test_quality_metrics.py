"""The batch's metrics, computed with NumPy, against scikit-learn's own functions."""

from __future__ import annotations

import math
from itertools import pairwise

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
from specops.monitoring.quality import Metrics
from specops.monitoring.resources import measure


def binary(target: np.ndarray, label: np.ndarray | None, score: np.ndarray | None) -> Metrics:
    """The metrics of classes 0 and 1, from their codes."""
    codes = None if label is None else label.astype(np.int32)
    return quality.classification(target.astype(np.int32), codes, score, [0, 1], binary=True)


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
    found = binary(target, label, score)
    expected = {
        "accuracy": accuracy_score(target, label),
        "precision": precision_score(target, label),
        "recall": recall_score(target, label),
        "f1": f1_score(target, label),
        "roc_auc": roc_auc_score(target, score),
        **averaged(target, label),
    }
    assert found.rows == rows and found.undefined == {}
    assert found.values == pytest.approx(expected, rel=1e-12, abs=1e-15)


def averaged(target: np.ndarray, label: np.ndarray) -> dict[str, float]:
    """scikit-learn's macro and weighted averages, leaving out undefined classes as ours do."""
    found = {}
    for average in ("macro", "weighted"):
        for name, score in (
            ("precision", precision_score),
            ("recall", recall_score),
            ("f1", f1_score),
        ):
            found[f"{name}_{average}"] = score(target, label, average=average, zero_division=np.nan)
    return found


def test_the_label_is_the_score_at_or_above_one_half() -> None:
    assert quality.labels(np.array([0.0, 0.4999, 0.5, 1.0])).tolist() == [0, 0, 1, 1]


def test_undefined_metrics_are_nan_with_the_reason() -> None:
    target = np.array([0.0, 0.0, 0.0])
    label = np.array([0.0, 0.0, 0.0])
    found = binary(target, label, np.array([0.1, 0.2, 0.2]))
    assert found.values["accuracy"] == 1.0
    assert all(math.isnan(found.values[m]) for m in ("precision", "recall", "f1", "roc_auc"))
    # Class 0 alone is seen: its averages are its own.
    assert found.values["f1_macro"] == found.values["precision_weighted"] == 1.0
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
    found = binary(np.array([0.0, 1.0]), np.array([0.0, 1.0]), None)
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


def encode(*columns: np.ndarray) -> tuple[list[object], list[np.ndarray]]:
    """The classes of the columns together, and each column's codes."""
    classes, inverse = np.unique(np.concatenate(columns), return_inverse=True)
    bounds = np.cumsum([0, *(c.size for c in columns)])
    codes = [inverse[a:b].astype(np.int32) for a, b in pairwise(bounds)]
    return classes.tolist(), codes


MULTICLASS = [
    # Integers, a class the model never predicts, another it predicts but the target lacks.
    (np.array([0, 1, 2, 2, 1, 0, 2, 3, 3, 1]), np.array([0, 2, 2, 1, 1, 0, 2, 2, 4, 1])),
    # Strings, of unequal support.
    (
        np.array(["cat", "dog", "dog", "bird", "cat", "dog", "dog", "bird"]),
        np.array(["cat", "dog", "cat", "dog", "cat", "dog", "bird", "bird"]),
    ),
]


@pytest.mark.parametrize("target, label", MULTICLASS)
def test_multiclass_metrics_equal_scikit_learns(target: np.ndarray, label: np.ndarray) -> None:
    classes, (t, p) = encode(target, label)
    found = quality.classification(t, p, None, classes, binary=False)
    expected = {"accuracy": accuracy_score(target, label), **averaged(target, label)}
    assert {k: found.values[k] for k in expected} == pytest.approx(expected, rel=1e-12)
    assert all(math.isnan(found.values[m]) for m in ("precision", "recall", "f1", "roc_auc"))


@pytest.mark.parametrize("seed", [4, 5])
def test_many_rows_of_many_classes(seed: int) -> None:
    rng = np.random.default_rng(seed)
    target = rng.integers(0, 7, 20_000)
    label = np.where(rng.random(20_000) < 0.6, target, rng.integers(0, 8, 20_000))
    classes, (t, p) = encode(target, label)
    found = quality.classification(t, p, None, classes, binary=False)
    expected = {"accuracy": accuracy_score(target, label), **averaged(target, label)}
    assert {k: found.values[k] for k in expected} == pytest.approx(expected, rel=1e-12)
    # Class 7 is predicted, never true: recall leaves it out, as scikit-learn's NaN does.
    assert found.remarks == {
        "recall_macro": "averaged without class 7: the target holds no row of it",
        "recall_weighted": "averaged without class 7: the target holds no row of it",
    }


def test_multiclass_undefined_metrics_say_why() -> None:
    target, label = MULTICLASS[0]
    classes, (t, p) = encode(target, label)
    found = quality.classification(t, p, None, classes, binary=False)
    assert found.undefined == {
        "precision": "the classes are not 0 and 1: gate on precision_macro or precision_weighted",
        "recall": "the classes are not 0 and 1: gate on recall_macro or recall_weighted",
        "f1": "the classes are not 0 and 1: gate on f1_macro or f1_weighted",
        "roc_auc": "the classes are not 0 and 1, and one score is no probability of each",
    }
    assert found.remarks["precision_macro"] == (
        "averaged without class 3: the model predicted no row of it"
    )
    # A score alone gives no class of several.
    found = quality.classification(t, None, np.full(t.size, 0.9), classes, binary=False)
    assert all(math.isnan(v) for v in found.values.values())
    assert (
        found.undefined["f1_macro"]
        == found.undefined["accuracy"]
        == (
            "a score alone names no class: name the column of the model's class in"
            " `monitoring.predicted_class`"
        )
    )
