"""Every kind of bad input gets `PATH:LINE:COL: error: key.path: message`, exactly."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from specops.spec import SpecError, parse_spec

PARAMS = "train:\n  seed: 1\n  lr: 0.1\n"


def errors(text: str | bytes, tmp_path: Path, params: str | None = PARAMS) -> list[str]:
    """The error lines for a spec given as (dedented) text or raw bytes."""
    if params is not None:
        (tmp_path / "params.yaml").write_text(params)
    raw = text if isinstance(text, bytes) else textwrap.dedent(text).lstrip("\n").encode()
    with pytest.raises(SpecError) as caught:
        parse_spec("specops.yaml", raw, tmp_path)
    return str(caught.value).splitlines()


YAML_CASES = {
    "syntax": (
        b"version: 1\nname: demo\nstages: [a\n",
        # libyaml reports the end of input on a line after the last one: shown at the end.
        ["specops.yaml:3:11: error: (root): invalid YAML: did not find expected ',' or ']'"],
    ),
    "tab indentation": (
        b"version: 1\n\tname: demo\n",
        [
            "specops.yaml:2:1: error: (root): invalid YAML: "
            "found a tab character that violates indentation"
        ],
    ),
    "duplicate key": (
        b"version: 1\nname: demo\nname: other\n",
        ["specops.yaml:3:1: error: name: duplicate key 'name' (first defined on line 2)"],
    ),
    "nested duplicate key": (
        b"version: 1\nstages:\n  a:\n    cmd: x\n    cmd: y\n",
        ["specops.yaml:5:5: error: stages.a.cmd: duplicate key 'cmd' (first defined on line 4)"],
    ),
    "not a mapping": (
        b"- a\n- b\n",
        ["specops.yaml:1:1: error: (root): expected a mapping at the top level, got a list"],
    ),
    "scalar root": (
        b"hello\n",
        ["specops.yaml:1:1: error: (root): expected a mapping at the top level, got 'hello'"],
    ),
    "empty": (b"", ["specops.yaml:1:1: error: (root): the file is empty; expected a mapping"]),
    "only comments": (
        b"# nothing yet\n",
        ["specops.yaml:1:1: error: (root): the file is empty; expected a mapping"],
    ),
    "two documents": (
        b"a: 1\n---\nb: 2\n",
        [
            "specops.yaml:2:1: error: (root): invalid YAML: "
            "expected a single document in the stream, but found another document"
        ],
    ),
    "not utf-8": (
        b"version: 1\nname: caf\xe9\n",
        ["specops.yaml:2:10: error: (root): not valid UTF-8 (byte 0xe9)"],
    ),
    "not utf-8, counted in characters": (
        "version: 1\r\nname: \u00e9\u00e9".encode() + b"\xff\n",
        ["specops.yaml:2:9: error: (root): not valid UTF-8 (byte 0xff)"],
    ),
    "not utf-8 after a BOM": (
        b"\xef\xbb\xbfversion: \xfe\n",
        ["specops.yaml:1:10: error: (root): not valid UTF-8 (byte 0xfe)"],
    ),
    "control character after other line breaks": (
        "name: \u00e9\u2028\u00e9\x00\n".encode(),
        [
            "specops.yaml:2:2: error: (root): invalid YAML: "
            "control characters are not allowed (U+0000)"
        ],
    ),
    "control character": (
        b"version: 1\nname: \x01\n",
        [
            "specops.yaml:2:7: error: (root): invalid YAML: "
            "control characters are not allowed (U+0001)"
        ],
    ),
    "python tag": (
        b"version: !!python/object/apply:os.system ['true']\n",
        [
            "specops.yaml:1:10: error: version: unsupported YAML tag "
            "'tag:yaml.org,2002:python/object/apply:os.system'"
        ],
    ),
    "recursive alias": (
        b"a: &x [*x]\n",
        [
            "specops.yaml:1:4: error: (root): "
            "an alias refers to a node that contains it (recursive alias)"
        ],
    ),
    "keys that are not strings": (
        b"version: 1\nstages: {~: {cmd: x}, 2: {cmd: y}}\n1.5: x\n",
        [
            "specops.yaml:2:10: error: stages.None: keys must be strings, got nothing (null)",
            "specops.yaml:2:23: error: stages[2]: keys must be strings, got 2",
            "specops.yaml:3:1: error: 1.5: keys must be strings, got 1.5",
        ],
    ),
    "nested too deeply": (
        b"a: " + b"[" * 900 + b"]" * 900 + b"\n",
        [f"specops.yaml:1:104: error: a{'[0]' * 100}: nested more than 100 levels deep"],
    ),
    "complex key": (
        b"? [a, b]\n: 1\n",
        [
            "specops.yaml:1:3: error: (root): "
            "a mapping key must be a plain value, not a list or mapping"
        ],
    ),
}


@pytest.mark.parametrize("raw, expected", YAML_CASES.values(), ids=YAML_CASES.keys())
def test_yaml_errors(raw: bytes, expected: list[str], tmp_path: Path) -> None:
    assert errors(raw, tmp_path) == expected


def test_alias_bomb_is_refused_quickly(tmp_path: Path) -> None:
    # Nine levels of ten aliases each: a billion nodes if expanded.
    lines = ["l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 9)]
    raw = ("\n".join(lines) + "\n").encode()
    assert errors(raw, tmp_path) == [
        "specops.yaml:1:1: error: (root): "
        "the document expands to more than 1,000,000 nodes through aliases"
    ]


def test_a_leading_bom_is_accepted(tmp_path: Path) -> None:
    raw = "\ufeffversion: 1\nname: demo\nmaturity: 0\nstages: {a: {cmd: x}}\n".encode()
    spec, _ = parse_spec("specops.yaml", raw, tmp_path)
    assert spec.name == "demo"


SCHEMA_CASES = {
    "unknown key with suggestion": (
        """
        version: 1
        name: demo
        maturity: 0
        stages:
          a:
            cmd: x
            stepz: train
        """,
        ["specops.yaml:7:5: error: stages.a.stepz: unknown key; did you mean 'step'?"],
    ),
    "unknown top-level key": (
        """
        version: 1
        name: demo
        maturity: 0
        stage: {}
        stages: {a: {cmd: x}}
        """,
        ["specops.yaml:4:1: error: stage: unknown key; did you mean 'stages'?"],
    ),
    "wrong version, name and maturity": (
        """
        version: 2
        name: My Project
        maturity: 5
        stages: {a: {cmd: x}}
        """,
        [
            "specops.yaml:1:10: error: version: must be 1, got 2",
            "specops.yaml:2:7: error: name: 'My Project' does not match the pattern "
            "^[a-z0-9][a-z0-9-]*$",
            "specops.yaml:3:11: error: maturity: must be 0, 1, 2, 3 or 4, got 5",
        ],
    ),
    "missing keys": (
        """
        version: 1
        stages:
          a:
            deps: [x]
        """,
        [
            "specops.yaml:1:1: error: maturity: required key is missing",
            "specops.yaml:1:1: error: name: required key is missing",
            "specops.yaml:4:5: error: stages.a.cmd: required key is missing",
        ],
    ),
    "wrong types": (
        """
        version: 1
        name: demo
        maturity: 0
        stages:
          a:
            cmd: 3
            outs: [a, {b: {cache: maybe}}, 5, {c: {}, d: {}}]
        ci:
          python: 3.11
        """,
        [
            "specops.yaml:6:10: error: stages.a.cmd: must be a command or a list of commands",
            "specops.yaml:7:27: error: stages.a.outs[1].b.cache: "
            "must be a valid boolean, got 'maybe'",
            "specops.yaml:7:36: error: stages.a.outs[2]: "
            "must be a path or a mapping of one path to its options",
            "specops.yaml:7:39: error: stages.a.outs[3]: must map exactly one path to its options",
            "specops.yaml:9:11: error: ci.python: expected a string, got the number 3.11; "
            'quote it, as in "3.11"',
        ],
    ),
    "non-finite threshold and bad tolerance": (
        """
        version: 1
        name: demo
        maturity: 0
        stages: {a: {cmd: x, metrics: [m.json]}}
        gates:
          - metric: auc
            min: .nan
          - metric: auc
            vs: main
            tolerance: lots
        """,
        [
            "specops.yaml:7:10: error: gates[0].min: must be a finite number, got nan",
            "specops.yaml:10:16: error: gates[1].tolerance: "
            "must be a number >= 0 or a percentage such as '2%'",
        ],
    ),
    "bad cron schedule": (
        """
        version: 1
        name: demo
        maturity: 0
        stages: {a: {cmd: x}}
        monitoring: {reference: a.csv, current: b.csv, schedule: every monday}
        """,
        [
            "specops.yaml:5:58: error: monitoring.schedule: "
            "must be a cron expression of five fields, such as '0 6 * * 1'"
        ],
    ),
}


@pytest.mark.parametrize("text, expected", SCHEMA_CASES.values(), ids=SCHEMA_CASES.keys())
def test_schema_errors(text: str, expected: list[str], tmp_path: Path) -> None:
    assert errors(text, tmp_path) == expected


MINIMAL = "version: 1\nname: demo\nmaturity: 0\nstages: {a: {cmd: x}}\n"


@pytest.mark.parametrize(
    "python, expected",
    [
        ("3.10", 'expected a string, got the number 3.10; quote it, as in "3.10"'),
        ("3.100", 'expected a string, got the number 3.100; quote it, as in "3.100"'),
        ("3", 'expected a string, got the number 3; quote it, as in "3"'),
        ('"3.9"', "specops needs Python 3.10 or later; '3.9' is older"),
        ('"3.0"', "specops needs Python 3.10 or later; '3.0' is older"),
    ],
)
def test_ci_python(python: str, expected: str, tmp_path: Path) -> None:
    assert errors(f"{MINIMAL}ci:\n  python: {python}\n", tmp_path) == [
        f"specops.yaml:6:11: error: ci.python: {expected}"
    ]


@pytest.mark.parametrize("python", ['"3.10"', '"3.13"', '"3.100"'])
def test_ci_python_accepted(python: str, tmp_path: Path) -> None:
    raw = f"{MINIMAL}ci:\n  python: {python}\n".encode()
    spec, _ = parse_spec("specops.yaml", raw, tmp_path)
    assert spec.ci.python == python.strip('"')


CRON_ERRORS = {
    "0 25 * * *": "the hour field '25' is not in 0-23",
    "60 * * * *": "the minute field '60' is not in 0-59",
    "0 0 0 * *": "the day of month field '0' is not in 1-31",
    "0 0 32 * *": "the day of month field '32' is not in 1-31",
    "0 0 * 13 *": "the month field '13' is not in 1-12 or JAN-DEC",
    "0 0 * 0 *": "the month field '0' is not in 1-12 or JAN-DEC",
    "0 0 * JANUARY *": "the month field 'JANUARY' is not in 1-12 or JAN-DEC",
    "0 0 * * 7": "the day of week field '7' is not in 0-6 or SUN-SAT",
    "0 0 * * MON-FRIDAY": "the day of week field 'MON-FRIDAY' has 'FRIDAY', which is not in "
    "0-6 or SUN-SAT",
    "0 1,2,24 * * *": "the hour field '1,2,24' has '24', which is not in 0-23",
    "0 5-1 * * *": "the hour field '5-1' has the range '5-1', whose start is after its end",
    "0 0 * * FRI-MON": "the day of week field 'FRI-MON' has the range 'FRI-MON', whose start "
    "is after its end",
    "*/0 * * * *": "the minute field '*/0' has the step '0'; a step must be a whole number "
    "of at least 1",
    "0-30/x * * * *": "the minute field '0-30/x' has the step 'x'; a step must be a whole "
    "number of at least 1",
    "1- * * * *": "the minute field '1-' has '', which is not in 0-59",
    "1,,2 * * * *": "the minute field '1,,2' has '', which is not in 0-59",
    "0 0 L * *": "the day of month field 'L' uses 'L', which GitHub Actions does not support",
    "0 0 15W * *": "the day of month field '15W' uses 'W', which GitHub Actions does not support",
    "0 0 * * 5#3": "the day of week field '5#3' uses '#', which GitHub Actions does not support",
    "0 0 ? * 1": "the day of month field '?' uses '?', which GitHub Actions does not support",
    "0 0 * * 5L": "the day of week field '5L' uses 'L', which GitHub Actions does not support",
    "0 0 * *": "must be a cron expression of five fields, such as '0 6 * * 1'",
    "0 0 * * * 2026": "must be a cron expression of five fields, such as '0 6 * * 1'",
    "0 \uff16 * * *": "the hour field '\uff16' is not in 0-23",  # a full-width digit six
}


@pytest.mark.parametrize("schedule, expected", CRON_ERRORS.items(), ids=CRON_ERRORS.keys())
def test_cron_fields(schedule: str, expected: str, tmp_path: Path) -> None:
    text = f"{MINIMAL}monitoring: {{reference: a.csv, current: b.csv, schedule: '{schedule}'}}\n"
    assert errors(text, tmp_path) == [f"specops.yaml:5:58: error: monitoring.schedule: {expected}"]


@pytest.mark.parametrize(
    "schedule",
    [
        "0 6 * * 1",
        "*/15 * * * *",
        "0-30/5 0-23/2 1-31/3 */2 *",
        "5/15 * * * *",
        "0 0 1,15 JAN,jul *",
        "0 9 * * MON-FRI",
        "0 9 * * sun,SAT",
        "59 23 31 12 6",
        "0 0 1 1 0",
    ],
)
def test_cron_accepted(schedule: str, tmp_path: Path) -> None:
    text = f"{MINIMAL}monitoring: {{reference: a.csv, current: b.csv, schedule: '{schedule}'}}\n"
    spec, _ = parse_spec("specops.yaml", text.encode(), tmp_path)
    assert spec.monitoring is not None and spec.monitoring.schedule == schedule


def test_the_depth_guard_applies_through_aliases(tmp_path: Path) -> None:
    # Sixty levels under an anchor, used sixty levels down: 120 deep only once expanded. The
    # position is where the too-deep node is written, inside the anchored value.
    raw = b"a: &deep " + b"[" * 60 + b"]" * 60 + b"\nb: " + b"[" * 60 + b"*deep" + b"]" * 60
    assert errors(raw + b"\n", tmp_path) == [
        f"specops.yaml:1:50: error: b{'[0]' * 100}: nested more than 100 levels deep"
    ]


def test_an_explicit_key_overrides_a_merged_one_without_being_a_duplicate() -> None:
    from specops.spec.yamlfile import load_yaml

    raw = b"base: &base {cmd: x, desc: shared}\nstage:\n  <<: *base\n  cmd: y\n"
    doc = load_yaml("specops.yaml", raw)
    assert doc.data["stage"] == {"cmd": "y", "desc": "shared"}
    assert doc.keys[("stage", "cmd")] == (4, 3)


@pytest.mark.parametrize("value", [".inf", "-.inf", ".nan"])
def test_thresholds_must_be_finite(value: str, tmp_path: Path) -> None:
    text = f"{MINIMAL}gates:\n  - metric: auc\n    max: {value}\n"
    number = {".inf": "inf", "-.inf": "-inf", ".nan": "nan"}[value]
    assert errors(text, tmp_path) == [
        f"specops.yaml:7:10: error: gates[0].max: must be a finite number, got {number}"
    ]


def test_values_are_not_coerced_from_other_types(tmp_path: Path) -> None:
    text = """\
version: 1
name: demo
maturity: 1
stages:
  s:
    cmd: echo
    always_changed: "yes"
    outs: [{a: {cache: 1}}]
ci:
  timeout_minutes: true
  python: "3.11"
"""
    assert errors(text, tmp_path) == [
        "specops.yaml:7:21: error: stages.s.always_changed: must be a valid boolean, got 'yes'",
        "specops.yaml:8:24: error: stages.s.outs[0].a.cache: must be a valid boolean, got 1",
        "specops.yaml:10:20: error: ci.timeout_minutes: must be a valid integer, got true",
    ]
    assert errors(
        text.replace("true", '"30"').replace('"yes"', "true").replace("1}", "true}"), tmp_path
    ) == ["specops.yaml:10:20: error: ci.timeout_minutes: must be a valid integer, got '30'"]


def test_a_merge_key_takes_a_list_of_mappings_the_first_winning() -> None:
    from specops.spec.yamlfile import load_yaml

    raw = b"a: &a {x: 1, y: 1}\nb: &b {x: 2, z: 2}\nc:\n  <<: [*a, *b]\n  w: 3\n"
    assert load_yaml("specops.yaml", raw).data["c"] == {"x": 1, "y": 1, "z": 2, "w": 3}


def test_every_problem_of_a_merge_is_reported(tmp_path: Path) -> None:
    assert errors(f"{MINIMAL}c:\n  <<: [{{k: 1, k: 2}}, 5]\n", tmp_path) == [
        "specops.yaml:6:3: error: c: a merge key (<<) needs a mapping",
        "specops.yaml:6:15: error: c.k: duplicate key 'k' (first defined on line 6)",
    ]


def test_a_tolerance_of_zero_is_allowed(tmp_path: Path) -> None:
    text = (
        "version: 1\nname: demo\nmaturity: 0\n"
        "stages: {a: {cmd: x, metrics: [scores.json]}}\n"
        "gates:\n  - metric: auc\n    vs: main\n    tolerance: 0\n"
    )
    spec, _ = parse_spec("specops.yaml", text.encode(), tmp_path)
    assert spec.gates[0].tolerance == 0


@pytest.mark.parametrize(
    "value, described", [("true", "true"), ("false", "false"), ("{a: 1}", "a mapping")]
)
def test_a_wrong_value_is_described_as_written(value: str, described: str, tmp_path: Path) -> None:
    text = f"version: 1\nname: {value}\nmaturity: 0\nstages: {{a: {{cmd: x}}}}\n"
    assert errors(text, tmp_path) == [
        f"specops.yaml:2:7: error: name: expected a string, got {described}"
    ]


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("---\n\ufeff", "specops.yaml:2:2: error: (root): expected a mapping"),
        ("\ufeff---\n", "specops.yaml:1:4: error: (root): expected a mapping"),
        ("---\n\n\n", "specops.yaml:1:4: error: (root): expected a mapping"),
    ],
)
def test_an_empty_node_at_the_end_is_placed_inside_the_file(
    raw: str, expected: str, tmp_path: Path
) -> None:
    assert errors(raw.encode(), tmp_path) == [f"{expected} at the top level, got nothing (null)"]
