"""Measure the saved model's prediction latency and the cost of scoring a batch into an
untracked metrics file.

Timings differ on every run, so no DVC stage records them (a stage's outputs would never
reproduce); CI runs this after `dvc repro` and before the gates. The batch is the held-out set,
scored in one call; its peak memory is that of this process while it scores
(`specops.monitoring.resources.measure`; on Linux the scoring's own peak, elsewhere the
process's since it started).
"""

import json
import statistics
import time
from pathlib import Path
from typing import Any

import pandas as pd  # type: ignore[import-untyped]

from pipeline.evaluate import MODEL_FILE, TEST_CSV, load_model
from specops.monitoring.resources import measure

LATENCY_FILE = Path("metrics/latency.json")
ROWS = 50
REPEATS = 5


def median_latency_ms(model: Any, X: pd.DataFrame) -> float:
    """Median wall time of single-row ``predict_proba`` calls over every row, several times."""
    model.predict_proba(X.iloc[[0]])  # warm-up so lazy initialisation is not timed
    rows = [X.iloc[[i]] for i in range(min(ROWS, len(X)))]
    timings = []
    for _ in range(REPEATS):
        for row in rows:
            start = time.perf_counter()
            model.predict_proba(row)
            timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings)


def main() -> None:
    """Write ``latency.json`` for the saved model."""
    model = load_model(MODEL_FILE)
    X = pd.read_csv(TEST_CSV).drop(columns="target")
    latency: dict[str, Any] = {"predict_latency_ms": round(median_latency_ms(model, X), 4)}
    _, usage = measure(lambda: model.predict_proba(X))
    latency["batch"] = {
        "rows": len(X),
        "seconds": round(usage.seconds, 6),
        "peak_rss_mb": round(usage.peak_rss_bytes / 2**20, 1),
    }
    LATENCY_FILE.parent.mkdir(parents=True, exist_ok=True)
    LATENCY_FILE.write_text(json.dumps(latency, indent=2) + "\n", encoding="utf-8")
    print(f"latency: {latency}")


if __name__ == "__main__":
    main()
