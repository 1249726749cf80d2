"""KS over partitions: the counts at the reference's values give SciPy's statistic and p-value."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from scipy.stats import ks_2samp

from specops.cli import main
from specops.monitoring import ks


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["drift", *args])
    out, err = capsys.readouterr()
    return code, out, err


def split(root: Path, reference: pa.Table, current: pa.Table, parts: int) -> None:
    """The reference, the whole batch, and the batch in `parts` partitions (one empty)."""
    pq.write_table(reference, root / "ref.parquet")
    pq.write_table(current, root / "cur.parquet", row_group_size=1000)
    size = -(-current.num_rows // (parts - 1))
    for index in range(parts):
        part = current.slice(index * size, size) if index < parts - 1 else current.slice(0, 0)
        pq.write_table(part, root / f"cur{index}.parquet", row_group_size=700)


def combined(
    capsys: pytest.CaptureFixture[str], root: Path, parts: int, *args: str
) -> tuple[int, dict[str, Any]]:
    written = []
    for index in range(parts):
        out = str(root / f"part{index}.json")
        cur = str(root / f"cur{index}.parquet")
        ref = str(root / "ref.parquet")
        code, _, err = run(capsys, "--reference", ref, "--current", cur, "--partial", out, *args)
        assert (code, err) == (0, "")
        written.append(out)
    code, out, err = run(capsys, "--combine", *written, "--format", "json")
    assert err == ""
    return code, json.loads(out)


def whole(capsys: pytest.CaptureFixture[str], root: Path, *args: str) -> tuple[int, dict[str, Any]]:
    ref, cur = str(root / "ref.parquet"), str(root / "cur.parquet")
    code, out, _ = run(capsys, "--reference", ref, "--current", cur, "--format", "json", *args)
    return code, json.loads(out)


def sides(rows: int, shift: float, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    tied = np.round(rng.normal(shift, 1, rows), 1)  # many ties, on both sides
    tied[::97] = np.nan
    return pa.table(
        {
            "smooth": rng.normal(shift, 1, rows),
            "tied": tied,
            "steps": rng.integers(0, 40, rows) + 5 * (shift > 0),
            "steady": rng.exponential(1, rows),
        }
    )


@pytest.mark.parametrize(
    "ref_rows, cur_rows, args",
    [
        (800, 6000, ()),  # `auto` picks KS for a reference of at most 1,000 rows
        (3000, 13_000, ("--method", "ks")),  # above 10,000 values SciPy's p-value is asymptotic
    ],
)
def test_combined_ks_is_the_whole_runs(
    ref_rows: int,
    cur_rows: int,
    args: tuple[str, ...],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    split(tmp_path, sides(ref_rows, 0.0, 1), sides(cur_rows, 0.15, 2), 4)
    code, found = combined(capsys, tmp_path, 4, *args)
    whole_code, expected = whole(capsys, tmp_path, *args)
    assert code == whole_code == 1
    mine, theirs = found["columns"], expected["columns"]
    assert [c["method"] for c in mine] == ["ks"] * 4
    assert [(c["column"], c["drifted"]) for c in mine] == [
        ("smooth", True),
        ("tied", True),
        ("steps", True),
        ("steady", False),
    ]
    for column in mine:
        assert (column["undecided"], column["exact"], column["error"]) == (False, True, 0.0)
    assert mine == theirs  # the p-values too, to the last bit
    assert found["verdict"] == expected["verdict"] == "drift"


def test_many_reference_values_give_bounds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reference with more values than the summary keeps is counted at its quantiles: the
    p-value lies between bounds, a verdict is given only when both bounds give it."""
    monkeypatch.setattr(ks, "MAX_KNOTS", 40)
    rng = np.random.default_rng(3)
    reference = pa.table({"far": rng.normal(0, 1, 3000), "near": rng.normal(0, 1, 3000)})
    current = pa.table({"far": rng.normal(1, 1, 2000), "near": rng.normal(0.07, 1, 2000)})
    split(tmp_path, reference, current, 3)
    code, found = combined(capsys, tmp_path, 3, "--method", "ks")
    _, expected = whole(capsys, tmp_path, "--method", "ks")
    far, near = found["columns"]
    exact = {c["column"]: c["statistic"] for c in expected["columns"]}
    for column in (far, near):
        assert column["exact"] is False
        low, high = column["statistic"] - column["error"], column["statistic"] + column["error"]
        assert low - 1e-15 <= exact[column["column"]] <= high + 1e-15
    assert (far["drifted"], far["undecided"]) == (True, False)
    # The exact p-value is about 0.04: the bounds hold the threshold.
    assert near["statistic"] - near["error"] < 0.05 < near["statistic"] + near["error"]
    assert (near["drifted"], near["undecided"]) == (False, True)
    assert (code, found["verdict"]) == (1, "drift")


def test_bounds_are_scipys_statistic(tmp_path: Path) -> None:
    """Partitions' counts at the reference's distinct values give SciPy's D and p-value."""
    rng = np.random.default_rng(5)
    for trial in range(60):
        n_ref = int(rng.integers(1, 2000)) if trial % 3 else int(rng.integers(9000, 12_000))
        n_cur = int(rng.integers(1, 3000)) if trial % 4 else int(rng.integers(9000, 12_000))
        shift = (0.0, 0.05, 0.4)[trial % 3]
        reference = np.round(rng.normal(0, 1, n_ref), trial % 3)
        current = np.round(rng.normal(shift, 1, n_cur), trial % 3)
        knots, every = ks.knots(reference)
        assert every
        counts = ks.steps(knots, current[: n_cur // 3])
        counts.add(ks.steps(knots, current[n_cur // 3 :]))
        low, high = ks.bounds(n_ref, n_cur, ks.steps(knots, reference), counts)
        # SciPy's exact method rounds the statistic it returns; the asymptotic one does not.
        statistic = ks_2samp(reference, current, method="asymp").statistic
        assert low.value(n_ref, n_cur) == high.value(n_ref, n_cur) == statistic
        assert ks.p_value(low, n_ref, n_cur) == ks_2samp(reference, current).pvalue


def test_a_summary_without_its_counts_is_damaged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    split(tmp_path, sides(300, 0.0, 1), sides(600, 0.0, 2), 2)
    out = tmp_path / "p.json"
    ref, cur = str(tmp_path / "ref.parquet"), str(tmp_path / "cur0.parquet")
    assert run(capsys, "--reference", ref, "--current", cur, "--partial", str(out))[0] == 0
    data = json.loads(out.read_text())
    data["current"]["sketches"]["tied"]["ks"]["below"].pop()
    out.write_text(json.dumps(data))
    code, _, err = run(capsys, "--combine", str(out))
    assert (code, err) == (
        2,
        f"{out}: error: is damaged: current.sketches.tied.ks.below: must have 47 counts, one per"
        " knot\n",
    )
    data["current"]["sketches"]["tied"]["ks"] = None
    out.write_text(json.dumps(data))
    code, _, err = run(capsys, "--combine", str(out))
    assert (code, err) == (
        2,
        f"{out}: error: is damaged: current.sketches.tied.ks: must be there on both sides or"
        " neither\n",
    )
