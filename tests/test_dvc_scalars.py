"""Values mean to specops what they mean to DVC: plain scalars are read by the rules of DVC's own
loader (ruamel.yaml's safe loader, YAML 1.2), and dvc.yaml quotes every string that loader would
read as something else. DVC's `parse_yaml` is the oracle throughout."""

from __future__ import annotations

import datetime
import json
import math
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest
from dvc.utils.serialize import parse_yaml  # type: ignore[import-untyped]
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from specops.generators.dvc import render_dvc
from specops.spec import Spec, SpecError, parse_spec
from specops.spec.models import Stage
from specops.spec.yamlfile import load_yaml
from tests.gitrepo import make_project, run

#: Scalars that YAML 1.1 and YAML 1.2 read differently, or that look like numbers, dates or
#: booleans in one of them; unicode and plain words for contrast.
HOSTILE = [
    "on", "off", "On", "OFF", "yes", "no", "Yes", "NO", "y", "n", "true", "False", "TRUE",
    "tRue", "010", "-010", "0o17", "0x1F", "0b101", "09", "007", "00", "-0", "+12", "1e3",
    "1E3", "1e+3", "-1e-3", ".5e3", ".5e+3", "1.", ".5", "1_000", "1_0.5", "1__", "_1",
    ".inf", "-.inf", "+.inf", ".Inf", ".iNf", ".nan", ".NaN", "-.nan", "~", "null", "Null",
    "NULL", "nUll", "2024-01-01", "2024-1-1", "2024-01-01 12:30:00", "2024-01-01T12:30:00Z",
    "2024-01-01t12:30:00.1234567+05:30", "12:30", "1:20:30", "12:30.5", "0x", "0xG", "+-1",
    "1e3_0", "é", "\uff11\uff12", "データ", "rf", "0.1",
]  # fmt: skip
#: Plain scalars that DVC's loader matches as a number or a date and then fails to build:
#: DVC stops with a traceback on them, specops with an error.
UNREADABLE = ["-_", "._", "0b_", "0o_", "0x_", "2024-13-01", "2024-02-30 10:00:00", "9" * 5000]


def dvc_reads(text: str) -> Any:
    return parse_yaml(text, "dvc.yaml")


def same(a: Any, b: Any) -> bool:
    """Equal values of the same types all the way down; NaN equals NaN."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, dict) and isinstance(b, dict):
        return same(list(a.items()), list(b.items()))
    if isinstance(a, (list, tuple)) and type(a) is type(b):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


@pytest.mark.parametrize("token", HOSTILE)
@pytest.mark.parametrize("form", ["a: {}\n", "- {}\n", "[{}]\n", "{}: 1\n"])
def test_plain_scalars_are_read_as_dvc_reads_them(token: str, form: str) -> None:
    text = form.format(token)
    ours, theirs = load_yaml("x.yaml", text.encode()).data, dvc_reads(text)
    assert same(ours, theirs), (ours, theirs)
    if form == "a: {}\n" and isinstance(theirs["a"], datetime.datetime):
        assert ours["a"].tzinfo == theirs["a"].tzinfo


@pytest.mark.parametrize("token", UNREADABLE)
def test_scalars_dvc_cannot_build_are_errors_at_their_position(token: str) -> None:
    with pytest.raises(ValueError):  # DVC's own loader fails on them: not a YAML error
        dvc_reads(f"a: {token}\n")
    with pytest.raises(SpecError) as caught:
        load_yaml("x.yaml", f"a: {token}\n".encode())
    what = "a date" if token.startswith("2024") else "an integer"
    what = "a number" if token == "._" else what
    assert str(caught.value) == (
        f"x.yaml:1:4: error: a: invalid value: {token[:60]!r} is not {what}; quote it if it is text"
    )


def test_an_integer_too_long_to_write_as_text_is_an_error_at_its_position() -> None:
    """DVC reads `0x` and `0o` integers of any size, and then fails (Python's ValueError) on
    the first one it puts into text or writes to dvc.lock; specops would fail there too."""
    for token in ("0x" + "f" * 3600, "-0o" + "7" * 4800, "0b1" + "0" * 14_300):
        value = dvc_reads(f"a: {token}\n")["a"]
        with pytest.raises(ValueError, match="Exceeds the limit"):
            str(value)
        with pytest.raises(SpecError) as caught:
            load_yaml("x.yaml", f"a: [1, {token}]\n".encode())
        assert str(caught.value) == (
            f"x.yaml:1:8: error: a[1]: invalid value: {token[:60]!r} is an integer of more"
            " than 4,300 digits, which DVC cannot write out"
        )
    assert load_yaml("x.yaml", f"a: 0x{'f' * 3500}\n".encode()).data["a"] == 16**3500 - 1


@pytest.mark.parametrize(
    "text, expected",
    [
        ("a: !!int 010\n", 10),
        ("a: !!bool yes\n", True),
        ("a: !!float 1\n", 1.0),
        ("a: !!str 010\n", "010"),
        ("a: ! 010\n", 10),
        ("a: !!null x\n", None),
        ("a: '010'\n", "010"),
        ('a: "on"\n', "on"),
    ],
)
def test_tagged_and_quoted_scalars_are_read_as_dvc_reads_them(text: str, expected: Any) -> None:
    assert same(dvc_reads(text)["a"], expected)
    assert same(load_yaml("x.yaml", text.encode()).data["a"], expected)


def test_a_tagged_scalar_that_is_not_its_type_is_an_error() -> None:
    for text, what in (("a: !!int x\n", "an integer"), ("a: !!bool maybe\n", "a boolean")):
        with pytest.raises((ValueError, KeyError)):
            dvc_reads(text)
        with pytest.raises(SpecError) as caught:
            load_yaml("x.yaml", text.encode())
        value = text.split()[-1]
        assert str(caught.value) == f"x.yaml:1:4: error: a: invalid value: {value!r} is not {what}"


def test_a_yaml_1_1_directive_is_refused_where_it_is() -> None:
    text = "# settings\n%YAML 1.1\n---\naug: [on, off]\nseed: 010\n"
    assert dvc_reads(text) == {"aug": [True, False], "seed": 8}  # DVC follows the directive
    with pytest.raises(SpecError) as caught:
        load_yaml("x.yaml", text.encode())
    assert str(caught.value) == (
        "x.yaml:2:1: error: (root): a %YAML 1.1 directive changes how DVC reads values"
        " (`on` becomes true, `010` becomes 8); remove it: specops reads YAML 1.2"
    )
    text = text.replace("1.1", "1.2")
    assert (
        load_yaml("x.yaml", text.encode()).data
        == dvc_reads(text)
        == {
            "aug": ["on", "off"],
            "seed": 10,
        }
    )


# Characters that make plain scalars look like numbers, dates, booleans and nulls.
NUMBERISH = st.text(st.sampled_from("0123456789_-+.:eExXoObBaAfFnNtTlLrRuUsSyYiI~ "), max_size=14)


@settings(max_examples=400, deadline=None)
@given(token=NUMBERISH)
def test_generated_plain_scalars_are_read_as_dvc_reads_them(token: str) -> None:
    text = f"a: {token}\n"
    try:
        theirs = dvc_reads(text)
    except (ValueError, KeyError):
        with pytest.raises(SpecError, match="invalid value"):
            load_yaml("x.yaml", text.encode())
        return
    except Exception:  # not YAML that DVC reads: syntax is not what this test is about
        assume(False)
        raise
    try:
        ours = load_yaml("x.yaml", text.encode()).data
    except SpecError as exc:
        assume("invalid YAML" not in str(exc))
        raise
    assert same(ours, theirs), (ours, theirs)


HEAD = "version: 1\nname: scalars\nmaturity: 0\nstages:\n"


def spec_text(token: str) -> str:
    """A stage that writes `token` by hand, unquoted, wherever dvc.yaml takes a value."""
    stage = f"s:\n  desc: {token}\n  matrix: {{v: [{token}]}}\n  cmd: echo ${{item.v}}\n"
    return HEAD + textwrap.indent(f"{stage}  deps: [{token}]\n", "  ")


@pytest.mark.parametrize("token", [t for t in HOSTILE if "," not in t])
def test_the_spec_means_what_dvc_yaml_written_by_hand_means(token: str, tmp_path: Path) -> None:
    """The same text as dvc.yaml and as the spec: where DVC reads a string, specops reads that
    string and renders a dvc.yaml that DVC reads back as it; where DVC reads anything else in a
    place for text, specops refuses it at its position."""
    by_hand = dvc_reads(spec_text(token))["stages"]["s"]
    value = by_hand["desc"]
    try:
        spec, _ = parse_spec("specops.yaml", spec_text(token).encode(), tmp_path)
    except SpecError as exc:
        assert not isinstance(value, str)
        places = [(9, 12, "deps[0]")] + ([(6, 11, "desc")] if value is not None else [])
        for line, col, field in places:  # a null desc is no desc
            where = f"specops.yaml:{line}:{col}: error: stages.s.{field}: expected a string, got"
            assert where in str(exc)
        return
    assert isinstance(value, str)
    stage = spec.stages["s"]
    assert isinstance(stage, Stage)
    assert stage.desc == value and stage.deps == by_hand["deps"] == [value]
    assert stage.matrix is not None and same(stage.matrix["v"], by_hand["matrix"]["v"])
    rendered = dvc_reads(render_dvc(spec, "specops.yaml"))["stages"]["s"]
    assert same(rendered, by_hand), (rendered, by_hand)


SAFE_TEXT = st.text(st.characters(exclude_categories=["Cs", "Cc"]), min_size=1).filter(
    lambda s: "${" not in s and s.strip() == s
)
STAGE_NAME = r"[A-Za-z0-9_-]{1,8}"
VALUES = st.one_of(
    NUMBERISH.filter(bool),
    st.sampled_from(HOSTILE),
    SAFE_TEXT,
    st.integers(),
    st.floats(allow_nan=False),
    st.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(
    text=st.one_of(NUMBERISH.filter(lambda s: s.strip()), st.sampled_from(HOSTILE), SAFE_TEXT),
    values=st.lists(VALUES, min_size=1, max_size=4),
    name=st.one_of(
        st.sampled_from([t for t in HOSTILE if re.fullmatch(STAGE_NAME, t)]),
        st.from_regex(STAGE_NAME, fullmatch=True),
    ),
)
def test_dvc_reads_back_exactly_what_the_spec_holds(
    text: str, values: list[Any], name: str
) -> None:
    spec = Spec.model_validate(
        {
            "version": 1,
            "name": "x",
            "maturity": 0,
            "stages": {
                name: {
                    "desc": text,
                    "cmd": [text, text],
                    "deps": [text],
                    "outs": [{text: {"desc": text, "remote": text}}],
                    "matrix": {"v": values},
                }
            },
            "models": {"m": {"path": text, "desc": text, "labels": [text]}},
            "metrics": [text],
        }
    )
    read = dvc_reads(render_dvc(spec, "specops.yaml"))
    stage = read["stages"][name]
    assert stage["desc"] == text and stage["cmd"] == [text, text] and stage["deps"] == [text]
    assert stage["outs"] == [{text: {"desc": text, "remote": text}}]
    assert same(stage["matrix"]["v"], values)
    assert read["artifacts"]["m"] == {"path": text, "type": "model", "desc": text, "labels": [text]}
    assert read["metrics"] == [text]


#: Matrix values whose meaning differs between YAML 1.1 and 1.2, each distinct as DVC names it.
MATRIX = "[on, off, 010, 0o17, 1e3, .inf, 1_000, 12:30, 09, -0, true, 0x1F, .5e+3, é, '010']"
LIST_STAGES = """
import json
from dvc.repo import Repo

with Repo() as repo:
    print(json.dumps({s.addressing: [s.cmd, [str(o) for o in s.outs]] for s in repo.index.stages}))
"""


def test_dvc_runs_the_values_the_spec_was_read_with(tmp_path: Path) -> None:
    from specops.spec.resolve import expand

    spec = HEAD + textwrap.indent(
        textwrap.dedent(
            f"""\
            sweep:
              matrix: {{v: {MATRIX}}}
              cmd: echo ${{item.v}}
              outs: ["out/${{item.v}}"]
            """
        ),
        "  ",
    )
    root = make_project(tmp_path / "p", {"specops.yaml": spec})
    seen = json.loads(run(root, "python", "-c", LIST_STAGES).stdout)
    parsed, doc = parse_spec("specops.yaml", spec.encode(), root)
    names = "on off 10 15 1000.0 inf 1000 12:30 9 0 true 31 500.0 é 010".split(" ")  # noqa: SIM905
    assert seen == {f"sweep@{v}": [f"echo {v}", [f"out/{v}"]] for v in names}
    assert list(seen) == [inst.name for inst in expand(parsed, doc, root)]
    assert [inst.outs[0][0] for inst in expand(parsed, doc, root)] == [f"out/{v}" for v in names]


@pytest.mark.parametrize("token", HOSTILE)
def test_metrics_files_are_read_as_dvc_reads_them(token: str) -> None:
    from specops.gates.metrics import MetricsError, parse

    text = f"value: {token}\n"
    try:
        theirs = dvc_reads(text)["value"]
    except ValueError:
        with pytest.raises(MetricsError, match=r"cannot parse m\.yaml as YAML"):
            parse("m.yaml", text.encode())
        return
    assert same(parse("m.yaml", text.encode())["value"], theirs)


def test_a_metrics_scalar_dvc_cannot_build_is_a_parse_error() -> None:
    from specops.gates.metrics import MetricsError, parse

    with pytest.raises(MetricsError) as caught:
        parse("m.yaml", b"auc: 2024-13-01\n")
    assert caught.value.reason == "cannot parse m.yaml as YAML: '2024-13-01' is not a date"
