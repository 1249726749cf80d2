"""The GitHub Actions renderer: goldens, security properties, quoting, and the workflow linters."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import example, given
from hypothesis import strategies as st

from specops.generators.github import (
    CI_WORKFLOW,
    DEPLOY_WORKFLOW,
    MONITOR_WORKFLOW,
    RELEASE_WORKFLOW,
    ROLLBACK_WORKFLOW,
    render_workflows,
)
from specops.generators.header import generated_from, header
from specops.generators.pins import PINS
from specops.generators.quoting import yaml_quote, yaml_unquote
from specops.spec.models import Spec
from tests.conftest import check_golden

ROOT = Path(__file__).resolve().parents[1]
GOLDEN = ROOT / "tests" / "golden" / "workflows"
LINT = ROOT.parent / "shared" / "tools" / "lint-workflows"
SPEC_NAME = "specops.yaml"

# Characters YAML treats specially or that parsers disagree on, to mix into generated text.
SPECIAL = (
    "\t\n\r\x00\x07\x1b\x7f\x85\x9f\xa0\u2028\u2029\ufeff\ufffe\uffff\U0001f600"
    "\"'\\#:-?&*!|>%@`{}[], "
)
# Encodable as UTF-8 means every code point but the surrogates.
TEXT = st.text(st.one_of(st.characters(codec="utf-8"), st.sampled_from(SPECIAL)))
# YAML's printable set without any line break: what a one-line scalar may contain verbatim.
ONE_LINE_PRINTABLE = re.compile(
    "[\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]*"
)

HOSTILE = [
    "echo one\necho two",
    'echo "quoted" \\"escaped\\" \\',
    "echo ': x'",
    "echo a # not a comment",
    "echo \u2028 line \u2029 separators \x85 next line",
    "---\n...\n%YAML 1.2\n--- !!str\n",
    "  leading and trailing spaces  ",
    "key: value\n- item\n? complex\n&anchor *alias !tag | >",
    "\ttab\r\ncrlf\x00nul\x1besc\ufeffbom\x7fdel",
    "{{ jinja }} {% raw %} {# comment #}",
]


def small_spec(maturity: int, **ci: Any) -> Spec:
    return Spec.model_validate(
        {
            "version": 1,
            "name": "demo",
            "maturity": maturity,
            "stages": {
                "train": {"cmd": "python train.py", "deps": ["train.py"], "outs": ["model.pkl"]}
            },
            "ci": ci,
        }
    )


#: Deployments of both promotion stages, one with its own environment and URL.
DEPLOY = {
    "staging": {"cmd": "python deploy.py --dry-run"},
    "production": {
        "cmd": "python deploy.py",
        "environment": "prod",
        "url": "https://example.org/predict",
    },
}


#: Monitoring with every key the monitor workflow reads.
MONITORING = {
    "reference": "train.csv",
    "current": "live/batch.csv",
    "fetch": "python fetch.py",
    "schedule": "30 5 * * *",
    "retrain": True,
    "incoming": "data/incoming",
    "token_secret": "RETRAIN_TOKEN",
}


def released_spec(maturity: int, deploy: dict[str, Any] | None = None, **ci: Any) -> Spec:
    """A spec with a model, gates and both kinds of promotion, as maturity 3 needs."""
    return Spec.model_validate(
        {
            "deploy": deploy or {},
            "version": 1,
            "name": "demo",
            "maturity": maturity,
            "stages": {
                "train": {
                    "cmd": "python train.py",
                    "deps": ["train.py"],
                    "outs": ["model.pkl"],
                    "metrics": ["scores.json"],
                    "plots": [{"roc.csv": {"x": "fpr", "y": "tpr"}}],
                }
            },
            "models": {"demo-clf": {"path": "model.pkl", "metrics": "scores.json"}},
            "metrics": ["latency.json"],
            "gates": [
                {"metric": "auc", "min": 0.9},
                {"metric": "f1", "vs": "production", "tolerance": 0.01},
                {"metric": "latency.json:ms", "better": "lower", "max": 5},
            ],
            "promotion": {
                "stages": ["staging", "production"],
                "auto": "staging",
                "approval": "production",
            },
            "ci": ci,
        }
        | ({"monitoring": MONITORING} if maturity >= 4 else {})
    )


def pipelines_spec() -> Spec:
    """Released at maturity 3, with a dvc.yaml in two more folders."""
    spec = released_spec(3)
    pipes = {
        "nlp": {"stages": {"tokenize": {"cmd": "python tokenize.py", "outs": ["tokens"]}}},
        "./vision/cnn/": {"stages": {"fit": {"cmd": "python fit.py", "plots": ["loss.csv"]}}},
    }
    return Spec.model_validate({**spec.model_dump(exclude_unset=True), "pipelines": pipes})


def repo_spec() -> Spec:
    # Schema only: the file checks need the repo's data files, which are not the point here.
    return Spec.model_validate(yaml.safe_load((ROOT / SPEC_NAME).read_text(encoding="utf-8")))


def workflow(spec: Spec) -> str:
    files = render_workflows(spec, SPEC_NAME)
    assert next(iter(files)) == CI_WORKFLOW
    return files[CI_WORKFLOW]


def parse(text: str) -> dict[Any, Any]:
    doc = yaml.safe_load(text)
    assert isinstance(doc, dict)
    # YAML 1.1 reads the `on` key as the boolean true.
    doc["on"] = doc.pop(True)
    return doc


def steps(doc: dict[Any, Any]) -> list[dict[str, Any]]:
    return [step for job in doc["jobs"].values() for step in job["steps"]]


# -- goldens ---------------------------------------------------------------------------------


GOLDENS = {
    "maturity-1.yml": lambda: small_spec(1),
    "maturity-2.yml": lambda: small_spec(2, test="pytest -q", timeout_minutes=20),
    "specops.yml": repo_spec,
}
# Specs whose every workflow has a golden: `<name>.yml` for CI, `<name>-release.yml` for
# release, and so on.
RELEASE_GOLDENS = {
    "maturity-3": lambda: released_spec(3, before_gates=["python latency.py"], pr_comment=True),
    "maturity-4": lambda: released_spec(4, DEPLOY, test="pytest -q"),
    "specops": repo_spec,
    "pipelines": pipelines_spec,
}
SUFFIXES = {
    CI_WORKFLOW: "",
    RELEASE_WORKFLOW: "-release",
    DEPLOY_WORKFLOW: "-deploy",
    ROLLBACK_WORKFLOW: "-rollback",
    MONITOR_WORKFLOW: "-monitor",
}


@pytest.mark.parametrize("name", sorted(GOLDENS))
def test_matches_golden(name: str) -> None:
    check_golden(GOLDEN / name, workflow(GOLDENS[name]()))


@pytest.mark.parametrize(
    ("name", "path"),
    [(name, path) for name in sorted(RELEASE_GOLDENS) for path in SUFFIXES],
)
def test_maturity_3_workflows_match_goldens(name: str, path: str) -> None:
    files = render_workflows(RELEASE_GOLDENS[name](), SPEC_NAME)
    golden = GOLDEN / f"{name}{SUFFIXES[path]}.yml"
    if name == "specops" and path == CI_WORKFLOW:
        golden = GOLDEN / "specops.yml"  # also checked by test_matches_golden
    if path not in files:
        assert not golden.exists(), f"{golden} is for a file this spec does not render"
        return
    check_golden(golden, files[path])


def test_maturity_0_renders_no_workflow() -> None:
    assert render_workflows(small_spec(0), SPEC_NAME) == {}


# Renders every file of the repository's spec and prints them as JSON: run in fresh processes,
# so that whatever depends on string hashing (set order) differs between the runs.
RENDER_IN_A_PROCESS = """\
import json, sys
import yaml
from specops.generators import render
from specops.spec.models import Promotion, Spec
with open(sys.argv[1], encoding="utf-8") as f:
    spec = Spec.model_validate(yaml.safe_load(f))
print(json.dumps([[file.path, file.text] for file in render(spec, "specops.yaml")]))
"""


def render_in_a_process(hash_seed: str, **env_vars: str) -> list[list[str]]:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed, **env_vars}
    result = subprocess.run(
        [sys.executable, "-c", RENDER_IN_A_PROCESS, str(ROOT / SPEC_NAME)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    files: list[list[str]] = json.loads(result.stdout)
    return files


def test_rendering_is_stable() -> None:
    first, second = render_in_a_process("1"), render_in_a_process("2")
    assert [path for path, _ in first] == ["dvc.yaml", *SUFFIXES]
    assert first == second


def test_templates_compile_where_no_cache_can_be_kept(tmp_path: Path) -> None:
    """Compiled templates are kept in the user's cache folder; without one specops compiles
    them each time, to the same files."""
    first = render_in_a_process("1", XDG_CACHE_HOME=str(tmp_path))
    assert len(list(tmp_path.glob("specops/templates-*/*.cache"))) == 6
    assert render_in_a_process("1", XDG_CACHE_HOME=str(tmp_path)) == first
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    assert render_in_a_process("1", XDG_CACHE_HOME=str(not_a_folder)) == first
    assert not_a_folder.read_text() == ""


# -- structure and security --------------------------------------------------------------------


SECURITY_SPECS = [
    small_spec(m, **ci)
    for m in (1, 2, 3, 4)
    for ci in ({}, {"test": "pytest", "timeout_minutes": 7, "python": "3.12"})
]


@pytest.mark.parametrize("spec", SECURITY_SPECS)
def test_security_properties(spec: Spec) -> None:
    text = workflow(spec)
    assert text.startswith(header(SPEC_NAME))
    doc = parse(text)

    assert doc["name"] == "specops CI: demo"
    assert doc["permissions"] == {}
    assert set(doc["on"]) == {"pull_request", "push"}
    assert "pull_request_target" not in text
    assert "${{" in doc["concurrency"]["group"]
    assert doc["concurrency"]["cancel-in-progress"] is True
    assert doc["defaults"] == {"run": {"shell": "bash"}}

    for job in doc["jobs"].values():
        assert job["permissions"] == {"contents": "read"}
        assert type(job["timeout-minutes"]) is int
        assert job["timeout-minutes"] == spec.ci.timeout_minutes

    for step in steps(doc):
        assert "${{" not in step.get("run", "")
        if step.get("uses", "").startswith("actions/checkout@"):
            assert step["with"]["persist-credentials"] is False
        if step.get("uses", "").startswith("actions/setup-python@"):
            assert step["with"]["python-version"] == spec.ci.python

    uses_lines = [line for line in text.splitlines() if line.lstrip().startswith("uses:")]
    assert uses_lines
    for line in uses_lines:
        match = re.fullmatch(r" +uses: ([\w.-]+/[\w.-]+)@([0-9a-f]{40}) # (v\d+\.\d+\.\d+)", line)
        assert match, line
        action, sha, version = match.groups()
        assert PINS[action] == (sha, version)


@pytest.mark.parametrize("maturity", [1, 2, 3, 4])
def test_jobs_by_maturity(maturity: int) -> None:
    spec = small_spec(maturity, install="pip install .", test="pytest")
    doc = parse(workflow(spec))
    runs = [step["run"] for step in doc["jobs"]["check"]["steps"] if "run" in step]
    assert runs == ["pip install .", "pytest", "specops validate", "specops render --check"]
    if maturity == 1:
        assert set(doc["jobs"]) == {"check"}
        return
    assert set(doc["jobs"]) == {"check", "pipeline"}
    pipeline = doc["jobs"]["pipeline"]
    assert pipeline["needs"] == "check"
    assert pipeline["steps"][0]["with"]["fetch-depth"] == 0
    script = "\n".join(step.get("run", "") for step in pipeline["steps"])
    commands = ["dvc pull --run-cache --allow-missing", "dvc repro", '>> "$GITHUB_STEP_SUMMARY"']
    if maturity == 2:
        commands += [
            "dvc metrics show --md",
            'dvc metrics diff "origin/$GITHUB_BASE_REF" --md',
            'dvc params diff "origin/$GITHUB_BASE_REF" --md',
            "dvc dag --md",
        ]
    else:
        commands += [
            "git status --porcelain -- dvc.lock",
            'specops gate --format md >> "$GITHUB_STEP_SUMMARY"',
            "specops report > specops-report/report.md",
        ]
    for command in commands:
        assert command in script


def test_a_spec_with_another_name_is_passed_to_the_cli() -> None:
    name = "ml spec's.yaml"
    text = render_workflows(small_spec(1), name)[CI_WORKFLOW]
    runs = [step["run"] for step in steps(parse(text)) if "specops" in step.get("run", "")]
    assert [shlex.split(run) for run in runs] == [
        ["specops", "validate", "--spec", name],
        ["specops", "render", "--check", "--spec", name],
    ]


def test_test_step_is_omitted_without_a_test_command() -> None:
    doc = parse(workflow(small_spec(2)))
    assert all(step["name"] != "Test" for step in steps(doc))


def test_ci_runs_on_pushes_to_the_branches_the_spec_names() -> None:
    spec = released_spec(3, branches=["master", "release/*", "1.0"])
    files = render_workflows(spec, SPEC_NAME)
    for name in (CI_WORKFLOW, RELEASE_WORKFLOW):
        # quoted, so that `1.0` stays a branch name rather than a number
        assert parse(files[name])["on"]["push"] == {"branches": ["master", "release/*", "1.0"]}


def test_branch_names_that_git_or_a_workflow_would_misread_are_refused(tmp_path: Path) -> None:
    from tests.specerrors import spec_errors

    body = """\
        stages: {a: {cmd: x}}
        ci:
          branches: [main, -x, a..b, "a b", "${{ x }}", feature/, ok/*]
        """
    rule = (
        "is not a branch name or pattern specops accepts: letters, digits and '._/*+-', not"
        " starting with '-', '/' or '.', without '..' or '//'"
    )
    assert spec_errors("demo", body, tmp_path) == [
        f"specops.yaml:6:20: error: ci.branches[1]: '-x' {rule}",
        f"specops.yaml:6:24: error: ci.branches[2]: 'a..b' {rule}",
        f"specops.yaml:6:30: error: ci.branches[3]: 'a b' {rule}",
        f"specops.yaml:6:37: error: ci.branches[4]: '${{{{ x }}}}' {rule}",
        f"specops.yaml:6:49: error: ci.branches[5]: 'feature/' {rule}",
    ]


# -- quoting -----------------------------------------------------------------------------------


@given(TEXT)
@example("")
@example("  a: b # c  ")
@example("\u2028\u2029\x85\ufeff")
@example('"\\')
@example("--- ...")
def test_yaml_quote_round_trips(text: str) -> None:
    quoted = yaml_quote(text)
    assert ONE_LINE_PRINTABLE.fullmatch(quoted), quoted
    assert yaml.safe_load(quoted) == text
    assert yaml.safe_load(f"key: {quoted}\n") == {"key": text}
    assert yaml.safe_load(f"- {quoted} # comment\n- x\n") == [text, "x"]


@given(TEXT)
@example('a"b\\x41\\')
@example("\u2028\x85\t\U0001f600")
def test_the_header_names_its_spec_as_it_is(text: str) -> None:
    # What the header escapes, generated_from reads back: a folder may hold `"`.
    assert generated_from(header(text) + "stages: {}\n") == text
    assert yaml_unquote(yaml_quote(text)[1:-1]) == text


def test_yaml_quote_keeps_lone_surrogates() -> None:
    assert yaml.safe_load(yaml_quote("a\ud800b\udfff")) == "a\ud800b\udfff"


@pytest.mark.parametrize("hostile", HOSTILE)
def test_hostile_commands_change_no_structure(hostile: str) -> None:
    expected = parse(workflow(small_spec(2, install="INSTALL", test="TEST")))
    doc = parse(workflow(small_spec(2, install=hostile, test=hostile)))
    replaced = 0
    for step in steps(doc):
        if step["name"] in ("Install", "Test"):
            assert step["run"] == hostile
            step["run"] = step["name"].upper()
            replaced += 1
    assert replaced == 3
    assert doc == expected


# -- linters -----------------------------------------------------------------------------------


def test_rendered_workflows_pass_linters(tmp_path: Path) -> None:
    if not LINT.is_file():
        reason = f"workflow linters not found at {LINT}"
        if os.environ.get("SPECOPS_REQUIRE_LINT") == "1":
            pytest.fail(f"{reason}, and SPECOPS_REQUIRE_LINT=1 requires them")
        pytest.skip(f"{reason}; set SPECOPS_REQUIRE_LINT=1 to make this a failure")
    specs = {
        f"maturity-{m}{'-with-test' if test else ''}": small_spec(m, test=test)
        for m in (1, 2, 3, 4)
        for test in (None, "pytest -q")
    }
    specs |= {f"released-{name}": spec() for name, spec in RELEASE_GOLDENS.items()}
    two = released_spec(3, pr_comment=True)
    specs["two-models"] = two.model_copy(
        update={"models": {**two.models, "b": two.models["demo-clf"]}}
    )
    specs["repo"] = repo_spec()
    # Not shell anyone would write, but every parser must accept the escapes.
    specs["hostile"] = small_spec(2, install="\n".join(HOSTILE), test=HOSTILE[1])
    specs["hostile-3"] = released_spec(3, before_gates=HOSTILE, pr_comment=True)
    hostile = released_spec(4, before_gates=HOSTILE)
    assert hostile.monitoring is not None
    watch = hostile.monitoring.model_copy(
        update={"fetch": HOSTILE[1], "current": HOSTILE[2], "incoming": HOSTILE[0]}
    )
    specs["hostile-4"] = hostile.model_copy(update={"monitoring": watch})
    files = []
    for label, spec in specs.items():
        for path, text in render_workflows(spec, SPEC_NAME).items():
            file = tmp_path / label / path
            file.parent.mkdir(parents=True, exist_ok=True)
            file.write_bytes(text.encode("utf-8"))
            files.append(str(file))
    result = subprocess.run(
        ["bash", str(LINT), *files],
        capture_output=True,
        text=True,
        check=False,  # asserted below, so that a failure shows the findings
        timeout=900,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "clean" in result.stdout
