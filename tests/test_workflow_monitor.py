"""The maturity-4 monitor workflow works, run for real on a small project: a drifted batch is
retrained on and proposed in a pull request, a steady one stops after the drift check, and a
batch that cannot be read, or that breaks the data contract, fails the run."""

from __future__ import annotations

import json
import os
import random
import subprocess
from pathlib import Path

import pytest
import yaml

from specops.generators.github import render_workflows
from tests.actrun import Run, dispatch, run_workflow, schedule
from tests.conftest import build_tree
from tests.gitrepo import git, make_project, run
from tests.test_github import SPEC_NAME, released_spec
from tests.test_workflow_run import failures

MONITOR = ".github/workflows/specops-monitor.yml"


def _rows(mean: float, count: int, seed: int) -> str:
    rng = random.Random(seed)
    return "x,label\n" + "".join(f"{rng.gauss(mean, 1):.4f},{i % 2}\n" for i in range(count))


PROJECT = {
    "specops.yaml": """\
version: 1
name: tiny
maturity: 4
stages:
  train:
    cmd: python train.py
    deps: [train.py, data/base.csv, data/incoming]
    outs: [model.json]
    metrics:
      - metrics/scores.json: {cache: false}
models:
  tiny-model:
    path: model.json
    metrics: metrics/scores.json
gates:
  - metric: rows
    min: 100
promotion:
  stages: [staging]
  auto: staging
monitoring:
  reference: data/base.csv
  current: live/batch.csv
  fetch: python fetch.py
  target: label
  retrain: true
  incoming: data/incoming
ci:
  install: python -c "import specops, dvc"
""",
    # Training: the mean of every row, the base ones and those of the incoming batches.
    "train.py": """\
import csv
import json
import pathlib

files = [pathlib.Path("data/base.csv"), *sorted(pathlib.Path("data/incoming").glob("*.csv"))]
xs = []
for path in files:
    with path.open(newline="") as f:
        xs += [float(row["x"]) for row in csv.DictReader(f)]
scores = {"rows": len(xs), "mean": round(sum(xs) / len(xs), 4)}
pathlib.Path("model.json").write_text(json.dumps({"mean": scores["mean"]}) + "\\n")
pathlib.Path("metrics").mkdir(exist_ok=True)
pathlib.Path("metrics/scores.json").write_text(json.dumps(scores) + "\\n")
""",
    # Brings the batch the test committed, as a production system would bring the latest one.
    "fetch.py": """\
import pathlib
import shutil

pathlib.Path("live").mkdir(exist_ok=True)
shutil.copyfile("batches/current.csv", "live/batch.csv")
""",
    "data/base.csv": _rows(0.0, 200, 1),
    "data/incoming/.gitkeep": "",
    ".gitignore": "/live/\n",
}

# Records each call of `gh` with the body file it names, in place of GitHub's API, which
# refuses a body of more than 65,536 characters.
FAKE_GH = """\
#!/usr/bin/env python3
import json, os, pathlib, sys

args = sys.argv[1:]
call = {"args": args, "token": os.environ.get("GH_TOKEN")}
if "--body-file" in args:
    call["body"] = pathlib.Path(args[args.index("--body-file") + 1]).read_text()
    if len(call["body"]) > 65536:
        sys.exit("pull request create failed: Body is too long (maximum is 65536 characters)")
with open(pathlib.Path(__file__).with_name("calls.jsonl"), "a") as log:
    log.write(json.dumps(call) + "\\n")
"""


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project, rendered and reproduced, with its model pushed to a local DVC remote."""
    root = tmp_path_factory.mktemp("monitor")
    dev = make_project(root / "dev", PROJECT)
    run(dev, "dvc", "remote", "add", "-d", "storage", str(root / "dvc-storage"))
    run(dev, "dvc", "repro")
    run(dev, "dvc", "push")
    git(dev, "add", "-A")
    git(dev, "commit", "-q", "-m", "Reproduce the pipeline")
    return dev


def monitor(
    base: Path, tmp_path: Path, batch: str, branch: str = "", files: dict[str, str] | None = None
) -> tuple[Run, Path, Path]:
    """Commit `batch` as the one `fetch` brings (and `files`), and run the monitor workflow on
    its schedule, or by hand on `branch`; the run, the origin and the folder of the fake `gh`."""
    work = tmp_path / "work"
    git(tmp_path, "clone", "-q", str(base), work.name)
    build_tree(work, {"batches/current.csv": batch, **(files or {})})
    if "specops.yaml" in (files or {}):
        run(work, "specops", "render")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "A new batch")
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", origin.name)
    git(work, "push", "-q", str(origin), "HEAD:main")
    if branch:
        git(work, "push", "-q", str(origin), f"HEAD:{branch}")
    tools = tmp_path / "tools"
    build_tree(tools, {"gh": FAKE_GH})
    (tools / "gh").chmod(0o755)
    event = dispatch(origin, branch, {}) if branch else schedule(origin)
    results = run_workflow(work / MONITOR, event, tmp_path / "runner", tools=tools)
    return results, origin, tools


def test_a_drifted_batch_is_retrained_on_and_proposed(base: Path, tmp_path: Path) -> None:
    results, origin, tools = monitor(base, tmp_path, _rows(2.0, 100, 2))

    assert [(j.name, j.status) for j in results.values()] == [
        ("drift", "success"),
        ("retrain", "success"),
        ("propose", "success"),
    ], failures(results)
    assert "**drift**" in results["drift"].summary
    retrain = results["retrain"]
    assert [s.name for s in retrain.steps if s.outcome == "success"][-6:] == [
        "Add the batch to the training data",
        "Retrain",
        "Check the gates",
        "Push DVC data",
        "Save what retraining changed",
        "Upload what retraining changed",
    ]
    assert results["propose"].steps[-1].name == "Open a pull request"
    (branch,) = results.pushed
    assert branch.startswith("refs/heads/specops/retrain-")
    stamp = branch.removeprefix("refs/heads/specops/retrain-")
    (call,) = (json.loads(line) for line in (tools / "calls.jsonl").read_text().splitlines())
    assert call["args"] == [
        "pr",
        "create",
        "--base",
        "main",
        "--head",
        f"specops/retrain-{stamp}",
        "--title",
        f"Retrain on the drifted batch of {stamp}",
        "--body-file",
        call["args"][-1],
    ]
    assert call["token"] == "actrun-token"
    assert "## Data drift" in call["body"] and "rows" in call["body"]
    # The branch holds the batch as a DVC-tracked input of training, and what training wrote.
    changed = git(origin, "diff", "--name-only", "main", branch).split()
    assert changed == [
        "data/incoming/.gitignore",
        f"data/incoming/batch-{stamp}.csv.dvc",
        "dvc.lock",
        "metrics/scores.json",
    ]
    scores = json.loads(git(origin, "show", f"{branch}:metrics/scores.json"))
    assert scores["rows"] == 300 and scores["mean"] > 0.5
    before, after = (
        yaml.safe_load(git(origin, "show", f"{ref}:dvc.lock"))["stages"]["train"]
        for ref in ("main", branch)
    )
    assert before["outs"] != after["outs"]  # a new model
    deps = [{d["path"]: d["md5"] for d in lock["deps"]} for lock in (before, after)]
    assert deps[0]["data/incoming"] != deps[1]["data/incoming"]
    # The batch itself went to the DVC remote.
    added = yaml.safe_load(git(origin, "show", f"{branch}:data/incoming/batch-{stamp}.csv.dvc"))
    md5 = added["outs"][0]["md5"]
    assert (base.parent / "dvc-storage" / "files" / "md5" / md5[:2] / md5[2:]).is_file()


def test_a_manual_run_on_another_branch_writes_nothing_to_the_dvc_remote(
    base: Path, tmp_path: Path
) -> None:
    storage = base.parent / "dvc-storage"
    before = sorted(p for p in storage.rglob("*") if p.is_file())
    results, origin, _ = monitor(base, tmp_path, _rows(2.0, 100, 2), branch="experiment")

    assert [(j.name, j.status) for j in results.values()] == [
        ("drift", "success"),
        ("retrain", "success"),
        ("propose", "success"),
    ], failures(results)
    retrain = {s.name: s for s in results["retrain"].steps}
    assert retrain["Push DVC data"].outcome == "skipped"
    (branch,) = results.pushed
    stamp = branch.removeprefix("refs/heads/specops/retrain-")
    # The batch itself is committed, as no remote holds it.
    changed = git(origin, "diff", "--name-only", "experiment", branch).split()
    assert changed == [f"data/incoming/batch-{stamp}.csv", "dvc.lock", "metrics/scores.json"]
    assert sorted(p for p in storage.rglob("*") if p.is_file()) == before


def test_a_steady_batch_stops_after_the_drift_check(base: Path, tmp_path: Path) -> None:
    results, _, tools = monitor(base, tmp_path, _rows(0.0, 100, 6))

    assert [(j.name, j.status) for j in results.values()] == [
        ("drift", "success"),
        ("retrain", "skipped"),
        ("propose", "skipped"),
    ], failures(results)
    assert "**no drift" in results["drift"].summary
    assert results["drift"].steps[-1].outcome == "skipped"  # no batch uploaded
    assert results.pushed == []
    assert not (tools / "calls.jsonl").exists()


@pytest.mark.parametrize(
    ("batch", "message"),
    [
        (
            "x,label\n1.0,0\n2.0,1,3\n",
            "live/batch.csv: error: cannot read it: CSV parse error: Expected 2 columns, got 3:"
            " 2.0,1,3\n",
        ),
        ("x,label,extra\n1.0,0,a\n", "::error::the current batch breaks the reference's data"),
    ],
    ids=["unreadable", "contract"],
)
def test_a_bad_batch_fails_the_run_and_retrains_nothing(
    base: Path, tmp_path: Path, batch: str, message: str
) -> None:
    results, _, tools = monitor(base, tmp_path, batch)

    assert [(j.name, j.status) for j in results.values()] == [
        ("drift", "failure"),
        ("retrain", "skipped"),
        ("propose", "skipped"),
    ]
    check = next(s for s in results["drift"].steps if s.name == "Check for drift")
    assert check.outcome == "failure"
    assert message in check.stdout + check.stderr
    assert results.pushed == []
    assert not (tools / "calls.jsonl").exists()


def test_a_failed_gate_after_retraining_says_so_and_proposes_nothing(
    base: Path, tmp_path: Path
) -> None:
    spec = str(PROJECT["specops.yaml"]).replace(
        "metric: rows\n    min: 100", "metric: mean\n    max: 0.5"
    )
    results, _, tools = monitor(base, tmp_path, _rows(2.0, 100, 2), files={"specops.yaml": spec})

    assert [(j.name, j.status) for j in results.values()] == [
        ("drift", "success"),
        ("retrain", "failure"),
        ("propose", "skipped"),
    ]
    gates = next(s for s in results["retrain"].steps if s.name == "Check the gates")
    assert gates.outcome == "failure"
    # The reviewer sees which gate failed, in the job summary and in the log.
    assert "mean" in results["retrain"].summary and "FAIL" in results["retrain"].summary
    assert gates.stdout.endswith(
        "::error::the retrained model fails the gates: no pull request is opened\n"
    )
    assert results.pushed == []
    assert not (tools / "calls.jsonl").exists()


def test_a_hostile_project_neither_reaches_the_token_nor_escapes_its_paths(
    base: Path, tmp_path: Path
) -> None:
    # Training, which runs the project's code on production data, plants Git hooks that would
    # run with the environment of the steps that commit and push after it.
    stolen = tmp_path / "stolen.txt"
    plant = (
        "import pathlib\n"
        "for name in ('pre-commit', 'post-commit', 'post-checkout', 'prepare-commit-msg'):\n"
        "    hook = pathlib.Path('.git/hooks') / name\n"
        f"    hook.write_text('#!/bin/sh\\nenv >> {stolen}\\n')\n"
        "    hook.chmod(0o755)\n"
    )
    # Every path reaches the scripts through the environment, and each command ends its options
    # before it: a leading `-` is no option, `$(...)` and quotes are no shell.
    current, incoming = "-live/it's $(touch pwned).csv", "-data/in coming"
    spec = (
        str(PROJECT["specops.yaml"])
        .replace("data/incoming]", f'"{incoming}"]')
        .replace("current: live/batch.csv", f'current: "{current}"')
        .replace("incoming: data/incoming", f'incoming: "{incoming}"')
    )
    files = {
        "specops.yaml": spec,
        "train.py": plant + str(PROJECT["train.py"]).replace('"data/incoming"', repr(incoming)),
        "fetch.py": str(PROJECT["fetch.py"])
        .replace('"live"', '"-live"')
        .replace('"live/batch.csv"', repr(current)),
        f"{incoming}/.gitkeep": "",
        ".gitignore": "/-live/\n",
    }
    results, origin, tools = monitor(base, tmp_path, _rows(2.0, 100, 2), files=files)

    assert all(job.status == "success" for job in results.values()), failures(results)
    assert (tools / "calls.jsonl").exists()
    assert "actrun-token" not in (stolen.read_text() if stolen.exists() else "")
    (branch,) = results.pushed
    stamp = branch.removeprefix("refs/heads/specops/retrain-")
    changed = git(origin, "diff", "--name-only", "main", branch).splitlines()
    assert f"{incoming}/batch-{stamp}.csv.dvc" in changed
    assert not list(tmp_path.rglob("pwned"))


def test_the_monitors_of_two_projects_push_branches_of_their_own() -> None:
    spec = released_spec(4)
    for folder, branch in (("", "specops/retrain-$STAMP"), ("nlp", "specops/retrain-demo-$STAMP")):
        files = render_workflows(spec, SPEC_NAME, folder)
        (text,) = (text for path, text in files.items() if path.endswith("-monitor.yml"))
        steps = yaml.safe_load(text)["jobs"]["propose"]["steps"]
        assert f'branch="{branch}"' in steps[-1]["run"]


def _wide(mean: float, count: int, seed: int) -> str:
    rng = random.Random(seed)
    names = [f"a_feature_with_a_long_name_{i:04}" for i in range(900)]
    rows = (
        ",".join([f"{rng.gauss(mean, 1):.2f}", str(i % 2)] + [f"{rng.gauss(mean, 1):.2f}"] * 900)
        for i in range(count)
    )
    return ",".join(["x", "label", *names]) + "\n" + "\n".join(rows) + "\n"


def test_a_report_too_long_for_a_pull_request_is_cut(base: Path, tmp_path: Path) -> None:
    files = {"data/base.csv": _wide(0.0, 200, 1)}
    results, _, tools = monitor(base, tmp_path, _wide(2.0, 100, 2), files=files)

    assert all(job.status == "success" for job in results.values()), failures(results)
    (call,) = (json.loads(line) for line in (tools / "calls.jsonl").read_text().splitlines())
    assert len(call["body"]) <= 65536
    assert ":white_check_mark: **PASS**" in call["body"]  # the gates come first
    assert call["body"].endswith(
        "\n\nThe report is cut here: the whole of it is in the summary of"
        " https://github.com/specops/project/actions/runs/1.\n"
    )


@pytest.mark.parametrize("link", ["data/incoming", "data"])
def test_an_incoming_folder_through_a_symlink_is_refused(tmp_path: Path, link: str) -> None:
    text = render_workflows(released_spec(4), SPEC_NAME)[".github/workflows/specops-monitor.yml"]
    steps = yaml.safe_load(text)["jobs"]["retrain"]["steps"]
    (add,) = (step for step in steps if step["name"] == "Add the batch to the training data")
    work, temp = tmp_path / "work", tmp_path / "temp"
    build_tree(temp, {"specops-batch/batch.csv": "x\n1\n", "outside/.keep": ""})
    build_tree(work, {"data/.keep": ""})
    target = temp / "outside"
    (work / link).parent.mkdir(parents=True, exist_ok=True)
    if (work / link).exists():
        (work / link / ".keep").unlink()
        (work / link).rmdir()
    (work / link).symlink_to(target)
    env = {**add["env"], "CURRENT": "live/batch.csv", "SPECOPS_WRITES": "false"}
    env |= {
        "RUNNER_TEMP": str(temp),
        "GITHUB_OUTPUT": str(tmp_path / "output"),
        "PATH": "/usr/bin:/bin",
    }
    done = subprocess.run(
        ["bash", "-eo", "pipefail", "-c", add["run"]],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (done.returncode, done.stdout) == (
        1,
        "::error::monitoring.incoming goes through a symbolic link: it must be a folder of the"
        " repository\n",
    )
    assert sorted(p.name for p in target.iterdir()) == [".keep"]


def test_the_pull_request_step_run_again_pushes_its_branch_again(tmp_path: Path) -> None:
    # Re-running the failed `propose` job, once GitHub lets Actions open pull requests, commits
    # the same files again: its branch exists, with the first attempt's commit.
    text = render_workflows(released_spec(4), SPEC_NAME)[".github/workflows/specops-monitor.yml"]
    (step,) = yaml.safe_load(text)["jobs"]["propose"]["steps"][-1:]
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", origin.name)
    work = make_project(tmp_path / "work", {"data/incoming/.gitkeep": ""})
    git(work, "push", "-q", str(origin), "HEAD:refs/heads/main")
    git(work, "remote", "add", "origin", str(origin))
    build_tree(work, {"data/incoming/batch-1.csv": "x\n1\n"})
    git(work, "add", "-A")
    patch = git(work, "diff", "--cached", "--binary")
    git(work, "reset", "-q", "--hard")
    temp, tools = tmp_path / "temp", tmp_path / "tools"
    build_tree(temp, {"specops-retrain/retrain.patch": patch, "specops-retrain/drift.md": "d\n"})
    build_tree(temp, {"specops-retrain/gates.md": "g\n"})
    build_tree(tools, {"gh": FAKE_GH})
    (tools / "gh").chmod(0o755)
    env = {
        **{k: v for k, v in step["env"].items() if k != "GH_TOKEN"},
        "STAMP": "1",
        "GH_TOKEN": "token",
        "RUNNER_TEMP": str(temp),
        "GITHUB_REF": "refs/heads/main",
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REPOSITORY": "o/r",
        "GITHUB_RUN_ID": "1",
        "PATH": f"{tools}:{os.environ['PATH']}",
    }
    for attempt in (1, 2):
        git(work, "switch", "-q", "--detach", "main")
        run(work, "git", "branch", "-q", "-D", "specops/retrain-1", check=False)
        date = {"GIT_AUTHOR_DATE": f"{attempt}000000000 +0000"}  # a later attempt, a new commit
        date["GIT_COMMITTER_DATE"] = date["GIT_AUTHOR_DATE"]
        script = ["bash", "-eo", "pipefail", "-c", step["run"]]
        done = run(work, *script, env=env | date, check=False)
        assert done.returncode == 0, (attempt, done.stderr)
    assert len((tools / "calls.jsonl").read_text().splitlines()) == 2
