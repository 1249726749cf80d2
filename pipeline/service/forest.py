"""A random forest's `predict_proba` computed tree by tree in the calling thread.

scikit-learn's forests hand each tree to joblib, even with `n_jobs=None`: on this service's
small batches that dispatch costs about twice the trees' own work, all of it holding the
interpreter lock that request handling needs too. The sum below is the one scikit-learn
computes (each tree's probabilities added in order, then divided by the number of trees), so
the result is the same to the last bit; the tests compare it with `predict_proba`.
"""

from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.ensemble import RandomForestClassifier  # type: ignore[import-untyped]

Proba = Callable[[np.ndarray], np.ndarray]


def proba_function(estimator: Any) -> Proba:
    """The fastest exact `predict_proba` of `estimator` for a float matrix in its column order."""
    if type(estimator) is not RandomForestClassifier or estimator.n_outputs_ != 1:
        return estimator.predict_proba  # type: ignore[no-any-return]
    trees = list(estimator.estimators_)

    def predict_proba(matrix: np.ndarray) -> np.ndarray:
        # What the forest's own input check gives its trees: C-ordered float32.
        rows = np.ascontiguousarray(matrix, dtype=np.float32)
        proba: np.ndarray = trees[0].predict_proba(rows, check_input=False).copy()
        for tree in trees[1:]:
            proba += tree.predict_proba(rows, check_input=False)
        proba /= len(trees)
        return proba

    return predict_proba
