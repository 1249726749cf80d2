"""The deployment workflows work: a release deploys what it assigns, a dispatch deploys only a
version that is the stage's and on the default branch, and a rollback redeploys the one before,
all run for real on a small project."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.actrun import Run, dispatch, push, run_workflow
from tests.conftest import build_tree
from tests.gitrepo import git, make_project, run
from tests.test_workflow_release import RELEASE_WORKFLOW, RELEASED
from tests.test_workflow_run import failures

DEPLOY_WORKFLOW = ".github/workflows/specops-deploy.yml"
ROLLBACK_WORKFLOW = ".github/workflows/specops-rollback.yml"
# The deploy command records what specops told it, in the job's temporary folder.
RECORD = "env | grep '^SPECOPS_' | sort > \"$RUNNER_TEMP/deployed.env\""
DEPLOYED = {
    **RELEASED,
    "specops.yaml": RELEASED["specops.yaml"]
    + f"""\
deploy:
  staging:
    cmd: {RECORD}
  production:
    cmd: {RECORD}
    environment: prod
    url: https://example.org/predict
""",
}


def deployed_env(runner: Path, job: str) -> dict[str, str] | None:
    """What the deploy command of `job` was given, or None when it did not run."""
    file = runner / job / "temp" / "deployed.env"
    if not file.exists():
        return None
    return dict(line.split("=", 1) for line in file.read_text().splitlines())


def model_md5(bare: Path, rev: str) -> str:
    lock = yaml.safe_load(git(bare, "show", f"{rev}:dvc.lock"))
    outs = lock["stages"]["prepare"]["outs"]
    return str(next(out["md5"] for out in outs if out["path"] == "data/x.csv"))


def statuses(results: Run) -> list[tuple[str, str]]:
    return [(job.name, job.status) for job in results.values()]


def workflow(bare: Path, tmp_path: Path, path: str) -> Path:
    """The default branch's definition of a workflow, as GitHub runs it."""
    file = tmp_path / Path(path).name
    file.write_text(git(bare, "show", f"main:{path}"))
    return file


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Run]:
    """An origin whose main was pushed and released once: v0.1.0 in staging and production.
    Returns the bare origin, the runner's folder and the release run."""
    base = tmp_path_factory.mktemp("deployed")
    dev = make_project(base / "dev", DEPLOYED)
    run(dev, "dvc", "repro")
    git(dev, "add", "-A")
    git(dev, "commit", "-q", "-m", "Reproduce the pipeline")
    bare = base / "origin.git"
    git(base, "init", "-q", "--bare", bare.name)
    git(dev, "push", "-q", str(bare), "main")
    results = run_workflow(workflow(bare, base, RELEASE_WORKFLOW), push(bare, "main"), base / "r")
    return bare, base / "r", results


def clone(bare: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(bare), copy.name)
    return copy


def test_a_release_deploys_each_stage_it_assigns(released: tuple[Path, Path, Run]) -> None:
    bare, runner, results = released
    assert statuses(results) == [
        ("release", "success"),
        ("deploy-staging-0/deploy-staging", "success"),
        ("deploy-staging-0/deploy-production", "skipped"),
        ("deploy-staging-0", "success"),
        ("approve-production", "success"),
    ], failures(results)
    # The approved job promotes and deploys: one approval, in the environment the spec names.
    assert results["approve-production"].environment == "prod"
    assert results["deploy-staging-0/deploy-staging"].environment == "staging"
    commit = git(bare, "rev-parse", "main").strip()
    common = {
        "SPECOPS_MODEL": "tiny-model",
        "SPECOPS_VERSION": "v0.1.0",
        "SPECOPS_COMMIT": commit,
        "SPECOPS_MODEL_HASH": model_md5(bare, "main"),
    }
    staging = deployed_env(runner, "deploy-staging-0/deploy-staging")
    production = deployed_env(runner, "approve-production")
    assert staging is not None and production is not None, failures(results)
    assert {k: staging.pop(k) for k in common} == common
    assert {k: production.pop(k) for k in common} == common
    assert Path(staging.pop("SPECOPS_MODEL_PATH")).name == "x.csv"
    assert Path(production.pop("SPECOPS_MODEL_PATH")).name == "x.csv"
    assert staging == {"SPECOPS_ENVIRONMENT": "staging", "SPECOPS_STAGE": "staging"}
    assert production == {
        "SPECOPS_ENVIRONMENT": "prod",
        "SPECOPS_STAGE": "production",
        "SPECOPS_URL": "https://example.org/predict",
    }


def test_a_dispatch_from_another_branch_deploys_nothing(
    released: tuple[Path, Path, Run], tmp_path: Path
) -> None:
    bare = clone(released[0], tmp_path)
    git(bare, "branch", "topic", "main")
    event = dispatch(bare, "topic", {"model": "tiny-model", "stage": "staging"})
    results = run_workflow(workflow(bare, tmp_path, DEPLOY_WORKFLOW), event, tmp_path / "r")
    assert statuses(results) == [
        ("deploy-staging", "skipped"),
        ("deploy-production", "skipped"),
    ]


def newer_release(bare: Path, tmp_path: Path) -> None:
    """Push a new main and release it to staging as v0.1.1, as the release job would."""
    git(tmp_path, "clone", "-q", str(bare), "newer")
    newer = tmp_path / "newer"
    build_tree(newer, {"params.yaml": '{"prepare": {"rows": 4, "scale": 3}}\n'})
    run(newer, "dvc", "repro")
    git(newer, "commit", "-q", "-am", "Raise the scale")
    git(newer, "push", "-q", "origin", "main")
    run(newer, "specops", "promote", "tiny-model", "--to", "staging", "--push")


def test_a_superseded_version_is_skipped_and_the_current_one_deployed(
    released: tuple[Path, Path, Run], tmp_path: Path
) -> None:
    bare = clone(released[0], tmp_path)
    newer_release(bare, tmp_path)
    deploy = workflow(bare, tmp_path, DEPLOY_WORKFLOW)
    old = dispatch(bare, "main", {"model": "tiny-model", "stage": "staging", "version": "0.1.0"})
    results = run_workflow(deploy, old, tmp_path / "old")
    assert statuses(results) == [
        ("deploy-staging", "success"),
        ("deploy-production", "skipped"),
    ], failures(results)
    assert deployed_env(tmp_path / "old", "deploy-staging") is None
    assert "skipped" in results["deploy-staging"].steps[-1].stdout

    current = dispatch(bare, "main", {"model": "tiny-model", "stage": "staging"})
    results = run_workflow(deploy, current, tmp_path / "current")
    env = deployed_env(tmp_path / "current", "deploy-staging")
    assert env is not None, failures(results)
    assert env["SPECOPS_VERSION"] == "v0.1.1"
    assert env["SPECOPS_MODEL_HASH"] == model_md5(bare, "main")


def test_a_version_tagged_off_the_default_branch_is_not_deployed(
    released: tuple[Path, Path, Run], tmp_path: Path
) -> None:
    bare = clone(released[0], tmp_path)
    git(tmp_path, "clone", "-q", str(bare), "rogue")
    rogue = tmp_path / "rogue"
    git(rogue, "checkout", "-q", "-b", "rogue")
    build_tree(rogue, {"params.yaml": '{"prepare": {"rows": 4, "scale": 9}}\n'})
    run(rogue, "dvc", "repro")
    git(rogue, "commit", "-q", "-am", "Never reviewed")
    # Tags pushed by hand, with evidence copied from the real release.
    message = git(bare, "tag", "-l", "--format=%(contents)", "tiny-model@v0.1.0")
    git(rogue, "tag", "-a", "tiny-model@v9.0.0", "-m", message)
    git(rogue, "tag", "-a", "tiny-model#staging#9", "-m", message)
    git(rogue, "push", "-q", "origin", "rogue", "--tags")
    event = dispatch(bare, "main", {"model": "tiny-model", "stage": "staging"})
    results = run_workflow(workflow(bare, tmp_path, DEPLOY_WORKFLOW), event, tmp_path / "r")
    assert statuses(results) == [
        ("deploy-staging", "failure"),
        ("deploy-production", "skipped"),
    ]
    assert deployed_env(tmp_path / "r", "deploy-staging") is None
    assert "v9.0.0" in results["deploy-staging"].steps[-1].stdout


def test_a_rollback_reassigns_the_version_before_and_deploys_it(
    released: tuple[Path, Path, Run], tmp_path: Path
) -> None:
    bare = clone(released[0], tmp_path)
    newer_release(bare, tmp_path)
    event = dispatch(
        bare, "main", {"model": "tiny-model", "stage": "staging", "reason": "errors up 3x"}
    )
    results = run_workflow(workflow(bare, tmp_path, ROLLBACK_WORKFLOW), event, tmp_path / "r")
    assert statuses(results) == [
        ("rollback-staging", "success"),
        ("rollback-production", "skipped"),
    ], failures(results)
    env = deployed_env(tmp_path / "r", "rollback-staging")
    assert env is not None
    assert env["SPECOPS_VERSION"] == "v0.1.0"
    # v0.1.1 gives the stage up, then v0.1.0 takes it, in one atomic push.
    assert results.pushed == [
        "refs/tags/tiny-model#staging!#4",
        "refs/tags/tiny-model#staging#5",
    ]
    message = git(bare, "tag", "-l", "--format=%(contents)", "tiny-model#staging#5")
    assert "errors up 3x" in message


def test_only_the_steps_that_push_hold_the_token_that_may_push(tmp_path: Path) -> None:
    """The install (run before `dvc repro` and the gates) and the deploy command (run after
    the push) each try to push a tag: both are refused, and only the registry's tags arrive."""
    attempt = "git push -q origin HEAD:refs/tags/from-{0}"
    spec = (
        DEPLOYED["specops.yaml"]
        .replace(
            'install: python -c "import specops, dvc"',
            f'install: python -c "import specops, dvc" && ! {attempt.format("install")}',
        )
        .replace(
            f"production:\n    cmd: {RECORD}",
            f"production:\n    cmd: if {attempt.format('deploy')}; then exit 1; fi; {RECORD}",
        )
    )
    assert spec.count("from-") == 2
    dev = make_project(tmp_path / "dev", {**DEPLOYED, "specops.yaml": spec})
    run(dev, "dvc", "repro")
    git(dev, "add", "-A")
    git(dev, "commit", "-q", "-m", "Reproduce the pipeline")
    bare = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", bare.name)
    git(dev, "push", "-q", str(bare), "main")
    runner = tmp_path / "runner"
    results = run_workflow(workflow(bare, tmp_path, RELEASE_WORKFLOW), push(bare, "main"), runner)

    assert all(status != "failure" for _, status in statuses(results)), failures(results)
    refused = "actrun-cannot-push/no-credentials"
    for job in ("release", "approve-production"):
        install = next(s for s in results[job].steps if s.name == "Install")
        assert refused in install.stderr
    deploy = results["approve-production"].steps[-1]
    assert deploy.name == "Deploy tiny-model to production"
    assert refused in deploy.stderr
    assert deployed_env(runner, "approve-production") is not None
    assert results.pushed == [
        "refs/tags/tiny-model#production#2",
        "refs/tags/tiny-model#staging#1",
        "refs/tags/tiny-model@v0.1.0",
    ]
