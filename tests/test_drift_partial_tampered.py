"""Summaries are files anyone can edit: `--combine` refuses one whose counts do not add up, whose
numbers are not finite, that is not a regular file, or a partition given twice, with a message
that names the file (exit 2), rather than combining it into a verdict it does not support."""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from specops.cli import main
from specops.monitoring.report import plain
from specops.spec.problems import printable
from tests.test_reading_is_bounded import _failing_after

Summary = dict[str, Any]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["drift", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def parts(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Summary, Summary]:
    """Two partitions' summaries of a batch with numeric and categorical columns, a multiclass
    target and predicted class, a score and a latency."""
    root = tmp_path_factory.mktemp("tampered")
    rng = np.random.default_rng(15)

    def side(n: int, shift: float) -> pa.Table:
        y = rng.choice(["a", "b", "c"], n)
        said = np.where(rng.random(n) < 0.8, y, rng.choice(["a", "b", "c"], n))
        return pa.table(
            {
                "x": rng.normal(shift, 1, n),
                "city": rng.choice(["p", "r"], n),
                "y": y,
                "said": said,
                "score": rng.random(n),
                "ms": rng.lognormal(1, 0.5, n),
            }
        )

    pq.write_table(side(600, 0.0), root / "ref.parquet")
    current = side(400, 0.3)
    roles = ["--target", "y", "--predicted-class", "said", "--prediction", "score"]
    summaries = []
    for index in range(2):
        pq.write_table(current.slice(index * 200, 200), root / f"cur{index}.parquet")
        out = root / f"part{index}.json"
        sides = [
            "--reference",
            str(root / "ref.parquet"),
            "--current",
            str(root / f"cur{index}.parquet"),
        ]
        code = main(["drift", *sides, "--partial", str(out), *roles, "--latency", "ms"])
        assert code == 0
        summaries.append(json.loads(out.read_text()))
    return root, summaries[0], summaries[1]


def x(s: Summary) -> Summary:
    return s["current"]["sketches"]["x"]  # type: ignore[no-any-return]


def classes(s: Summary) -> Summary:
    return s["quality"]["current"]  # type: ignore[no-any-return]


def _set(key: str, value: Any) -> Callable[[Summary], None]:
    return lambda s: s.__setitem__(key, value)


TAMPERED: dict[str, tuple[Callable[[Summary], None], str]] = {
    "a negative count": (
        lambda s: x(s).__setitem__("n", -5),
        "current.sketches.x.n: must be a count (0 or more)",
    ),
    "a count past any batch": (
        lambda s: s["current"]["sketches"]["city"].__setitem__("counts", [["p", 10**30]]),
        "current.sketches.city.counts: must be pairs of a value and a count (1 or more)",
    ),
    "counts that do not add up": (
        lambda s: s["current"]["sketches"]["city"].__setitem__("n", 7),
        "current.sketches.city: n and dropped add up to 7, not the 200 rows",
    ),
    "a value listed twice": (
        lambda s: s["current"]["sketches"]["city"].__setitem__("counts", [["p", 1], ["p", 199]]),
        "current.sketches.city.counts: must be pairs of a value and a count (1 or more)",
    ),
    "a NaN low": (
        lambda s: x(s).__setitem__("low", float("nan")),
        "current.sketches.x.low: must be a finite number",
    ),
    "negative squared deviations": (
        lambda s: x(s).__setitem__("m2", -1.0),
        "current.sketches.x.m2: must be a finite number, 0 or more",
    ),
    "a fractional count in the histogram": (
        lambda s: x(s)["hist"].__setitem__(5, x(s)["hist"][5] + 0.5),
        "current.sketches.x.hist: must have 4,098 counts, one per bin of the grid",
    ),
    "a histogram that does not add up": (
        lambda s: x(s)["hist"].__setitem__(5, x(s)["hist"][5] + 1),
        "current.sketches.x: n is 200, but its histogram adds up to 201",
    ),
    "another grid than the reference's": (
        lambda s: x(s).__setitem__("grid", [0.0, 1.0, 4096]),
        "current.sketches.x.grid: is not the reference's grid",
    ),
    "a histogram of another length": (
        lambda s: x(s).__setitem__("hist", [200]),
        "current.sketches.x.hist: must have 4,098 counts, one per bin of the grid",
    ),
    "a level beyond the grid past any": (
        lambda s: x(s).__setitem__("beyond", [99999, []]),
        "current.sketches.x.beyond: must be [level, bins] with a level from 0 to 64",
    ),
    "rows that are not a count": (
        lambda s: s["current"].__setitem__("rows", "many"),
        "current.rows: must be a count (0 or more)",
    ),
    "an unknown method": (
        _set("settings", {"method": "bogus", "threshold": None, "share": 0.5, "types": {}}),
        "settings.method: 'bogus' is no method",
    ),
    "a share of NaN": (
        _set("settings", {"method": "auto", "threshold": None, "share": float("nan"), "types": {}}),
        "settings.share: must be a number",
    ),
    "a breach that is no breach": (
        _set("contract", [{"column": 1, "problem": 2}]),
        "contract[0]: must be an object with a column and a problem",
    ),
    "a class count below zero": (
        lambda s: classes(s)["multiclass"].__setitem__("counts", [["a", -1, -1, -1]]),
        "quality.current.multiclass.counts: must be each class once with its rows, rows predicted"
        " and rows predicted right",
    ),
    "a class predicted right more often than seen": (
        lambda s: classes(s)["multiclass"]["counts"][0].__setitem__(3, 10**6),
        "quality.current.multiclass.counts: must be each class once with its rows, rows predicted"
        " and rows predicted right",
    ),
    "a class of another type": (
        lambda s: classes(s).__setitem__("classes", [1, "a", "b", "c"]),
        "quality.current.classes: must be strings, each once, in order",
    ),
    "classes not sorted": (
        lambda s: classes(s).__setitem__("classes", ["c", "b", "a"]),
        "quality.current.classes: must be strings, each once, in order",
    ),
    "latencies that do not add up": (
        lambda s: classes(s)["latency"].__setitem__("n", 10**9),
        "quality.current.latency: n is 1,000,000,000, but its bins add up to 200",
    ),
    "the target's drift with a negative count": (
        lambda s: s["quality"]["concept"][0][1]["current"]["sketches"]["y"].__setitem__("n", -3),
        "quality.concept[0][1].current.sketches.y.n: must be a count (0 or more)",
    ),
}


@pytest.mark.parametrize("attack", sorted(TAMPERED))
def test_a_tampered_summary_is_refused_as_damaged(
    parts: tuple[Path, Summary, Summary], capsys: pytest.CaptureFixture[str], attack: str
) -> None:
    root, first, second = parts
    change, message = TAMPERED[attack]
    tampered = copy.deepcopy(second)
    change(tampered)
    (root / "first.json").write_text(json.dumps(first))
    path = root / "tampered.json"
    path.write_text(json.dumps(tampered))
    code, out, err = run(capsys, "--combine", str(root / "first.json"), str(path))
    assert (code, out, err) == (2, "", f"{path}: error: is damaged: {message}\n")


def test_untampered_summaries_combine(
    parts: tuple[Path, Summary, Summary], capsys: pytest.CaptureFixture[str]
) -> None:
    root, first, second = parts
    (root / "first.json").write_text(json.dumps(first))
    (root / "second.json").write_text(json.dumps(second))
    code, out, err = run(capsys, "--combine", str(root / "first.json"), str(root / "second.json"))
    assert (code, err) == (1, "") and "drift: 1 of 2 column(s) drifted" in out


def test_a_partition_given_twice_is_refused(
    parts: tuple[Path, Summary, Summary], capsys: pytest.CaptureFixture[str]
) -> None:
    root, first, second = parts
    paths = [root / "first.json", root / "second.json", root / "copy.json"]
    for path, summary in zip(paths, (first, second, first), strict=True):
        path.write_text(json.dumps(summary))
    code, out, err = run(capsys, "--combine", *map(str, paths))
    assert (code, out) == (2, "")
    assert err == f"{paths[2]}: error: summarizes the same partition as {paths[0]}\n"


def test_a_summary_linked_to_a_device_is_refused(
    parts: tuple[Path, Summary, Summary], capsys: pytest.CaptureFixture[str]
) -> None:
    root = parts[0]
    link = root / "zero.json"
    if not link.is_symlink():
        os.symlink("/dev/zero", link)
    with _failing_after(2):  # read whole, /dev/zero never ends
        code, out, err = run(capsys, "--combine", str(link))
    assert (code, out) == (2, "")
    assert err == f"{link}: error: cannot read it: it is a device, not a regular file\n"


def test_many_classes_combine_in_time(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A class per row: what combines the classes takes time in proportion to them (finding
    the new ones once took the square of their number)."""
    n = 20_000
    rng = np.random.default_rng(1)
    for name, offset in (("ref", 0), ("cur", n // 2)):
        classes = [f"c{i}" for i in range(offset, offset + n)]
        said = [classes[i] for i in rng.integers(0, n, n)]
        table = pa.table({"x": rng.normal(0, 1, n), "y": classes, "said": said})
        pq.write_table(table, tmp_path / f"{name}.parquet")
    ref, cur = str(tmp_path / "ref.parquet"), str(tmp_path / "cur.parquet")
    roles = ["--target", "y", "--predicted-class", "said"]
    summary = str(tmp_path / "part.json")
    assert run(capsys, "--reference", ref, "--current", cur, *roles, "--partial", summary)[0] == 0
    with _failing_after(20):
        code, out, err = run(capsys, "--combine", summary)
    assert (code, err) == (1, "")
    assert "the batch has class(es) the reference's target does not: 'c20000'," in out
    assert "and 9,990 more" in out


@pytest.mark.parametrize("form", ["text", "md"])
def test_what_a_summary_says_reaches_a_terminal_escaped(
    parts: tuple[Path, Summary, Summary], capsys: pytest.CaptureFixture[str], form: str
) -> None:
    root = parts[0]
    noted = [copy.deepcopy(s) for s in parts[1:]]
    for summary in noted:
        summary["quality"]["reference"]["notes"] = ["\x1b[2J a note"]
    breach = copy.deepcopy(noted[1])
    breach["contract"] = [{"column": "x", "problem": "\x1b]0;owned\x07 its type changed"}]
    for name, summary in (("a", noted[0]), ("b", noted[1]), ("breach", breach)):
        (root / f"{name}.json").write_text(json.dumps(summary))
    for paths in (["a.json", "b.json"], ["a.json", "breach.json"]):
        code, out, err = run(capsys, "--combine", *(str(root / p) for p in paths), "--format", form)
        assert err == "" and code == 1
        assert "\x1b" not in out and "\x07" not in out
    # The drift table's Markdown escapes Markdown's own characters too, as the gates' tables do.
    shown = printable if form == "text" else plain
    _, out, _ = run(capsys, "--combine", str(root / "breach.json"), "--format", form)
    assert shown("\x1b]0;owned\x07 its type changed") in out
    _, out, _ = run(capsys, "--combine", str(root / "a.json"), "--format", form)
    assert printable("\x1b[2J a note") in out


def test_partitions_past_what_a_count_holds_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each summary's counts are scaled as a run of that many rows would write them: each holds
    alone, but the combined histogram would wrap past 64 bits and drift where nothing does."""
    rng = np.random.default_rng(4)
    pq.write_table(pa.table({"x": rng.normal(0, 1, 600)}), tmp_path / "ref.parquet")
    scale = (2**63 - 1) // 200
    paths = []
    for index in range(2):
        pq.write_table(pa.table({"x": rng.normal(0.1, 1, 200)}), tmp_path / f"c{index}.parquet")
        written = tmp_path / f"part{index}.json"
        code, _, _ = run(
            capsys,
            *("--reference", str(tmp_path / "ref.parquet")),
            *("--current", str(tmp_path / f"c{index}.parquet")),
            *("--partial", str(written), "--method", "wasserstein"),
        )
        assert code == 0
        data = json.loads(written.read_text())
        current = data["current"]
        sketch = current["sketches"]["x"]
        current["rows"], sketch["n"], sketch["m2"] = (
            current["rows"] * scale,
            sketch["n"] * scale,
            sketch["m2"] * scale,
        )
        sketch["hist"] = [c * scale for c in sketch["hist"]]
        sketch["beyond"][1] = [[k, c * scale] for k, c in sketch["beyond"][1]]
        written.write_text(json.dumps(data))
        paths.append(str(written))
    assert run(capsys, "--combine", paths[0])[0] == 0
    code, out, err = run(capsys, "--combine", *paths)
    assert (code, out) == (2, "")
    assert err == (
        f"{paths[1]}: error: is damaged: current.rows: brings the partitions' rows to"
        " 18,446,744,073,709,551,600, more than a count holds\n"
    )
