"""Stage 2: train a classifier on the prepared training split and save it with skops."""

import argparse
from pathlib import Path
from typing import Any

import pandas as pd  # type: ignore[import-untyped]
from sklearn.base import ClassifierMixin  # type: ignore[import-untyped]
from sklearn.ensemble import RandomForestClassifier  # type: ignore[import-untyped]
from sklearn.linear_model import LogisticRegression  # type: ignore[import-untyped]
from sklearn.pipeline import Pipeline  # type: ignore[import-untyped]
from sklearn.preprocessing import StandardScaler  # type: ignore[import-untyped]

from pipeline.params import load_params
from pipeline.save import save_model

TRAIN_CSV = Path("data/validated/train.csv")
DEFAULT_OUT = Path("models/model.skops")
MODELS = ("rf", "logreg")


def build_model(params: dict[str, Any]) -> ClassifierMixin:
    """Build an unfitted classifier from the ``train`` params."""
    seed = int(params["seed"])
    if params["model"] == "rf":
        max_depth = params.get("max_depth")
        return RandomForestClassifier(
            n_estimators=int(params["n_estimators"]),
            max_depth=None if max_depth is None else int(max_depth),
            random_state=seed,
        )
    if params["model"] == "logreg":
        # Unscaled features stop lbfgs from converging, hence the scaler.
        return Pipeline(
            [
                ("scale", StandardScaler()),
                ("clf", LogisticRegression(max_iter=1000, random_state=seed)),
            ]
        )
    raise ValueError(f"unknown model {params['model']!r}; expected one of {MODELS}")


def parse_args() -> argparse.Namespace:
    """Parse the optional command-line overrides."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", choices=MODELS, help="override train.model from params.yaml")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where to write the model")
    return parser.parse_args()


def main() -> None:
    """Fit the configured model and dump it in skops format (never pickle)."""
    args = parse_args()
    params = load_params("train")
    if args.model:
        params["model"] = args.model
    train = pd.read_csv(TRAIN_CSV)
    model = build_model(params)
    model.fit(train.drop(columns="target"), train["target"])
    args.out.parent.mkdir(parents=True, exist_ok=True)
    save_model(model, args.out)
    print(f"train: {params['model']} fitted on {len(train)} rows -> {args.out}")


if __name__ == "__main__":
    main()
