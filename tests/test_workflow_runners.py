"""Stages on runners of their own run, for real, in jobs of their own: a fan-out runs each item
in its own checkout, and outputs cross from job to job through the handover artifacts, so
that no job runs a stage an earlier job already ran."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.actexpr import Unsupported
from tests.actrun import JobResult, Run, check, push, run_workflow
from tests.gitrepo import git, make_project
from tests.test_workflow_run import failures, md_tables, sections

WORKFLOW = ".github/workflows/specops-ci.yml"
#: Labels the workflow linter knows without a config of its own.
SELF_HOSTED = ["self-hosted", "linux", "x64"]

SPEC = f"""\
version: 1
name: runners
maturity: 2
stages:
  prepare:
    cmd: python stage.py prepare
    deps: [stage.py]
    outs: [data/rows.txt]
  train:
    foreach: [us, eu]
    do:
      cmd: python stage.py train ${{item}}
      deps: [stage.py, data/rows.txt]
      outs: ["models/${{item}}.txt"]
      fan_out: true
      max_parallel: 2
  combine:
    cmd: python stage.py combine
    deps: [stage.py, models]
    outs: [combined.txt]
    runs_on: [{", ".join(SELF_HOSTED)}]
  score:
    cmd: python stage.py score
    deps: [stage.py, combined.txt]
    metrics:
      - scores.json: {{cache: false}}
ci:
  install: python -c "import specops, dvc"
"""

# Each run of a stage is logged outside every workspace, with the job that ran it: the
# runner's root holds each job's folder, RUNNER_TEMP is `<root>/<job>/temp`.
STAGE_PY = """\
import json
import os
import pathlib
import sys

temp = pathlib.Path(os.environ["RUNNER_TEMP"])
stage = "-".join(sys.argv[1:])
with open(temp.parent.parent / "runs.log", "a") as log:
    log.write(f"{temp.parent.name} {stage}\\n")
if sys.argv[1] == "prepare":
    pathlib.Path("data").mkdir(exist_ok=True)
    pathlib.Path("data/rows.txt").write_text("1\\n2\\n3\\n")
elif sys.argv[1] == "train":
    rows = pathlib.Path("data/rows.txt").read_text().split()
    pathlib.Path("models").mkdir(exist_ok=True)
    pathlib.Path(f"models/{sys.argv[2]}.txt").write_text(f"{sys.argv[2]} {len(rows)}\\n")
elif sys.argv[1] == "combine":
    models = sorted(pathlib.Path("models").glob("*.txt"))
    pathlib.Path("combined.txt").write_text("".join(m.read_text() for m in models))
else:
    lines = pathlib.Path("combined.txt").read_text().splitlines()
    scores = {"models": len(lines), "rows": sum(int(line.split()[1]) for line in lines)}
    pathlib.Path("scores.json").write_text(json.dumps(scores) + "\\n")
"""


@pytest.fixture(scope="module")
def pushed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Run, Path]:
    """One push to main of the project, run by the rendered workflow: its jobs, and the
    runner's root."""
    base = tmp_path_factory.mktemp("runners")
    dev = make_project(base / "dev", {"specops.yaml": SPEC, "stage.py": STAGE_PY})
    git(base, "init", "-q", "--bare", "origin.git")
    git(dev, "push", "-q", str(base / "origin.git"), "main")
    root = base / "runner"
    return run_workflow(dev / WORKFLOW, push(base / "origin.git", "main"), root), root


def test_each_runner_gets_a_job_in_dag_order(pushed: tuple[Run, Path]) -> None:
    results, _ = pushed
    assert [(job.name, job.status, job.runs_on) for job in results.values()] == [
        ("check", "success", ["ubuntu-latest"]),
        ("stages-1", "success", ["ubuntu-latest"]),
        ("stages-2", "success", ["ubuntu-latest"]),
        ("stages-3", "success", SELF_HOSTED),
        ("pipeline", "success", ["ubuntu-latest"]),
    ], failures(results) + failures({i.name: i for i in results["stages-2"].items})
    fan_out = results["stages-2"]
    assert [(item.name, item.matrix) for item in fan_out.items] == [
        ("stages-2-0", {"stage": "train@us"}),
        ("stages-2-1", {"stage": "train@eu"}),
    ]


def test_no_stage_runs_twice_and_each_runs_in_its_job(pushed: tuple[Run, Path]) -> None:
    _, root = pushed
    assert (root / "runs.log").read_text().splitlines() == [
        "stages-1 prepare",
        "stages-2-0 train-us",
        "stages-2-1 train-eu",
        "stages-3 combine",
        "pipeline score",
    ]


def _step(job: JobResult, name: str) -> str:
    return next(s.stdout for s in job.steps if s.name == name)


def test_the_jobs_after_restore_what_the_jobs_before_ran(pushed: tuple[Run, Path]) -> None:
    results, _ = pushed
    item = results["stages-2"].items[0]
    repro = _step(item, "Reproduce the stage")
    assert "Stage 'prepare' is cached - skipping run, checking out outputs" in repro, repro
    assert "Running stage 'train@us'" in repro
    combine = _step(results["stages-3"], "Reproduce combine")
    for stage in ("prepare", "train@us", "train@eu"):
        assert f"Stage '{stage}' is cached - skipping run" in combine, combine
    # Every job before it handed over: the fan-out once per item.
    downloaded = _step(results["pipeline"], "Download the handover")
    assert downloaded == "Total of 4 artifact(s) downloaded"
    final = _step(results["pipeline"], "Reproduce the pipeline")
    assert "Running stage 'score'" in final
    assert "Stage 'combine' is cached - skipping run" in final, final


def test_each_item_runs_in_a_fresh_checkout_and_the_stage_after_sees_all(
    pushed: tuple[Run, Path],
) -> None:
    results, root = pushed
    us, eu = (root / f"stages-2-{i}" / "workspace" / "models" for i in (0, 1))
    assert sorted(p.name for p in us.glob("*.txt")) == ["us.txt"]
    assert sorted(p.name for p in eu.glob("*.txt")) == ["eu.txt"]
    combined = root / "stages-3" / "workspace" / "combined.txt"
    assert combined.read_text() == "eu 3\nus 3\n"
    metrics = md_tables(sections(results["pipeline"].summary)["Metrics"])
    assert metrics == [[["Path", "models", "rows"], ["scores.json", "2", "6"]]]


@pytest.mark.parametrize(
    ("job", "message"),
    [
        (
            {"runs-on": "${{ matrix.os }}"},
            "jobs.j.runs-on: expressions are not supported here: '${{ matrix.os }}'",
        ),
        (
            {"strategy": {"matrix": {"include": [{"stage": "a"}]}}},
            "jobs.j.strategy.matrix: only one key and its values: {'include': [{'stage': 'a'}]}",
        ),
        ({"strategy": {"matrix": {"a": [1], "b": [2]}}}, "jobs.j.strategy.matrix: only one key"),
        ({"strategy": {"fail-fast": False}}, "jobs.j.strategy.matrix: only one key"),
        ({"strategy": {"matrix": {"a": [1]}, "x": 1}}, "jobs.j.strategy: keys ['x']"),
    ],
)
def test_the_local_runner_refuses_what_it_does_not_emulate(
    job: dict[str, object], message: str
) -> None:
    workflow = {"on": "push", "jobs": {"j": {"runs-on": "ubuntu-latest", "steps": [], **job}}}
    with pytest.raises(Unsupported) as raised:
        check(workflow)
    assert str(raised.value).startswith(message), raised.value
