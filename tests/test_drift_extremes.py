"""Values near the float's limit: every method gives a verdict or a clear error (exit 2), never
an internal one, and no warning leaks onto standard error."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from specops.cli import main


@pytest.fixture(scope="module")
def huge(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("huge")
    rng = np.random.default_rng(3)
    n = 2000
    pq.write_table(pa.table({"big": np.r_[rng.normal(0, 1, n - 1), 1e308]}), root / "ref.parquet")
    pq.write_table(
        pa.table({"big": np.r_[rng.normal(0, 1, n - 2), -1e308, np.inf]}), root / "cur.parquet"
    )
    return root


@pytest.mark.parametrize("method", ["psi", "jensenshannon"])
def test_a_span_wider_than_a_float_cannot_be_binned(
    huge: Path, capsys: pytest.CaptureFixture[str], method: str
) -> None:
    ref, cur = str(huge / "ref.parquet"), str(huge / "cur.parquet")
    code = main(["drift", "--reference", ref, "--current", cur, "--method", method])
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert err == (
        f"{cur}: error: column 'big' spans from -1e+308 to 1e+308 over both sides, wider than a"
        f" float holds: {method} cannot bin it; choose another method\n"
    )


@pytest.mark.filterwarnings("error")
def test_values_near_the_limit_sketch_without_warnings(
    huge: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ref, cur = str(huge / "ref.parquet"), str(huge / "cur.parquet")
    code = main(["drift", "--reference", ref, "--current", cur, "--partial", str(huge / "p.json")])
    _, err = capsys.readouterr()
    assert (code, err) == (0, "")


@pytest.mark.parametrize("rows", [2_000, 120_000])  # exact; sketched, then decided
@pytest.mark.filterwarnings("error")
def test_a_batch_shifted_near_the_limit_drifts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], rows: int
) -> None:
    """Values near 1e300 have a spread whose square overflows: it is no reason to pass."""
    rng = np.random.default_rng(4)
    pq.write_table(pa.table({"big": rng.normal(1e300, 1e299, rows)}), tmp_path / "ref.parquet")
    pq.write_table(pa.table({"big": rng.normal(-1e300, 1e299, rows)}), tmp_path / "cur.parquet")
    ref, cur = str(tmp_path / "ref.parquet"), str(tmp_path / "cur.parquet")
    code = main(["drift", "--reference", ref, "--current", cur, "--format", "json"])
    out, err = capsys.readouterr()
    assert (code, err) == (1, "")
    (column,) = json.loads(out)["columns"]
    assert column["drifted"] and column["statistic"] == pytest.approx(20, rel=0.01)
    part = str(tmp_path / "part.json")
    assert main(["drift", "--reference", ref, "--current", cur, "--partial", part]) == 0
    code = main(["drift", "--combine", part, "--format", "json"])
    out, err = capsys.readouterr()
    (column,) = json.loads(out.split("\n", 1)[1])["columns"]
    assert (code, column["undecided"], column["statistic"]) == (1, True, None)
