"""Partition summaries tampered with: KS's knots and counts, the bins beyond the
grid, and the model's quality are each refused at their key, and no change of one field gives
an internal error or a verdict other than the untampered summaries'."""

from __future__ import annotations

import contextlib
import copy
import io
import json
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from specops.cli import main
from tests.test_drift_quality import GATES, batch, project, write

Summary = dict[str, Any]


def quiet(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["drift", *args])
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Summary], Any]:
    """Two partitions' summaries with KS's counts, bins beyond the grid, the model's quality
    (binary and multiclass readings, scores, latency) and concept drift; and their verdict."""
    root = project(tmp_path_factory.mktemp("summaries"), batch(2, 300), GATES)
    rows = batch(2, 300, shift=1.5)  # values beyond the reference's grid
    summaries = []
    for index, part in enumerate((rows[:150], rows[150:])):
        write(root / f"c{index}.csv", part)
        out = root / f"p{index}.json"
        code, _, err = quiet(
            *("--spec", str(root / "specops.yaml"), "--current", str(root / f"c{index}.csv")),
            *("--partial", str(out), "--latency", "latency_ms", "--method", "ks"),
        )
        assert (code, err) == (0, "")
        summaries.append(json.loads(out.read_text()))
    return root, summaries, verdict(*combined(root, summaries))


def combined(root: Path, summaries: list[Summary]) -> tuple[int, str, str]:
    paths = []
    for index, summary in enumerate(summaries):
        path = root / f"t{index}.json"
        path.write_text(json.dumps(summary))
        paths.append(str(path))
    return quiet("--combine", *paths, "--format", "json")


def verdict(code: int, out: str, err: str) -> Any:
    """The combined result but for the names of the partitions, which a summary may rename."""
    assert err == ""
    found = json.loads(out)
    del found["reference"]["path"], found["current"]["path"]
    for gate in found["quality"]["gates"]:
        del gate["file"]
    return code, found


def at(data: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        data = data[key]
    return data


def _set(*path: Any, to: Any) -> Callable[[Summary], None]:
    def change(data: Summary) -> None:
        at(data, path[:-1])[path[-1]] = to

    return change


def _edit(*path: Any, how: Callable[[Any], Any]) -> Callable[[Summary], None]:
    def change(data: Summary) -> None:
        at(data, path[:-1])[path[-1]] = how(copy.deepcopy(at(data, path)))

    return change


def _swap(values: list[Any]) -> list[Any]:
    values[1], values[2] = values[2], values[1]
    return values


def _moved(hist: list[int]) -> list[int]:
    """The histogram with a count moved between two bins inside its first and last ones."""
    inner = [i for i, c in enumerate(hist) if c][1:-1]
    hist[inner[0]] -= 1
    hist[inner[-1]] += 1
    return hist


def _low_at_a_knot(data: Summary) -> None:
    """The partition's low moved up to a knot in the same bin of the grid: the histogram
    cannot tell, the counts at the knots do."""
    from specops.monitoring.summary_check import _bin

    sketch = data["current"]["sketches"]["x1"]
    knots = data["reference"]["sketches"]["x1"]["ks"]["knots"]
    low, grid = sketch["low"], sketch["grid"]
    sketch["low"] = next(k for k in knots if k > low and _bin(grid, k) == _bin(grid, low))


REF_X1 = ("reference", "sketches", "x1")
CUR_X1 = ("current", "sketches", "x1")
QUALITY = ("quality", "current")
BINARY = (*QUALITY, "binary")
TAMPERED: list[tuple[str, Callable[[Summary], None], str]] = [
    (
        "knots unsorted",
        _edit(*REF_X1, "ks", "knots", how=_swap),
        "reference.sketches.x1.ks.knots: must be 1 to 10,000 finite numbers in increasing order",
    ),
    (
        "knots beyond the range",
        _edit(*REF_X1, "ks", "knots", how=lambda k: [k[0] - 1, *k[1:]]),
        "reference.sketches.x1.ks.knots: must range from the reference's low to its high",
    ),
    (
        "counts shrinking",
        _edit(*CUR_X1, "ks", "upto", how=lambda u: [*u[:-1], u[-2] - 1]),
        "current.sketches.x1.ks: must have counts below and up to each knot that grow with the"
        " knots",
    ),
    (
        "counts beyond n",
        _edit(*CUR_X1, "ks", "upto", how=lambda u: [*u[:-1], 151]),
        "current.sketches.x1.ks.upto: must be a list of counts from 0 to 150",
    ),
    (
        "a knot not counted",
        _edit(*REF_X1, "ks", "upto", how=lambda u: [0, *u[1:]]),
        "reference.sketches.x1.ks.upto: must count each knot: every knot is a value of the"
        " reference",
    ),
    (
        "knots of the partition",
        _set(*CUR_X1, "ks", "knots", to=[0.0]),
        "current.sketches.x1.ks.knots: must be null: the knots are the reference's",
    ),
    (
        "fewer counts",
        _edit(*CUR_X1, "ks", "below", how=lambda b: b[:-1]),
        "current.sketches.x1.ks.below: must have 2,000 counts, one per knot",
    ),
    (
        "counts against the range",
        _low_at_a_knot,
        "current.sketches.x1.ks.below: disagrees with low and high at knot 364",
    ),
    (
        "counts against the histogram",
        _edit(*CUR_X1, "hist", how=_moved),
        "current.sketches.x1.ks.below: disagrees with the histogram at knot 368",
    ),
    (
        "rows",
        _set("current", "rows", to=151),
        "current.sketches.x1: n and dropped add up to 150, not the 151 rows",
    ),
    (
        "low outside its bin",
        _edit(*CUR_X1, "low", how=lambda low: low - 1),
        "current.sketches.x1.hist: must have its first and last values in low's and high's bins",
    ),
    (
        "mean",
        _set(*CUR_X1, "mean", to=100.0),
        "current.sketches.x1.mean: must lie between low and high",
    ),
    (
        "variance",
        _set(*REF_X1, "m2", to=1e9),
        "reference.sketches.x1.m2: is more than values between low and high can have",
    ),
    (
        "integers",
        _set(*CUR_X1, "integer", to=True),
        "current.sketches.x1.integer: is true, but the values are not all integers",
    ),
    (
        "level",
        _edit(*CUR_X1, "beyond", how=lambda b: [10**9, b[1]]),
        "current.sketches.x1.beyond: must be [level, bins] with a level from 0 to 64",
    ),
    (
        "beyond and the histogram",
        _edit(*CUR_X1, "beyond", how=lambda b: [b[0], [[k, c + 1] for k, c in b[1]]]),
        "current.sketches.x1.beyond: holds 0 value(s) below the grid and 20 above it, but the"
        " histogram 0 and 10",
    ),
    (
        "beyond on the grid",
        _edit(
            *CUR_X1,
            "beyond",
            how=lambda b: [b[0], [[5, c] if i == 0 else [k, c] for i, (k, c) in enumerate(b[1])]],
        ),
        "current.sketches.x1.beyond[1]: must hold bins beyond the grid, not on it",
    ),
    (
        "beyond away from high",
        _edit(*CUR_X1, "beyond", how=lambda b: [b[0], [[k + 10**6, c] for k, c in b[1]]]),
        "current.sketches.x1.beyond[1]: must have its outermost bins at low and high",
    ),
    (
        "beyond keys",
        _edit(*CUR_X1, "beyond", how=lambda b: [b[0], [["x", 1]]]),
        "current.sketches.x1.beyond[1]: must be pairs of a value and a count (1 or more)",
    ),
    (
        "confusion",
        _edit(*BINARY, "confusion", how=lambda c: [c[0] + 1, *c[1:]]),
        "quality.current.binary.confusion: adds up to 151, not the 150 rows kept",
    ),
    (
        "kept",
        _set(*BINARY, "kept", to=151),
        "quality.current.binary.kept: is more than the 150 rows",
    ),
    (
        "reading rows",
        _set(*BINARY, "rows", to=149),
        "quality.current.binary.rows: must be the partition's 150 rows",
    ),
    (
        "scores",
        _edit(*BINARY, "scores", "positive", how=lambda p: [[p[0][0], p[0][1] + 1], *p[1:]]),
        "quality.current.binary.scores.positive: tp + fn is 126, but its scores add up to 127",
    ),
    (
        "scores' bins",
        _edit(*BINARY, "scores", "negative", how=lambda p: [[70_000, p[0][1]], *p[1:]]),
        "quality.current.binary.scores.negative: must count bins from 0 to 65,535",
    ),
    (
        "scores and their grid",
        _edit(*BINARY, "scores", "values", how=lambda v: [[0.99991, *v[0][1:]], *v[1:]]),
        "quality.current.binary.scores.values: disagree with the scores' grid",
    ),
    (
        "class counts",
        _edit(*QUALITY, "multiclass", "counts", how=lambda c: [[0, 1, 1, 5], *c[1:]]),
        "quality.current.multiclass.counts: must be each class once with its rows, rows"
        " predicted and rows predicted right",
    ),
    (
        "class counts' sum",
        _edit(
            *QUALITY, "multiclass", "counts", how=lambda c: [[0, c[0][1] + 1, *c[0][2:]], *c[1:]]
        ),
        "quality.current.multiclass.counts: kept is 150, but its rows of each class add up to 151",
    ),
    (
        "classes",
        _set(*QUALITY, "classes", to=[1, 0]),
        "quality.current.classes: must be numbers, each once, in order",
    ),
    (
        "a class of another type",
        _set(*QUALITY, "classes", to=[0, "1"]),
        "quality.current.classes: must be numbers, each once, in order",
    ),
    (
        "a reading missing",
        _set(*QUALITY, "binary", to=None),
        "quality.current.binary: must be there with these roles and classes",
    ),
    (
        "latency bins",
        _edit(*QUALITY, "latency", "bins", how=lambda b: [[10**9, b[0][1]], *b[1:]]),
        "quality.current.latency.bins: must be bins of finite values",
    ),
    (
        "latency low",
        _set(*QUALITY, "latency", "low", to=0.001),
        "quality.current.latency.low: must lie in the latency's first or last bin",
    ),
    (
        "latency n",
        _set(*QUALITY, "latency", "n", to=3),
        "quality.current.latency: n is 3, but its bins add up to 150",
    ),
    (
        "gate",
        _set("quality", "gates", 0, "min", to="x"),
        "quality.gates[0]: is no performance gate",
    ),
    (
        "roles",
        _set("quality", "roles", to={"target": 5}),
        "quality.roles: must name each of target, prediction, predicted_class, latency: a"
        " column or null",
    ),
    (
        "reference metric",
        _set("quality", "reference", "binary", "side", "values", "accuracy", to=7),
        "quality.reference.binary.side.values: must be metrics from 0 to 1, or null",
    ),
    (
        "concept drift",
        _set("quality", "concept", 0, 1, "current", "sketches", "y", "n", to=-1),
        "quality.concept[0][1].current.sketches.y.n: must be a count (0 or more)",
    ),
    (
        "concept role",
        _set("quality", "concept", 0, 0, to="latency"),
        "quality.concept: must hold the drift of: target, prediction",
    ),
]


@pytest.mark.parametrize(
    ("change", "problem"), [t[1:] for t in TAMPERED], ids=[t[0] for t in TAMPERED]
)
def test_a_damaged_field_is_named(
    made: tuple[Path, list[Summary], Any],
    change: Callable[[Summary], None],
    problem: str,
    tmp_path: Path,
) -> None:
    _, summaries, _ = made
    data = copy.deepcopy(summaries[0])
    change(data)
    path = tmp_path / "part.json"
    path.write_text(json.dumps(data))
    assert quiet("--combine", str(path)) == (2, "", f"{path}: error: is damaged: {problem}\n")


def fields(data: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """The paths of every field of `data`, and of a few items of each long list."""
    yield path
    if isinstance(data, dict):
        for key, value in data.items():
            yield from fields(value, (*path, key))
    elif isinstance(data, list):
        picked = range(len(data)) if len(data) <= 6 else (0, 1, len(data) // 2, len(data) - 1)
        for index in picked:
            yield from fields(data[index], (*path, index))


DELETE, DUPLICATE = object(), object()
VALUES = st.one_of(
    st.sampled_from(
        [None, True, False, -1, 0, 1, 2, 2**63, 10**30, 0.5, -0.5, 1e300, "x", "", [], {}, [0]]
    ),
    st.sampled_from([math.nan, math.inf, -math.inf]),
    st.just(DELETE),
    st.just(DUPLICATE),
)


def tampered(data: Summary, path: tuple[Any, ...], value: Any) -> bool:
    """`data` with the field at `path` changed to `value` (or deleted, or an item of a list
    duplicated); False when that is no change."""
    if not path:
        return False
    parent, key = at(data, path[:-1]), path[-1]
    if value is DELETE:
        del parent[key]
    elif value is DUPLICATE:
        if not isinstance(parent, list):
            return False
        parent.insert(key, copy.deepcopy(parent[key]))
    else:
        same = parent[key] == value and type(parent[key]) is type(value)
        if same or (isinstance(value, float) and math.isnan(value) and parent[key] != parent[key]):
            return False
        parent[key] = value
    return True


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_no_tampered_field_gives_a_crash_or_another_verdict(
    made: tuple[Path, list[Summary], Any], data: st.DataObject
) -> None:
    """One field of one partition's summary changed: the run refuses it (exit 2, at the file)
    or gives the verdict of the untampered summaries. (What all partitions share, the settings,
    the gates and the reference's half, is taken on trust when all of them agree: a change
    there in every summary is a summary of another reference or with other settings.)"""
    root, summaries, expected = made
    path = data.draw(st.sampled_from(_fields(summaries[0])), label="field")
    value = data.draw(VALUES, label="value")
    changed = json.loads(json.dumps(summaries))  # faster than a deep copy
    if not tampered(changed[0], path, value):
        return
    code, out, err = combined(root, changed)
    if code == 2:
        assert err.startswith(f"{root / 't'}"), err
        assert "internal error" not in err
        assert json.loads(out)["valid"] is False
    else:
        assert verdict(code, out, err) == expected


_FIELDS: list[tuple[Any, ...]] = []


def _fields(summary: Summary) -> list[tuple[Any, ...]]:
    """The fields to tamper with, found once."""
    if not _FIELDS:
        _FIELDS.extend(sorted(set(fields(summary)), key=repr))
    return _FIELDS
