"""The service's forest path gives exactly the forest's own probabilities."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd  # type: ignore[import-untyped]
from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]

from pipeline.evaluate import load_model
from pipeline.service.forest import proba_function


def test_the_forest_path_is_predict_proba_to_the_last_bit(pipeline_project: Path) -> None:
    model = load_model(pipeline_project / "models/model.skops")
    test = pd.read_csv(pipeline_project / "data/prepared/test.csv").drop(columns="target")
    fast = proba_function(model)
    assert fast != model.predict_proba
    for rows in (test.iloc[:1], test.iloc[:7], test):
        expected = model.predict_proba(rows)
        got = fast(rows.to_numpy(dtype=np.float64))
        assert got.dtype == expected.dtype and np.array_equal(got, expected)


def test_other_models_keep_their_own_predict_proba() -> None:
    model = LogisticRegression().fit(np.array([[0.0], [1.0]]), [0, 1])
    assert proba_function(model) == model.predict_proba
