"""`specops drift` with a target and predictions: performance gates, concept drift, latency."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from specops.cli import main
from tests.driftspec import WATCHED

SPEC = (
    WATCHED
    + """\
  reference: ref.csv
  current: cur.csv
  columns: [x1, x2]
  target: y
  prediction: score
  predicted_class: prediction
"""
)
GATES = """\
  performance:
    - metric: accuracy
      min: 0.75
    - metric: roc_auc
      vs: reference
      tolerance: 0.02
"""
#: The prediction log's columns (pipeline/service/predlog.py), the target once it arrives, and
#: a latency column of another service.
LOG = ["x1", "x2", "prediction", "score", "version", "time", "y", "latency_ms"]


def batch(seed: int, rows: int, *, flip: bool = False, shift: float = 0.0) -> list[list[object]]:
    """Rows whose target follows the model's score; `flip` turns the relation around for
    the target (concept drift), `shift` moves x1 and so the scores."""
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(shift, 1, rows), rng.normal(0, 1, rows)
    score = np.round(1 / (1 + np.exp(-(2 * x1 + x2))), 4)
    truth = 1 / (1 + np.exp(-(-2 * x1 + x2))) if flip else score
    y = (rng.random(rows) < truth).astype(int)
    latency = np.round(rng.gamma(2.0, 3.0, rows), 3)
    return [
        [
            round(float(x1[i]), 6),
            round(float(x2[i]), 6),
            int(score[i] >= 0.5),
            float(score[i]),
            "1.0.0",
            "2026-01-01T00:00:00.000+00:00",
            int(y[i]),
            float(latency[i]),
        ]
        for i in range(rows)
    ]


def write(path: Path, rows: list[list[object]], header: list[str] = LOG) -> None:
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(header)
        out.writerows(rows)


def project(root: Path, current: list[list[object]], extra: str = GATES, spec: str = SPEC) -> Path:
    write(root / "ref.csv", [r[:4] + r[6:7] for r in batch(1, 2000)], ["x1", "x2", *LOG[2:4], "y"])
    write(root / "cur.csv", current)
    (root / "specops.yaml").write_text(spec + extra)
    return root


def drift(capsys: pytest.CaptureFixture[str], root: Path, *args: str) -> tuple[int, str, str]:
    code = main(["drift", "--spec", str(root / "specops.yaml"), *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def steady() -> list[list[object]]:
    return batch(2, 1500)


def test_a_steady_batch_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], steady: list[list[object]]
) -> None:
    code, out, err = drift(capsys, project(tmp_path, steady), "--latency", "latency_ms")
    assert (code, err) == (0, "")
    assert out.split("the batch drifts at 50%\n")[1] == (
        "concept drift:\n"
        "of      column  type         method         statistic  threshold  verdict\n"
        "target  y       categorical  jensenshannon  0.002593   0.1        ok\n"
        "score   score   numeric      wasserstein    0.03703    0.1        ok\n"
        "performance on 1,500 row(s) of the batch:\n"
        "metric     batch   reference  change\n"
        "accuracy   0.7893  0.792      -0.002667\n"
        "precision  0.7909  0.7906     +0.0002337\n"
        "recall     0.7758  0.7793     -0.003446\n"
        "f1         0.7833  0.7849     -0.001637\n"
        "roc_auc    0.8734  0.8806     -0.00724\n"
        "performance gates:\n"
        "metric    value   baseline            threshold                     margin  status "
        " reason\n"
        "--------  ------  ------------------  ----------------------------  ------  ------ "
        " ------\n"
        "accuracy  0.7893  -                   >= 0.75                       0.0393  pass\n"
        "roc_auc   0.8734  0.8806 (reference)  >= reference - 0.02 (0.8606)  0.0128  pass\n"
        "latency: p50 5.255 ms, p95 14.336 ms over 1,500 prediction(s)\n"
        "model quality: all 2 performance gate(s) passed; no concept drift\n"
    )


def test_a_changed_relation_fails_its_gates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The features, the scores and the target's share stay; the target no longer follows the
    score: only the performance shows it."""
    code, out, _ = drift(capsys, project(tmp_path, batch(3, 1500, flip=True)))
    assert code == 1
    assert "no drift: 0 of 2 column(s) drifted" in out
    assert out.split("performance gates:\n")[1] == (
        "metric    value   baseline            threshold                     margin   status "
        " reason\n"
        "--------  ------  ------------------  ----------------------------  -------  ------ "
        " --------------------------------------------------------------------------------------"
        "------\n"
        "accuracy  0.35    -                   >= 0.75                       -0.4     fail   "
        " 0.35 is below the minimum 0.75\n"
        "roc_auc   0.2917  0.8806 (reference)  >= reference - 0.02 (0.8606)  -0.5689  fail   "
        " 0.2917 is worse than the baseline 0.8806 (reference) by 0.5889, more than the"
        " tolerance 0.02\n"
        "model quality: 2 of 2 performance gate(s) failed; no concept drift\n"
    )
    assert "target  y       categorical  jensenshannon  0.003537   0.1        ok\n" in out


def test_shifted_scores_and_target_drift(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = project(tmp_path, batch(4, 1500, shift=0.7), extra="")
    code, out, _ = drift(capsys, root, "--share", "1")
    assert code == 1
    assert "no drift: 1 of 2 column(s) drifted (50%); the batch drifts at 100%\n" in out
    assert "target  y       categorical  jensenshannon  0.1515     0.1        DRIFT\n" in out
    assert "score   score   numeric      wasserstein    0.6123     0.1        DRIFT\n" in out
    assert out.endswith("model quality: the target and the score drifted\n")


def test_json_and_markdown(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], steady: list[list[object]]
) -> None:
    root = project(tmp_path, steady)
    code, out, _ = drift(capsys, root, "--format", "json")
    found = json.loads(out)["quality"]
    assert code == 0 and found["ok"]
    assert found["columns"] == {
        "target": "y",
        "prediction": "score",
        "predicted_class": "prediction",
        "latency": None,
    }
    current = found["performance"]["current"]
    assert (current["rows"], current["left_out"], current["undefined"]) == (1500, 0, {})
    assert current["metrics"]["accuracy"] == pytest.approx(0.7893333)
    assert [(g["metric"], g["status"], g["baseline"]) for g in found["gates"]] == [
        ("accuracy", "pass", None),
        ("roc_auc", "pass", 0.8806),
    ]
    assert [(c["role"], c["column"], c["drifted"]) for c in found["concept_drift"]] == [
        ("target", "y", False),
        ("prediction", "score", False),
    ]
    assert found["latency_ms"] is None
    code, out, _ = drift(capsys, root, "--format", "md")
    assert "## Model quality\n\n### Concept drift\n\n| of | column |" in out
    assert "| roc_auc | 0.8734 | 0.8806 | -0.00724 |\n" in out
    assert out.endswith("**model quality: all 2 performance gate(s) passed; no concept drift**\n")


def test_undefined_metrics_fail_their_gates_closed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], steady: list[list[object]]
) -> None:
    """A batch whose labelled rows are all of class 0, others not labelled yet."""
    rows = [[*r[:6], "" if r[6] else 0, r[7]] for r in steady]
    code, out, _ = drift(capsys, project(tmp_path, rows))
    assert code == 1
    assert out.split("performance gates:\n")[1] == (
        "metric    value   baseline            threshold            margin  status  reason\n"
        "--------  ------  ------------------  -------------------  ------  ------ "
        " " + "-" * 59 + "\n"
        "accuracy  0.8024  -                   >= 0.75              0.0524  pass\n"
        "roc_auc   -       0.8806 (reference)  >= reference - 0.02  -       fail   "
        " roc_auc in cur.csv is NaN (the target holds one class only)\n"
        "performance: 736 row(s) of the batch without a target or a prediction left out\n"
        "recall is undefined on the batch: the target holds no row of class 1\n"
        "roc_auc is undefined on the batch: the target holds one class only\n"
        "model quality: 1 of 2 performance gate(s) failed; the target drifted\n"
    )
    code, out, _ = drift(capsys, tmp_path, "--format", "json")
    current = json.loads(out)["quality"]["performance"]["current"]
    assert current["metrics"]["roc_auc"] is None and current["left_out"] == 736


def test_a_reference_without_scores_has_no_baseline(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], steady: list[list[object]]
) -> None:
    root = project(tmp_path, steady)
    write(root / "ref.csv", [r[:2] + r[6:7] for r in batch(1, 2000)], ["x1", "x2", "y"])
    code, out, _ = drift(capsys, root)
    assert code == 0
    assert (
        "roc_auc   0.8734  -         >= reference - 0.02  -       no baseline  the reference has"
        " no target and predictions\n"
    ) in out
    assert "the reference has no column 'score': its drift is not computed\n" in out
    assert "the reference has no column 'score': its metrics are not computed\n" in out


def test_without_a_predicted_class_the_score_decides(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], steady: list[list[object]]
) -> None:
    spec = SPEC.replace("  predicted_class: prediction\n", "")
    root = project(tmp_path, steady, spec=spec.replace("[x1, x2]", "[x1, x2, prediction]"))
    code, out, _ = drift(capsys, root, "--format", "json")
    found = json.loads(out)["quality"]
    assert code == 0 and found["columns"]["predicted_class"] is None
    assert found["performance"]["current"]["metrics"]["accuracy"] == pytest.approx(0.7893333)


def test_arguments_without_a_spec(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], steady: list[list[object]]
) -> None:
    project(tmp_path, steady)
    code = main(
        [
            "drift",
            "--reference",
            str(tmp_path / "ref.csv"),
            "--current",
            str(tmp_path / "cur.csv"),
            "--target",
            "y",
            "--prediction",
            "score",
            "--latency",
            "latency_ms",
            "--format",
            "json",
        ]
    )
    found = json.loads(capsys.readouterr().out)
    # Without the spec's `columns`, the log's own columns break the contract.
    assert code == 1 and found["quality"] is None
    assert [b["column"] for b in found["contract"]] == ["version", "time"]


@pytest.mark.parametrize(
    "change, expected",
    [
        (
            lambda r: [*r[:6], r[7]],
            "cur.csv: error: has no column 'y' (`monitoring.target`)",
        ),
        (
            lambda r: [*r[:6], "yes" if r[6] else "no", r[7]],
            "cur.csv: error: column 'prediction' of `monitoring.predicted_class` holds numbers,"
            " but column 'y' of cur.csv holds strings: the classes must be of one type",
        ),
        (
            lambda r: [*r[:6], r[6] / 2, r[7]],
            "cur.csv: error: column 'y' of `monitoring.target` holds 0.5: a class is a whole"
            " number or a string",
        ),
        (
            lambda r: [*r[:3], r[3] * 100, *r[4:]],
            "cur.csv: error: column 'score' of `monitoring.prediction` holds 76.2: the score is"
            " the probability of class 1, from 0 to 1",
        ),
        (
            lambda r: [*r[:6], "", r[7]],
            "cur.csv: error: no row has both a target ('y') and a prediction: the 1,500 row(s)"
            " have empty, NaN or infinite values",
        ),
    ],
)
def test_invalid_batches(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    steady: list[list[object]],
    change: object,
    expected: str,
) -> None:
    rows = [change(r) for r in steady]  # type: ignore[operator]
    root = project(tmp_path, rows)
    if len(rows[0]) == 7:
        write(root / "cur.csv", rows, [c for c in LOG if c != "y"])
    code, out, err = drift(capsys, root)
    assert (code, out, err) == (2, "", expected + "\n")


def test_a_latency_column_that_is_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], steady: list[list[object]]
) -> None:
    code, out, err = drift(capsys, project(tmp_path, steady), "--latency", "ms")
    assert (code, out, err) == (
        2,
        "",
        "cur.csv: error: has no column 'ms' (`monitoring.latency`)\n",
    )


def test_a_parquet_batch_with_boolean_classes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], steady: list[list[object]]
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    root = project(tmp_path, steady)
    columns = list(zip(*steady, strict=True))
    table = {name: list(values) for name, values in zip(LOG, columns, strict=True)}
    table["y"] = [bool(v) for v in table["y"]]
    table["prediction"] = [bool(v) for v in table["prediction"]]
    pq.write_table(pa.table(table), root / "cur.parquet")
    write(
        root / "ref.csv",
        [[*r[:2], bool(r[2]), r[3], bool(r[6])] for r in batch(1, 2000)],
        ["x1", "x2", "prediction", "score", "y"],
    )
    code, out, _ = drift(capsys, root, "--current", str(root / "cur.parquet"), "--format", "json")
    found = json.loads(out)["quality"]
    assert code == 0
    assert found["performance"]["current"]["metrics"]["accuracy"] == pytest.approx(0.7893333)
    assert found["performance"]["reference"]["metrics"]["accuracy"] == pytest.approx(0.792)


def test_a_log_whose_labels_have_not_arrived(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], steady: list[list[object]]
) -> None:
    # The prediction service logs no target: `--target ''` drops the spec's, which stays out of
    # the watched columns as it did as a role, and the gates that need it are named as skipped.
    spec = SPEC.replace("  columns: [x1, x2]\n", "  ignore: [version, time]\n")
    root = project(tmp_path, [[*r[:6], r[7]] for r in steady], spec=spec)
    write(root / "cur.csv", [[*r[:6], r[7]] for r in steady], [c for c in LOG if c != "y"])
    code, out, err = drift(capsys, root, "--latency", "latency_ms")
    assert (code, err) == (2, "cur.csv: error: has no column 'y' (`monitoring.target`)\n")
    code, out, err = drift(capsys, root, "--latency", "latency_ms", "--target", "")
    assert (code, err) == (0, "")
    assert out.split("the batch drifts at 50%\n")[1] == (
        "concept drift:\n"
        "of     column  type     method       statistic  threshold  verdict\n"
        "score  score   numeric  wasserstein  0.03703    0.1        ok\n"
        "2 performance gate(s) not evaluated: no target column\n"
        "latency: p50 5.255 ms, p95 14.336 ms over 1,500 prediction(s)\n"
        "model quality: no concept drift\n"
    )
    assert "2 of 2 column(s)" not in out and "0 of 2 column(s)" in out
