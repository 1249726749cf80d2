"""Stage 1: load the breast-cancer data and write a stratified train/test split.

`live_share` of the training rows go to `live.csv` instead: the production batch the simulate
stage shifts, which retraining may add to the training data, so it must never be rows of the
test set the model is evaluated on.
"""

from pathlib import Path

from sklearn.datasets import load_breast_cancer  # type: ignore[import-untyped]
from sklearn.model_selection import train_test_split  # type: ignore[import-untyped]

from pipeline.params import load_params

OUT_DIR = Path("data/prepared")


def main() -> None:
    """Split the bundled dataset and write ``train.csv``, ``test.csv`` and ``live.csv``."""
    params = load_params("prepare")
    # The frame already holds the features plus a "target" column; no network needed.
    frame = load_breast_cancer(as_frame=True).frame
    train, test = train_test_split(
        frame,
        test_size=float(params["test_size"]),
        random_state=int(params["seed"]),
        stratify=frame["target"],
    )
    train, live = train_test_split(
        train,
        test_size=float(params["live_share"]),
        random_state=int(params["seed"]),
        stratify=train["target"],
    )
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    train.to_csv(OUT_DIR / "train.csv", index=False)
    test.to_csv(OUT_DIR / "test.csv", index=False)
    live.to_csv(OUT_DIR / "live.csv", index=False)
    print(f"prepare: {len(train)} train, {len(test)} test, {len(live)} live rows -> {OUT_DIR}")


if __name__ == "__main__":
    main()
