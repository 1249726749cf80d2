"""The model's quality over partitions: what combines exactly equals one run over the batch;
ROC AUC and latency beyond that get bounds, and a gate they cannot decide fails."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from specops.cli import main
from specops.monitoring import quality_sums
from tests.test_drift_quality import GATES, LOG, batch, project, write

PARTS = 3


def drift(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["drift", *args])
    out, err = capsys.readouterr()
    return code, out, err


def split(root: Path, rows: list[list[object]], *, unlabelled: int = 0) -> list[Path]:
    """The batch in PARTS partitions, the last one's target not arrived yet, and the first
    `unlabelled` rows of the first one without a target either."""
    rows = [list(r) for r in rows]
    size = -(-len(rows) // PARTS)
    parts = [rows[i * size : (i + 1) * size] for i in range(PARTS)]
    for row in parts[0][:unlabelled] + parts[-1]:
        row[LOG.index("y")] = ""
    paths = []
    for index, part in enumerate(parts):
        path = root / f"cur{index}.csv"
        write(path, part)
        paths.append(path)
    write(root / "cur.csv", [r for part in parts for r in part])
    return paths


def combine(
    capsys: pytest.CaptureFixture[str], root: Path, parts: list[Path], *args: str
) -> tuple[int, dict[str, Any]]:
    spec = str(root / "specops.yaml")
    summaries = []
    for index, part in enumerate(parts):
        summary = str(root / f"part{index}.json")
        code, _, err = drift(
            capsys, "--spec", spec, "--current", str(part), "--partial", summary, *args
        )
        assert (code, err) == (0, "")
        summaries.append(summary)
    code, out, err = drift(capsys, "--combine", *summaries, "--format", "json")
    assert err == ""
    return code, json.loads(out)


def whole(capsys: pytest.CaptureFixture[str], root: Path, *args: str) -> tuple[int, Any]:
    spec = str(root / "specops.yaml")
    code, out, _ = drift(capsys, "--spec", spec, "--format", "json", *args)
    return code, json.loads(out)


@pytest.mark.parametrize("flip", [False, True])
def test_partitions_give_the_whole_runs_quality(
    flip: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = project(tmp_path, batch(2, 1500, flip=flip))
    parts = split(root, batch(2, 1500, flip=flip), unlabelled=40)
    code, found = combine(capsys, root, parts, "--latency", "latency_ms")
    whole_code, expected = whole(capsys, root, "--latency", "latency_ms")
    assert code == whole_code == (1 if flip else 0)
    mine, theirs = found["quality"], expected["quality"]
    # The scores have 4 decimals: few enough values for an exact ROC AUC.
    assert mine["performance"] == theirs["performance"]
    assert mine["performance"]["current"]["left_out"] == 540
    # The gates name the batch as its partitions: the rest is the whole run's.
    assert [{**g, "file": None} for g in mine["gates"]] == [
        {**g, "file": None} for g in theirs["gates"]
    ]
    assert [g["status"] for g in mine["gates"]] == ["fail" if flip else "pass"] * 2
    assert mine["ok"] == theirs["ok"] == (not flip)
    for combined, one in zip(mine["concept_drift"], theirs["concept_drift"], strict=True):
        assert (combined["role"], combined["drifted"]) == (one["role"], one["drifted"])
        assert combined["undecided"] is False
        low = combined["statistic"] - combined["error"] - 1e-12
        assert low <= one["statistic"] <= combined["statistic"] + combined["error"] + 1e-12
    target = mine["concept_drift"][0]
    assert (target["exact"], target["statistic"]) == (True, theirs["concept_drift"][0]["statistic"])
    latency, exact = mine["latency_ms"], theirs["latency_ms"]
    assert latency["rows"] == exact["rows"] == 1500
    for p in ("p50", "p95"):
        assert abs(latency[p] - exact[p]) <= latency[f"{p}_error"] <= 0.011 * exact[p]


def test_the_combined_text_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = project(tmp_path, batch(2, 1500))
    parts = split(root, batch(2, 1500))
    spec = str(root / "specops.yaml")
    outs = []
    for index, part in enumerate(parts):
        out = str(root / f"p{index}.json")
        args = ["--spec", spec, "--current", str(part), "--partial", out, "--latency", "latency_ms"]
        assert drift(capsys, *args)[0] == 0
        outs.append(out)
    code, out, _ = drift(capsys, "--combine", *outs)
    assert code == 0
    assert out.split("performance on ")[1].splitlines()[1:8] == [
        "metric     batch   reference  change",
        "accuracy   0.791   0.792      -0.001",
        "precision  0.8111  0.7906     +0.02046",
        "recall     0.7715  0.7793     -0.007776",
        "f1         0.7908  0.7849     +0.005889",
        "roc_auc    0.8748  0.8806     -0.005868",
        "performance gates:",
    ]
    assert out.splitlines()[-4:] == [
        "performance: 500 row(s) of the batch without a target or a prediction left out",
        "latency: p50 5.242±0.026 ms, p95 14.393±0.14 ms over 1,500 prediction(s)",
        "±: bounds from the partitions' summaries (a gate is undecided, and fails, when they"
        " hold its threshold)",
        "model quality: all 2 performance gate(s) passed; no concept drift",
    ]


def test_a_bounded_roc_auc_decides_only_far_from_a_gate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Scores of many values are counted on a grid: ROC AUC lies between bounds, a gate whose
    threshold they hold is undecided, and fails."""
    monkeypatch.setattr(quality_sums, "SCORE_VALUES", 10)
    monkeypatch.setattr(quality_sums, "SCORE_BINS", 64)
    rows = batch(2, 1500)
    root = project(tmp_path, rows, GATES)
    parts = split(root, rows)
    _, found = combine(capsys, root, parts)
    _, expected = whole(capsys, root)
    auc = found["quality"]["performance"]["current"]["metrics"]["roc_auc"]
    spread = found["quality"]["performance"]["current"]["errors"]["roc_auc"]
    exact = expected["quality"]["performance"]["current"]["metrics"]["roc_auc"]
    assert 0 < spread < 0.02
    assert auc - spread <= exact <= auc + spread
    gates = found["quality"]["gates"]
    assert [g["status"] for g in gates] == ["pass", "pass"]  # far from their thresholds
    # A minimum between the bounds: undecided, so failed.
    middle = round(auc, 4)
    gate = f"  performance:\n    - metric: roc_auc\n      min: {middle}\n"
    root = project(tmp_path, rows, gate)
    code, found = combine(capsys, root, parts)
    low, high = round(auc - spread * (1 + 1e-9), 4), round(auc + spread * (1 + 1e-9), 4)
    assert code == 1
    result = found["quality"]["gates"][0]
    assert result["status"] == "fail"
    assert result["reason"] == (
        f"undecided: roc_auc lies between {low:g} and {high:g} over the partitions, which this"
        " gate tells apart; run specops drift over the whole batch to decide"
    )


def test_no_labelled_row_in_any_partition(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = batch(2, 300)
    for row in rows:
        row[LOG.index("y")] = ""
    root = project(tmp_path, rows)
    parts = split(root, rows)
    spec = str(root / "specops.yaml")
    outs = []
    for index, part in enumerate(parts):
        out = str(root / f"p{index}.json")
        assert drift(capsys, "--spec", spec, "--current", str(part), "--partial", out)[0] == 0
        outs.append(out)
    code, out, err = drift(capsys, "--combine", *outs)
    assert (code, out) == (2, "")
    assert err == (
        f"{root / 'cur0.csv'} + {root / 'cur1.csv'} + {root / 'cur2.csv'}: error: no row has"
        " both a target ('y') and a prediction: the 300 row(s) have empty, NaN or infinite"
        " values\n"
    )


def test_partitions_with_other_gates_do_not_combine(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = batch(2, 300)
    root = project(tmp_path, rows)
    parts = split(root, rows)
    spec = str(root / "specops.yaml")
    first, second = str(root / "p0.json"), str(root / "p1.json")
    assert drift(capsys, "--spec", spec, "--current", str(parts[0]), "--partial", first)[0] == 0
    project(tmp_path, rows, "  performance:\n    - metric: f1\n      min: 0.5\n")
    assert drift(capsys, "--spec", spec, "--current", str(parts[1]), "--partial", second)[0] == 0
    code, _, err = drift(capsys, "--combine", first, second)
    assert (code, err) == (
        2,
        f"{second}: error: was made with other model-quality columns or gates than {first}\n",
    )


def test_an_undecided_score_drift_fails_the_quality(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """PSI on Sturges' grid needs every score: undecided, which never passes."""
    rows = batch(2, 600)
    root = project(tmp_path, rows, "")
    parts = split(root, rows)
    code, found = combine(capsys, root, parts, "--method", "psi")
    quality = found["quality"]
    assert code == 1
    assert quality["ok"] is False
    assert [(c["role"], c["undecided"]) for c in quality["concept_drift"]] == [
        ("target", False),
        ("prediction", True),
    ]
    outs = [str(root / f"part{index}.json") for index in range(PARTS)]
    _, out, _ = drift(capsys, "--combine", *outs)
    assert out.splitlines()[-2:] == [
        "undecided: the score: the partitions' summaries do not decide its drift; run specops"
        " drift over the whole batch to decide",
        "model quality: the score undecided",
    ]
