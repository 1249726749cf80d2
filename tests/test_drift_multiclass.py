"""`specops drift` on a target of several classes: averaged metrics, gates that cannot be
computed failing closed, classes new to the batch, and the labels as integer codes."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from sklearn.metrics import accuracy_score, f1_score  # type: ignore[import-untyped]

from specops.cli import main
from specops.monitoring.classes import Classes
from specops.monitoring.tables import Table
from tests.driftspec import WATCHED

SPEC = (
    WATCHED
    + """\
  reference: ref.csv
  current: cur.csv
  columns: [x]
  target: y
  prediction: score
  predicted_class: pred
  performance:
    - metric: f1_weighted
      min: 0.6
    - metric: accuracy
      vs: reference
      tolerance: 0.05
    - metric: roc_auc
      min: 0.6
"""
)
ANIMALS = ["bird", "cat", "dog"]


def rows(seed: int, count: int, right: float, new: str | None = None) -> list[list[object]]:
    """Rows whose predicted class is the target's `right` of the time, else any class; `new`
    is the target of the first 20 rows."""
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, count)
    y = rng.choice(ANIMALS, count)
    pred = np.where(rng.random(count) < right, y, rng.choice(ANIMALS, count))
    if new is not None:
        y[:20] = new
    score = rng.random(count)
    return [
        [round(float(x[i]), 5), str(y[i]), str(pred[i]), round(float(score[i]), 4)]
        for i in range(count)
    ]


def write(path: Path, data: list[list[object]]) -> None:
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        out.writerow(["x", "y", "pred", "score"])
        out.writerows(data)


def drift(capsys: pytest.CaptureFixture[str], root: Path, *args: str) -> tuple[int, str, str]:
    code = main(["drift", "--spec", str(root / "specops.yaml"), *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def root(tmp_path: Path) -> Path:
    write(tmp_path / "ref.csv", rows(1, 2000, 0.8))
    write(tmp_path / "cur.csv", rows(2, 1500, 0.6, new="fox"))
    (tmp_path / "specops.yaml").write_text(SPEC)
    return tmp_path


def test_string_classes(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = drift(capsys, root)
    assert (code, err) == (1, "")
    assert out.split("performance on ")[1] == (
        "1,500 row(s) of the batch:\n"
        "metric              batch   reference  change\n"
        "accuracy            0.7207  0.8635     -0.1428\n"
        "precision_macro     0.7213  0.8629     -0.1415\n"
        "recall_macro        0.5474  0.8631     -0.3157\n"
        "f1_macro            0.544   0.8629     -0.319\n"
        "precision_weighted  0.7214  0.8636     -0.1423\n"
        "recall_weighted     0.7207  0.8635     -0.1428\n"
        "f1_weighted         0.7159  0.8635     -0.1476\n"
        "roc_auc             -       -          -\n"
        "performance gates:\n"
        "metric       value   baseline            threshold                     margin   status "
        " reason\n"
        "-----------  ------  ------------------  ----------------------------  -------  ------ "
        " " + "-" * 96 + "\n"
        "f1_weighted  0.7159  -                   >= 0.6                        0.1159   pass\n"
        "accuracy     0.7207  0.8635 (reference)  >= reference - 0.05 (0.8135)  -0.0928  fail   "
        " 0.7207 is worse than the baseline 0.8635 (reference) by 0.1428, more than the tolerance"
        " 0.05\n"
        "roc_auc      -       -                   >= 0.6                        -        fail   "
        " roc_auc in cur.csv is NaN (the classes are not 0 and 1, and one score is no probability"
        " of each)\n"
        "classes: 'bird', 'cat', 'dog', 'fox': precision, recall and f1 are averaged over the"
        " classes of each side (macro: each class alike; weighted: by its rows in the target);"
        " the score 'score' is compared for drift only\n"
        "the batch has class(es) the reference's target does not: 'fox'\n"
        "roc_auc is undefined on the batch: the classes are not 0 and 1, and one score is no"
        " probability of each\n"
        "precision_macro and precision_weighted on the batch: averaged without class 'fox': the"
        " model predicted no row of it\n"
        "roc_auc is undefined on the reference: the classes are not 0 and 1, and one score is no"
        " probability of each\n"
        "model quality: 2 of 3 performance gate(s) failed; no concept drift\n"
    )


def test_json_equals_scikit_learn(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = drift(capsys, root, "--format", "json")
    found = json.loads(out)["quality"]
    assert code == 1
    assert (found["task"], found["classes"], found["new_classes"]) == (
        "multiclass",
        ["bird", "cat", "dog", "fox"],
        ["fox"],
    )
    data = list(zip(*rows(2, 1500, 0.6, new="fox"), strict=True))
    metrics = found["performance"]["current"]["metrics"]
    assert metrics["accuracy"] == pytest.approx(accuracy_score(data[1], data[2]))
    for average in ("macro", "weighted"):
        expected = f1_score(data[1], data[2], average=average, zero_division=np.nan)
        assert metrics[f"f1_{average}"] == pytest.approx(expected, rel=1e-12)
    assert metrics["f1"] is None and metrics["roc_auc"] is None
    assert found["performance"]["current"]["undefined"]["f1"] == (
        "the classes are not 0 and 1: gate on f1_macro or f1_weighted"
    )
    assert [g["status"] for g in found["gates"]] == ["pass", "fail", "fail"]


def test_a_gate_on_a_binary_metric_fails_closed(
    root: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = SPEC.split("  performance:\n")[0] + "  performance:\n    - metric: f1\n      min: 0.5\n"
    (root / "specops.yaml").write_text(spec)
    code, out, _ = drift(capsys, root)
    assert code == 1
    assert (
        "f1      -      -         >= 0.5     -       fail    f1 in cur.csv is NaN (the classes"
        " are not 0 and 1: gate on f1_macro or f1_weighted)\n"
    ) in out
    # The table shows the gated metric after the task's own.
    assert "f1_weighted         0.7159  0.8635     -0.1476\nf1                  -" in out


def test_integer_classes_with_a_score_alone(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Parquet, classes 0 to 2, no predicted class: the score drifts or not, and no metric
    can be computed, so a gate fails closed."""
    rng = np.random.default_rng(5)
    for name, count, shift in (("ref", 3000, 0.0), ("cur", 2000, 0.3)):
        table = {
            "x": rng.normal(0, 1, count),
            "y": rng.integers(0, 3, count),
            "score": np.clip(rng.normal(0.6 + shift, 0.1, count), 0, 1),
        }
        pq.write_table(pa.table(table), tmp_path / f"{name}.parquet")
    spec = SPEC.replace("ref.csv", "ref.parquet").replace("cur.csv", "cur.parquet")
    spec = spec.replace("  predicted_class: pred\n", "")
    (tmp_path / "specops.yaml").write_text(spec.split("    - metric: accuracy")[0])
    code, out, _ = drift(capsys, tmp_path)
    assert code == 1
    assert "score   score   numeric      wasserstein    2.876      0.1        DRIFT\n" in out
    assert "performance on" not in out  # no table of dashes
    why = (
        "a score alone names no class: name the column of the model's class in"
        " `monitoring.predicted_class`"
    )
    assert (
        "f1_weighted  -      -         >= 0.6     -       fail    f1_weighted in cur.parquet"
        f" is NaN ({why})\n" in out
    )
    assert (
        "accuracy, precision_macro, recall_macro, f1_macro, precision_weighted, recall_weighted"
        f" and f1_weighted are undefined on the batch: {why}\n"
    ) in out
    assert "classes: 0, 1, 2: no column names the model's class; the score 'score' is" in out
    assert "reference's target does not" not in out


def test_classes_of_two_types(root: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = rows(2, 1500, 0.6)
    write(root / "cur.csv", [[r[0], ANIMALS.index(str(r[1])), *r[2:]] for r in data])
    code, out, err = drift(capsys, root)
    assert (code, out) == (2, "")
    assert err == (
        "cur.csv: error: column 'pred' of `monitoring.predicted_class` holds strings, but column"
        " 'y' of cur.csv holds numbers: the classes must be of one type\n"
    )


def test_labels_are_integer_codes(tmp_path: Path) -> None:
    """Four bytes a row whatever the labels; an empty label, like an empty cell, is none."""
    path = tmp_path / "labels.csv"
    path.write_text("y,n\ndog,2\n,\ncat,0\ndog,\nbird,7\n")
    table = Table.open(path, "labels.csv")
    classes = Classes()
    words = classes.read(table, "y", "`monitoring.target`")
    assert words.dtype == np.int32
    names, order = classes.sorted()
    assert names == ["bird", "cat", "dog"]
    assert order[words].tolist() == [2, -1, 1, 2, 0]
    numbers = Classes()
    codes = numbers.read(table, "n", "`monitoring.target`")
    names, order = numbers.sorted()
    assert (names, order[codes].tolist()) == ([0, 2, 7], [1, -1, 0, -1, 2])
    assert not numbers.binary
