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
    Ints = npt.NDArray[np.int64]
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

    if binary:
        one = classes.index(1.0) if 1.0 in classes else -2
        truth = target == one
        if label is not None:
            said: Bools = np.asarray(label == one)
        else:
            assert score is not None
            said = np.asarray(score >= THRESHOLD)
        auc = roc_auc(truth, score) if score is not None else math.nan
        return of_counts(confusion(truth, said), auc, scored=score is not None)
    if label is None:
        return multiclass(None, classes, int(target.size))
    return multiclass(ClassCounts.of(target, label, len(classes)), classes, int(target.size))


@dataclass(frozen=True)
class Confusion:
    """The confusion matrix of a binary classifier: these counts add across partitions."""

    tp: int
    fp: int
    fn: int
    tn: int


def confusion(truth: Bools, said: Bools) -> Confusion:
    """The confusion matrix of the rows' true and predicted class 1."""
    import numpy as np

    tp = int(np.count_nonzero(truth & said))
    fp = int(np.count_nonzero(~truth & said))
    fn = int(np.count_nonzero(truth & ~said))
    return Confusion(tp, fp, fn, int(truth.size) - tp - fp - fn)


def of_counts(counts: Confusion, auc: float, *, scored: bool) -> Metrics:
    """The binary metrics from the confusion matrix and the ROC AUC (NaN where undefined),
    and the averaged ones over classes 0 and 1."""
    import numpy as np

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
    # Classes 0 and 1 as two classes of many: their rows in the target, predicted, and hit.
    both = ClassCounts(
        np.array([counts.tn + counts.fp, counts.tp + counts.fn], dtype=np.int64),
        np.array([counts.tn + counts.fn, counts.tp + counts.fp], dtype=np.int64),
        np.array([counts.tn, counts.tp], dtype=np.int64),
    )
    averaged = _averaged(both, (0, 1))
    return Metrics(
        rows,
        {**values, **averaged.values},
        {**undefined, **averaged.undefined},
        averaged.remarks,
    )


def multiclass(counts: ClassCounts | None, classes: Sequence[object], rows: int) -> Metrics:
    """The metrics of classes other than 0 and 1: accuracy and the averaged ones from each
    class's counts (None: no column names the model's class); the binary ones undefined."""
    values = dict.fromkeys(BINARY_METRICS, math.nan)
    undefined = {
        m: f"the classes are not 0 and 1: gate on {m}_macro or {m}_weighted"
        for m in ("precision", "recall", "f1")
    }
    undefined["roc_auc"] = "the classes are not 0 and 1, and one score is no probability of each"
    if counts is None:
        cause = "a score alone names no class: name the column of the model's class in"
        cause += " `monitoring.predicted_class`"
        values.update(dict.fromkeys(AVERAGED_METRICS, math.nan))
        undefined.update(dict.fromkeys(("accuracy", *AVERAGED_METRICS), cause))
        return Metrics(rows, values, undefined)
    values["accuracy"] = _ratio(float(counts.hits.sum()), rows)
    averaged = _averaged(counts, classes)
    values.update(averaged.values)
    undefined.update(averaged.undefined)
    return Metrics(rows, values, undefined, averaged.remarks)


@dataclass(frozen=True)
class ClassCounts:
    """Each class's rows in the target, rows predicted, and rows predicted right: these add
    across partitions, and every averaged metric follows from them."""

    support: Ints
    predicted: Ints
    hits: Ints

    @classmethod
    def of(cls, target: Codes, label: Codes, classes: int) -> ClassCounts:
        """The counts from the rows' codes (none -1), with `np.bincount`: memory grows with
        the classes, not with their square (no confusion matrix), and not with the rows."""
        import numpy as np

        support, predicted, hits = (np.zeros(classes, dtype=np.int64) for _ in range(3))
        # A million rows at a time: np.bincount copies its input as 8-byte integers.
        for start in range(0, target.size, CHUNK):
            t, p = target[start : start + CHUNK], label[start : start + CHUNK]
            support += np.bincount(t, minlength=classes)
            predicted += np.bincount(p, minlength=classes)
            hits += np.bincount(t[t == p], minlength=classes)
        return cls(support, predicted, hits)


def _averaged(counts: ClassCounts, classes: Sequence[object]) -> Metrics:
    """Precision, recall and f1 of each class seen on this side (in the target or predicted),
    averaged: `_macro` each class alike, `_weighted` by its rows in the target."""
    import numpy as np

    seen = (counts.support + counts.predicted) > 0
    support = counts.support[seen].astype(np.float64)
    predicted = counts.predicted[seen].astype(np.float64)
    hits = counts.hits[seen].astype(np.float64)
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
    return Metrics(int(counts.support.sum()), ordered, undefined, remarks)


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
