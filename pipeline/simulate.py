"""Stage: a production batch where no service runs, in the prediction log's layout.

The rows prepare set aside (`live.csv`, neither trained nor evaluated on), every feature moved
by `simulate.shift` of its standard deviation (0: no drift), scored by the model, and written as
the prediction service logs them (pipeline/service/predlog.py), with the label as it arrives
later. Each row is one request. Its `latency_ms` is simulated, not measured, so that the stage
reproduces: drawn from a log-normal distribution whose median is `simulate.latency_ms` (and
whose log has a standard deviation of 0.5), with the generator seeded by `simulate.seed`. The
time is fixed, for the same reason.
"""

from pathlib import Path

import numpy as np
import pandas as pd  # type: ignore[import-untyped]

from pipeline.evaluate import MODEL_FILE, load_model
from pipeline.params import load_params
from pipeline.service.predlog import BATCH_FILE

LIVE_CSV = Path("data/prepared/live.csv")
OUT_FILE = Path("data/live") / BATCH_FILE
TARGET = "target"
TIME = "2026-01-05T06:00:00+00:00"
#: The standard deviation of the simulated latencies' logarithm: their p95 is about 2.3 times
#: their median.
LATENCY_SIGMA = 0.5


def latencies_ms(rows: int, median_ms: float, seed: int) -> np.ndarray:
    """`rows` simulated request latencies in milliseconds, to the microsecond."""
    rng = np.random.default_rng(seed)
    drawn: np.ndarray = rng.lognormal(np.log(median_ms), LATENCY_SIGMA, rows)
    return np.round(drawn, 3)


def main() -> None:
    """Write `data/live/batch.csv` from the rows set aside."""
    params = load_params("simulate")
    shift = float(params["shift"])
    test = pd.read_csv(LIVE_CSV)
    features = test.drop(columns=TARGET)
    features = features + shift * features.std()
    model = load_model(MODEL_FILE)
    batch = features.copy()
    batch[TARGET] = test[TARGET]
    batch["prediction"] = model.predict(features)
    batch["score"] = model.predict_proba(features)[:, 1].round(6)
    batch["latency_ms"] = latencies_ms(len(batch), float(params["latency_ms"]), int(params["seed"]))
    batch["version"] = "simulated"
    batch["time"] = TIME
    OUT_FILE.parent.mkdir(parents=True, exist_ok=True)
    batch.to_csv(OUT_FILE, index=False)
    print(f"simulate: {len(batch)} rows shifted by {shift} standard deviation(s) -> {OUT_FILE}")


if __name__ == "__main__":
    main()
