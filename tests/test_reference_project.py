"""The repository's own project reproduces from a fresh clone, byte for byte, and passes its
gates' thresholds; its monitored batch passes its performance gates unshifted, not shifted."""

from __future__ import annotations

import json
from pathlib import Path

from tests.gitrepo import git, run

ROOT = Path(__file__).resolve().parents[1]


def test_a_fresh_clone_reproduces_the_reference_pipeline_exactly(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(ROOT), str(clone))
    run(clone, "specops", "validate")
    run(clone, "specops", "render", "--check")
    repro = run(clone, "dvc", "repro")
    # The data and model are not in Git, so these run; evaluate runs only if what they wrote
    # differs from what dvc.lock records.
    for stage in ("prepare", "train"):
        assert f"Running stage '{stage}'" in repro.stdout
    run(clone, "python", "-m", "pipeline.latency")
    shown = json.loads(run(clone, "dvc", "metrics", "show", "--json").stdout)
    data = next(iter(shown.values()))["data"]
    scores = data["metrics/scores.json"]["data"]
    assert set(scores) == {"accuracy", "f1", "roc_auc"}
    assert scores["roc_auc"] > 0.95
    assert scores["f1"] > 0.9
    latency = data["metrics/latency.json"]["data"]
    assert set(latency) == {"predict_latency_ms", "batch"}
    assert set(latency["batch"]) == {"rows", "seconds", "peak_rss_mb"}
    assert (clone / "models" / "model.skops").is_file()
    # A forced run writes the committed bytes again: the model, the data, the metrics (the
    # monitoring metrics too, which a plain run skips) and so dvc.lock; the timings are in an
    # ignored file.
    model = (clone / "models" / "model.skops").read_bytes()
    run(clone, "dvc", "repro", "-f")
    run(clone, "python", "-m", "pipeline.latency")
    assert git(clone, "status", "--porcelain") == ""
    assert (clone / "models" / "model.skops").read_bytes() == model

    # The monitoring loop: the unshifted batch passes the performance gates, a strongly
    # shifted one fails them; the simulated latencies' median is the one params.yaml sets.
    steady = json.loads((clone / "metrics/monitoring.json").read_text())
    assert (steady["drift"], steady["concept_drift"]) == (False, False)
    assert (steady["performance_gates"], steady["performance_gates_failed"]) == (2, 0)
    assert 4 < steady["latency_ms"]["p50"] < 6 < steady["latency_ms"]["p95"]
    assert set(steady["reference_performance"]) == set(steady["performance"])
    params = clone / "params.yaml"
    params.write_text(params.read_text().replace("shift: 0.0", "shift: 1.0"))
    shifted = run(clone, "dvc", "repro")
    assert "Running stage 'simulate'" in shifted.stdout
    assert "30 column(s) drifted, 2 of 2 performance gate(s) failed" in shifted.stdout
    moved = json.loads((clone / "metrics/monitoring.json").read_text())
    assert (moved["drift"], moved["concept_drift"]) == (True, True)
    assert moved["performance"]["accuracy"] < steady["performance"]["accuracy"] - 0.3
    assert moved["latency_ms"] == steady["latency_ms"]  # simulated, so unshifted

    # The spec's monitoring settings are a dependency of the stage: a gate changed there
    # re-runs it.
    spec = clone / "specops.yaml"
    spec.write_text(
        spec.read_text().replace(
            "metric: roc_auc\n      min: 0.95", "metric: roc_auc\n      min: 0.9"
        )
    )
    run(clone, "specops", "render")
    regated = run(clone, "dvc", "repro")
    assert "Running stage 'monitor'" in regated.stdout
    assert "30 column(s) drifted, 1 of 2 performance gate(s) failed" in regated.stdout
