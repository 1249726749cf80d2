"""A categorical column of nearly all distinct values (identifiers) is counted up to
MAX_CATEGORIES values a side, then reported as not compared, in one run as over partitions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from specops.cli import main
from specops.monitoring.sketch import MAX_CATEGORIES

REASON = (
    "it has more than 100,000 distinct values in the current batch (an identifier?); list it"
    " under `monitoring.ignore`"
)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["drift", *args])
    out, err = capsys.readouterr()
    return code, out, err


def table(path: Path, ids: range, shift: float) -> Path:
    rows = "".join(f"{(i % 50) / 10 + shift},id-{i},{'xy'[i % 2]}\n" for i in ids)
    path.write_text("a,id,kind\n" + rows)
    return path


def test_identifiers_are_not_compared(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert MAX_CATEGORIES == 100_000
    ref = table(tmp_path / "ref.csv", range(1000), 0.0)
    rows = range(MAX_CATEGORIES + 1)
    cur = table(tmp_path / "cur.csv", rows, 3.0)
    code, out, err = run(capsys, "--reference", str(ref), "--current", str(cur), "--format", "json")
    assert (code, err) == (1, "")
    whole = json.loads(out)
    assert whole["skipped"] == [{"column": "id", "reason": REASON}]
    assert [c["column"] for c in whole["columns"]] == ["a", "kind"]
    assert (whole["drifted_columns"], whole["drifted_share"]) == (1, 0.5)
    code, out, _ = run(capsys, "--reference", str(ref), "--current", str(cur))
    assert f"id: not compared, {REASON}\n" in out
    # Two partitions of fewer values each: their sum has too many, as the whole batch has.
    parts = []
    middle = len(rows) // 2
    for index, part in enumerate((rows[:middle], rows[middle:])):
        path = table(tmp_path / f"cur{index}.csv", part, 3.0)
        summary = tmp_path / f"p{index}.json"
        code, _, err = run(
            capsys, "--reference", str(ref), "--current", str(path), "--partial", str(summary)
        )
        assert (code, err) == (0, "")
        assert json.loads(summary.read_text())["current"]["sketches"]["id"]["over"] is False
        parts.append(str(summary))
    code, out, err = run(capsys, "--combine", *parts, "--format", "json")
    assert (code, err) == (1, "")
    combined = json.loads(out)
    for found in (whole, combined):
        del found["current"]["path"]
    assert combined == whole


def test_a_partition_of_too_many_values_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ref = table(tmp_path / "ref.csv", range(1000), 0.0)
    cur = table(tmp_path / "cur.csv", range(MAX_CATEGORIES + 1), 0.0)
    summary = tmp_path / "p.json"
    code, _, err = run(
        capsys, "--reference", str(ref), "--current", str(cur), "--partial", str(summary)
    )
    assert (code, err) == (0, "")
    data = json.loads(summary.read_text())
    sketch = data["current"]["sketches"]["id"]
    assert (sketch["over"], sketch["counts"], sketch["n"]) == (True, [], MAX_CATEGORIES + 1)
    code, out, err = run(capsys, "--combine", str(summary), "--format", "json")
    assert (code, err) == (0, "")
    assert json.loads(out)["skipped"] == [{"column": "id", "reason": REASON}]
    sketch["counts"] = [["id-0", 1]]
    summary.write_text(json.dumps(data))
    code, out, err = run(capsys, "--combine", str(summary))
    assert (code, out) == (2, "")
    assert err == (
        f"{summary}: error: is damaged: current.sketches.id.counts: must be empty: the column"
        " has too many values\n"
    )
