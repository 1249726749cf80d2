"""Stage: the monitoring reference, the training rows each scored by a model that never saw it.

`specops drift` compares the batch's metrics with the reference's (`vs: reference` gates) and
its scores with the reference's (concept drift). The model's scores on its own training rows
would be far too good (a forest nearly learns them by heart), so each row is scored out of fold:
5-fold stratified cross-validation of the model params.yaml configures, each fold's model
scoring the rows it left out. The columns `prediction` and `score` are those of the prediction
log: the class, as the model's `predict` gives it, and the probability of class 1.
"""

from pathlib import Path

import numpy as np
import pandas as pd  # type: ignore[import-untyped]
from sklearn.model_selection import StratifiedKFold, cross_val_predict  # type: ignore[import-untyped]

from pipeline.params import load_params
from pipeline.train import TRAIN_CSV, build_model

OUT_FILE = Path("data/reference/train.csv")
TARGET = "target"
FOLDS = 5


def main() -> None:
    """Write `data/reference/train.csv`: the training rows with their out-of-fold scores."""
    params = load_params("train")
    train = pd.read_csv(TRAIN_CSV)
    features, target = train.drop(columns=TARGET), train[TARGET]
    # Unshuffled folds: the same rows in the same folds on every run, so the stage reproduces.
    proba = cross_val_predict(
        build_model(params), features, target, cv=StratifiedKFold(FOLDS), method="predict_proba"
    )
    classes = np.unique(target)
    scored = train.copy()
    scored["prediction"] = classes[proba.argmax(axis=1)]  # what `predict` does with them
    scored["score"] = proba[:, 1].round(6)
    OUT_FILE.parent.mkdir(parents=True, exist_ok=True)
    scored.to_csv(OUT_FILE, index=False)
    print(f"reference: {len(scored)} training rows scored out of {FOLDS} folds -> {OUT_FILE}")


if __name__ == "__main__":
    main()
