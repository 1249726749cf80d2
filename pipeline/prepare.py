"""Stage 1: load the breast-cancer data and write a stratified train/test split."""

from pathlib import Path

from sklearn.datasets import load_breast_cancer  # type: ignore[import-untyped]
from sklearn.model_selection import train_test_split  # type: ignore[import-untyped]

from pipeline.params import load_params

OUT_DIR = Path("data/prepared")


def main() -> None:
    """Split the bundled dataset and write ``train.csv`` and ``test.csv``."""
    params = load_params("prepare")
    # The frame already holds the features plus a "target" column; no network needed.
    frame = load_breast_cancer(as_frame=True).frame
    train, test = train_test_split(
        frame,
        test_size=float(params["test_size"]),
        random_state=int(params["seed"]),
        stratify=frame["target"],
    )
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    train.to_csv(OUT_DIR / "train.csv", index=False)
    test.to_csv(OUT_DIR / "test.csv", index=False)
    print(f"prepare: {len(train)} train rows, {len(test)} test rows -> {OUT_DIR}")


if __name__ == "__main__":
    main()
