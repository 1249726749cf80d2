"""The maturity-3 workflows work: dvc.lock and the gates on pull requests, and releases that
push the registry's tags, run for real on a small project."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.actrun import Event, dispatch, push, run_workflow
from tests.conftest import build_tree
from tests.gitrepo import git, make_project, run
from tests.test_workflow_run import PROJECT, WORKFLOW, Origin, failures, pull_request

RELEASE_WORKFLOW = ".github/workflows/specops-release.yml"
RELEASED = {
    **PROJECT,
    "specops.yaml": PROJECT["specops.yaml"].replace("maturity: 2", "maturity: 3")
    + """\
models:
  tiny-model:
    path: data/x.csv
    metrics: metrics/scores.json
gates:
  - metric: mean
    min: 3
promotion:
  stages: [staging, production]
  auto: staging
  approval: production
""",
}


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> Origin:
    """Like `origin`, at maturity 3: main passes its gate (mean 3.75 >= 3)."""
    base = tmp_path_factory.mktemp("released")
    dev = make_project(base / "dev", RELEASED)
    run(dev, "dvc", "repro")
    git(dev, "add", "-A")
    git(dev, "commit", "-q", "-m", "Reproduce the pipeline")
    git(base, "init", "-q", "--bare", "origin.git")
    git(dev, "push", "-q", str(base / "origin.git"), "main")
    return Origin(base / "origin.git")


def reproduced_pull_request(
    origin: Origin, tmp_path: Path, branch: str, scale: float, spec: str | None = None
) -> Event:
    """A pull request that sets the scale (and the spec) and commits what `specops render` and
    `dvc repro` then write."""
    params = json.dumps({"prepare": {"rows": 4, "scale": scale}}) + "\n"
    files = {"params.yaml": params} | ({"specops.yaml": spec} if spec else {})
    event = pull_request(origin, tmp_path, branch, files)
    work = tmp_path / "feature"
    run(work, "specops", "render")
    run(work, "dvc", "repro")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "Reproduce")
    git(work, "push", "-q", "origin", branch)
    merge = tmp_path / "merge"
    git(merge, "pull", "-q", "--no-rebase", "--no-edit", "origin", branch)
    git(merge, "push", "-q", "-f", "origin", "HEAD:refs/pull/1/merge")
    return event


def test_a_pull_request_with_its_new_dvc_lock_passes_every_step(
    released: Origin, tmp_path: Path
) -> None:
    event = reproduced_pull_request(released, tmp_path, "raise-scale", 3)
    results = run_workflow(tmp_path / "feature" / WORKFLOW, event, tmp_path / "runner")

    assert [(j.name, j.status) for j in results.values()] == [
        ("check", "success"),
        ("pipeline", "success"),
    ], failures(results)
    pipeline = results["pipeline"]
    assert [(s.name, s.outcome) for s in pipeline.steps[3:]] == [
        ("Pull DVC data", "success"),
        ("Reproduce the pipeline", "success"),
        ("Check that dvc.lock is current", "success"),
        ("Push DVC data", "skipped"),  # a pull request never writes the remote
        ("Check the gates", "success"),
        ("Report", "success"),
    ]
    assert "mean" in pipeline.summary and "pass" in pipeline.summary, pipeline.summary
    assert results.pushed == []


def test_a_stale_dvc_lock_fails_the_pipeline(released: Origin, tmp_path: Path) -> None:
    params = '{"prepare": {"rows": 4, "scale": 3}}\n'
    event = pull_request(released, tmp_path, "stale", {"params.yaml": params})
    results = run_workflow(tmp_path / "feature" / WORKFLOW, event, tmp_path / "runner")

    pipeline = results["pipeline"]
    assert pipeline.status == "failure"
    stale = next(s for s in pipeline.steps if s.name == "Check that dvc.lock is current")
    assert stale.returncode == 1
    assert "::error::dvc.lock is stale: run `dvc repro` and commit it\n" in stale.stdout
    assert [s.outcome for s in pipeline.steps[-2:]] == ["skipped", "skipped"]


def test_a_failing_gate_fails_the_pull_request_and_is_reported(
    released: Origin, tmp_path: Path
) -> None:
    event = reproduced_pull_request(released, tmp_path, "lower-scale", 1)
    results = run_workflow(tmp_path / "feature" / WORKFLOW, event, tmp_path / "runner")

    pipeline = results["pipeline"]
    assert pipeline.status == "failure", failures(results)
    outcomes = {s.name: s.outcome for s in pipeline.steps}
    assert outcomes["Check that dvc.lock is current"] == "success"
    assert outcomes["Check the gates"] == "failure"
    assert outcomes["Report"] == "success"  # the report shows what changed all the same
    assert "fail" in pipeline.summary, pipeline.summary
    assert "1.5" in pipeline.summary, pipeline.summary  # the mean the gate refused


def released_clone(released: Origin, tmp_path: Path) -> Path:
    bare = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(released.bare), bare.name)
    return bare


def test_a_push_to_main_releases_to_staging_then_production(
    released: Origin, tmp_path: Path
) -> None:
    bare = released_clone(released, tmp_path)
    workflow = tmp_path / "specops-release.yml"
    workflow.write_text(git(bare, "show", f"main:{RELEASE_WORKFLOW}"))
    results = run_workflow(workflow, push(bare, "main"), tmp_path / "runner")

    assert [(j.name, j.status) for j in results.values()] == [
        ("release", "success"),
        ("approve-production", "success"),
    ], failures(results)
    assert results["approve-production"].environment == "production"
    version = results["release"].outputs["version-0"]
    assert version == "0.1.0"
    tags = git(bare, "tag", "--list").split()
    assert "tiny-model@v0.1.0" in tags
    assert sorted(t for t in tags if "#" in t) == [
        "tiny-model#production#2",
        "tiny-model#staging#1",
    ]
    # Pushed with the job's token: tags only, and GitHub starts no workflow for them.
    assert results.pushed == sorted(f"refs/tags/{t}" for t in tags)


def test_a_failing_gate_stops_the_release_before_any_tag(released: Origin, tmp_path: Path) -> None:
    bare = released_clone(released, tmp_path)
    git(tmp_path, "clone", "-q", bare.name, "dev")
    dev = tmp_path / "dev"
    build_tree(dev, {"params.yaml": '{"prepare": {"rows": 4, "scale": 1}}\n'})
    run(dev, "dvc", "repro")
    git(dev, "commit", "-q", "-am", "Lower the scale")
    git(dev, "push", "-q", "origin", "main")
    workflow = dev / RELEASE_WORKFLOW
    results = run_workflow(workflow, push(bare, "main"), tmp_path / "runner")

    assert [(j.name, j.status) for j in results.values()] == [
        ("release", "failure"),
        ("approve-production", "skipped"),
    ]
    assert results["release"].steps[-1].name == "Promote tiny-model to staging"
    assert results["release"].steps[-1].returncode == 1
    assert results.pushed == []
    assert git(bare, "tag", "--list") == ""


# Stands in for GitHub's API: records each call, with the body it would send, and finds no
# earlier comment.
FAKE_GH = """\
#!/usr/bin/env python3
import json, os, pathlib, sys

args = sys.argv[1:]
body = next((a[len("body=@"):] for a in args if a.startswith("body=@")), None)
call = {"args": args, "token": os.environ.get("GH_TOKEN")}
if body is not None:
    call["body"] = pathlib.Path(body).read_text()
with open(pathlib.Path(__file__).with_name("calls.jsonl"), "a") as log:
    log.write(json.dumps(call) + "\\n")
"""


@pytest.mark.parametrize("fork", [False, True])
def test_the_report_comment_is_written_only_for_pull_requests_from_the_repository(
    released: Origin, tmp_path: Path, fork: bool
) -> None:
    spec = git(released.bare, "show", "main:specops.yaml").replace(
        "ci:\n", "ci:\n  pr_comment: true\n"
    )
    event = reproduced_pull_request(released, tmp_path, "comment", 3, spec)
    work = tmp_path / "feature"
    if fork:
        event = Event(**{**event.__dict__, "head_repository": "someone/fork"})
    tools = tmp_path / "tools"
    build_tree(tools, {"gh": FAKE_GH})
    (tools / "gh").chmod(0o755)
    results = run_workflow(work / WORKFLOW, event, tmp_path / "runner", tools=tools)

    statuses = [(j.name, j.status) for j in results.values()]
    comment = "skipped" if fork else "success"
    assert statuses == [("check", "success"), ("pipeline", "success"), ("comment", comment)], (
        failures(results)
    )
    calls = tools / "calls.jsonl"
    if fork:
        assert not calls.exists()
        return
    listed, posted = (json.loads(line) for line in calls.read_text().splitlines())
    assert listed["args"][:3] == ["api", "--paginate", "repos/specops/project/issues/1/comments"]
    assert posted["args"][:4] == [
        "api",
        "--method",
        "POST",
        "repos/specops/project/issues/1/comments",
    ]
    assert posted["token"] == "actrun-token"
    report = posted["body"].removeprefix("<!-- specops report -->\n\n")
    assert report != posted["body"]
    assert report.strip() and report in results["pipeline"].summary


def test_a_version_replaced_in_staging_while_awaiting_approval_is_not_promoted(
    released: Origin, tmp_path: Path
) -> None:
    bare = released_clone(released, tmp_path)
    workflow = tmp_path / "specops-release.yml"
    workflow.write_text(git(bare, "show", f"main:{RELEASE_WORKFLOW}"))

    def newer_release(job: str) -> None:
        assert job == "approve-production"
        git(tmp_path, "clone", "-q", bare.name, "newer")
        newer = tmp_path / "newer"
        build_tree(newer, {"params.yaml": '{"prepare": {"rows": 4, "scale": 3}}\n'})
        run(newer, "dvc", "repro")
        git(newer, "commit", "-q", "-am", "Raise the scale")
        git(newer, "push", "-q", "origin", "main")
        run(newer, "specops", "promote", "tiny-model", "--to", "staging", "--push")

    results = run_workflow(
        workflow, push(bare, "main"), tmp_path / "runner", while_waiting=newer_release
    )

    assert [(j.name, j.status) for j in results.values()] == [
        ("release", "success"),
        ("approve-production", "success"),
    ], failures(results)
    promote = results["approve-production"].steps[-1]
    assert promote.stdout == (
        "::notice::tiny-model 0.1.0 is no longer in staging (now: v0.1.1); not promoting it\n"
    )
    tags = git(bare, "tag", "--list").split()
    assert sorted(tags) == [
        "tiny-model#staging#1",
        "tiny-model#staging#2",
        "tiny-model@v0.1.0",
        "tiny-model@v0.1.1",
    ]


def test_a_manual_run_releases_the_version_it_is_given(released: Origin, tmp_path: Path) -> None:
    bare = released_clone(released, tmp_path)
    workflow = tmp_path / "specops-release.yml"
    workflow.write_text(git(bare, "show", f"main:{RELEASE_WORKFLOW}"))
    event = dispatch(bare, "main", {"version": "2.0.0"})
    results = run_workflow(workflow, event, tmp_path / "runner")

    assert [(j.name, j.status) for j in results.values()] == [
        ("release", "success"),
        ("approve-production", "success"),
    ], failures(results)
    assert results["release"].outputs == {"version-0": "2.0.0"}
    assert sorted(git(bare, "tag", "--list").split()) == [
        "tiny-model#production#2",
        "tiny-model#staging#1",
        "tiny-model@v2.0.0",
    ]


def test_a_manual_run_on_another_branch_releases_nothing(released: Origin, tmp_path: Path) -> None:
    bare = released_clone(released, tmp_path)
    git(bare, "branch", "topic", "main")
    workflow = tmp_path / "specops-release.yml"
    workflow.write_text(git(bare, "show", f"main:{RELEASE_WORKFLOW}"))
    results = run_workflow(workflow, dispatch(bare, "topic", {}), tmp_path / "runner")

    assert [(j.name, j.status) for j in results.values()] == [
        ("release", "skipped"),
        ("approve-production", "skipped"),
    ]
    assert results.pushed == []
