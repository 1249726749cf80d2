"""fetch, deploy and rollback on a real Git + DVC project with a local-directory DVC remote."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from specops import cli
from specops.registry.tags import stage_commit
from tests.gitrepo import GIT_ENV, TINY_PROJECT, git, make_project, run
from tests.test_promote import SPEC as PROMOTE_SPEC

SPEC = (
    PROMOTE_SPEC
    + """\
deploy:
  production:
    cmd: env > "$ENV_OUT"
    environment: prod-env
    url: https://models.example.com/clf
  staging:
    cmd: echo staging
"""
)

#: Tag dates one minute apart: GTO orders a stage's events by time, to the second.
T0 = 1_780_000_000


def at(minute: int) -> dict[str, str]:
    return {"GIT_COMMITTER_DATE": f"@{T0 + 60 * minute} +0000"}


def commit_rows(root: Path, rows: int) -> str:
    (root / "params.yaml").write_text(json.dumps({"prepare": {"rows": rows, "scale": 2.5}}) + "\n")
    run(root, "dvc", "repro", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", f"{rows} rows")
    return git(root, "rev-parse", "HEAD").strip()


@pytest.fixture(scope="module")
def released(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """v0.1.0 (4 rows, no DVC remote in its commit), then v0.1.1 (5 rows, pushed to a remote
    that its commit configures by a relative path), each promoted to production."""
    base = tmp_path_factory.mktemp("released")
    root = make_project(base / "p", {**TINY_PROJECT, "specops.yaml": SPEC})
    run(root, "dvc", "repro", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "Reproduce")
    run(root, "specops", "promote", "clf", "--to", "production", env=at(1))
    (base / "remote").mkdir()
    run(root, "dvc", "remote", "add", "-q", "-d", "store", "../remote")
    commit_rows(root, 5)
    run(root, "dvc", "push", "-q")
    run(root, "specops", "promote", "clf", "--to", "production", env=at(2))
    return root


@pytest.fixture
def project(released: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    root = tmp_path / "work" / "p"
    shutil.copytree(released.parent, root.parent, symlinks=True)
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)
    # The test run's own settings (SPECOPS_REQUIRE_LINT) are not what deploy passes on.
    for key in [k for k in os.environ if k.startswith("SPECOPS_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("ENV_OUT", str(tmp_path / "env.txt"))
    monkeypatch.chdir(root)
    yield root


def specops(capfd: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """Run the CLI in this process (DVC and GTO are imported once for the whole module)."""
    code = cli.main(list(args))
    out, err = capfd.readouterr()
    return code, out, err


def head(root: Path, rev: str = "HEAD") -> str:
    return git(root, "rev-parse", rev).strip()


def md5(path: Path) -> str:
    import hashlib

    return hashlib.md5(path.read_bytes()).hexdigest()


def locked_md5(root: Path, rev: str) -> str:
    import yaml

    lock = yaml.safe_load(git(root, "show", f"{rev}:dvc.lock"))
    (out,) = lock["stages"]["prepare"]["outs"]
    return str(out["md5"])


def test_fetch_from_the_cache(project: Path, capfd: pytest.CaptureFixture[str]) -> None:
    commit = head(project)
    digest = locked_md5(project, "HEAD")
    code, out, err = specops(capfd, "fetch", "clf", "--stage", "production", "--format", "json")
    assert (code, err) == (0, "")
    assert json.loads(out) == {
        "model": "clf",
        "version": "v0.1.1",
        "commit": commit,
        "path": str(project / "x.csv"),
        "md5": digest,
        "source": "cache",
        "written": True,
    }
    assert (project / "x.csv").read_bytes() == (project / "data" / "x.csv").read_bytes()
    code, out, _ = specops(capfd, "fetch", "clf", "--stage", "production")
    assert (code, out.splitlines()[0]) == (0, f"already there, unchanged: {project / 'x.csv'}")
    code, _, err = specops(capfd, "fetch", "clf", "--version", "v0.1.0")
    assert (code, err) == (
        1,
        f"specops: fetch of clf failed: {project / 'x.csv'} exists with other bytes; use --force "
        "to replace it\n",
    )
    assert md5(project / "x.csv") == digest
    code, out, _ = specops(capfd, "fetch", "clf", "--version", "0.1.0", "--force")
    assert code == 0 and out.startswith(f"wrote {project / 'x.csv'}\n")
    assert md5(project / "x.csv") == locked_md5(project, "clf@v0.1.0")
    assert [p.name for p in project.glob(".x.csv.*")] == []


def test_fetch_in_a_fresh_clone_from_the_remote_then_by_reproduction(
    project: Path,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clone = tmp_path / "work" / "clone"
    git(tmp_path, "clone", "-q", str(project), str(clone))
    monkeypatch.chdir(clone)
    assert not (clone / ".dvc" / "cache").exists()
    code, out, err = specops(capfd, "fetch", "clf", "--version", "0.1.1", "--out", "new.csv")
    assert (code, err) == (0, ""), err
    assert out.splitlines()[2] == f"  md5 {locked_md5(clone, 'clf@v0.1.1')}, from remote"
    # v0.1.0's commit configures no remote: the stage that writes the model runs again.
    code, out, err = specops(capfd, "fetch", "clf", "--version", "0.1.0", "--out", "old.csv")
    assert (code, err) == (0, "")
    assert out.splitlines()[2] == f"  md5 {locked_md5(clone, 'clf@v0.1.0')}, from reproduced"
    assert (clone / "old.csv").read_text() == "i,x\n0,0.0\n1,2.5\n2,5.0\n3,7.5\n"
    assert git(clone, "worktree", "list").count("\n") == 1  # the checkouts are gone
    # What was pulled or reproduced is in the clone's cache now.
    code, out, _ = specops(capfd, "fetch", "clf", "--version", "0.1.0", "--out", "again.csv")
    assert out.splitlines()[2].endswith(", from cache")


def test_a_tampered_cache_object_fails_and_writes_nothing(
    project: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    digest = locked_md5(project, "HEAD")
    cached = project / ".dvc" / "cache" / "files" / "md5" / digest[:2] / digest[2:]
    cached.chmod(0o644)
    cached.write_text("i,x\n0,666\n")
    code, out, err = specops(capfd, "fetch", "clf", "--stage", "production")
    assert (code, out) == (1, "")
    assert err == (
        f"specops: fetch of clf failed: data/x.csv obtained from the DVC cache has md5 "
        f"{md5(cached)}, but dvc.lock at {head(project)[:12]} records {digest}\n"
    )
    assert sorted(p.name for p in project.iterdir() if "x.csv" in p.name) == []


def test_a_tampered_lock_hash_fails_and_writes_nothing(
    project: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    real = locked_md5(project, "HEAD")
    fake = "0123456789abcdef0123456789abcdef"
    lock = project / "dvc.lock"
    lock.write_text(lock.read_text().replace(real, fake))
    run(project, "dvc", "remote", "remove", "store")
    git(project, "commit", "-q", "-am", "A lock that lies")
    git(project, "tag", "-a", "-m", "by hand", "clf@v0.2.0")
    code, out, err = specops(capfd, "fetch", "clf", "--version", "0.2.0", "--out", "x.csv")
    assert (code, out) == (1, "")
    assert err == (
        f"specops: fetch of clf failed: data/x.csv obtained from reproduction has md5 {real}, "
        f"but dvc.lock at {head(project)[:12]} records {fake}\n"
    )
    assert not (project / "x.csv").exists()


def deployed_env(path: Path) -> dict[str, str]:
    lines = path.read_text().splitlines()
    return dict(line.split("=", 1) for line in lines if line.startswith("SPECOPS_"))


def test_deploy_runs_the_command_with_the_versions_facts(
    project: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    commit = head(project)
    digest = locked_md5(project, "HEAD")
    code, out, err = specops(capfd, "deploy", "clf", "--stage", "production", "--branch", "main")
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        "pass    stage: deploy.production is in specops.yaml",
        "pass    assigned: clf v0.1.1 is in production (clf#production#2); gto agrees",
        f"pass    branch: commit {commit[:12]} is on main ({commit[:12]})",
        f"pass    evidence: clf@v0.1.1 records model md5 {digest}, as dvc.lock does",
        f"pass    gate rows: >= 3 at {commit[:12]}",
        f"pass    fetch: data/x.csv from cache, md5 {digest}",
        "deployed clf v0.1.1 to production",
    ]
    env = deployed_env(tmp_path / "env.txt")
    model_path = Path(env.pop("SPECOPS_MODEL_PATH"))
    assert env == {
        "SPECOPS_MODEL": "clf",
        "SPECOPS_VERSION": "v0.1.1",
        "SPECOPS_STAGE": "production",
        "SPECOPS_COMMIT": commit,
        "SPECOPS_MODEL_HASH": digest,
        "SPECOPS_ENVIRONMENT": "prod-env",
        "SPECOPS_URL": "https://models.example.com/clf",
    }
    assert model_path.is_absolute() and model_path.name == "x.csv"
    assert not model_path.exists()  # the temporary folder lived as long as the command


def test_deploy_json_and_dry_run(
    project: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    args = ["deploy", "clf", "--stage", "production", "--dry-run", "--format", "json"]
    code, out, err = specops(capfd, *args)
    data = json.loads(out)
    assert (code, err, data["status"], data["version"]) == (0, "", "dry-run", "v0.1.1")
    assert [c["verdict"] for c in data["checks"]] == ["pass"] * 6
    assert not (tmp_path / "env.txt").exists()


def test_a_superseded_version_is_skipped(
    project: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    code, out, err = specops(capfd, "deploy", "clf", "--stage", "production", "--version", "0.1.0")
    assert (code, err) == (0, "")
    assert out.splitlines()[-2:] == [
        "skipped version: v0.1.0 was asked for, but production holds v0.1.1 now: superseded",
        "v0.1.0 was asked for, but production holds v0.1.1 now: superseded",
    ]
    assert not (tmp_path / "env.txt").exists()


def test_deploy_refusals(project: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    code, out, err = specops(capfd, "deploy", "clf", "--stage", "prodution")
    assert (code, out, err) == (
        2,
        "",
        "specops.yaml: error: no deployment for stage 'prodution'; deploy has: production, "
        "staging; did you mean 'production'?\n",
    )
    code, out, err = specops(capfd, "deploy", "clf", "--stage", "staging")
    assert (code, err) == (1, "specops: no version of clf is in staging\n")
    assert out == "pass    stage: deploy.staging is in specops.yaml\n" + (
        "fail    assigned: no version of clf is in staging\n"
    )
    # A commit that is not on the branch asked for.
    git(project, "branch", "old", "HEAD~2")
    code, out, err = specops(capfd, "deploy", "clf", "--stage", "production", "--branch", "old")
    commit, old = head(project), head(project, "old")
    assert code == 1
    assert f"fail    branch: commit {commit[:12]} is not on old ({old[:12]})\n" in out
    assert err == "specops: check(s) failed: branch; nothing was run\n"
    # A gate of today's spec that the version's committed metrics fail.
    spec = project / "specops.yaml"
    spec.write_text(spec.read_text().replace("min: 3", "min: 10"))
    code, out, err = specops(capfd, "deploy", "clf", "--stage", "production")
    assert code == 1
    assert f"fail    gate rows: 5 is below the minimum 10 at {commit[:12]}\n" in out
    assert not (tmp_path / "env.txt").exists()
    # The command failing.
    spec.write_text(
        spec.read_text().replace("min: 10", "min: 3").replace('env > "$ENV_OUT"', "exit 3")
    )
    code, out, err = specops(capfd, "deploy", "clf", "--stage", "production")
    assert (code, err) == (1, "specops: deploy.production.cmd failed with exit code 3\n")


def test_a_hand_made_tag_without_evidence_fails(
    project: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    commit = commit_rows(project, 6)
    for name in ("clf@v0.3.0", "clf#production#3"):
        run(project, "git", "tag", "-a", "-m", "by hand", name, env=at(3))
    code, out, err = specops(capfd, "deploy", "clf", "--stage", "production")
    assert code == 1
    assert "pass    assigned: clf v0.3.0 is in production (clf#production#3); gto agrees\n" in out
    assert "fail    evidence: clf@v0.3.0 carries no specops evidence in its message\n" in out
    assert err == "specops: check(s) failed: evidence; nothing was run\n"
    assert commit == head(project) and not (tmp_path / "env.txt").exists()

    # Lightweight tags, as pushed by hand, are not registry tags: GTO and specops ignore them.
    git(project, "tag", "clf@v0.4.0")
    git(project, "tag", "clf#staging#9")
    code, out, err = specops(capfd, "deploy", "clf", "--stage", "staging")
    assert (code, err) == (1, "specops: no version of clf is in staging\n")


def test_rollback_then_deploy(
    project: Path,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import gto.api

    monkeypatch.setenv(*at(5).popitem())
    first = head(project, "clf@v0.1.0^{commit}")
    code, out, err = specops(capfd, "rollback", "clf", "--stage", "production", "--reason", "slow")
    assert (code, err) == (0, "")
    assert out == (
        "clf production: v0.1.1 -> v0.1.0 (rollback): tagged clf#production!#3, "
        "clf#production#4\nnext: specops deploy clf --stage production\n"
    )
    ref = stage_commit(project, "clf", "production")
    assert ref is not None and (ref.version, ref.commit) == ("v0.1.0", first)
    shown = {v["version"]: [s["stage"] for s in v["stages"]] for v in gto.api.show(project, "clf")}
    assert shown == {"v0.1.1": [], "v0.1.0": ["production"]}
    text = git(project, "tag", "-l", "--format=%(contents)", "clf#production#4")
    facts = json.loads(text.partition("\n\n")[2])
    assert (facts["rollback"], facts["replaces"], facts["reason"]) == (True, "v0.1.1", "slow")
    assert facts["by"] == {"name": "specops tests", "email": "tests@specops.invalid"}
    code, out, err = specops(capfd, "deploy", "clf", "--stage", "production")
    assert (code, err) == (0, "")
    assert deployed_env(tmp_path / "env.txt")["SPECOPS_VERSION"] == "v0.1.0"
    assert out.splitlines()[-1] == "deployed clf v0.1.0 to production"


def test_rollback_to_a_version_and_refusals(
    project: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(*at(5).popitem())
    code, _, err = specops(capfd, "rollback", "clf", "--stage", "production", "--reason", " ")
    assert (code, err) == (2, "specops.yaml: error: --reason must not be empty\n")
    for to, why in [
        ("9.9.9", "clf has no version v9.9.9"),
        ("0.1.1", "clf v0.1.1 is in production already"),
    ]:
        args = ["rollback", "clf", "--stage", "production", "--to", to, "--reason", "r"]
        code, out, err = specops(capfd, *args)
        assert (code, out, err) == (
            1,
            "",
            f"specops: rollback of clf in production refused:\n  {why}\n",
        )
    code, out, err = specops(capfd, "rollback", "clf", "--stage", "staging", "--reason", "r")
    assert (code, err) == (
        1,
        "specops: rollback of clf in production refused:\n".replace("production", "staging")
        + "  no version of clf is in staging; there is nothing to roll back\n",
    )
    run(project, "specops", "promote", "clf", "--to", "staging", env=at(6))
    monkeypatch.setenv(*at(7).popitem())
    code, out, err = specops(capfd, "rollback", "clf", "--stage", "staging", "--reason", "r")
    assert (code, err) == (
        1,
        "specops: rollback of clf in staging refused:\n"
        "  no earlier version of clf held staging: nothing to roll back to\n",
    )
    origin = project.parent / "origin.git"
    git(project.parent, "init", "-q", "--bare", str(origin))
    git(project, "remote", "add", "origin", str(origin))
    args = ["rollback", "clf", "--stage", "staging", "--to", "0.1.0", "--reason", "r", "--push"]
    code, out, err = specops(capfd, *args, "--format", "json")
    data = json.loads(out)
    assert (code, data["version"], data["replaces"], data["tags"]) == (
        0,
        "v0.1.0",
        "v0.1.1",
        ["clf#staging!#4", "clf#staging#5"],
    )
    assert data["pushed"] is True
    pushed = sorted(git(origin, "tag", "--list").split())
    assert pushed == ["clf#staging!#4", "clf#staging#5", "clf@v0.1.0", "clf@v0.1.1"]


def test_gates_from_the_evidence_and_forced_promotions(
    project: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    commit = commit_rows(project, 2)[:12]
    force = ["--force", "--reason", "hotfix"]
    run(project, "specops", "promote", "clf", "--to", "production", *force, env=at(3))
    spec = project / "specops.yaml"
    gate = "  - metric: metrics/extra.json:rows\n    min: 1\n"
    text = spec.read_text().replace("    min: 3\n", "    min: 3\n" + gate)
    spec.write_text(text + "metrics: [metrics/extra.json]\n")
    code, out, err = specops(capfd, "deploy", "clf", "--stage", "production", "--dry-run")
    assert (code, err) == (0, "")
    assert out.splitlines()[4:6] == [
        f"forced  gate rows: 2 is below the minimum 3 at {commit}; promoted with --force: hotfix",
        f"forced  gate metrics/extra.json:rows: metrics/extra.json is not in Git at {commit}; "
        "clf@v0.1.2 was promoted with --force: hotfix",
    ]


def evidence_of(root: Path, tag: str) -> tuple[str, dict[str, object]]:
    summary, _, body = git(root, "tag", "-l", "--format=%(contents)", tag).partition("\n\n")
    return summary, json.loads(body)


def tag_with(root: Path, name: str, rev: str, summary: str, body: object, minute: int) -> None:
    message = root.parent / "message.txt"
    message.write_text(f"{summary}\n\n{body if isinstance(body, str) else json.dumps(body)}\n")
    run(root, "git", "tag", "-a", "-F", str(message), name, rev, env=at(minute))


def test_a_registry_tag_on_a_tree_or_another_tag_is_no_version(
    project: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    summary, facts = evidence_of(project, "clf@v0.1.1")
    tag_with(project, "clf@v0.2.0", "HEAD^{tree}", summary, facts, 3)
    git(project, "tag", "-a", "-m", "inner", "inner", "HEAD~1")
    tag_with(project, "clf@v0.3.0", "inner", summary, facts, 3)
    for version in ("0.2.0", "0.3.0"):
        code, out, err = specops(capfd, "fetch", "clf", "--version", version, "--out", "y.csv")
        assert (code, out, err) == (
            1,
            "",
            f"specops: fetch of clf failed: clf has no version v{version}\n",
        )
    assert not (project / "y.csv").exists()
    code, out, _ = specops(capfd, "history", "clf")
    assert code == 0 and "v0.2.0" not in out and "v0.3.0" not in out


def test_a_tag_message_nested_too_deep_is_no_evidence(
    project: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    commit_rows(project, 6)
    deep = "[" * 100_000 + "]" * 100_000
    tag_with(project, "clf@v0.2.0", "HEAD", "Register", deep, 3)
    tag_with(project, "clf#production#3", "HEAD", "Assign", deep, 3)
    code, out, err = specops(capfd, "history", "clf")
    assert (code, err) == (0, "")
    code, out, err = specops(capfd, "deploy", "clf", "--stage", "production")
    assert (code, err) == (1, "specops: check(s) failed: evidence; nothing was run\n")
    assert "fail    evidence: clf@v0.2.0 carries no specops evidence in its message\n" in out


@pytest.mark.parametrize(
    ("gates", "why"),
    [
        (1, "its `gates` is not a list of gate results"),
        ([{"metric": ["rows"], "status": "pass"}], "its `gates` is not a list of gate results"),
    ],
)
def test_evidence_of_the_wrong_shape_fails(
    project: Path, capfd: pytest.CaptureFixture[str], gates: object, why: str
) -> None:
    commit = commit_rows(project, 6)
    summary, facts = evidence_of(project, "clf@v0.1.1")
    facts |= {"commit": commit, "gates": gates}
    facts["lineage"] = {"model": {"path": "data/x.csv", "md5": locked_md5(project, "HEAD")}}
    tag_with(project, "clf@v0.2.0", "HEAD", summary, facts, 3)
    tag_with(project, "clf#production#3", "HEAD", "Assign", facts, 3)
    code, out, err = specops(capfd, "deploy", "clf", "--stage", "production")
    assert (code, err) == (1, "specops: check(s) failed: evidence; nothing was run\n")
    assert f"fail    evidence: clf@v0.2.0 carries evidence that specops cannot read: {why}\n" in out
    args = ["rollback", "clf", "--stage", "production", "--to", "0.2.0", "--reason", "r"]
    tag_with(project, "clf#production!#4", "HEAD", "Unassign", {}, 4)
    code, out, err = specops(capfd, *args)
    assert (code, out, err) == (
        1,
        "",
        "specops: rollback of clf in production refused:\n"
        f"  clf@v0.2.0 carries evidence that specops cannot read: {why}\n",
    )


def test_evidence_copied_from_another_commit_fails(
    project: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    old = head(project)
    commit = commit_rows(project, 6)
    summary, facts = evidence_of(project, "clf@v0.1.1")
    facts["lineage"] = {"model": {"path": "data/x.csv", "md5": locked_md5(project, "HEAD")}}
    tag_with(project, "clf@v0.2.0", "HEAD", summary, facts, 3)
    tag_with(project, "clf#production#3", "HEAD", "Assign", facts, 3)
    code, out, err = specops(capfd, "deploy", "clf", "--stage", "production")
    assert (code, err) == (1, "specops: check(s) failed: evidence; nothing was run\n")
    assert (
        f"fail    evidence: clf@v0.2.0 carries the evidence of commit {old[:12]}, "
        f"not of {commit[:12]}\n"
    ) in out
    tag_with(project, "clf#production!#4", "HEAD", "Unassign", {}, 4)
    args = ["rollback", "clf", "--stage", "production", "--to", "0.2.0", "--reason", "r"]
    code, out, err = specops(capfd, *args)
    assert (code, err) == (
        1,
        "specops: rollback of clf in production refused:\n"
        f"  clf@v0.2.0 carries the evidence of commit {old[:12]}, not of {commit[:12]}\n",
    )


def commit_lock(root: Path, text: str) -> str:
    (root / "dvc.lock").write_text(text)
    git(root, "commit", "-q", "-am", "A lock by hand")
    git(root, "tag", "-a", "-m", "by hand", "clf@v0.2.0")
    return head(root)[:12]


def test_a_lock_nested_too_deep_fails(project: Path, capfd: pytest.CaptureFixture[str]) -> None:
    at_ = commit_lock(project, "stages:\n  prepare:\n    outs: " + "[" * 20_000 + "]" * 20_000)
    code, out, err = specops(capfd, "fetch", "clf", "--version", "0.2.0", "--out", "y.csv")
    assert (code, out, err) == (
        1,
        "",
        f"specops: fetch of clf failed: dvc.lock at {at_} is nested too deeply to read\n",
    )


def test_a_lock_larger_than_10_mib_fails(project: Path, capfd: pytest.CaptureFixture[str]) -> None:
    lock = (project / "dvc.lock").read_text()
    at_ = commit_lock(project, lock + "# " + "x" * (10 * 2**20) + "\n")
    code, out, err = specops(capfd, "fetch", "clf", "--version", "0.2.0", "--out", "y.csv")
    assert (code, out, err) == (
        1,
        "",
        f"specops: fetch of clf failed: dvc.lock at {at_} is larger than 10 MiB\n",
    )


def test_a_lock_hash_that_is_no_md5_fails(project: Path, capfd: pytest.CaptureFixture[str]) -> None:
    real = locked_md5(project, "HEAD")
    (project / "secret").write_text("not to be read\n")
    fake = "aa/../../../../../secret"
    at_ = commit_lock(project, (project / "dvc.lock").read_text().replace(real, fake))
    code, out, err = specops(capfd, "fetch", "clf", "--version", "0.2.0", "--out", "y.csv")
    assert (code, out, err) == (
        1,
        "",
        f"specops: fetch of clf failed: dvc.lock at {at_} records {fake!r} as the md5 of "
        "data/x.csv, which is not an md5\n",
    )


def test_fetch_refuses_to_replace_what_is_not_a_file(
    project: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    import os

    fifo = project.parent / "fifo"
    os.mkfifo(fifo)
    for out in (str(fifo), os.devnull):
        code, _, err = specops(capfd, "fetch", "clf", "--stage", "production", "--out", out)
        assert (code, err) == (
            1,
            f"specops: fetch of clf failed: {out} exists and is not a file\n",
        )
    assert fifo.exists() and not fifo.is_file()


def test_a_fetched_file_is_readable_as_the_umask_allows(
    project: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    import os

    old = os.umask(0o022)
    try:
        code, _, _ = specops(capfd, "fetch", "clf", "--stage", "production", "--out", "m.csv")
    finally:
        os.umask(old)
    assert code == 0
    assert (project / "m.csv").stat().st_mode & 0o777 == 0o644


def test_a_model_path_from_vars_that_looks_like_an_option_is_pulled_as_a_path(
    tmp_path: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The model's path is `${model_file}`: promote, card and fetch use the resolved `-j`."""
    spec = SPEC.replace("data/x.csv", "-j").replace("[prepare.py]", "[prepare.py]\n    desc: d")
    spec = spec.replace("    path: -j\n", "    path: ${model_file}\n")
    spec += "vars: [{model_file: -j}]\n"
    files = {**TINY_PROJECT, "specops.yaml": spec}
    files["prepare.py"] = TINY_PROJECT["prepare.py"].replace('"data/x.csv"', '"-j"')
    files["score.py"] = TINY_PROJECT["score.py"].replace('"data/x.csv"', '"-j"')
    root = make_project(tmp_path / "p", files)
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)
    (tmp_path / "remote").mkdir()
    run(root, "dvc", "remote", "add", "-q", "-d", "store", "../remote")
    run(root, "dvc", "repro", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "Reproduce")
    run(root, "dvc", "push", "-q")
    run(root, "specops", "promote", "clf", "--to", "production")
    _, evidence = evidence_of(root, "clf@v0.1.0")
    assert evidence["lineage"]["model"] == {  # type: ignore[index]
        "path": "-j",
        "md5": md5(root / "-j"),
        "stage": "prepare",
    }
    shutil.rmtree(root / ".dvc" / "cache")
    monkeypatch.chdir(root)
    code, out, err = specops(capfd, "fetch", "clf", "--stage", "production", "--out", "m.csv")
    assert (code, err) == (0, "")
    assert out.splitlines()[2].endswith(", from remote")
    assert (root / "m.csv").read_bytes() == (root / "-j").read_bytes()
    code, out, _ = specops(capfd, "card", "clf")
    assert code == 0 and "- Artifact: `-j` (model)\n" in out


def test_an_out_that_ends_in_a_slash_must_be_a_folder(
    project: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    code, out, err = specops(capfd, "fetch", "clf", "--stage", "production", "--out", "new/")
    assert (code, out, err) == (2, "", "new/: error: no such folder\n")
    assert not (project / "new").exists()
    (project / "new").mkdir()
    code, out, _ = specops(capfd, "fetch", "clf", "--stage", "production", "--out", "new/")
    assert (code, out.splitlines()[0]) == (0, f"wrote {project / 'new' / 'x.csv'}")


def test_a_remote_url_that_spans_lines_is_refused(
    project: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    config = project / ".dvc" / "config"
    evil = tmp_path / "evil-cache"
    text = config.read_text()
    assert text.splitlines()[-1].strip().startswith("url = ")  # continued by what follows
    config.write_text(text + f"      [cache]\n      dir = {evil}\n")
    git(project, "commit", "-q", "-am", "A remote URL of three lines")
    git(project, "tag", "-a", "-m", "by hand", "clf@v0.2.0")
    shutil.rmtree(project / ".dvc" / "cache")
    code, out, err = specops(capfd, "fetch", "clf", "--version", "0.2.0", "--out", "y.csv")
    assert (code, out) == (1, "")
    assert err == (
        "specops: fetch of clf failed: .dvc/config: the url of remote 'store' holds a line "
        "break or a control character\n"
    )
    assert not evil.exists() and not (project / "y.csv").exists()


def test_a_remote_set_locally_is_reached_from_the_checkout(
    project: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    moved = tmp_path / "moved-remote"
    shutil.move(project.parent / "remote", moved)
    run(project, "dvc", "remote", "modify", "--local", "store", "url", str(moved))
    shutil.rmtree(project / ".dvc" / "cache")
    code, out, err = specops(capfd, "fetch", "clf", "--version", "0.1.1", "--out", "y.csv")
    assert (code, err) == (0, "")
    assert out.splitlines()[2].endswith(", from remote")


def test_a_cache_object_that_is_no_file_fails_before_dvc_opens_it(
    project: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    import os

    digest = locked_md5(project, "HEAD")
    cached = project / ".dvc" / "cache" / "files" / "md5" / digest[:2] / digest[2:]
    cached.unlink()
    os.mkfifo(cached)  # DVC would wait for a writer to open it
    code, out, err = specops(capfd, "fetch", "clf", "--stage", "production", "--out", "y.csv")
    assert (code, out) == (1, "")
    assert err == (
        f"specops: fetch of clf failed: the DVC cache holds {cached}, which is not a file; "
        "remove it\n"
    )


@pytest.mark.parametrize("link", [".dvc/config.local", ".dvc/tmp", ".dvc", "data"])
def test_a_link_in_the_commit_that_leads_out_of_the_checkout_fails(
    project: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str], link: str
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "config.local").write_text("precious\n")
    (outside / "config").write_text((project / ".dvc" / "config").read_text())
    target = outside / "config.local" if link == ".dvc/config.local" else outside
    if link == "data":
        git(project, "rm", "-q", "-r", "--cached", "data")
    had = (project / link).exists()
    if had:
        shutil.move(project / link, tmp_path / "saved")
    (project / link).symlink_to(target)
    git(project, "add", "-f", link)
    git(project, "commit", "-q", "-m", "A link out")
    git(project, "tag", "-a", "-m", "by hand", "clf@v0.2.0")
    (project / link).unlink()
    if had:
        shutil.move(tmp_path / "saved", project / link)
    shutil.rmtree(project / ".dvc" / "cache", ignore_errors=True)
    code, out, err = specops(capfd, "fetch", "clf", "--version", "0.2.0", "--out", "y.csv")
    assert (code, out) == (1, "")
    assert err == (
        f"specops: fetch of clf failed: {link} at {head(project)[:12]} is a link that leads "
        "out of its checkout\n"
    )
    assert (outside / "config.local").read_text() == "precious\n"
    assert sorted(p.name for p in outside.iterdir()) == ["config", "config.local"]


def test_a_version_with_a_line_break_is_bad_input(
    project: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    args = ["deploy", "clf", "--stage", "production", "--version", "0.1.0\n", "--dry-run"]
    code, out, err = specops(capfd, *args)
    assert (code, out, err) == (
        2,
        "",
        "specops.yaml: error: --version '0.1.0\\n' is not a semantic version such as 1.2.3\n",
    )


def test_a_remote_that_looks_like_an_option_is_bad_input(
    project: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    ran = tmp_path / "ran"
    remote = f"--upload-pack=touch {ran};"
    args = ["rollback", "clf", "--stage", "production", "--reason", "r", "--push"]
    code, out, err = specops(capfd, *args, f"--remote={remote}")
    assert (code, out, err) == (2, "", f"{project}: error: --remote {remote!r} is no remote\n")
    assert not ran.exists()
    assert "clf#production!#3" not in git(project, "tag", "--list")


def test_rollback_refuses_a_version_off_the_checked_out_branch(
    project: Path, capfd: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A branch that never had v0.1.1's commit: v0.1.0's parent, with a commit of its own.
    git(project, "checkout", "-q", "-b", "elsewhere", "clf@v0.1.0^{commit}~1")
    git(project, "commit", "-q", "--allow-empty", "-m", "Elsewhere")
    monkeypatch.setenv(*at(5).popitem())
    code, out, err = specops(capfd, "rollback", "clf", "--stage", "production", "--reason", "r")
    commit = head(project, "clf@v0.1.0^{commit}")[:12]
    assert (code, out, err) == (
        1,
        "",
        "specops: rollback of clf in production refused:\n"
        f"  clf v0.1.0 is at commit {commit}, which is not on the checked-out branch: deploy"
        " would refuse it\n",
    )
    assert "clf#production!#3" not in git(project, "tag", "--list")
