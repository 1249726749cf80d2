"""The DVC remote in CI, for real: a push to main fills it with outputs and the run-cache, a
pull request restores what it did not change instead of running it and never writes, a fork's
pull request runs without it, and secrets and cloud credentials reach only the steps that pull
and push."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from tests.actactions import REPOSITORY, StepResult
from tests.actrun import Event, JobResult, Run, open_pull_request, push, run_workflow
from tests.conftest import build_tree
from tests.gitrepo import TINY_PROJECT, git, make_project, run
from tests.test_workflow_run import failures, sections

WORKFLOW = ".github/workflows/specops-ci.yml"
SECRET = "s3cr3t-value-of-the-remote"
OTHER_SECRET = "a-secret-no-step-asks-for"
WRITER = "arn:aws:iam::123456789012:role/dvc-writer"
READER = "arn:aws:iam::123456789012:role/dvc-reader"

#: TINY_PROJECT (prepare -> score) and a stage of its own params that nothing depends on.
SPEC = TINY_PROJECT["specops.yaml"] + (
    "  other:\n"
    "    cmd: python other.py\n"
    "    deps: [other.py]\n"
    "    params: [other]\n"
    "    outs: [data/other.csv]\n"
    "ci:\n"
    '  install: python -c "import specops, dvc"\n'
    "  secrets: [DVC_REMOTE_TOKEN]\n"
)
PARAMS = '{{"prepare": {{"rows": 4, "scale": {scale}}}, "other": {{"n": {n}}}}}\n'
PROJECT = {
    **TINY_PROJECT,
    "specops.yaml": SPEC,
    "params.yaml": PARAMS.format(scale=2.5, n=1),
    "other.py": """\
import json
import pathlib

n = json.loads(pathlib.Path("params.yaml").read_text())["other"]["n"]
pathlib.Path("data/other.csv").write_text(f"n\\n{n}\\n")
with open("runs.log", "a") as log:
    log.write("other\\n")
""",
    "README.md": "# tiny\n",
}
PULL, PUSH = "Pull DVC data", "Push DVC data"
SECRETS = {"DVC_REMOTE_TOKEN": SECRET, "UNUSED": OTHER_SECRET}


@dataclass(frozen=True)
class Origin:
    bare: Path  # main, with dvc.lock committed; the remote is empty until main's CI pushes
    storage: Path  # the local-directory DVC remote that .dvc/config names


def stages_run(root: Path, job: str = "pipeline") -> list[str]:
    """The stages the job ran, sorted, from the log every stage's command appends to."""
    log = root / job / "workspace" / "runs.log"
    return sorted(log.read_text().split()) if log.exists() else []


def listing(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def step(job: JobResult, name: str) -> StepResult:
    return next(s for s in job.steps if s.name == name)


def make_origin(base: Path, files: dict[str, str]) -> Origin:
    dev = make_project(base / "dev", files)
    run(dev, "dvc", "repro")
    storage = base / "dvc-storage"
    run(dev, "dvc", "remote", "add", "-d", "storage", str(storage))
    git(dev, "add", "-A")
    git(dev, "commit", "-q", "-m", "Reproduce the pipeline")
    # A params change merged without reproducing: dvc.lock is stale for `other`, so only the
    # run-cache that main's CI pushes can spare every later run from running it again.
    build_tree(dev, {"params.yaml": PARAMS.format(scale=2.5, n=5)})
    git(dev, "commit", "-q", "-am", "Raise other.n")
    git(base, "init", "-q", "--bare", "origin.git")
    git(dev, "push", "-q", str(base / "origin.git"), "main")
    return Origin(base / "origin.git", storage)


def change(origin: Path, work: Path, branch: str, files: dict[str, str]) -> Path:
    """Clone `origin` into `work`, commit `files` on `branch` (re-rendering a changed spec)
    and push the branch; return the clone."""
    git(work.parent, "clone", "-q", str(origin), work.name)
    if branch != "main":
        git(work, "checkout", "-q", "-b", branch)
    build_tree(work, files)
    if "specops.yaml" in files:
        run(work, "specops", "render")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", f"Change {', '.join(files)}")
    git(work, "push", "-q", "origin", branch)
    return work


def pull_request(origin: Origin, tmp_path: Path, files: dict[str, str], **kw: object) -> Event:
    """A pull request that changes `files`, in a copy of `origin`, with the repository's
    secrets."""
    bare = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(origin.bare), bare.name)
    change(bare, tmp_path / "feature", "feature", files)
    event = open_pull_request(bare, "feature", "main", tmp_path / "merge")
    return replace(event, **{"secrets": SECRETS, **kw})  # type: ignore[arg-type]


def run_pr(origin: Origin, tmp_path: Path, files: dict[str, str], **kw: object) -> Run:
    event = pull_request(origin, tmp_path, files, **kw)
    return run_workflow(tmp_path / "feature" / WORKFLOW, event, tmp_path / "runner")


def statuses(results: Run) -> list[tuple[str, str]]:
    return [(j.name, j.status) for j in results.values()]


@dataclass(frozen=True)
class Pushed:
    origin: Origin
    results: Run
    root: Path
    remote: list[str]  # the remote's files once main's CI pushed


@pytest.fixture(scope="module")
def pushed(tmp_path_factory: pytest.TempPathFactory) -> Pushed:
    """main's CI has run once, on the push that made it."""
    base = tmp_path_factory.mktemp("remote")
    origin = make_origin(base, PROJECT)
    assert listing(origin.storage) == []
    event = replace(push(origin.bare, "main"), secrets=SECRETS)
    workflow = base / "dev" / WORKFLOW
    results = run_workflow(workflow, event, base / "runner")
    return Pushed(origin, results, base / "runner", listing(origin.storage))


def test_a_push_to_main_fills_the_remote_with_outputs_and_the_run_cache(pushed: Pushed) -> None:
    results = pushed.results
    assert statuses(results) == [("check", "success"), ("pipeline", "success")], failures(results)
    pipeline = results["pipeline"]
    names = [s.name for s in pipeline.steps]
    assert names.index(PULL) < names.index("Reproduce the pipeline") < names.index(PUSH)
    # The remote was empty, so the stages ran (score's inputs came out as committed, so DVC
    # skipped it), and then everything went to the remote.
    assert stages_run(pushed.root) == ["other", "prepare"]
    push_step = step(pipeline, PUSH)
    assert not push_step.skipped
    assert "files pushed" in push_step.stdout
    files = [p for p in pushed.remote if p.startswith("files/md5/")]
    runs = [p for p in pushed.remote if p.startswith("runs/")]
    # data/x.csv and data/other.csv (metrics are in Git); one run-cache entry per stage that
    # caches outputs.
    assert (len(files), len(runs)) == (2, 2), pushed.remote


def test_secrets_reach_only_the_steps_that_pull_and_push(pushed: Pushed) -> None:
    seen = {
        (job.name, s.name): SECRET in s.env.values()
        for job in pushed.results.values()
        for s in job.steps
        if not s.skipped
    }
    assert {where for where, has in seen.items() if has} == {
        ("pipeline", PULL),
        ("pipeline", PUSH),
    }
    assert step(pushed.results["pipeline"], PULL).env["DVC_REMOTE_TOKEN"] == SECRET
    # A secret the spec does not name reaches no step.
    assert not any(OTHER_SECRET in s.env.values() for j in pushed.results.values() for s in j.steps)
    # Nor does any file hold a secret: not the rendered ones, not what the jobs wrote.
    for folder in (pushed.root, pushed.origin.storage, pushed.origin.bare.parent / "dev"):
        for path in folder.rglob("*"):
            if path.is_file() and not path.is_symlink():
                assert SECRET.encode() not in path.read_bytes(), path


def test_a_pull_request_restores_unchanged_stages_and_never_writes(
    pushed: Pushed, tmp_path: Path
) -> None:
    params = PARAMS.format(scale=3, n=5)
    results = run_pr(pushed.origin, tmp_path, {"params.yaml": params})

    assert statuses(results) == [("check", "success"), ("pipeline", "success")], failures(results)
    pipeline = results["pipeline"]
    # The stage whose params changed ran, and the one downstream of it; `other`, which
    # dvc.lock says is stale, came from the run-cache main's CI pushed.
    assert stages_run(tmp_path / "runner") == ["prepare", "score"]
    assert "Restored 'other' from the run-cache" in step(pipeline, PULL).stdout
    repro = step(pipeline, "Reproduce the pipeline").stdout
    assert "Stage 'other' is cached - skipping run, checking out outputs" in repro
    assert step(pipeline, PUSH).skipped
    assert listing(pushed.origin.storage) == pushed.remote
    assert list(sections(pipeline.summary)) == ["Metrics", "Changes against main", "Pipeline"]


def test_a_pull_request_that_changes_only_the_readme_runs_no_stage(
    pushed: Pushed, tmp_path: Path
) -> None:
    results = run_pr(pushed.origin, tmp_path, {"README.md": "# tiny, documented\n"})

    assert statuses(results) == [("check", "success"), ("pipeline", "success")], failures(results)
    assert stages_run(tmp_path / "runner") == []
    assert listing(pushed.origin.storage) == pushed.remote


def test_a_pull_request_from_a_fork_runs_without_the_remote_and_says_so(
    pushed: Pushed, tmp_path: Path
) -> None:
    results = run_pr(
        pushed.origin, tmp_path, {"README.md": "# from a fork\n"}, head_repository="someone/fork"
    )

    assert statuses(results) == [("check", "success"), ("pipeline", "success")], failures(results)
    pipeline = results["pipeline"]
    pull = step(pipeline, PULL)
    assert pull.env["DVC_REMOTE_TOKEN"] == ""
    assert pull.stdout == ""
    assert stages_run(tmp_path / "runner") == ["other", "prepare"]
    parts = sections(pipeline.summary)
    assert list(parts) == ["DVC remote", "Metrics", "Changes against main", "Pipeline"]
    assert parts["DVC remote"] == (
        "\n\nThis pull request comes from a fork, which gets no secrets: the pipeline ran"
        " without the DVC remote, so no stage was restored from it.\n\n"
    )
    assert step(pipeline, PUSH).skipped
    assert listing(pushed.origin.storage) == pushed.remote


def test_a_pull_request_without_the_secrets_runs_without_the_remote_and_says_so(
    pushed: Pushed, tmp_path: Path
) -> None:
    # Dependabot's pull requests come from the repository's own branches, and GitHub gives them
    # only the Dependabot secrets: pulling with an empty key would fail to authenticate.
    results = run_pr(pushed.origin, tmp_path, {"README.md": "# a dependency raised\n"}, secrets={})

    assert statuses(results) == [("check", "success"), ("pipeline", "success")], failures(results)
    pipeline = results["pipeline"]
    assert step(pipeline, PULL).stdout == ""
    assert stages_run(tmp_path / "runner") == ["other", "prepare"]
    assert sections(pipeline.summary)["DVC remote"] == (
        "\n\nThis pull request was given no DVC_REMOTE_TOKEN (GitHub gives those of Dependabot"
        " only the Dependabot secrets): the pipeline ran without the DVC remote, so no stage was"
        " restored from it.\n\n"
    )


def test_the_pull_step_runs_no_module_of_the_repository(pushed: Pushed, tmp_path: Path) -> None:
    # The step that holds the secrets imports DVC; a `dvc.py` in the working tree must not be
    # what it imports.
    planted = (
        "import os, pathlib\n"
        "if 'DVC_REMOTE_TOKEN' in os.environ:\n"
        "    pathlib.Path('leaked').write_text(os.environ['DVC_REMOTE_TOKEN'])\n"
    )
    results = run_pr(pushed.origin, tmp_path, {"dvc.py": planted})

    assert statuses(results) == [("check", "success"), ("pipeline", "success")], failures(results)
    assert not (tmp_path / "runner" / "pipeline" / "workspace" / "leaked").exists()
    assert "Restored 'other' from the run-cache" in step(results["pipeline"], PULL).stdout


# -- OpenID Connect ------------------------------------------------------------------------------

OIDC = "  oidc:\n    aws:\n      role: {writer}\n{read}      region: eu-west-1\n"
AWS = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")


def oidc_spec(read_role: str | None) -> str:
    read = f"      read_role: {read_role}\n" if read_role else ""
    return SPEC + OIDC.format(writer=WRITER, read=read)


def aws_credentials(job: JobResult) -> dict[str, str]:
    """Each step that ran with AWS credentials, and the role they are from."""
    found = {}
    for s in job.steps:
        key = "" if s.skipped else s.env.get("AWS_ACCESS_KEY_ID", "")
        if key:
            role = key.removeprefix("key-of-")
            assert s.env["AWS_SECRET_ACCESS_KEY"] == f"secret-of-{role}"
            assert s.env["AWS_SESSION_TOKEN"] == f"session-of-{role}"
            found[s.name] = role
    return found


def test_oidc_gives_the_writing_role_to_pushes_to_main_only(pushed: Pushed, tmp_path: Path) -> None:
    bare = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(pushed.origin.bare), bare.name)
    change(bare, tmp_path / "main", "main", {"specops.yaml": oidc_spec(READER)})
    event = replace(push(bare, "main"), secrets=SECRETS)
    results = run_workflow(tmp_path / "main" / WORKFLOW, event, tmp_path / "runner")

    assert statuses(results) == [("check", "success"), ("pipeline", "success")], failures(results)
    pipeline = results["pipeline"]
    assert aws_credentials(pipeline) == {PULL: WRITER, PUSH: WRITER}
    assert step(pipeline, "AWS credentials that may read the DVC remote").skipped
    assert step(pipeline, PUSH).env["AWS_REGION"] == "eu-west-1"
    assert aws_credentials(results["check"]) == {}


def test_oidc_gives_pull_requests_the_reading_role(pushed: Pushed, tmp_path: Path) -> None:
    results = run_pr(pushed.origin, tmp_path, {"specops.yaml": oidc_spec(READER)})

    assert statuses(results) == [("check", "success"), ("pipeline", "success")], failures(results)
    pipeline = results["pipeline"]
    assert aws_credentials(pipeline) == {PULL: READER}
    assert step(pipeline, "AWS credentials that may write the DVC remote").skipped
    assert step(pipeline, PUSH).skipped
    assert stages_run(tmp_path / "runner") == []


def test_oidc_without_a_reading_role_runs_pull_requests_without_the_remote(
    pushed: Pushed, tmp_path: Path
) -> None:
    results = run_pr(pushed.origin, tmp_path, {"specops.yaml": oidc_spec(None)})

    assert statuses(results) == [("check", "success"), ("pipeline", "success")], failures(results)
    pipeline = results["pipeline"]
    assert aws_credentials(pipeline) == {}
    assert stages_run(tmp_path / "runner") == ["other", "prepare"]
    assert sections(pipeline.summary)["DVC remote"] == (
        "\n\nOnly pushes to the default branch get AWS credentials (ci.oidc.aws has no"
        " read_role): the pipeline ran without the DVC remote, so no stage was restored"
        " from it.\n\n"
    )


# -- releases ------------------------------------------------------------------------------------

RELEASE = ".github/workflows/specops-release.yml"
#: The trust policies the README gives the roles: the writer trusts pushes to main alone, the
#: reader every run of the repository.
TRUST = {WRITER: f"repo:{REPOSITORY}:ref:refs/heads/main", READER: f"repo:{REPOSITORY}:*"}
RELEASED = """\
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
"""


def test_a_release_with_oidc_writes_from_its_release_job_and_only_reads_after_approval(
    tmp_path: Path,
) -> None:
    # The approval job is bound to its environment, so its token names the environment, not
    # main: the writer's trust policy refuses it, and it has nothing to write anyway.
    spec = oidc_spec(READER).replace("maturity: 2", "maturity: 3") + RELEASED
    dev = make_project(tmp_path / "dev", {**PROJECT, "specops.yaml": spec})
    run(dev, "dvc", "repro")
    storage = tmp_path / "dvc-storage"
    run(dev, "dvc", "remote", "add", "-d", "storage", str(storage))
    git(dev, "add", "-A")
    git(dev, "commit", "-q", "-m", "Reproduce the pipeline")
    git(tmp_path, "init", "-q", "--bare", "origin.git")
    git(dev, "push", "-q", str(tmp_path / "origin.git"), "main")
    event = replace(push(tmp_path / "origin.git", "main"), secrets=SECRETS, trust=TRUST)
    results = run_workflow(dev / RELEASE, event, tmp_path / "runner")

    assert statuses(results) == [("release", "success"), ("approve-production", "success")], (
        failures(results)
    )
    assert aws_credentials(results["release"]) == {PULL: WRITER, PUSH: WRITER}
    approve = results["approve-production"]
    assert aws_credentials(approve) == {PULL: READER}
    assert all(s.skipped for s in approve.steps if s.name == PUSH)
    # What the release job ran and pushed, the approval job restored.
    assert stages_run(tmp_path / "runner", "approve-production") == []
