"""A batch's classification metrics and latency percentiles, with NumPy alone.

scikit-learn would take a second to import for five sums; the tests check each metric against
its scikit-learn function. A metric that is undefined on the batch (one class only, no
positive prediction, ...) is NaN with the reason, never a silent 0, so that a gate on it fails.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from specops.spec.monitoring import AVERAGED_METRICS, BINARY_METRICS

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Floats = npt.NDArray[np.float64]
    Bools = npt.NDArray[np.bool_]
    #: Each row's class as its index in a list of classes, -1 where it has none.
    Codes = npt.NDArray[np.signedinteger[Any]]

#: Rows counted at a time.
CHUNK = 1 << 20
#: A score at or above this is class 1 when no column holds the predicted class.
THRESHOLD = 0.5


@dataclass(frozen=True)
class Metrics:
    """The metrics of one side, NaN where undefined, and why; `remarks` say which classes an
    average leaves out."""

    rows: int
    values: dict[str, float]
    undefined: dict[str, str]
    remarks: dict[str, str] = field(default_factory=dict)


def _ratio(num: float, den: float) -> float:
    return num / den if den else math.nan


def classification(
    target: Codes,
    label: Codes | None,
    score: Floats | None,
    classes: Sequence[object],
    *,
    binary: bool,
) -> Metrics:
    """Every metric of `METRICS` from the rows' classes, as codes into `classes`.

    Binary (classes 0 and 1, class 1 the positive one): accuracy, precision, recall, f1 and,
    with scores, ROC AUC; without `label`, the class is the score at or above THRESHOLD.
    Otherwise the binary metrics are undefined, and so is every metric without `label` (a
    score alone names no class). Precision, recall and f1 are scikit-learn's with
    `zero_division=np.nan`: averages leave out the classes where a ratio is undefined."""
    import numpy as np

    rows = int(target.size)
    if binary:
        one = classes.index(1.0) if 1.0 in classes else -2
        truth = target == one
        if label is not None:
            said: Bools = np.asarray(label == one)
        else:
            assert score is not None
            said = np.asarray(score >= THRESHOLD)
        found = _binary(truth, said, score, rows)
        averaged = _averaged(truth.astype(np.intp), said.astype(np.intp), (0, 1))
        return Metrics(
            rows,
            {**found.values, **averaged.values},
            {**found.undefined, **averaged.undefined},
            averaged.remarks,
        )
    values = dict.fromkeys(BINARY_METRICS, math.nan)
    undefined = {
        m: f"the classes are not 0 and 1: gate on {m}_macro or {m}_weighted"
        for m in ("precision", "recall", "f1")
    }
    undefined["roc_auc"] = "the classes are not 0 and 1, and one score is no probability of each"
    if label is None:
        cause = "a score alone names no class: name the column of the model's class in"
        cause += " `monitoring.predicted_class`"
        values.update(dict.fromkeys(AVERAGED_METRICS, math.nan))
        undefined.update(dict.fromkeys(("accuracy", *AVERAGED_METRICS), cause))
        return Metrics(rows, values, undefined)
    values["accuracy"] = _ratio(float(np.count_nonzero(target == label)), rows)
    averaged = _averaged(target, label, classes)
    values.update(averaged.values)
    undefined.update(averaged.undefined)
    return Metrics(rows, values, undefined, averaged.remarks)


def _binary(truth: Bools, said: Bools, score: Floats | None, rows: int) -> Metrics:
    import numpy as np

    tp = float(np.count_nonzero(truth & said))
    fp = float(np.count_nonzero(~truth & said))
    fn = float(np.count_nonzero(truth & ~said))
    values = {
        "accuracy": _ratio(float(np.count_nonzero(truth == said)), rows),
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
        "roc_auc": roc_auc(truth, score) if score is not None else math.nan,
    }
    undefined = {}
    if not rows:
        undefined["accuracy"] = "no row has both a target and a prediction"
    if not tp + fp:
        undefined["precision"] = "the model predicted class 1 for no row"
    if not tp + fn:
        undefined["recall"] = "the target holds no row of class 1"
    if not 2 * tp + fp + fn:
        undefined["f1"] = "neither the target nor the model has a row of class 1"
    if score is None:
        undefined["roc_auc"] = "no column holds the model's score"
    elif math.isnan(values["roc_auc"]):
        undefined["roc_auc"] = "the target holds one class only"
    return Metrics(rows, values, undefined)


def _averaged(target: Codes, label: Codes, classes: Sequence[object]) -> Metrics:
    """Precision, recall and f1 of each class seen on this side (in the target or predicted),
    averaged: `_macro` each class alike, `_weighted` by its rows in the target.

    Three counts per class, from `np.bincount` over the codes: memory grows with the classes,
    not with their square (no confusion matrix), and not with the rows."""
    import numpy as np

    k = len(classes)
    support, predicted, hits = (np.zeros(k, dtype=np.float64) for _ in range(3))
    # A million rows at a time: np.bincount copies its input as 8-byte integers.
    for start in range(0, target.size, CHUNK):
        t, p = target[start : start + CHUNK], label[start : start + CHUNK]
        support += np.bincount(t, minlength=k)
        predicted += np.bincount(p, minlength=k)
        hits += np.bincount(t[t == p], minlength=k)
    seen = (support + predicted) > 0
    support, predicted, hits = support[seen], predicted[seen], hits[seen]
    names = [c for c, s in zip(classes, seen.tolist(), strict=True) if s]
    with np.errstate(divide="ignore", invalid="ignore"):
        per_class = {
            "precision": np.where(predicted > 0, hits / predicted, np.nan),
            "recall": np.where(support > 0, hits / support, np.nan),
            "f1": 2 * hits / (support + predicted),
        }
    values, undefined, remarks = {}, {}, {}
    for name, found in per_class.items():
        known = ~np.isnan(found)
        left = [shown_class(c) for c, k_ in zip(names, known.tolist(), strict=True) if not k_]
        for average in ("macro", "weighted"):
            metric = f"{name}_{average}"
            if not known.any():
                values[metric] = math.nan
                undefined[metric] = "no row has both a target and a prediction"
                continue
            weights = support[known]
            if average == "macro" or not weights.sum():  # scikit-learn: all weights 0, plain
                values[metric] = float(found[known].mean())
            else:
                values[metric] = float((found[known] * weights).sum() / weights.sum())
            if left:
                whom = "the model predicted" if name == "precision" else "the target holds"
                remarks[metric] = (
                    f"averaged without class {', '.join(left[:10])}"
                    + (f" and {len(left) - 10:,} more" if len(left) > 10 else "")
                    + f": {whom} no row of {'it' if len(left) == 1 else 'them'}"
                )
    ordered = {m: values[m] for m in AVERAGED_METRICS}
    return Metrics(int(target.size), ordered, undefined, remarks)


def shown_class(value: object) -> str:
    """A class as the reports name it: a number as `2`, a string quoted."""
    if isinstance(value, float):
        return f"{value:g}"
    return repr(value) if isinstance(value, str) else str(value)


def roc_auc(truth: Bools, score: Floats) -> float:
    """The area under the ROC curve as the Mann-Whitney statistic: the chance that a row of
    class 1 scores above one of class 0, ties counting half (scikit-learn's trapezoids).

    Both classes' scores sorted, each positive's count of lower and of equal negatives is a
    binary search: a third of the time of ranking all scores with `np.unique`."""
    import numpy as np

    positives, negatives = np.sort(score[truth]), np.sort(score[~truth])
    if not positives.size or not negatives.size:
        return math.nan
    below = np.searchsorted(negatives, positives, "left")
    up_to = np.searchsorted(negatives, positives, "right")
    # Twice the statistic in integers, so that the sum is exact.
    twice = int(below.sum()) + int(up_to.sum())
    return twice / (2 * positives.size * negatives.size)


def labels(score: Floats) -> Floats:
    """The class each score stands for when no column holds it: 1 at or above THRESHOLD."""
    import numpy as np

    return (score >= THRESHOLD).astype(np.float64)


def percentiles(values: Floats) -> dict[str, float]:
    """p50 and p95 as NumPy computes them (linear between the closest ranks)."""
    import numpy as np

    p50, p95 = np.percentile(values, [50, 95])
    return {"p50": float(p50), "p95": float(p95)}
