"""Gate evaluation from the bytes of metrics files: formats, semantics and every failure reason."""

from __future__ import annotations

from typing import Any

import pytest

from specops.gates.evaluate import Baseline, Sources, evaluate
from specops.gates.metrics import MetricsError, parse
from specops.gates.result import GateResult
from specops.gates.run import GateRun
from specops.spec.models import Gate

REF = "main at 0123456789ab"


def reader(files: dict[str, bytes]) -> Any:
    return lambda path: files.get(path)


def check(
    gate: dict[str, Any],
    candidate: bytes | None,
    baseline: bytes | Baseline | None = None,
    *,
    require_baseline: bool = False,
) -> GateResult:
    """One gate on `m.json`; `baseline` is the baseline's `m.json`, or a Baseline as it is."""
    if isinstance(baseline, Baseline):
        base = baseline
    else:
        base = Baseline(REF, read=reader({"m.json": baseline} if baseline is not None else {}))
    sources = Sources(
        candidate=reader({"m.json": candidate} if candidate is not None else {}),
        baseline=lambda vs: base,
        default_file="m.json",
        files=["m.json"],
    )
    [result] = evaluate([Gate.model_validate(gate)], sources, require_baseline=require_baseline)
    return result


def test_min_passes_with_its_margin() -> None:
    result = check({"metric": "auc", "min": 0.95}, b'{"auc": 0.96}')
    assert (result.status, result.value, result.margin, result.reason) == ("pass", 0.96, 0.01, "")
    assert (result.threshold, result.file, result.baseline_ref) == (">= 0.95", "m.json", None)


def test_min_is_inclusive() -> None:
    result = check({"metric": "auc", "min": 0.95}, b'{"auc": 0.95}')
    assert (result.status, result.margin) == ("pass", 0.0)


def test_min_fails_below() -> None:
    result = check({"metric": "auc", "min": 0.95}, b'{"auc": 0.94}')
    assert (result.status, result.margin) == ("fail", -0.01)
    assert result.reason == "0.94 is below the minimum 0.95"


def test_better_lower_with_max() -> None:
    gate = {"metric": "latency", "better": "lower", "max": 5}
    assert check(gate, b'{"latency": 5}').status == "pass"
    result = check(gate, b'{"latency": 6.5}')
    assert (result.status, result.margin, result.threshold) == ("fail", -1.5, "<= 5")
    assert result.reason == "6.5 is above the maximum 5"


def test_nearest_bound_gives_the_margin() -> None:
    result = check({"metric": "auc", "min": 0.5, "max": 0.97}, b'{"auc": 0.96}')
    assert (result.status, result.margin, result.threshold) == ("pass", 0.01, ">= 0.5 and <= 0.97")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (b'{"auc": NaN}', "auc in m.json is NaN"),
        (b'{"auc": Infinity}', "auc in m.json is infinite"),
        (b'{"auc": -Infinity}', "auc in m.json is infinite"),
        (b'{"auc": "0.99"}', "auc in m.json is the string '0.99', not a number"),
        (b'{"auc": true}', "auc in m.json is true, not a number"),
        (b'{"auc": null}', "auc in m.json is empty, not a number"),
        (b'{"auc": [0.99]}', "auc in m.json is a list, not a number"),
        (b'{"auc": {}}', "auc in m.json is an empty mapping, not a number"),
        (b'{"auc": {"macro": 0.99}}', "auc in m.json is a mapping, not a number"),
        (b'{"auc": 1' + b"0" * 400 + b"}", "auc in m.json is too large for a number"),
        (b'{"roc_auc": 0.99}', "auc is not in m.json; did you mean 'roc_auc'?"),
        (b'{"f1": 0.99}', "auc is not in m.json"),
        (b'{"auc": ', "cannot parse m.json as JSON: Expecting value: line 1 column 9 (char 8)"),
        (b"[0.99]", "cannot read m.json: expected a mapping of metrics, it is a list"),
        (b"", "cannot parse m.json as JSON: Expecting value: line 1 column 1 (char 0)"),
        (b'{"auc": 0.9\xff}', "cannot parse m.json: not UTF-8 (invalid start byte at byte 11)"),
        (None, "m.json does not exist"),
    ],
)
def test_fails_closed(text: bytes | None, reason: str) -> None:
    result = check({"metric": "auc", "min": 0.0}, text)
    assert (result.status, result.value, result.margin, result.reason) == (
        "fail",
        None,
        None,
        reason,
    )
    assert result.threshold == ">= 0"


def test_nan_never_passes_a_comparison() -> None:
    result = check({"metric": "auc", "vs": "main"}, b'{"auc": 0.9}', b'{"auc": NaN}')
    assert result.status == "fail"
    assert result.reason == f"auc in m.json is NaN at the baseline ({REF})"


def test_tolerance_absolute_within_and_beyond() -> None:
    gate = {"metric": "f1", "vs": "main", "tolerance": 0.01}
    within = check(gate, b'{"f1": 0.96}', b'{"f1": 0.967}')
    assert (within.status, within.baseline, within.margin) == ("pass", 0.967, 0.003)
    assert (within.baseline_ref, within.threshold) == (REF, ">= main - 0.01 (0.957)")
    assert check(gate, b'{"f1": 0.957}', b'{"f1": 0.967}').status == "pass"  # at the bound
    beyond = check(gate, b'{"f1": 0.95}', b'{"f1": 0.967}')
    assert (beyond.status, beyond.margin) == ("fail", -0.007)
    assert beyond.reason == (
        f"0.95 is worse than the baseline 0.967 ({REF}) by 0.017, more than the tolerance 0.01"
    )


def test_tolerance_relative_within_and_beyond() -> None:
    gate = {"metric": "f1", "vs": "main", "tolerance": "2%"}
    within = check(gate, b'{"f1": 0.885}', b'{"f1": 0.9}')
    assert (within.status, within.margin, within.threshold) == (
        "pass",
        0.003,
        ">= main - 2% (0.882)",
    )
    beyond = check(gate, b'{"f1": 0.88}', b'{"f1": 0.9}')
    assert beyond.status == "fail"
    assert beyond.reason == (
        f"0.88 is worse than the baseline 0.9 ({REF}) by 0.02, more than the tolerance 2% (0.018)"
    )


def test_relative_tolerance_of_a_negative_baseline_uses_its_size() -> None:
    gate = {"metric": "loss", "vs": "main", "tolerance": "10%", "better": "lower"}
    result = check(gate, b'{"loss": -1.85}', b'{"loss": -2}')
    assert (result.status, result.margin, result.threshold) == (
        "pass",
        0.05,
        "<= main + 10% (-1.8)",
    )


def test_better_lower_against_a_baseline() -> None:
    gate = {"metric": "latency", "vs": "main", "tolerance": 0.05, "better": "lower"}
    assert check(gate, b'{"latency": 4.9}', b'{"latency": 5}').status == "pass"
    result = check(gate, b'{"latency": 5.1}', b'{"latency": 5}')
    assert result.reason == (
        f"5.1 is worse than the baseline 5 ({REF}) by 0.1, more than the tolerance 0.05"
    )


def test_without_tolerance_the_candidate_must_be_as_good() -> None:
    gate = {"metric": "f1", "vs": "main"}
    assert check(gate, b'{"f1": 0.967}', b'{"f1": 0.967}').status == "pass"
    result = check(gate, b'{"f1": 0.966}', b'{"f1": 0.967}')
    assert (result.status, result.threshold) == ("fail", ">= main (0.967)")
    assert result.reason == f"0.966 is worse than the baseline 0.967 ({REF})"


NOTHING = Baseline("", missing="nothing in production yet for clf")


def test_no_baseline_checks_only_the_thresholds() -> None:
    gate = {"metric": "f1", "vs": "production", "min": 0.9}
    result = check(gate, b'{"f1": 0.95}', NOTHING)
    assert (result.status, result.baseline, result.baseline_ref) == ("no baseline", None, None)
    assert (result.margin, result.reason) == (0.05, "nothing in production yet for clf")
    assert result.threshold == ">= 0.9 and >= production"
    assert result.passed() and not result.passed(require_baseline=True)
    failed = check(gate, b'{"f1": 0.85}', NOTHING)
    assert (failed.status, failed.reason) == ("fail", "0.85 is below the minimum 0.9")


def test_require_baseline_fails_without_one() -> None:
    result = check(
        {"metric": "f1", "vs": "production"}, b'{"f1": 0.95}', NOTHING, require_baseline=True
    )
    assert result.status == "fail"
    assert result.reason == "nothing in production yet for clf, and a baseline is required"
    gate = {"metric": "f1", "vs": "production", "min": 0.99}
    both = check(gate, b'{"f1": 0.95}', NOTHING, require_baseline=True)
    assert both.reason == (
        "0.95 is below the minimum 0.99; nothing in production yet for clf, and a baseline is"
        " required"
    )


@pytest.mark.parametrize(
    ("baseline", "reason"),
    [
        (None, f"m.json does not exist at the baseline ({REF})"),
        (b'{"auc": 1}', f"f1 is not in m.json at the baseline ({REF})"),
        (
            b"{",
            f"cannot parse m.json as JSON: Expecting property name enclosed in double quotes: "
            f"line 1 column 2 (char 1) at the baseline ({REF})",
        ),
        (
            Baseline("", error="no revision 'mian' in the repository"),
            "no revision 'mian' in the repository",
        ),
    ],
)
def test_a_broken_baseline_fails_closed(baseline: bytes | Baseline | None, reason: str) -> None:
    result = check({"metric": "f1", "vs": "main", "min": 0.5}, b'{"f1": 0.95}', baseline)
    assert (result.status, result.reason, result.baseline) == ("fail", reason, None)


def test_every_reason_is_given() -> None:
    gate = {"metric": "f1", "vs": "main", "min": 0.96}
    result = check(gate, b'{"f1": 0.95}', b'{"f1": 0.967}')
    assert result.reason == (
        f"0.95 is below the minimum 0.96; 0.95 is worse than the baseline 0.967 ({REF})"
    )
    assert result.margin == -0.017


def files_sources(files: dict[str, bytes], default: str | None = None) -> Sources:
    return Sources(reader(files), lambda vs: NOTHING, default, sorted(files))


def test_a_bare_key_is_read_from_the_only_file_that_has_it() -> None:
    files = {"a.json": b'{"auc": 0.9}', "b.yaml": b"f1: 0.8\n"}
    [a, b] = evaluate(
        [Gate(metric="auc", min=0.5), Gate(metric="f1", min=0.5)], files_sources(files)
    )
    assert (a.file, a.value, b.file, b.value) == ("a.json", 0.9, "b.yaml", 0.8)


def test_a_bare_key_in_two_files_is_ambiguous() -> None:
    files = {"a.json": b'{"auc": 0.9}', "b.json": b'{"auc": 0.8}', "c.json": b"{"}
    [result] = evaluate([Gate(metric="auc", min=0.5)], files_sources(files))
    assert (result.status, result.file) == ("fail", None)
    assert result.reason == "auc is in several metrics files (a.json, b.json); name one as file:auc"
    [named] = evaluate([Gate(metric="b.json:auc", min=0.5)], files_sources(files))
    assert (named.status, named.value, named.file) == ("pass", 0.8, "b.json")


def test_a_bare_key_in_no_file() -> None:
    files = {"a.json": b'{"auc": 0.9}', "b.json": b"{}"}
    [result] = evaluate([Gate(metric="f1", min=0.5)], files_sources(files))
    assert result.reason == "f1 is not in any metrics file (a.json, b.json)"
    [unread] = evaluate([Gate(metric="f1", min=0.5)], files_sources({"a.json": b"{"}))
    assert unread.reason == (
        "f1 is in no readable metrics file; cannot parse a.json as JSON: Expecting property name"
        " enclosed in double quotes: line 1 column 2 (char 1)"
    )


def test_the_model_file_is_the_default_for_bare_keys() -> None:
    files = {"a.json": b'{"auc": 0.9}', "b.json": b'{"auc": 0.8}'}
    [result] = evaluate([Gate(metric="auc", min=0.5)], files_sources(files, default="b.json"))
    assert (result.file, result.value) == ("b.json", 0.8)


@pytest.mark.parametrize(
    ("path", "text"),
    [
        ("m.json", b'{"eval": {"auc": 0.9, "n": 3}}'),
        ("m.yaml", b"eval:\n  auc: 0.9\n  n: 3\n"),
        ("m.yml", b"eval: {auc: 9e-1, n: 3}\n"),  # YAML 1.2 floats, as DVC reads them
        ("m.toml", b"[eval]\nauc = 0.9\nn = 3\n"),
        ("m.csv", b"eval.auc,eval.n\n0.5,1\n0.9,3\n"),  # the last row
        ("m.tsv", b"eval.auc\teval.n\r\n0.5\t1\r\n0.9\t3\r\n\r\n"),
    ],
)
def test_formats_flatten_to_dotted_keys(path: str, text: bytes) -> None:
    assert parse(path, text) == {"eval.auc": 0.9, "eval.n": 3}


@pytest.mark.parametrize(
    ("path", "text", "reason"),
    [
        ("m.toml", b"auc = ", "cannot parse m.toml as TOML: Invalid value (at end of document)"),
        (
            "m.yaml",
            b"auc: [",
            "cannot parse m.yaml as YAML: expected the node content, but found '<stream end>'"
            " at line 1, column 7",
        ),
        ("m.yaml", b"", "cannot read m.yaml: expected a mapping of metrics, it is empty"),
        ("m.csv", b"auc,f1\n", "cannot parse m.csv: needs a header row and at least one row"),
        (
            "m.csv",
            b"auc,f1\n0.9\n",
            "cannot parse m.csv: the last row has 1 field(s), the header 2",
        ),
    ],
)
def test_parse_errors(path: str, text: bytes, reason: str) -> None:
    with pytest.raises(MetricsError) as caught:
        parse(path, text)
    assert caught.value.reason == reason


def test_csv_cells_that_are_not_numbers_are_reported() -> None:
    gate = {"metric": "m.csv:auc", "min": 0.5}
    sources = files_sources({"m.csv": b"auc,note\n0.9,x\nnan,y\n"})
    [nan] = evaluate([Gate.model_validate(gate)], sources)
    assert nan.reason == "auc in m.csv is NaN"
    [text] = evaluate([Gate(metric="m.csv:note", min=0)], sources)
    assert text.reason == "note in m.csv is the string 'y', not a number"


def test_a_spec_without_gates_says_so_rather_than_passing_all_of_none() -> None:
    run = GateRun(None, [])
    assert run.ok
    assert run.text().splitlines()[-1] == "PASS: the spec has no gates: nothing to check"
    assert run.markdown().startswith(
        ":white_check_mark: **PASS**: the spec has no gates: nothing to check\n"
    )
