"""The registry's tags, read back by specops and by GTO; reading files at revisions."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from specops.registry.publish import NewTag, Plan, Refused, publish
from specops.registry.revisions import RevisionError, read_at
from specops.registry.tags import ModelTags, model_tags, stage_commit
from tests.gitrepo import GIT_ENV, git


@pytest.fixture(autouse=True)
def identity(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tags made in-process get the tests' fixed identity."""
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)


def repo(root: Path, commits: int = 2) -> list[str]:
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q")
    shas = []
    for i in range(commits):
        (root / "f.txt").write_text(f"{i}\n")
        git(root, "add", "f.txt")
        git(root, "commit", "-q", "-m", f"c{i}")
        shas.append(git(root, "rev-parse", "HEAD").strip())
    return shas


def tag(root: Path, name: str, commit: str, message: str = "m", when: int | None = None) -> None:
    env_date = f"@{when} +0000" if when else None
    if env_date:
        os.environ["GIT_COMMITTER_DATE"] = env_date
    try:
        git(root, "tag", "-a", "-m", message, name, commit)
    finally:
        os.environ.pop("GIT_COMMITTER_DATE", None)


def test_stages_follow_counters_not_seconds(tmp_path: Path) -> None:
    first, second = repo(tmp_path)
    tag(tmp_path, "clf@v0.1.0", first)
    tag(tmp_path, "clf@v0.1.1", second)
    # The same second for every tag: only the counters order the assignments.
    tag(tmp_path, "clf#prod#2", first, when=1_700_000_000)
    tag(tmp_path, "clf#prod#1", second, when=1_700_000_000)
    tag(tmp_path, "clf#staging#3", second, when=1_700_000_000)
    ref = stage_commit(tmp_path, "clf", "prod")
    assert ref is not None
    assert (ref.commit, ref.version, ref.tag) == (first, "v0.1.0", "clf#prod#2")
    assert stage_commit(tmp_path, "clf", "dev") is None
    assert stage_commit(tmp_path, "other", "prod") is None
    tags = model_tags(tmp_path, "clf")
    assert tags.next_counter() == 4
    assert tags.latest_version() == "v0.1.1"


def test_unassign_and_deregister_free_a_stage(tmp_path: Path) -> None:
    first, second = repo(tmp_path)
    tag(tmp_path, "clf@v0.1.0", first)
    tag(tmp_path, "clf@v0.2.0", second)
    tag(tmp_path, "clf#prod#1", first)
    tag(tmp_path, "clf#prod#2", second)
    tag(tmp_path, "clf#prod!#3", second)
    ref = stage_commit(tmp_path, "clf", "prod")
    assert ref is not None and ref.version == "v0.1.0"  # back to the one still assigned
    tag(tmp_path, "clf@v0.1.0!", first)
    assert stage_commit(tmp_path, "clf", "prod") is None
    assert model_tags(tmp_path, "clf").version_at(first) is None


def test_lightweight_and_foreign_tags_are_ignored(tmp_path: Path) -> None:
    (commit,) = repo(tmp_path, 1)
    git(tmp_path, "tag", "clf@v9.0.0", commit)  # lightweight: GTO ignores it too
    tag(tmp_path, "release-1.0", commit)
    tag(tmp_path, "clf#prod#1", commit)
    ref = stage_commit(tmp_path, "clf", "prod")
    assert ref is not None and ref.version == commit  # no registration: named by its commit
    assert [e.tag for e in model_tags(tmp_path, "clf").events] == ["clf#prod#1"]


def test_gto_reads_the_tags(tmp_path: Path) -> None:
    import gto.api

    first, second = repo(tmp_path)
    tag(tmp_path, "clf@v0.1.0", first, when=1_700_000_000)
    tag(tmp_path, "clf#prod#1", first, when=1_700_000_001)
    tag(tmp_path, "clf@v0.1.1", second, when=1_700_000_002)
    tag(tmp_path, "clf#prod#2", second, when=1_700_000_003)
    shown = {v["version"]: [s["stage"] for s in v["stages"]] for v in gto.api.show(tmp_path, "clf")}
    assert shown == {"v0.1.1": ["prod"], "v0.1.0": []}
    ref = stage_commit(tmp_path, "clf", "prod")
    assert ref is not None and ref.version == "v0.1.1"


def test_read_at(tmp_path: Path) -> None:
    first, second = repo(tmp_path)
    assert read_at(tmp_path, first, "f.txt") == b"0\n"
    assert read_at(tmp_path, "HEAD", "f.txt") == b"1\n"
    assert read_at(tmp_path, second, "missing.json") is None
    with pytest.raises(RevisionError, match=r"^no revision 'nope' in the repository$"):
        read_at(tmp_path, "nope", "f.txt")


def _plan(commit: str) -> Plan:
    def plan(tags: ModelTags) -> list[NewTag]:
        version = "v0.1.0" if tags.latest_version() is None else "v0.1.1"
        if tags.version_at(commit):
            raise Refused("registered already")
        counter = tags.next_counter()
        return [
            NewTag(f"clf@{version}", commit, "register\n"),
            NewTag(f"clf#prod#{counter}", commit, "assign\n"),
        ]

    return plan


def test_racing_pushes_renumber(tmp_path: Path) -> None:
    """Two clones tag different commits at once against one bare remote: both land, with
    distinct versions and stage counters."""
    origin = tmp_path / "origin.git"
    repo(tmp_path / "seed", 1)
    git(tmp_path, "clone", "-q", "--bare", str(tmp_path / "seed"), str(origin))
    clones, commits = [], []
    for name in ("a", "b"):
        clone = tmp_path / name
        git(tmp_path, "clone", "-q", str(origin), str(clone))
        (clone / f"{name}.txt").write_text(name)
        git(clone, "add", "-A")
        git(clone, "commit", "-q", "-m", name)
        clones.append(clone)
        commits.append(git(clone, "rev-parse", "HEAD").strip())
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def go(clone: Path, commit: str) -> None:
        try:
            barrier.wait()
            publish(clone, "clf", _plan(commit), push=True)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=go, args=pair) for pair in zip(clones, commits, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    remote = sorted(git(origin, "tag", "--list").split())
    assert remote == ["clf#prod#1", "clf#prod#2", "clf@v0.1.0", "clf@v0.1.1"]
    tags = model_tags(origin, "clf")
    assert {tags.version_at(c) for c in commits} == {"v0.1.0", "v0.1.1"}
