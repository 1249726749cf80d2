"""`specops drift` as a user runs it: the spec's defaults, formats, exit codes and errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from specops.cli import main
from specops.monitoring.contract import contract_breaches
from specops.monitoring.result import Breach
from tests.driftspec import WATCHED

DATA = Path(__file__).parent / "data" / "drift"
SPEC = (
    WATCHED
    + """\
  reference: data/ref.csv
  current: data/cur.csv
"""
)


def project(root: Path, extra: str = "") -> Path:
    (root / "data").mkdir()
    shutil.copyfile(DATA / "large_ref.csv", root / "data" / "ref.csv")
    shutil.copyfile(DATA / "large_cur.csv", root / "data" / "cur.csv")
    (root / "specops.yaml").write_text(SPEC + extra)
    return root


def drift(
    capsys: pytest.CaptureFixture[str], *args: str, root: Path | None = None
) -> tuple[int, str, str]:
    spec = ["--spec", str(root / "specops.yaml")] if root is not None else []
    code = main(["drift", *spec, *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_defaults_from_the_spec(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = drift(capsys, root=project(tmp_path))
    assert (code, err) == (1, "")
    assert out == (
        "reference: data/ref.csv (2,000 rows)\n"
        "current:   data/cur.csv (1,500 rows)\n"
        "column   type         method         statistic  threshold  verdict\n"
        "shifted  numeric      wasserstein    0.3474     0.1        DRIFT\n"
        "steady   numeric      wasserstein    0.03004    0.1        ok\n"
        "few      numeric      jensenshannon  0.1437     0.1        DRIFT\n"
        "city     categorical  jensenshannon  0.2568     0.1        DRIFT\n"
        "code     categorical  jensenshannon  0.02044    0.1        ok\n"
        "flag     categorical  jensenshannon  0.07273    0.1        ok\n"
        "drift: 3 of 6 column(s) drifted (50%); the batch drifts at 50%\n"
    )


def test_spec_settings_and_arguments(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = project(
        tmp_path,
        "  target: flag\n  drift: {method: psi, threshold: 0.15, share: 0.4}\n",
    )
    code, out, _ = drift(capsys, "--format", "json", root=root)
    found = json.loads(out)
    assert code == 1
    assert [c["column"] for c in found["columns"]] == ["shifted", "steady", "few", "city", "code"]
    assert {c["method"] for c in found["columns"]} == {"psi"}
    assert {c["threshold"] for c in found["columns"]} == {0.15}
    assert [c["column"] for c in found["columns"] if c["drifted"]] == ["few", "city"]
    assert (found["share"], found["drift"], found["ok"]) == (0.4, True, False)
    code, out, _ = drift(capsys, "--share", "0.5", "--threshold", "0.2", root=root)
    assert code == 0
    assert out.endswith(
        "no drift: 1 of 5 column(s) drifted (20%); the batch drifts at 50%\n"
        "concept drift:\n"
        "of      column  type         method  statistic  threshold  verdict\n"
        "target  flag    categorical  psi     0.04239    0.2        ok\n"
        "model quality: no concept drift\n"
    )


def test_markdown_to_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = project(tmp_path)
    report = tmp_path / "drift.md"
    code, out, err = drift(capsys, "--format", "md", "--output", str(report), root=root)
    assert (code, out, err) == (1, "", "")
    text = report.read_text()
    assert text.startswith("## Data drift\n\nReference `data/ref.csv` (2,000 rows)")
    assert "| shifted | numeric | wasserstein | 0.3474 | 0.1 | **drift** |\n" in text
    assert text.endswith("**drift: 3 of 6 column(s) drifted (50%); the batch drifts at 50%**\n")


def test_markdown_shows_hostile_column_names_as_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    names = '"<img src=x>","a&amp;b","c|d"'
    rows = "".join(f"{i % 7}.5,{i % 3},x{i % 2}\n" for i in range(60))
    reference = write(tmp_path / "ref.csv", f"{names}\n{rows}")
    current = write(
        tmp_path / "cur.csv", f'{names},"<details><summary>x"\n' + rows.replace("\n", ",1\n")
    )
    code, out, _ = drift(capsys, "--reference", reference, "--current", current, "--format", "md")
    assert code == 1
    assert "| &lt;details&gt;&lt;summary&gt;x | not in the reference |\n" in out
    write(tmp_path / "cur.csv", f"{names}\n{rows}")
    code, out, _ = drift(capsys, "--reference", reference, "--current", current, "--format", "md")
    assert code == 0
    assert [line.split(" | ")[0] for line in out.splitlines() if line.startswith("| ")][2:] == [
        "| &lt;img src=x&gt;",
        "| a&amp;amp;b",
        "| c&#124;d",
    ]


def test_files_without_a_spec(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    args = ["--reference", str(DATA / "small_ref.csv"), "--current", str(DATA / "small_cur.csv")]
    code, out, _ = drift(capsys, *args, "--format", "json")
    found = json.loads(out)
    assert code == 1
    assert [c["method"] for c in found["columns"]] == ["ks", "ks", "chi2", "z"]


def write(path: Path, text: str) -> str:
    path.write_text(text)
    return str(path)


def test_the_contract_comes_first(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ref = write(tmp_path / "ref.csv", "a,b,c\n1.5,x,1\n2.5,y,2\n")
    cur = write(tmp_path / "cur.csv", "a,b,d\nx,x,1\ny,y,2\n")
    code, out, err = drift(capsys, "--reference", ref, "--current", cur)
    assert (code, err) == (1, "")
    assert out.splitlines()[2:] == [
        "contract: a: its type changed from number to string",
        "contract: c: missing from the current batch",
        "contract: d: not in the reference",
        "the current batch breaks the reference's data contract in 3 way(s)",
    ]


def test_nan_and_inf_are_dropped_and_counted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ref = write(tmp_path / "ref.csv", "a\n" + "".join(f"{i}.5\n" for i in range(30)) + "nan\n")
    cur = write(tmp_path / "cur.csv", "a\n" + "".join(f"{i}.5\n" for i in range(30)) + "inf\n\n")
    code, out, _ = drift(capsys, "--reference", ref, "--current", cur)
    assert code == 0
    assert out.splitlines()[3:] == [
        "a       numeric  ks      1          0.05       ok",
        "a: 1 empty, NaN or infinite value(s) dropped from the reference",
        "a: 1 empty, NaN or infinite value(s) dropped from the current",
        "no drift: 0 of 1 column(s) drifted (0%); the batch drifts at 50%",
    ]


@pytest.mark.parametrize(
    "reference, current, side, dropped",
    [
        ("a,b\nnan,x\ninf,y\n", "a,b\n1.5,x\n", "ref", 2),
        ("a,b\n1.5,x\n", "a,b\nnan,x\n-inf,y\n\n", "cur", 2),
    ],
)
def test_an_empty_column_is_an_error(
    reference: str,
    current: str,
    side: str,
    dropped: int,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    ref = write(tmp_path / "ref.csv", reference)
    cur = write(tmp_path / "cur.csv", current)
    code, out, err = drift(capsys, "--reference", ref, "--current", cur)
    assert (code, out) == (2, "")
    assert err == (
        f"{tmp_path / side}.csv: error: column 'a' has no value left once {dropped} empty, NaN"
        " or infinite value(s) are dropped\n"
    )


def test_unreadable_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ref = write(tmp_path / "ref.csv", "a\n1\n")
    missing = str(tmp_path / "missing.csv")
    code, out, err = drift(capsys, "--reference", ref, "--current", missing)
    assert (code, out) == (2, "")
    assert err.startswith(f"{missing}: error: cannot read it: ")
    broken = write(tmp_path / "broken.parquet", "not parquet")
    code, _, err = drift(capsys, "--reference", ref, "--current", broken)
    assert code == 2 and err.startswith(f"{broken}: error: cannot read it: ")
    other = write(tmp_path / "data.json", "{}")
    code, _, err = drift(capsys, "--reference", other, "--current", ref)
    assert (code, err) == (2, f"{other}: error: is neither CSV (.csv) nor Parquet (.parquet)\n")
    latin1 = tmp_path / "latin1.csv"
    latin1.write_bytes("taille \xe9lev\xe9e,b\n1,2\n".encode("latin-1"))
    code, out, err = drift(capsys, "--reference", ref, "--current", str(latin1))
    assert (code, out, err) == (
        2,
        "",
        f"{latin1}: error: cannot read it: its column names are not UTF-8\n",
    )


def test_unseen_categories_drift(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ref = write(tmp_path / "ref.csv", "c\n" + "a\nb\n" * 50)
    cur = write(tmp_path / "cur.csv", "c\n" + "a\nb\nnew\n" * 20)
    code, out, _ = drift(capsys, "--reference", ref, "--current", cur, "--format", "json")
    column = json.loads(out)["columns"][0]
    assert code == 1
    assert (column["method"], column["statistic"], column["drifted"]) == ("chi2", 0.0, True)


def test_column_types(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ref, cur = str(DATA / "large_ref.csv"), str(DATA / "large_cur.csv")
    code, out, _ = drift(
        capsys,
        "--reference",
        ref,
        "--current",
        cur,
        "--column-type",
        "code=numeric",
        "--format",
        "json",
    )
    code_column = json.loads(out)["columns"][4]
    assert (code_column["type"], code_column["method"]) == ("numeric", "jensenshannon")
    code, out, err = drift(
        capsys, "--reference", ref, "--current", cur, "--column-type", "city=numeric"
    )
    assert (code, err) == (2, "--column-type: error: column 'city' holds no numbers\n")
    with pytest.raises(SystemExit) as done:
        drift(capsys, "--reference", ref, "--current", cur, "--column-type", "city")
    assert done.value.code == 2
    assert "'city' is not COLUMN=numeric or COLUMN=categorical" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ["--threshold", "0.2"],
            "--threshold: error: `auto` picks a method per column, each with its own default"
            " threshold; name a method to set a threshold",
        ),
        (
            ["--method", "ks", "--threshold", "2"],
            "--threshold: error: ks compares a p-value: the threshold must be between 0 and 1,"
            " got 2.0",
        ),
        (
            ["--method", "wasserstein"],
            "--method: error: column 'city' is categorical, and wasserstein compares numbers; use"
            " --column-type to treat it as numeric, or chi2, z, jensenshannon or psi",
        ),
    ],
)
def test_invalid_settings(
    args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    ref, cur = str(DATA / "large_ref.csv"), str(DATA / "large_cur.csv")
    code, out, err = drift(capsys, "--reference", ref, "--current", cur, *args)
    assert (code, out, err) == (2, "", message + "\n")


def test_a_spec_without_monitoring(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "specops.yaml").write_text(SPEC.split("monitoring:")[0])
    code, out, err = drift(capsys, root=tmp_path)
    assert (code, out) == (2, "")
    assert err == "specops.yaml: error: has no `monitoring`: name --reference and --current\n"


def test_share_must_be_a_share(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["drift", "--share", "0"])
    assert done.value.code == 2
    assert "'0' is not a share above 0 and at most 1" in capsys.readouterr().err


def test_many_new_values_in_a_column_of_few(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A reference of few values is counted value by value, however many the batch brings."""
    ref = write(tmp_path / "ref.csv", "a\n" + "1.5\n2.5\n" * 600)
    cur = write(tmp_path / "cur.csv", "a\n" + "".join(f"{i}.5\n" for i in range(100)))
    code, out, _ = drift(capsys, "--reference", ref, "--current", cur, "--method", "psi")
    assert code == 1
    assert "a       numeric  psi     " in out
    code, out, _ = drift(
        capsys, "--reference", ref, "--current", cur, "--column-type", "a=categorical"
    )
    assert code == 1 and "a       categorical  jensenshannon" in out


def test_columns_of_other_types_are_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import datetime

    import pyarrow as pa
    import pyarrow.parquet as pq

    day = datetime.datetime(2026, 1, 1)
    table = pa.table({"when": [day] * 40, "x": [float(i % 7) for i in range(40)]})
    pq.write_table(table, tmp_path / "ref.parquet")
    pq.write_table(table, tmp_path / "cur.parquet")
    args = [
        "--reference",
        str(tmp_path / "ref.parquet"),
        "--current",
        str(tmp_path / "cur.parquet"),
    ]
    code, out, _ = drift(capsys, *args)
    assert code == 0
    assert "when: not compared, its type is timestamp[us]\n" in out


def test_watched_columns_must_be_in_the_reference(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = project(tmp_path, "  columns: [shifted, age]\n")
    code, out, err = drift(capsys, root=root)
    assert (code, out) == (2, "")
    assert err == "data/ref.csv: error: has no column 'age' of `monitoring.columns`\n"
    (root / "specops.yaml").write_text(SPEC + "  columns: [shifted, city]\n")
    code, out, _ = drift(capsys, root=root)
    assert code == 1
    assert out.endswith("drift: 2 of 2 column(s) drifted (100%); the batch drifts at 50%\n")


def test_ignored_columns_are_outside_the_contract(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The prediction log's own columns (`monitoring.ignore`) may be in the batch; a column the
    reference has and the spec ignores is not watched either."""
    (tmp_path / "data").mkdir()
    write(tmp_path / "data" / "ref.csv", "a,label\n1.5,0\n2.5,1\n3.5,0\n")
    write(
        tmp_path / "data" / "cur.csv", "a,version,time,label\n1.5,v1,t,0\n2.5,v1,t,1\n3.5,v1,t,1\n"
    )
    (tmp_path / "specops.yaml").write_text(SPEC + "  ignore: [version, time, label]\n")
    code, out, err = drift(capsys, "--format", "json", root=tmp_path)
    assert (code, err) == (0, "")
    result = json.loads(out)
    assert result["contract"] == []
    assert [c["column"] for c in result["columns"]] == ["a"]


def test_ignored_columns_join_the_target_and_prediction_outside_the_drift(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "data").mkdir()
    write(tmp_path / "data" / "ref.csv", "a,label,proba\n1.5,0,0.1\n2.5,1,0.9\n3.5,0,0.2\n")
    write(
        tmp_path / "data" / "cur.csv",
        "a,version,label,proba\n1.5,v1,0,0.1\n2.5,v1,1,0.8\n3.5,v1,1,0.7\n",
    )
    (tmp_path / "specops.yaml").write_text(
        SPEC + "  target: label\n  prediction: proba\n  ignore: [version]\n"
    )
    code, out, err = drift(capsys, "--format", "json", root=tmp_path)
    # Exit 1: the score drifts (concept drift), which the exclusion does not hide.
    assert (code, err) == (1, "")
    result = json.loads(out)
    assert result["contract"] == []
    assert [c["column"] for c in result["columns"]] == ["a"]


def test_the_contract_as_a_function(tmp_path: Path) -> None:
    """What the reference pipeline's validate_data stage calls."""
    ref = tmp_path / "ref.csv"
    write(ref, "a,b,target\n1.5,x,1\n2.5,y,0\n")
    good = tmp_path / "good.csv"
    write(good, "a,b,target,score\n1.5,x,1,0.9\n")
    bad = tmp_path / "bad.csv"
    write(bad, "a,target,score\nx,1,0.9\n")
    assert contract_breaches(ref, good, ignore=["score"]) == []
    assert contract_breaches(ref, bad, ignore=["score"]) == [
        Breach("a", "its type changed from number to string"),
        Breach("b", "missing from the current batch"),
    ]
    assert contract_breaches(ref, good) == [Breach("score", "not in the reference")]
