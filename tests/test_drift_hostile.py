"""`specops drift` against hostile inputs: files that are odd, names that try to escape the
report, a report aimed at its own data, and partition summaries that were tampered with."""

from __future__ import annotations

import copy
import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from specops.cli import main
from tests.driftspec import WATCHED


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["drift", *args])
    out, err = capsys.readouterr()
    return code, out, err


def csv(path: Path, header: str, rows: list[str]) -> Path:
    path.write_text(header + "\n" + "".join(row + "\n" for row in rows))
    return path


def test_integers_beyond_the_precision_of_floats(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """IDs past 2**53 (int64 in CSV, uint64 in Parquet) are still numbers to compare."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    ref = csv(tmp_path / "ref.csv", "id", [str(i) for i in range(50)])
    cur = csv(tmp_path / "cur.csv", "id", [str(2**53 + 1 + i) for i in range(50)])
    code, out, err = run(capsys, "--reference", str(ref), "--current", str(cur))
    assert (code, err) == (1, "")
    assert out.endswith("drift: 1 of 1 column(s) drifted (100%); the batch drifts at 50%\n")
    for name, values in (("ref", range(50)), ("cur", range(2**64 - 50, 2**64))):
        pq.write_table(
            pa.table({"id": pa.array(list(values), pa.uint64())}), tmp_path / f"{name}.pq"
        )
    code, out, err = run(
        capsys, "--reference", str(tmp_path / "ref.pq"), "--current", str(tmp_path / "cur.pq")
    )
    assert (code, err) == (1, "")


def test_a_parquet_column_named_twice(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    twice = tmp_path / "twice.parquet"
    columns = [pa.array([1.0, 2.0]), pa.array([3.0, 4.0])]
    pq.write_table(pa.Table.from_arrays(columns, names=["a", "a"]), twice)
    once = tmp_path / "once.parquet"
    pq.write_table(pa.table({"a": [1.0, 2.0]}), once)
    for ref, cur in ((twice, once), (once, twice)):
        code, out, err = run(capsys, "--reference", str(ref), "--current", str(cur))
        assert (code, out, err) == (2, "", f"{twice}: error: column 'a' appears twice\n")


def test_a_fifo_is_refused_not_waited_on(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ref = csv(tmp_path / "ref.csv", "a", ["1", "2"])
    fifo = tmp_path / "batch.csv"
    os.mkfifo(fifo)
    # A writer that ends at once, so that a run that does wait on the FIFO fails instead of hanging.
    writer = threading.Thread(target=lambda: open(fifo, "w").close())
    writer.start()
    code, out, err = run(capsys, "--reference", str(ref), "--current", str(fifo))
    os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))  # frees the writer if nothing read
    writer.join()
    assert (code, out, err) == (2, "", f"{fifo}: error: is not a regular file\n")
    code, out, err = run(capsys, "--reference", str(ref), "--current", str(tmp_path / "no.csv"))
    assert (code, err) == (
        2,
        f"{tmp_path / 'no.csv'}: error: cannot read it: No such file or directory\n",
    )


def test_an_empty_batch_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ref = csv(tmp_path / "ref.csv", "a,b", ["1.5,x", "2.5,y"])
    cur = csv(tmp_path / "cur.csv", "a,b", [])
    code, out, err = run(capsys, "--reference", str(ref), "--current", str(cur))
    assert (code, out, err) == (2, "", f"{cur}: error: has no rows\n")


HOSTILE = [
    '<img src="https://evil.example/t.png">',
    "[click](https://evil.example)",
    "**bold** `code` a|b",
]


def test_markdown_shows_names_and_paths_as_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A job summary renders Markdown and HTML: names from the data must not become images,
    links or formatting, and a path must not leave its code span."""
    header = ",".join('"' + name.replace('"', '""') + '"' for name in HOSTILE)
    ref = csv(tmp_path / "ref.csv", header, [f"{i}.5,{i}.5,{i}.5" for i in range(30)])
    cur = csv(tmp_path / "c`ur.csv", header, [f"{i + 100}.5,{i}.5,{i}.5" for i in range(30)])
    code, out, err = run(capsys, "--reference", str(ref), "--current", str(cur), "--format", "md")
    assert (code, err) == (0, "")
    assert f" current `` {cur} `` (30 rows)." in out
    rows = [line for line in out.splitlines() if line.startswith("| ") and "numeric" in line]
    assert [row.split(" | ")[0] for row in rows] == [
        "| &lt;img src=&quot;https://evil.example/t.png&quot;&gt;",
        r"| \[click\](https://evil.example)",
        r"| \*\*bold\*\* \`code\` a&#124;b",
    ]


def test_output_never_replaces_an_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    ref = csv(tmp_path / "ref.csv", "a", ["1", "2", "3"])
    cur = csv(tmp_path / "cur.csv", "a", ["1", "2", "3"])
    (tmp_path / "alias.csv").symlink_to(cur)
    for option, target in (
        ("--output", ref),
        ("--output", tmp_path / "alias.csv"),
        ("--partial", cur),
    ):
        code, out, err = run(
            capsys, "--reference", str(ref), "--current", str(cur), option, str(target)
        )
        expected = f"{target}: error: is an input of this run; {option} names another file\n"
        assert (code, out, err) == (2, "", expected)
    assert cur.read_text() == ref.read_text() == "a\n1\n2\n3\n"


# Partition summaries as an attacker (or a broken artifact) may hand them to --combine.


@pytest.fixture(scope="module")
def summaries(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], dict[str, Any]]:
    import numpy as np

    root = tmp_path_factory.mktemp("summaries")
    rng = np.random.default_rng(7)

    def write(name: str, n: int, shift: float) -> Path:
        rows = [
            f"{x},{y},{z}"
            for x, y, z in zip(
                rng.normal(shift, 1, n),
                rng.choice(list("xyz"), n),
                rng.integers(0, 3, n),
                strict=True,
            )
        ]
        return csv(root / name, "a,b,c", rows)

    ref = write("ref.csv", 3000, 0)
    found = []
    for part, shift in (("p1", 0.0), ("p2", 0.5)):
        out = root / f"{part}.json"
        cur = write(f"{part}.csv", 2000, shift)
        assert (
            main(["drift", "--reference", str(ref), "--current", str(cur), "--partial", str(out)])
            == 0
        )
        found.append(json.loads(out.read_text()))
    return found[0], found[1]


def _set(*path: Any, to: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        for key in path[:-1]:
            data = data[key]
        data[path[-1]] = to

    return change


def _both_grids(to: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        for side in ("reference", "current"):
            data[side]["sketches"]["a"]["grid"] = to

    return change


BAD_GRID = (
    "reference.sketches.a.grid: must be [low, high, bins] with low below high and 1 to 65,536 bins"
)
SKETCH_A = ("current", "sketches", "a")
SKETCH_B = ("current", "sketches", "b")
TAMPERED: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    ("share 5", _set("settings", "share", to=5), "settings.share: must be above 0 and at most 1"),
    ("share -1", _set("settings", "share", to=-1), "settings.share: must be above 0 and at most 1"),
    ("share str", _set("settings", "share", to="x"), "settings.share: must be a number"),
    ("share NaN", _set("settings", "share", to=float("nan")), "settings.share: must be a number"),
    ("method", _set("settings", "method", to="evil"), "settings.method: 'evil' is no method"),
    ("threshold", _set("settings", "threshold", to="x"), "settings.threshold: must be a number"),
    (
        "auto threshold",
        _set("settings", "threshold", to=0.3),
        "settings.threshold: `auto` picks a method per column, each with its own default"
        " threshold; name a method to set a threshold",
    ),
    (
        "types",
        _set("settings", "types", to={"a": "evil"}),
        "settings.types.a: must be numeric or categorical",
    ),
    ("types list", _set("settings", "types", to=[1]), "settings.types: must be an object"),
    ("settings", _set("settings", to=5), "settings: must be an object"),
    ("no share", lambda d: d["settings"].pop("share"), "settings.share: missing"),
    (
        "n negative",
        _set(*SKETCH_B, "n", to=-5),
        "current.sketches.b.n: must be a count (0 or more)",
    ),
    (
        "n NaN",
        _set(*SKETCH_A, "n", to=float("nan")),
        "current.sketches.a.n: must be a count (0 or more)",
    ),
    ("n str", _set(*SKETCH_A, "n", to="x"), "current.sketches.a.n: must be a count (0 or more)"),
    (
        "n huge",
        _set(*SKETCH_B, "n", to=10**400),
        "current.sketches.b.n: must be a count (0 or more)",
    ),
    (
        "count negative",
        _set(*SKETCH_B, "counts", to=[["x", -100], ["y", 5]]),
        "current.sketches.b.counts: must be pairs of a value and a count (1 or more)",
    ),
    (
        "counts and n",
        lambda d: d["current"]["sketches"]["b"].update(n=1, dropped=1999),
        "current.sketches.b: n is 1, but its counts add up to 2,000",
    ),
    (
        "hist",
        _set(*SKETCH_A, "hist", to=[1, 2, 3]),
        "current.sketches.a.hist: must have 4,098 counts, one per bin of the grid",
    ),
    (
        "hist negative",
        _set(*SKETCH_A, "hist", to=[-1] * 4098),
        "current.sketches.a.hist: must have 4,098 counts, one per bin of the grid",
    ),
    (
        "grid 0 bins",
        _both_grids([0, 1, 0]),
        BAD_GRID,
    ),
    (
        "grid huge",
        _both_grids([0, 1, 10**12]),
        BAD_GRID,
    ),
    (
        "grid flat",
        _both_grids([1, 1, 4096]),
        BAD_GRID,
    ),
    (
        "current grid",
        _set(*SKETCH_A, "grid", to=[0, 1, 4096]),
        "current.sketches.a.grid: is not the reference's grid",
    ),
    (
        "low NaN",
        _set(*SKETCH_A, "low", to=float("nan")),
        "current.sketches.a.low: must be a finite number",
    ),
    ("low str", _set(*SKETCH_A, "low", to="x"), "current.sketches.a.low: must be a finite number"),
    (
        "m2 negative",
        _set("reference", "sketches", "a", "m2", to=-1e9),
        "reference.sketches.a.m2: must be a finite number, 0 or more",
    ),
    (
        "mean inf",
        _set(*SKETCH_A, "mean", to=float("inf")),
        "current.sketches.a.mean: must be a finite number",
    ),
    (
        "numeric str",
        _set(*SKETCH_A, "numeric", to="yes"),
        "current.sketches.a.numeric: must be true or false",
    ),
    (
        "numeric flip",
        lambda d: d["current"]["sketches"].update(a=d["current"]["sketches"]["b"]),
        "current.sketches.a: is categorical, and the reference's numeric",
    ),
    (
        "contract",
        _set("contract", to=[{"col": 1}]),
        "contract[0]: must be an object with a column and a problem",
    ),
    ("contract str", _set("contract", to="x"), "contract: must be a list"),
    ("rows str", _set("current", "rows", to="x"), "current.rows: must be a count (0 or more)"),
    ("rows negative", _set("current", "rows", to=-1), "current.rows: must be a count (0 or more)"),
    ("path", _set("current", "path", to=5), "current.path: must be a string"),
    ("current", _set("current", to=5), "current: must be an object"),
    ("skipped", _set("skipped", to=[[1, 2, 3]]), "skipped[0]: must be a column and a reason"),
    ("columns str", _set("columns", to="a"), "columns: must be a list of column names, each once"),
    (
        "columns twice",
        _set("columns", to=["a", "a"]),
        "columns: must be a list of column names, each once",
    ),
    ("column missing", _set("columns", to=["a", "zz"]), "reference.sketches.zz: missing"),
]


@pytest.mark.parametrize(
    ("change", "problem"), [t[1:] for t in TAMPERED], ids=[t[0] for t in TAMPERED]
)
def test_a_tampered_summary_is_refused(
    summaries: tuple[dict[str, Any], dict[str, Any]],
    change: Callable[[dict[str, Any]], None],
    problem: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = copy.deepcopy(summaries[0])
    change(data)
    path = tmp_path / "part.json"
    path.write_text(json.dumps(data))
    code, out, err = run(capsys, "--combine", str(path))
    assert (code, out, err) == (2, "", f"{path}: error: is damaged: {problem}\n")


def test_deeply_nested_json_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "part.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    code, out, err = run(capsys, "--combine", str(path))
    assert (code, out, err) == (
        2,
        "",
        f"{path}: error: is not a summary written by `specops drift --partial`\n",
    )


def test_a_partition_counted_twice_is_refused(
    summaries: tuple[dict[str, Any], dict[str, Any]],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    first.write_text(json.dumps(summaries[0]))
    second.write_text(json.dumps(summaries[0]))
    for paths in ((first, first), (first, second)):
        code, out, err = run(capsys, "--combine", *map(str, paths))
        expected = f"{paths[1]}: error: summarizes the same partition as {first}\n"
        assert (code, out, err) == (2, "", expected)
    second.write_text(json.dumps(summaries[1]))
    code, out, err = run(capsys, "--combine", str(first), str(second))
    assert code in (0, 1) and err == ""


def test_a_type_from_the_data_cannot_drive_the_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Arrow names a struct's type after its fields, which the data names."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    ref, cur = tmp_path / "ref.parquet", tmp_path / "cur.parquet"
    pq.write_table(pa.table({"b": pa.array(["x", "y"])}), ref)
    pq.write_table(pa.table({"b": pa.array([{"\x1b[2J": 1}] * 2)}), cur)
    expected = "contract: b: its type changed from string to struct<\\x1b[2J: int64>\n"
    code, out, err = run(capsys, "--reference", str(ref), "--current", str(cur))
    assert (code, err) == (1, "") and expected in out
    code, out, err = run(
        capsys, "--reference", str(ref), "--current", str(cur), "--partial", str(tmp_path / "p")
    )
    assert (code, err) == (1, "") and out.startswith(expected)


def test_output_never_replaces_the_spec(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    csv(tmp_path / "ref.csv", "a", ["1", "2", "3"])
    csv(tmp_path / "cur.csv", "a", ["1", "2", "3"])
    spec = tmp_path / "specops.yaml"
    text = WATCHED + "  reference: ref.csv\n  current: cur.csv\n"
    spec.write_text(text)
    code, out, err = run(capsys, "--spec", str(spec), "--output", str(spec))
    assert (code, out) == (2, "")
    assert err == f"{spec}: error: is an input of this run; --output names another file\n"
    assert spec.read_text() == text
