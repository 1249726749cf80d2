"""`specops gate`, `specops report` and the gate check of `specops validate`, in real Git
repositories with real commits, GTO tags and DVC."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from specops.cli import main
from tests.conftest import Tree
from tests.gitrepo import TINY_PROJECT, git, make_project, run

SPEC = """\
version: 1
name: gated
maturity: 3
stages:
  train:
    cmd: python train.py
    deps: [train.py]
    outs: [model.pkl]
    metrics:
      - metrics/scores.json: {cache: false}
models:
  clf:
    path: model.pkl
    metrics: metrics/scores.json
gates:
  - metric: auc
    min: 0.8
  - metric: f1
    vs: main
    tolerance: 0.01
  - metric: latency_ms
    better: lower
    max: 5
    vs: production
    tolerance: "10%"
promotion:
  stages: [staging, production]
"""
BASELINE = {"auc": 0.9, "f1": 0.967, "latency_ms": 4}


def scores(root: Path, **values: Any) -> None:
    (root / "metrics").mkdir(exist_ok=True)
    (root / "metrics" / "scores.json").write_text(json.dumps(values))


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The baseline committed on main; the candidate branch checked out."""
    root = tmp_path_factory.mktemp("gated")
    files = {"specops.yaml": SPEC, "train.py": "", "metrics/scores.json": json.dumps(BASELINE)}
    make_project(root, files)
    git(root, "checkout", "-q", "-b", "candidate")
    return root


@pytest.fixture(scope="module")
def tagged(repo: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A clone of `repo` whose main commit is clf@v1.0.0, assigned to production."""
    root = tmp_path_factory.mktemp("tagged") / "repo"
    git(repo.parent, "clone", "-q", "--branch", "main", str(repo), str(root))
    git(root, "tag", "-a", "clf@v1.0.0", "-m", "Register clf v1.0.0")
    git(root, "tag", "-a", "clf#production#1", "-m", "Assign clf v1.0.0 to production")
    git(root, "checkout", "-q", "-b", "candidate")
    return root


def short(root: Path, rev: str) -> str:
    return git(root, "rev-parse", "--short=12", rev).strip()


def gate(root: Path, *args: str, values: dict[str, Any] | None = None) -> Any:
    """Run `specops gate --format json` on the candidate `values`; (exit code, results)."""
    scores(root, **(values or BASELINE))
    proc = run(root, "specops", "gate", "--format", "json", *args, check=False)
    assert proc.returncode in (0, 1), proc.stderr
    data = json.loads(proc.stdout)
    assert data["ok"] is (proc.returncode == 0)
    return proc.returncode, data["results"]


def test_a_candidate_within_tolerance_of_main_passes(repo: Path) -> None:
    code, results = gate(repo, values={**BASELINE, "f1": 0.96})
    assert code == 0
    assert [r["status"] for r in results] == ["pass", "pass", "no baseline"]
    f1 = results[1]
    assert (f1["value"], f1["baseline"], f1["margin"]) == (0.96, 0.967, 0.003)
    assert f1["baseline_ref"] == f"main at {short(repo, 'main')}"
    assert results[2]["reason"] == "nothing in production yet for clf"


def test_a_regression_beyond_tolerance_of_main_fails(repo: Path) -> None:
    git(repo, "commit", "-q", "--allow-empty", "-m", "Candidate")  # main is behind now
    code, results = gate(repo, values={**BASELINE, "f1": 0.95})
    assert code == 1
    assert [r["status"] for r in results] == ["pass", "fail", "no baseline"]
    assert results[1]["reason"] == (
        f"0.95 is worse than the baseline 0.967 (main at {short(repo, 'main')}) by 0.017, "
        "more than the tolerance 0.01"
    )


def test_require_baseline(repo: Path) -> None:
    code, results = gate(repo, "--require-baseline")
    assert code == 1
    assert results[2]["status"] == "fail"
    assert results[2]["reason"] == "nothing in production yet for clf, and a baseline is required"


def test_against_the_production_version(tagged: Path) -> None:
    ref = f"clf@v1.0.0 in production at {short(tagged, 'clf@v1.0.0^{commit}')}"
    code, results = gate(tagged, "clf", values={**BASELINE, "latency_ms": 4.4})
    assert code == 0
    latency = results[2]
    assert (latency["status"], latency["baseline"], latency["baseline_ref"]) == ("pass", 4, ref)
    assert (latency["threshold"], latency["margin"]) == ("<= 5 and <= production + 10% (4.4)", 0)
    code, results = gate(tagged, values={**BASELINE, "latency_ms": 4.5})
    assert code == 1
    assert results[2]["reason"] == (
        f"4.5 is worse than the baseline 4 ({ref}) by 0.5, more than the tolerance 10% (0.4)"
    )


def test_a_later_assignment_or_unassignment_moves_the_baseline(
    tagged: Path, tmp_path: Path
) -> None:
    clone = tmp_path / "clone"
    git(tagged, "clone", "-q", str(tagged), str(clone))
    scores(clone, **{**BASELINE, "latency_ms": 3})
    git(clone, "commit", "-q", "-am", "Faster")
    git(clone, "tag", "-a", "clf@v1.1.0", "-m", "Register clf v1.1.0")
    git(clone, "tag", "-a", "clf#production#2", "-m", "Assign clf v1.1.0 to production")
    _, results = gate(clone, values={**BASELINE, "latency_ms": 3.2})
    assert results[2]["baseline_ref"] == f"clf@v1.1.0 in production at {short(clone, 'HEAD')}"
    assert results[2]["status"] == "pass"
    git(clone, "tag", "-a", "clf#production!#3", "-m", "Unassign clf from production")
    _, results = gate(clone)
    # As in `gto show`: with v1.1.0 unassigned, v1.0.0 is the version in production again.
    assert results[2]["baseline_ref"] == f"clf@v1.0.0 in production at {short(clone, 'HEAD~1')}"


def test_text_and_markdown(repo: Path) -> None:
    scores(repo, **{**BASELINE, "auc": 0.7})
    main_ref = f"main at {short(repo, 'main')}"
    text = run(repo, "specops", "gate", check=False)
    assert text.returncode == 1
    assert text.stdout.splitlines()[0].split() == [
        *("metric", "value", "baseline", "threshold", "margin", "status", "reason")
    ]
    assert text.stdout.splitlines()[2].split() == [
        *("auc", "0.7", "-", ">=", "0.8", "-0.1", "fail", "0.7", "is", "below", "the"),
        *("minimum", "0.8"),
    ]
    assert f"0.967 ({main_ref})" in text.stdout.splitlines()[3]
    assert text.stdout.endswith("\nFAIL: 1 of 3 gate(s) failed\n")
    md = run(repo, "specops", "gate", "--format", "md", check=False)
    assert md.returncode == 1
    assert md.stdout.splitlines()[:4] == [
        ":x: **FAIL**: 1 of 3 gate(s) failed",
        "",
        "| metric | value | baseline | threshold | margin | status | reason |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    assert md.stdout.splitlines()[4] == (
        "| auc | 0.7 | - | &gt;= 0.8 | -0.1 | fail | 0.7 is below the minimum 0.8 |"
    )


def test_report(repo: Path) -> None:
    scores(repo, **{**BASELINE, "f1": 0.95})
    proc = run(repo, "specops", "report", "--base", "main")
    out = proc.stdout
    assert out.startswith("## specops report: gated\n\n### Gates\n\n:x: **FAIL**: 1 of 3 gate(s)")
    assert "| metrics/scores.json | f1 | 0.95 | 0.967 | -0.017 |\n" in out
    assert "| metrics/scores.json | auc | 0.9 | 0.9 | 0 |\n" in out
    assert "### Params against main\n\nNo changes.\n" in out
    assert '### Pipeline\n\n```mermaid\nflowchart TD\n\tnode1["train"]\n```\n' in out


def test_report_base_defaults_to_the_pull_request_base(repo: Path) -> None:
    proc = run(repo, "specops", "report", "--format", "json", env={"GITHUB_BASE_REF": "dev"})
    data = json.loads(proc.stdout)
    assert data["base"] == "origin/dev"
    assert data["metrics"]["error"].startswith(
        "`dvc metrics diff --json --all origin/dev` failed: ERROR: unknown Git revision"
    )


def test_an_unknown_revision_fails_the_gate(repo: Path, tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    git(repo, "clone", "-q", str(repo), str(clone))
    spec = (clone / "specops.yaml").read_text().replace("vs: main", "vs: mian")
    (clone / "specops.yaml").write_text(spec)
    _, results = gate(clone)
    assert (results[1]["status"], results[1]["reason"]) == (
        "fail",
        "no revision 'mian' in the repository",
    )


DVC_SPEC = (
    TINY_PROJECT["specops.yaml"].replace(
        "    metrics:\n      - metrics/scores.json: {cache: false}\n",
        "    metrics: [metrics/scores.json]\n",
    )
    + "gates:\n  - metric: mean\n    vs: main\n    tolerance: 0.5\n"
)


def test_a_baseline_from_the_dvc_cache(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", {**TINY_PROJECT, "specops.yaml": DVC_SPEC})
    run(root, "dvc", "repro", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "Baseline")
    assert git(root, "ls-files", "metrics/scores.json") == ""  # in DVC's cache, not in Git
    git(root, "checkout", "-q", "-b", "candidate")
    (root / "params.yaml").write_text('{"prepare": {"rows": 4, "scale": 2.0}}\n')
    run(root, "dvc", "repro", "-q")
    proc = run(root, "specops", "gate", "--format", "json", check=False)
    assert proc.returncode == 1, proc.stderr
    [result] = json.loads(proc.stdout)["results"]
    assert (result["value"], result["baseline"]) == (3.0, 3.75)
    assert result["reason"] == (
        f"3 is worse than the baseline 3.75 (main at {short(root, 'main')}) by 0.75, "
        "more than the tolerance 0.5"
    )


def cli(root: Path, *args: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main([*args, "--spec", str(root / "specops.yaml")])
    out, err = capsys.readouterr()
    return code, out, err


def test_validate_checks_gate_keys(tree: Tree, capsys: pytest.CaptureFixture[str]) -> None:
    root = tree({"specops.yaml": SPEC.replace("metric: auc", "metric: aucc"), "train.py": ""})
    assert cli(root, "validate", capsys=capsys)[0] == 0  # no metrics yet: nothing to check
    scores(root, **BASELINE)
    code, out, err = cli(root, "validate", capsys=capsys)
    assert (code, out) == (2, "")
    assert err == (
        f"{root / 'specops.yaml'}:16:13: error: gates[0].metric: "
        "'aucc' is not in metrics/scores.json; did you mean 'auc'?\n"
    )
    (root / "metrics" / "scores.json").write_text("{")  # broken: `specops gate` reports it
    assert cli(root, "validate", capsys=capsys)[0] == 0


def test_validate_checks_bare_keys_in_every_file(
    tree: Tree, capsys: pytest.CaptureFixture[str]
) -> None:
    spec = SPEC.replace("    metrics: metrics/scores.json\n", "").replace(
        "      - metrics/scores.json: {cache: false}\n",
        "      - metrics/scores.json: {cache: false}\n      - metrics/other.yaml: {cache: false}\n",
    )
    root = tree({"specops.yaml": spec.replace("metric: f1", "metric: f11"), "train.py": ""})
    scores(root, **BASELINE)
    assert cli(root, "validate", capsys=capsys)[0] == 0  # other.yaml not produced yet
    (root / "metrics" / "other.yaml").write_text("loss: 0.1\n")
    code, _, err = cli(root, "validate", capsys=capsys)
    assert code == 2
    assert err.endswith(
        ":18:13: error: gates[1].metric: 'f11' is not in any of metrics/scores.json, "
        "metrics/other.yaml; did you mean 'f1'?\n"
    )


def test_model_argument(tree: Tree, capsys: pytest.CaptureFixture[str]) -> None:
    spec = SPEC.replace("models:\n", "models:\n  reg:\n    path: model.pkl\n")
    root = tree({"specops.yaml": spec, "train.py": ""})
    code, _, err = cli(root, "gate", "clg", capsys=capsys)
    assert (code, err.split(": ", 1)[1]) == (
        2,
        "error: no model 'clg' in models (reg, clf); did you mean 'clf'?\n",
    )
    code, _, err = cli(root, "gate", capsys=capsys)
    assert code == 2
    assert err.endswith(
        ":26:9: error: gates[2].vs: compares with the 'production' stage, but the spec has "
        "several models; name the model: specops gate MODEL\n"
    )


def test_a_metrics_file_outside_the_project_fails(tree: Tree, tmp_path: Path) -> None:
    root = tree({"specops.yaml": SPEC, "train.py": ""})
    (root / "metrics").mkdir()
    outside = tmp_path.parent / f"{tmp_path.name}-outside.json"
    outside.write_text(json.dumps(BASELINE))
    (root / "metrics" / "scores.json").symlink_to(outside)
    shutil.copy(outside, root / "copy.json")
    proc = run(root, "specops", "gate", "--format", "json", check=False)
    assert proc.returncode == 1
    reason = json.loads(proc.stdout)["results"][0]["reason"]
    assert reason.startswith("cannot read metrics/scores.json: its real path ")
    assert reason.endswith(f"is outside the project {str(root.resolve())!r}")


def test_main_is_found_as_origin_main_in_a_pull_request_checkout(
    repo: Path, tmp_path: Path
) -> None:
    # actions/checkout leaves a detached HEAD and only remote-tracking branches.
    clone = tmp_path / "pr"
    git(repo, "clone", "-q", "--no-checkout", str(repo), str(clone))
    git(clone, "checkout", "-q", "--detach", "origin/candidate")
    _, results = gate(clone)
    assert results[1]["baseline_ref"] == f"origin/main at {short(repo, 'main')}"
    assert results[1]["status"] == "pass"


def test_a_huge_baseline_file_fails_the_gate(repo: Path, tmp_path: Path) -> None:
    clone = tmp_path / "clone"
    git(repo, "clone", "-q", "--branch", "main", str(repo), str(clone))
    (clone / "metrics/scores.json").write_text(json.dumps({**BASELINE, "pad": "x" * (10 * 2**20)}))
    git(clone, "commit", "-q", "-am", "A huge metrics file")
    git(clone, "checkout", "-q", "-b", "next")
    _, results = gate(clone)
    assert (
        results[1]["reason"]
        == (
            "cannot read metrics/scores.json: metrics/scores.json at "
            f"{short(clone, 'main')} is larger than 10 MiB"
        )
        or "larger than 10 MiB" in results[1]["reason"]
    )
    assert results[1]["status"] == "fail"


def test_a_metrics_file_of_aliases_is_refused_not_expanded(tree: Tree) -> None:
    from specops.gates.metrics import MetricsError, parse

    levels = ["a0: &a0 {x: 1}"]
    levels += [
        f"a{i}: &a{i} {{" + ", ".join(f"k{j}: *a{i - 1}" for j in range(10)) + "}"
        for i in range(1, 9)
    ]
    raw = ("\n".join(levels) + "\n").encode()
    with pytest.raises(MetricsError) as caught:
        parse("m.yaml", raw)
    assert str(caught.value) == "cannot read m.yaml: more than 100,000 metrics"


def test_a_report_base_that_looks_like_an_option_is_refused(repo: Path) -> None:
    proc = run(repo, "specops", "report", "--base=--targets=params.yaml", check=False)
    assert (proc.returncode, proc.stderr) == (
        2,
        "specops.yaml: error: --base '--targets=params.yaml' is not a revision\n",
    )


def test_a_metrics_file_nested_too_deeply_fails_the_gate(repo: Path) -> None:
    path = repo / "metrics" / "scores.json"
    try:
        path.write_text("[" * 100_000 + "]" * 100_000)
        proc = run(repo, "specops", "gate", "--format", "json", check=False)
    finally:
        scores(repo, **BASELINE)
    assert (proc.returncode, proc.stderr) == (1, "")
    reasons = {r["metric"]: r["reason"] for r in json.loads(proc.stdout)["results"]}
    assert reasons["auc"] == "cannot parse metrics/scores.json: nested too deeply"
