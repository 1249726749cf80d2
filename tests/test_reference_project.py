"""The repository's own project reproduces from a fresh clone, byte for byte, and passes its
gates' thresholds."""

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
    assert set(data["metrics/latency.json"]["data"]) == {"predict_latency_ms"}
    assert (clone / "models" / "model.skops").is_file()
    # Whatever the committed outputs were, a second forced run writes the same bytes again:
    # the model, the metrics and so dvc.lock; the timings are in an ignored file.
    git(clone, "add", "-A")
    git(clone, "commit", "-q", "--allow-empty", "-m", "Reproduced")
    model = (clone / "models" / "model.skops").read_bytes()
    run(clone, "dvc", "repro", "-f")
    run(clone, "python", "-m", "pipeline.latency")
    assert git(clone, "status", "--porcelain") == ""
    assert (clone / "models" / "model.skops").read_bytes() == model
