"""promote, history, retire and card on a real Git + DVC project, read back by GTO."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from specops import commands
from specops.registry.tags import ModelTags, model_tags, stage_commit
from specops.releases import next_version
from tests.gitrepo import GIT_ENV, TINY_PROJECT, git, make_project, run

SPEC = (
    TINY_PROJECT["specops.yaml"].replace("maturity: 2", "maturity: 3")
    + """\
models:
  clf:
    path: data/x.csv
    desc: Rows of x
    labels: [tiny]
    metrics: metrics/scores.json
gates:
  - metric: rows
    min: 3
promotion:
  stages: [staging, production]
governance:
  owners: [data-team]
  intended_use: Tests of the registry
  limitations: Four rows
  risk: low
"""
)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project reproduced and committed once; each test works on a copy."""
    root = make_project(
        tmp_path_factory.mktemp("built") / "p", {**TINY_PROJECT, "specops.yaml": SPEC}
    )
    run(root, "dvc", "repro", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "Reproduce")
    return root


@pytest.fixture
def project(built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    root = tmp_path / "p"
    shutil.copytree(built, root, symlinks=True)
    for key, value in GIT_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(root)
    yield root


def commit_params(root: Path, rows: int) -> str:
    (root / "params.yaml").write_text(json.dumps({"prepare": {"rows": rows, "scale": 2.5}}) + "\n")
    run(root, "dvc", "repro", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", f"{rows} rows")
    return git(root, "rev-parse", "HEAD").strip()


def message(root: Path, tag: str) -> dict[str, object]:
    text = git(root, "tag", "-l", "--format=%(contents)", tag)
    return dict(json.loads(text.partition("\n\n")[2]))


def test_promote_writes_tags_gto_reads(project: Path) -> None:
    import gto.api

    result = commands.promote(None, "clf", "staging")
    assert (result.ok, result.version, result.tags) == (
        True,
        "v0.1.0",
        ["clf@v0.1.0", "clf#staging#1"],
    )
    head = git(project, "rev-parse", "HEAD").strip()
    shown = gto.api.show(project, "clf")
    assert [(v["version"], v["commit_hexsha"]) for v in shown] == [("v0.1.0", head)]
    assert [s["stage"] for s in shown[0]["stages"]] == ["staging"]
    assert [e["event"] for e in gto.api.history(project, "clf")] == ["assignment", "registration"]
    facts = message(project, "clf#staging#1")
    assert facts["gates_passed"] is True and facts["forced"] is False
    assert facts["metrics"] == {"metrics/scores.json": {"rows": 4, "mean": 3.75}}
    assert facts["params"] == {"params.yaml": {"prepare": {"rows": 4, "scale": 2.5}}}
    lineage = facts["lineage"]
    assert isinstance(lineage, dict) and lineage["model"]["stage"] == "prepare"
    assert facts["by"] == {"name": "specops tests", "email": "tests@specops.invalid"}
    # The production gate's baseline: the commit that holds the stage.
    ref = stage_commit(project, "clf", "staging")
    assert ref is not None and (ref.commit, ref.version) == (head, "v0.1.0")
    again = commands.promote(None, "clf", "staging")
    assert (again.ok, again.tags) == (True, [])


def test_failing_gate_refuses_unless_forced(project: Path) -> None:
    commit_params(project, 2)
    proc = run(project, "specops", "promote", "clf", "--to", "production", check=False)
    assert proc.returncode == 1
    assert proc.stderr.startswith("specops: promotion of clf to production refused:\n  gate rows: ")
    assert git(project, "tag", "--list") == ""
    proc = run(
        project, "specops", "promote", "clf", "--to", "production", "--force", "--reason", "hotfix"
    )
    assert proc.stdout == "clf v0.1.0 -> production: tagged clf@v0.1.0, clf#production#1\n"
    facts = message(project, "clf#production#1")
    assert (facts["forced"], facts["reason"], facts["gates_passed"]) == (True, "hotfix", False)


def test_dirty_tree_is_refused(project: Path) -> None:
    (project / "params.yaml").write_text('{"prepare": {"rows": 5, "scale": 2.5}}\n')
    result = commands.promote(None, "clf", "staging", force=True, reason="no")
    assert result.refused[0] == "uncommitted change: params.yaml"
    assert result.refused[1].startswith("`dvc status` is not clean")
    assert result.tags == [] and git(project, "tag", "--list") == ""


def test_invalid_input_exits_2(project: Path) -> None:
    proc = run(project, "specops", "promote", "nope", "--to", "staging", check=False)
    assert (proc.returncode, proc.stderr) == (
        2,
        "specops.yaml: error: unknown model 'nope'; the spec declares: clf\n",
    )
    proc = run(project, "specops", "promote", "clf", "--to", "qa", check=False)
    expected = (
        "specops.yaml: error: unknown stage 'qa'; promotion.stages are: staging, production\n"
    )
    assert (proc.returncode, proc.stderr) == (2, expected)


def test_version_rules(project: Path) -> None:
    assert next_version(ModelTags("clf"), "patch") == "v0.1.0"
    assert next_version(ModelTags("clf"), "major") == "v1.0.0"
    first = commands.promote(None, "clf", "staging", version="2.0.0")
    assert first.tags == ["clf@v2.0.0", "clf#staging#1"]
    commit_params(project, 5)
    second = commands.promote(None, "clf", "staging", bump="minor")
    assert second.tags == ["clf@v2.1.0", "clf#staging#2"]
    commit_params(project, 6)
    taken = commands.promote(None, "clf", "staging", version="2.1.0")
    assert taken.refused == ["v2.1.0 is registered already, at another commit"]
    assert model_tags(project, "clf").latest_version() == "v2.1.0"


def test_history_and_retire(project: Path) -> None:
    first = git(project, "rev-parse", "HEAD").strip()
    commands.promote(None, "clf", "production")
    commit_params(project, 5)
    commands.promote(None, "clf", "production")
    found = commands.history(None, "clf")
    assert found.stages == {"clf": {"production": "v0.1.1"}}
    assert [e.tag for e in found.events][:2] == ["clf#production#2", "clf@v0.1.1"]
    proc = run(project, "specops", "retire", "clf", "--stage", "production", "--reason", "bad")
    assert proc.stdout == "clf v0.1.1: tagged clf#production!#3\n"
    ref = stage_commit(project, "clf", "production")
    assert ref is not None and (ref.commit, ref.version) == (first, "v0.1.0")
    retired = commands.retire(None, "clf", version="0.1.0", reason="old")
    assert retired.tags == ["clf@v0.1.0!"]
    assert stage_commit(project, "clf", "production") is None
    data = json.loads(run(project, "specops", "history", "clf", "--format", "json").stdout)
    assert data["stages"] == {"clf": {}}
    # Tags of one second have no order of their own; find the deregistration by its name.
    (dropped,) = [e for e in data["events"] if e["tag"] == "clf@v0.1.0!"]
    assert (dropped["event"], dropped["evidence"]["reason"]) == ("deregister", "old")


def test_card(project: Path) -> None:
    commands.promote(None, "clf", "staging")
    text = run(project, "specops", "card", "clf").stdout
    head = git(project, "rev-parse", "HEAD").strip()
    for line in [
        "# Model card: clf\n\nRows of x\n",
        "- Project: `tiny`\n- Artifact: `data/x.csv` (model)\n- Labels: tiny\n",
        "## Governance\n\n- Owners: data-team\n- Risk: low\n",
        "- Intended use: Tests of the registry\n- Limitations: Four rows\n",
        "## Stages\n\n| stage | version | commit | assigned | by | tag |\n",
        f"| staging | v0.1.0 | {head[:12]} |",
        f"## Latest version: v0.1.0\n\n- Commit: `{head}`\n",
        "- Gates: passed\n\n### Metrics\n\n| file | metric | value |\n",
        "| metrics/scores.json | rows | 4 |\n",
        "### Gates\n\n| metric | status | value | threshold | baseline |\n",
        "### Params\n\n",
        "| params.yaml | prepare.rows | 4 |\n",
        "### Lineage\n\n- Spec: `specops.yaml` sha256 `",
    ]:
        assert line in text, line


def test_concurrent_promotions_to_one_remote(project: Path, tmp_path: Path) -> None:
    """Two clones promote different commits at the same time with --push: distinct versions,
    and both stage assignments survive."""
    import subprocess

    from tests.gitrepo import base_env

    origin = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(project), str(origin))
    clones = []
    for name, rows in (("a", 5), ("b", 6)):
        clone = tmp_path / name
        git(tmp_path, "clone", "-q", str(origin), str(clone))
        shutil.copytree(project / ".dvc" / "cache", clone / ".dvc" / "cache", dirs_exist_ok=True)
        run(clone, "dvc", "checkout", "-q")
        commit_params(clone, rows)
        clones.append(clone)
    args = ["specops", "promote", "clf", "--to", "staging", "--push"]
    procs = [
        subprocess.Popen(
            args, cwd=c, env=base_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for c in clones
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    remote = sorted(git(origin, "tag", "--list").split())
    assert remote == ["clf#staging#1", "clf#staging#2", "clf@v0.1.0", "clf@v0.1.1"]
    tags = model_tags(origin, "clf")
    heads = [git(c, "rev-parse", "HEAD").strip() for c in clones]
    assert sorted(str(tags.version_at(h)) for h in heads) == ["v0.1.0", "v0.1.1"]


def test_any_uncommitted_change_to_a_tracked_file_refuses(project: Path) -> None:
    (project / "dvc.yaml").write_text((project / "dvc.yaml").read_text() + "# edited\n")
    (project / "metrics/scores.json").write_text('{"rows": 99, "mean": 1}\n')
    result = commands.promote(None, "clf", "staging")
    assert not result.ok
    assert result.refused[:2] == [
        "uncommitted change: dvc.yaml",
        "uncommitted change: metrics/scores.json",
    ]
    assert model_tags(project, "clf").events == []


def test_a_deregistered_commit_is_not_registered_again(project: Path) -> None:
    assert commands.promote(None, "clf", "production").ok
    commands.retire(None, "clf", version="0.1.0", reason="bad data")
    result = commands.promote(None, "clf", "production")
    commit = git(project, "rev-parse", "HEAD").strip()
    assert (result.ok, result.refused) == (
        False,
        [
            f"commit {commit[:12]} holds a deregistered version, and GTO allows one version per"
            " commit: make a new commit to promote"
        ],
    )


def test_a_push_carries_the_version_tag_made_earlier(project: Path, tmp_path: Path) -> None:
    origin = tmp_path / "origin.git"
    git(tmp_path, "init", "-q", "--bare", str(origin))
    git(project, "remote", "add", "origin", str(origin))
    assert commands.promote(None, "clf", "staging").ok  # tagged here only
    assert commands.promote(None, "clf", "production", push=True).ok
    pushed = git(origin, "tag", "--list").split()
    assert sorted(pushed) == ["clf#production#2", "clf@v0.1.0"]


def test_a_tag_message_that_is_not_utf8_does_not_stop_the_registry(project: Path) -> None:
    git(project, "tag", "-a", "-m", "x", "old-release")
    run(project, "sh", "-c", "printf 'caf\\351\\n' | git tag -a -F - other HEAD")
    assert commands.promote(None, "clf", "staging").ok
    assert [e.tag for e in commands.history(None, "clf").events][-1] == "clf@v0.1.0"


@pytest.mark.parametrize("version", ["1.2.3-01", "", "1.2", "v1"])
def test_versions_gto_would_not_read_are_refused(project: Path, version: str) -> None:
    from specops.spec import SpecError

    with pytest.raises(SpecError) as caught:
        commands.promote(None, "clf", "staging", version=version)
    assert str(caught.value) == (
        f"specops.yaml: error: --version {version!r} is not a semantic version such as 1.2.3"
    )


def test_a_forced_promotion_of_metrics_nested_too_deeply(project: Path) -> None:
    deep = '"[" * 100_000 + "]" * 100_000'
    (project / "score.py").write_text(
        "import pathlib\n"
        "pathlib.Path('metrics').mkdir(exist_ok=True)\n"
        f"pathlib.Path('metrics/scores.json').write_text({deep})\n"
    )
    run(project, "dvc", "repro", "-q")
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "Deep metrics")
    proc = run(project, "specops", "promote", "clf", "--to", "staging", check=False)
    assert proc.returncode == 1
    assert "cannot parse metrics/scores.json: nested too deeply" in proc.stderr
    args = ["promote", "clf", "--to", "staging", "--force", "--reason", "r"]
    proc = run(project, "specops", *args, check=False)
    assert (proc.returncode, proc.stderr) == (0, "")
    assert message(project, "clf@v0.1.0")["metrics"] == {"metrics/scores.json": None}
