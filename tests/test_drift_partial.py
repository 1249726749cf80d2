"""`specops drift --partial` per partition, then `--combine`: the verdicts of one whole run."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from specops.cli import main

PARTS = 4


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["drift", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def batch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A reference, a current batch, and the batch in PARTS partitions (the last one empty)."""
    root = tmp_path_factory.mktemp("batch")
    rng = np.random.default_rng(10)
    n_ref, n_cur = 30_000, 24_000

    def side(n: int, shift: float, cities: list[str], p: list[float] | None) -> pa.Table:
        return pa.table(
            {
                "shifted": rng.normal(shift, 1, n),
                "steady": rng.lognormal(0, 1, n),
                "small_shift": rng.normal(shift / 4, 1, n),
                "few": rng.choice([0.0, 0.5, 1.0], n, p=[0.5, 0.3, 0.2] if shift else None),
                "code": rng.integers(0, 4, n),
                "city": rng.choice(cities, n, p=p),
                "flag": rng.choice([True, False], n, p=[0.45, 0.55] if shift else None),
                # Far beyond the reference's range: its plot spans both sides.
                "far": rng.normal(80 * shift, 1, n),
            }
        )

    reference = side(n_ref, 0.0, ["paris", "rome", "oslo"], None)
    current = side(n_cur, 0.5, ["paris", "rome", "oslo", "kyiv"], [0.3, 0.3, 0.3, 0.1])
    # Some values missing, in one partition only.
    steady = current.column("steady").to_numpy().copy()
    steady[:50] = np.nan
    current = current.set_column(1, "steady", pa.array(steady))
    pq.write_table(reference, root / "ref.parquet", row_group_size=7_000)
    pq.write_table(current, root / "cur.parquet", row_group_size=7_000)
    size = n_cur // (PARTS - 1)
    for index in range(PARTS):
        part = current.slice(index * size, size) if index < PARTS - 1 else current.slice(0, 0)
        pq.write_table(part, root / f"cur{index}.parquet")
    return root


def partials(
    capsys: pytest.CaptureFixture[str], root: Path, *args: str, parts: int = PARTS
) -> list[str]:
    written = []
    for index in range(parts):
        out = root / f"part{index}.json"
        code, _, err = run(
            capsys,
            "--reference",
            str(root / "ref.parquet"),
            "--current",
            str(root / f"cur{index}.parquet"),
            "--partial",
            str(out),
            *args,
        )
        assert (code, err) == (0, "")
        written.append(str(out))
    return written


def columns(out: str) -> list[tuple[str, str, str, bool, bool]]:
    found = json.loads(out)
    return [
        (c["column"], c["type"], c["method"], c["drifted"], c["undecided"])
        for c in found["columns"]
    ]


def test_partitions_combine_to_the_whole_runs_verdicts(
    batch: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    parts = partials(capsys, batch)
    summary = json.loads(Path(parts[0]).read_text())
    assert (summary["format"], summary["version"]) == ("specops-drift-partial", 4)
    code, out, err = run(capsys, "--combine", *parts, "--format", "json")
    assert err == ""
    combined = json.loads(out)
    whole_code, whole_out, _ = run(
        capsys,
        "--reference",
        str(batch / "ref.parquet"),
        "--current",
        str(batch / "cur.parquet"),
        "--format",
        "json",
    )
    whole = json.loads(whole_out)
    assert code == whole_code == 1
    assert columns(out) == columns(whole_out)
    assert [c for c in columns(out) if c[3]] == [
        ("shifted", "numeric", "wasserstein", True, False),
        ("small_shift", "numeric", "wasserstein", True, False),
        ("few", "numeric", "jensenshannon", True, False),
        ("city", "categorical", "jensenshannon", True, False),
        ("far", "numeric", "wasserstein", True, False),
    ]
    for mine, theirs in zip(combined["columns"], whole["columns"], strict=True):
        # Counts combine exactly; Wasserstein's bounds hold the exact value.
        low = mine["statistic"] - mine["error"] - 1e-12
        high = mine["statistic"] + mine["error"] + 1e-12
        assert low <= theirs["statistic"] <= high, mine
        for key in ("reference_rows", "current_rows", "reference_dropped", "current_dropped"):
            assert mine[key] == theirs[key]
    assert combined["current"]["rows"] == 24_000
    assert combined["current"]["path"] == f"{batch / 'cur0.parquet'} + 3 more"
    assert combined["verdict"] == whole["verdict"] == "drift"
    # The HTML report of the combined batch plots the same distributions as the whole run's.
    _, page, _ = run(capsys, "--combine", *parts, "--format", "html")
    _, whole_page, _ = run(
        capsys,
        "--reference",
        str(batch / "ref.parquet"),
        "--current",
        str(batch / "cur.parquet"),
        "--format",
        "html",
    )
    assert page.count("<rect") == whole_page.count("<rect") > 50
    start = page.index("<h2>Distributions")
    assert page[start:] == whole_page[whole_page.index("<h2>Distributions") :]


def test_what_needs_the_rows_is_undecided(batch: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """PSI on Sturges' grid over both sides needs every row: numeric columns are undecided; the
    categorical ones are exact, and decide the batch when they are enough."""
    parts = partials(capsys, batch, "--method", "psi", "--share", "0.5")
    code, out, _ = run(capsys, "--combine", *parts)
    assert code == 1
    lines = out.splitlines()
    assert lines[3:6] == [
        "shifted      numeric      psi     -          0.1        UNDECIDED",
        "steady       numeric      psi     -          0.1        UNDECIDED",
        "small_shift  numeric      psi     -          0.1        UNDECIDED",
    ]
    assert lines[-2:] == [
        "undecided: shifted, steady, small_shift, far: the partitions' summaries do not decide"
        " the verdict (a bound holds the threshold, or the method needs the rows); run specops"
        " drift over the whole batch to decide",
        "undecided: 2 of 8 column(s) drifted (25%) and 4 undecided; the batch drifts at 50%",
    ]
    # With a lower share, the decided columns are enough: the batch drifts, undecided or not.
    parts = partials(capsys, batch, "--method", "psi", "--share", "0.25")
    code, out, _ = run(capsys, "--combine", *parts)
    assert code == 1
    assert out.endswith(
        "drift: 2 of 8 column(s) drifted (25%) and 4 undecided; the batch drifts at 25%\n"
    )
    # And with a higher one, they cannot be: no drift whatever the undecided columns say.
    parts = partials(capsys, batch, "--method", "psi", "--share", "0.9")
    code, out, _ = run(capsys, "--combine", *parts, "--format", "json")
    found = json.loads(out)
    assert (code, found["verdict"], found["ok"]) == (0, "no drift", True)
    assert found["undecided_columns"] == 4
    assert found["columns"][0]["statistic"] is None


def test_a_wasserstein_distance_on_the_threshold_is_undecided(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A copy shifted by a tenth of the reference's standard deviation: its normed
    Wasserstein distance is the threshold itself, which bounds cannot decide."""
    rng = np.random.default_rng(4)
    values = rng.normal(0, 1, 5000)
    shifted = values + 0.1 * float(np.std(values)) * 1.0001
    pq.write_table(pa.table({"x": values}), tmp_path / "ref.parquet")
    for index in range(2):
        part = shifted[index::2]
        pq.write_table(pa.table({"x": part}), tmp_path / f"cur{index}.parquet")
    parts = []
    for index in range(2):
        out = str(tmp_path / f"part{index}.json")
        ref, cur = str(tmp_path / "ref.parquet"), str(tmp_path / f"cur{index}.parquet")
        code, _, _ = run(capsys, "--reference", ref, "--current", cur, "--partial", out)
        assert code == 0
        parts.append(out)
    code, out, _ = run(capsys, "--combine", *parts, "--format", "json")
    found = json.loads(out)
    column = found["columns"][0]
    assert (code, found["verdict"]) == (1, "undecided")
    assert (column["undecided"], column["drifted"], column["exact"]) == (True, False, False)
    assert column["statistic"] - column["error"] < 0.1 < column["statistic"] + column["error"]
    pq.write_table(pa.table({"x": shifted}), tmp_path / "cur.parquet")
    ref, cur = str(tmp_path / "ref.parquet"), str(tmp_path / "cur.parquet")
    code, out, _ = run(capsys, "--reference", ref, "--current", cur)
    assert code == 1 and "x       numeric  wasserstein  0.1" in out  # the rows decide


def test_a_partition_that_breaks_the_contract(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "ref.csv").write_text("a,b\n1.5,x\n2.5,y\n")
    (tmp_path / "cur0.csv").write_text("a,b\n1.5,x\n")
    (tmp_path / "cur1.csv").write_text("a\n1.5\n")
    outs = []
    for index, expected in ((0, 0), (1, 1)):
        out = str(tmp_path / f"p{index}.json")
        cur = str(tmp_path / f"cur{index}.csv")
        args = ["--reference", str(tmp_path / "ref.csv"), "--current", cur, "--partial", out]
        code, text, _ = run(capsys, *args)
        assert code == expected
        outs.append(out)
    assert text.splitlines()[0] == "contract: b: missing from the current batch"
    code, text, _ = run(capsys, "--combine", *outs)
    assert code == 1
    assert text.splitlines()[2:] == [
        "contract: b: missing from the current batch",
        "the current batch breaks the reference's data contract in 1 way(s)",
    ]


def test_summaries_that_do_not_combine(
    batch: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    parts = partials(capsys, batch, parts=2)
    other = tmp_path / "other.json"
    code, _, _ = run(
        capsys,
        "--reference",
        str(batch / "cur.parquet"),
        "--current",
        str(batch / "cur0.parquet"),
        "--partial",
        str(other),
    )
    assert code == 0
    code, out, err = run(capsys, "--combine", parts[0], str(other))
    assert (code, out) == (2, "")
    assert err == f"{other}: error: summarizes another reference than {parts[0]}\n"
    settings = tmp_path / "settings.json"
    data = json.loads(Path(parts[1]).read_text())
    data["settings"]["share"] = 0.3
    settings.write_text(json.dumps(data))
    code, _, err = run(capsys, "--combine", parts[0], str(settings))
    assert err == (
        f"{settings}: error: was made with other settings (method, threshold, share, column"
        f" types) than {parts[0]}\n"
    )
    del data["current"]["sketches"]["city"]
    settings.write_text(json.dumps(data))
    code, _, err = run(capsys, "--combine", str(settings))
    assert (code, err) == (
        2,
        f"{settings}: error: is damaged: current.sketches.city: missing\n",
    )
    # Summaries of an older version are refused, whichever fields their version had.
    for version in (1, 2, 3):
        data["version"] = version
        settings.write_text(json.dumps(data))
        code, _, err = run(capsys, "--combine", str(settings))
        assert (code, err) == (
            2,
            f"{settings}: error: is a summary of version {version}; this specops combines"
            " version 4: run the partitions again with this version\n",
        )
    for text in ("[]", "{not json", '{"format": "other"}'):
        settings.write_text(text)
        code, _, err = run(capsys, "--combine", str(settings))
        assert (code, err) == (
            2,
            f"{settings}: error: is not a summary written by `specops drift --partial`\n",
        )
    missing = tmp_path / "missing.json"
    code, _, err = run(capsys, "--combine", str(missing))
    assert (code, err) == (2, f"{missing}: error: cannot read it: No such file or directory\n")


@pytest.mark.parametrize(
    "args, message",
    [
        (["--method", "ks"], "--combine: error: combines the partitions' runs with their"
         " settings: drop --method"),
        (["--current", "x.csv"], "--combine: error: combines the partitions' runs with their"
         " settings: drop --current"),
    ],
)  # fmt: skip
def test_combine_takes_no_settings(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, "--combine", "p.json", *args)
    assert (code, out, err) == (2, "", message + "\n")


def test_partial_writes_no_report(
    batch: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "p.json"
    code, text, err = run(
        capsys,
        "--reference",
        str(batch / "ref.parquet"),
        "--current",
        str(batch / "cur0.parquet"),
        "--partial",
        str(out),
        "--output",
        str(tmp_path / "report.txt"),
    )
    assert (code, text) == (2, "")
    assert err == (
        "--partial: error: writes the summary there; --output names a report, which --combine"
        " writes\n"
    )
    assert not out.exists()


README = Path(__file__).resolve().parents[1] / "README.md"
LINT = README.parent.parent / "shared" / "tools" / "lint-workflows"


def test_the_readme_matrix_recipe(tmp_path: Path) -> None:
    """The README's workflow for partitions lints clean and calls specops as it parses."""
    import re
    import shlex
    import subprocess

    import yaml

    from specops.cli import parser

    section = README.read_text().split("In GitHub Actions, one job per partition", 1)[1]
    match = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert match
    workflow = yaml.safe_load(match.group(1))
    runs = [
        step["run"]
        for job in workflow["jobs"].values()
        for step in job["steps"]
        if "specops" in step.get("run", "")
    ]
    assert len(runs) == 2
    for run_ in runs:
        words = shlex.split(run_.split(">>")[0].replace("${{ matrix.part }}", "0"))
        assert words[:2] == ["specops", "drift"]
        args = parser().parse_args(words[1:])
        assert (args.partial is None) != (args.combine is None)
    if not LINT.is_file():
        reason = f"workflow linters not found at {LINT}"
        if os.environ.get("SPECOPS_REQUIRE_LINT") == "1":
            pytest.fail(f"{reason}, and SPECOPS_REQUIRE_LINT=1 requires them")
        pytest.skip(f"{reason}; set SPECOPS_REQUIRE_LINT=1 to make this a failure")
    file = tmp_path / "drift.yml"
    file.write_text(match.group(1))
    result = subprocess.run(
        ["bash", str(LINT), str(file)], capture_output=True, text=True, check=False, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
