"""Writes the drift fixtures (run once; the files are committed with Evidently's numbers)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd  # type: ignore[import-untyped]

HERE = Path(__file__).parent


def main() -> None:
    rng = np.random.default_rng(10)
    n_ref, n_cur = 2000, 1500
    large_ref = pd.DataFrame(
        {
            "shifted": rng.normal(0, 1, n_ref),
            "steady": rng.lognormal(0, 1, n_ref),
            "few": rng.choice([0.0, 0.5, 1.0], n_ref),
            "city": rng.choice(["paris", "rome", "oslo", "lima"], n_ref),
            "code": rng.integers(0, 4, n_ref),
            "flag": rng.choice([True, False], n_ref),
        }
    )
    large_cur = pd.DataFrame(
        {
            "shifted": rng.normal(0.3, 1, n_cur),
            "steady": rng.lognormal(0, 1, n_cur),
            "few": rng.choice([0.0, 0.5, 1.0], n_cur, p=[0.5, 0.3, 0.2]),
            "city": rng.choice(["paris", "rome", "oslo", "lima", "kyiv"], n_cur),
            "code": rng.integers(0, 4, n_cur),
            "flag": rng.choice([True, False], n_cur, p=[0.4, 0.6]),
        }
    )
    large_ref.to_csv(HERE / "large_ref.csv", index=False)
    large_cur.to_csv(HERE / "large_cur.csv", index=False)
    n_ref, n_cur = 600, 400
    small_ref = pd.DataFrame(
        {
            "shifted": rng.normal(0, 1, n_ref),
            "steady": rng.uniform(0, 1, n_ref),
            "city": rng.choice(["paris", "rome", "oslo"], n_ref),
            "answer": rng.choice(["yes", "no"], n_ref),
        }
    )
    small_cur = pd.DataFrame(
        {
            "shifted": rng.normal(0.4, 1, n_cur),
            "steady": rng.uniform(0, 1, n_cur),
            "city": rng.choice(["paris", "rome", "oslo"], n_cur, p=[0.5, 0.25, 0.25]),
            "answer": rng.choice(["yes", "no"], n_cur, p=[0.6, 0.4]),
        }
    )
    small_ref.to_csv(HERE / "small_ref.csv", index=False)
    small_cur.to_csv(HERE / "small_cur.csv", index=False)


if __name__ == "__main__":
    main()
