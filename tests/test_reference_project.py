"""The repository's own project reproduces from a fresh clone and passes its gates' thresholds."""

from __future__ import annotations

import json
from pathlib import Path

from tests.gitrepo import git, run

ROOT = Path(__file__).resolve().parents[1]


def test_a_fresh_clone_reproduces_the_reference_pipeline(tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(ROOT), str(clone))
    run(clone, "specops", "validate")
    run(clone, "specops", "render", "--check")
    repro = run(clone, "dvc", "repro")
    for stage in ("prepare", "train", "evaluate"):
        assert f"Running stage '{stage}'" in repro.stdout
    shown = json.loads(run(clone, "dvc", "metrics", "show", "--json").stdout)
    scores = next(iter(shown.values()))["data"]["metrics/scores.json"]["data"]
    assert set(scores) == {"accuracy", "f1", "roc_auc", "predict_latency_ms"}
    assert scores["roc_auc"] > 0.95
    assert scores["f1"] > 0.9
    # Everything the pipeline writes is ignored or committed: the clone stays clean but for
    # the metrics, which change with each run's timing.
    status = git(clone, "status", "--porcelain").splitlines()
    assert all(line.endswith(("dvc.lock", "metrics/scores.json")) for line in status), status
    assert (clone / "models" / "model.skops").is_file()
