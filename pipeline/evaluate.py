"""Stage 3: load the model safely, score it on the test split and write metrics."""

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd  # type: ignore[import-untyped]
import skops.io as sio  # type: ignore[import-untyped]
from sklearn.metrics import accuracy_score, f1_score, roc_auc_score, roc_curve  # type: ignore[import-untyped]

MODEL_FILE = Path("models/model.skops")
TEST_CSV = Path("data/prepared/test.csv")
SCORES_FILE = Path("metrics/scores.json")
ROC_FILE = Path("metrics/roc.csv")

# skops trusts sklearn estimators and numpy containers by default; the only type our
# models need on top of that is the compiled decision tree inside a random forest.
ALLOWED_TYPES = frozenset({"sklearn.tree._tree.Tree"})


def load_model(path: Path) -> Any:
    """Load a skops file, refusing any type outside ``ALLOWED_TYPES``."""
    untrusted = sio.get_untrusted_types(file=path)
    refused = sorted(set(untrusted) - ALLOWED_TYPES)
    if refused:
        raise SystemExit(f"evaluate: refusing to load {path}: untrusted types {refused}")
    return sio.load(path, trusted=untrusted)


def main() -> None:
    """Write ``scores.json`` and ``roc.csv`` for the saved model."""
    model = load_model(MODEL_FILE)
    test = pd.read_csv(TEST_CSV)
    X, y = test.drop(columns="target"), test["target"]
    proba = model.predict_proba(X)[:, 1]
    pred = model.predict(X)

    scores = {
        "accuracy": round(float(accuracy_score(y, pred)), 4),
        "f1": round(float(f1_score(y, pred)), 4),
        "roc_auc": round(float(roc_auc_score(y, proba)), 4),
    }
    fpr, tpr, thresholds = roc_curve(y, proba)
    # sklearn's first threshold is +inf; use max score + 1 (its pre-1.3 convention) so the
    # CSV stays finite while the (0, 0) point is kept.
    if np.isinf(thresholds[0]):
        thresholds[0] = thresholds[1] + 1

    SCORES_FILE.parent.mkdir(parents=True, exist_ok=True)
    SCORES_FILE.write_text(json.dumps(scores, indent=2) + "\n", encoding="utf-8")
    roc = pd.DataFrame({"fpr": fpr, "tpr": tpr, "threshold": thresholds})
    roc.to_csv(ROC_FILE, index=False, float_format="%.6f")
    print(f"evaluate: {scores}")


if __name__ == "__main__":
    main()
