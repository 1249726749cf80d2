"""Stage: compare the simulated batch with the training data into `metrics/monitoring.json`.

Runs `specops drift` with the spec's `monitoring` settings. Drift is a finding, not a failure
(exit 1 is kept in the metrics); invalid input (exit 2) fails the stage. The metrics keep one
number per column, so that `dvc metrics diff` shows how drift moves from commit to commit.
"""

import json
import subprocess
import sys
from pathlib import Path

OUT_FILE = Path("metrics/monitoring.json")


def main() -> None:
    """Write the batch's verdict and each column's statistic."""
    proc = subprocess.run(
        [sys.executable, "-m", "specops", "drift", "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode not in (0, 1):
        sys.stderr.write(proc.stderr)
        raise SystemExit(proc.returncode)
    result = json.loads(proc.stdout)
    metrics = {
        "drift": result["drift"],
        "drifted_columns": result["drifted_columns"],
        "drifted_share": round(result["drifted_share"], 4),
        "rows": result["current"]["rows"],
        "contract_breaches": len(result["contract"]),
        "columns": {c["column"]: float(f"{c['statistic']:.4g}") for c in result["columns"]},
    }
    OUT_FILE.parent.mkdir(parents=True, exist_ok=True)
    OUT_FILE.write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    print(f"monitor: {metrics['drifted_columns']} column(s) drifted -> {OUT_FILE}")


if __name__ == "__main__":
    main()
