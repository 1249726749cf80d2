"""The model's quality over partitions of a multiclass batch: each class's counts add up, so
the combined accuracy, averaged metrics, classes and new-class notes equal one run over the
whole batch, whichever classes each partition happens to hold."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from specops.cli import main
from tests.test_drift_multiclass import SPEC, rows, write


def drift(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["drift", *args])
    out, err = capsys.readouterr()
    return code, out, err


def summaries(capsys: pytest.CaptureFixture[str], root: Path, parts: list[list[Any]]) -> list[str]:
    """Each partition written and summed up; the whole batch written as cur.csv."""
    spec = str(root / "specops.yaml")
    outs = []
    for index, part in enumerate(parts):
        path = root / f"cur{index}.csv"
        write(path, part)
        out = str(root / f"part{index}.json")
        code, _, err = drift(capsys, "--spec", spec, "--current", str(path), "--partial", out)
        assert (code, err) == (0, "")
        outs.append(out)
    write(root / "cur.csv", [r for part in parts for r in part])
    return outs


def same_quality(combined: dict[str, Any], whole: dict[str, Any]) -> None:
    """Everything exact is equal; the gates name the batch as its partitions."""
    mine, theirs = combined["quality"], whole["quality"]
    for key in ("ok", "columns", "performance", "task", "classes", "new_classes", "notes"):
        assert mine[key] == theirs[key], key
    assert [{**g, "file": None} for g in mine["gates"]] == [
        {**g, "file": None} for g in theirs["gates"]
    ]
    for one, other in zip(mine["concept_drift"], theirs["concept_drift"], strict=True):
        assert (one["role"], one["drifted"], one["undecided"]) == (
            other["role"],
            other["drifted"],
            False,
        )


def test_string_classes_combine_to_the_whole_runs_quality(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The new class 'fox' is in the last partition only, 'bird' is missing from the first,
    and the middle one's labels have not all arrived."""
    write(tmp_path / "ref.csv", rows(1, 2000, 0.8))
    (tmp_path / "specops.yaml").write_text(
        SPEC.replace("    - metric: roc_auc\n      min: 0.6\n", "")
    )
    data = rows(2, 1500, 0.6, new="fox")
    foxes, others = data[:20], data[20:]
    first = [r for r in others[:500] if r[1] != "bird" and r[2] != "bird"]
    middle = others[500:1000]
    for row in middle[:60]:
        row[1] = ""
    parts = [first, middle, others[1000:] + foxes]
    outs = summaries(capsys, tmp_path, parts)
    code, out, err = drift(capsys, "--combine", *outs, "--format", "json")
    assert err == ""
    combined = json.loads(out)
    whole_code, out, _ = drift(capsys, "--spec", str(tmp_path / "specops.yaml"), "--format", "json")
    whole = json.loads(out)
    assert code == whole_code == 1
    same_quality(combined, whole)
    quality = combined["quality"]
    assert (quality["task"], quality["classes"], quality["new_classes"]) == (
        "multiclass",
        ["bird", "cat", "dog", "fox"],
        ["fox"],
    )
    current = quality["performance"]["current"]
    assert current["left_out"] == 60
    assert current["remarks"]["precision_macro"] == (
        "averaged without class 'fox': the model predicted no row of it"
    )
    assert [g["status"] for g in quality["gates"]] == ["pass", "fail"]
    # The text report's quality says the same as one run's.
    _, text, _ = drift(capsys, "--combine", *outs)
    _, one_run, _ = drift(capsys, "--spec", str(tmp_path / "specops.yaml"))
    assert (
        text.split("performance on ")[1].replace(
            " + ".join(str(tmp_path / f"cur{i}.csv") for i in range(3)), "cur.csv"
        )
        == one_run.split("performance on ")[1]
    )


def number_rows(seed: int, count: int, classes: list[int]) -> list[list[object]]:
    """Rows of integer classes, right 70% of the time, with a score beyond 0 to 1 (a
    multiclass model's score need not be a probability)."""
    rng = np.random.default_rng(seed)
    y = rng.choice(classes, count)
    pred = np.where(rng.random(count) < 0.7, y, rng.choice(classes, count))
    score = np.round(rng.normal(1.0, 0.5, count), 4)
    x = rng.normal(0, 1, count)
    return [[round(float(x[i]), 5), int(y[i]), int(pred[i]), float(score[i])] for i in range(count)]


def test_partitions_of_classes_0_and_1_in_a_multiclass_batch(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The reference and two partitions hold classes 0 and 1 only, the third also 2: alone,
    those two would be binary (and their scores beyond 1 an error); the batch is not, and the
    combination reads them as the whole run does."""
    write(tmp_path / "ref.csv", number_rows(1, 2000, [0, 1]))
    spec = SPEC.replace("f1_weighted", "f1_macro").replace(
        "    - metric: roc_auc\n      min: 0.6\n", ""
    )
    (tmp_path / "specops.yaml").write_text(spec)
    parts = [
        number_rows(2, 400, [0, 1]),
        number_rows(3, 400, [0, 1]),
        number_rows(4, 400, [0, 1, 2]),
    ]
    outs = summaries(capsys, tmp_path, parts)
    code, out, err = drift(capsys, "--combine", *outs, "--format", "json")
    assert err == ""
    combined = json.loads(out)
    _, out, _ = drift(capsys, "--spec", str(tmp_path / "specops.yaml"), "--format", "json")
    same_quality(combined, json.loads(out))
    quality = combined["quality"]
    assert (quality["task"], quality["classes"], quality["new_classes"]) == (
        "multiclass",
        [0, 1, 2],
        [2],
    )
    # The reference, read as multiclass too: its accuracy and averages, no binary metric.
    reference = quality["performance"]["reference"]["metrics"]
    assert reference["f1"] is None and reference["f1_macro"] is not None

    # Without the partition of class 2, the batch is binary, and its scores are no
    # probabilities: the error one run gives, against the partition that holds the first.
    code, out, err = drift(capsys, "--combine", *outs[:2])
    assert (code, out) == (2, "")
    first = next(r[3] for r in parts[0] if not 0 <= float(r[3]) <= 1)  # type: ignore[arg-type]
    assert err == (
        f"{tmp_path / 'cur0.csv'}: error: column 'score' of `monitoring.prediction` holds"
        f" {first:g}: the score is the probability of class 1, from 0 to 1\n"
    )
