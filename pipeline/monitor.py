"""Stage: compare the simulated batch with the training data into `metrics/monitoring.json`.

Runs `specops drift` with the spec's `monitoring` settings. Drift and failed performance gates
are findings, not failures (exit 1 is kept in the metrics); invalid input (exit 2) fails the
stage. The metrics keep one number per column, the batch's model quality beside the
reference's, the count of failed gates, the target's and the score's drift, and the latency
percentiles, so that `dvc metrics diff` shows how they move from commit to commit.
"""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

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
        **quality_metrics(result.get("quality")),
        "columns": {c["column"]: float(f"{c['statistic']:.4g}") for c in result["columns"]},
    }
    OUT_FILE.parent.mkdir(parents=True, exist_ok=True)
    OUT_FILE.write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    gates = ""
    if "performance_gates" in metrics:
        gates = (
            f", {metrics['performance_gates_failed']} of {metrics['performance_gates']}"
            " performance gate(s) failed"
        )
    print(f"monitor: {metrics['drifted_columns']} column(s) drifted{gates} -> {OUT_FILE}")


def quality_metrics(quality: dict[str, Any] | None) -> dict[str, Any]:
    """The model's quality on the batch and on the reference (4 decimals; null where undefined),
    the gates, concept drift and latency; nothing when the spec names no such column."""
    if quality is None:
        return {}

    def metrics(side: dict[str, Any] | None) -> dict[str, float | None] | None:
        if side is None:
            return None
        return {k: None if v is None else round(v, 4) for k, v in side["metrics"].items()}

    performance = quality["performance"]
    latency = quality["latency_ms"]
    current = performance["current"]
    return {
        "labelled_rows": current["rows"] if current else 0,
        "performance": metrics(current),
        "reference_performance": metrics(performance["reference"]),
        "performance_gates": len(quality["gates"]),
        "performance_gates_failed": sum(g["status"] == "fail" for g in quality["gates"]),
        "concept_drift": any(c["drifted"] for c in quality["concept_drift"]),
        "concept": {c["column"]: float(f"{c['statistic']:.4g}") for c in quality["concept_drift"]},
        "latency_ms": None
        if latency is None
        else {"p50": round(latency["p50"], 3), "p95": round(latency["p95"], 3)},
    }


if __name__ == "__main__":
    main()
