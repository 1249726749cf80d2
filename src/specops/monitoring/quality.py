"""A batch's classification metrics and latency percentiles, with NumPy alone.

scikit-learn would take a second to import for five sums; the tests check each metric against
its scikit-learn function. A metric that is undefined on the batch (one class only, no
positive prediction, ...) is NaN with the reason, never a silent 0, so that a gate on it fails.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Floats = npt.NDArray[np.float64]

#: A score at or above this is class 1 when no column holds the predicted class.
THRESHOLD = 0.5


@dataclass(frozen=True)
class Metrics:
    """The metrics of one side, NaN where undefined, and why."""

    rows: int
    values: dict[str, float]
    undefined: dict[str, str]


def _ratio(num: float, den: float) -> float:
    return num / den if den else math.nan


def classification(target: Floats, label: Floats, score: Floats | None) -> Metrics:
    """Accuracy, precision, recall, f1 and, with scores, ROC AUC; class 1 is the positive one.

    Precision, recall and f1 are scikit-learn's with `zero_division=np.nan`."""
    import numpy as np

    truth, said = target == 1, label == 1
    tp = int(np.count_nonzero(truth & said))
    fp = int(np.count_nonzero(~truth & said))
    fn = int(np.count_nonzero(truth & ~said))
    tn = int(target.size) - tp - fp - fn
    auc = roc_auc(target, score) if score is not None else math.nan
    return of_counts(Confusion(tp, fp, fn, tn), auc, scored=score is not None)


@dataclass(frozen=True)
class Confusion:
    """The confusion matrix of a binary classifier: these counts add across partitions."""

    tp: int
    fp: int
    fn: int
    tn: int


def of_counts(counts: Confusion, auc: float, *, scored: bool) -> Metrics:
    """The metrics from the confusion matrix and the ROC AUC (NaN where undefined)."""
    tp, fp, fn = float(counts.tp), float(counts.fp), float(counts.fn)
    rows = counts.tp + counts.fp + counts.fn + counts.tn
    values = {
        "accuracy": _ratio(float(counts.tp + counts.tn), rows),
        "precision": _ratio(tp, tp + fp),
        "recall": _ratio(tp, tp + fn),
        "f1": _ratio(2 * tp, 2 * tp + fp + fn),
        "roc_auc": auc,
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
    if not scored:
        undefined["roc_auc"] = "no column holds the model's score"
    elif math.isnan(auc):
        undefined["roc_auc"] = "the target holds one class only"
    return Metrics(rows, values, undefined)


def roc_auc(target: Floats, score: Floats) -> float:
    """The area under the ROC curve as the Mann-Whitney statistic: the chance that a row of
    class 1 scores above one of class 0, ties counting half (scikit-learn's trapezoids).

    Both classes' scores sorted, each positive's count of lower and of equal negatives is a
    binary search: a third of the time of ranking all scores with `np.unique`."""
    import numpy as np

    truth = target == 1
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
