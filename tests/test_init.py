"""`specops init` in a folder that has files: it creates what is missing, keeps what is there,
writes a spec that is valid with what it kept or says what to do, leaves DVC pipelines to
`specops import`, and a killed init leaves nothing that init cannot finish."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from specops import commands
from specops.cli import main
from specops.scaffold import files as scaffold_files
from specops.writer import TEMP_SUFFIX
from tests.conftest import build_tree
from tests.gitrepo import git, run
from tests.test_cli import WORKFLOW
from tests.test_file_safety import run_unprivileged, snapshot

OUR_PARAMS = "train:\n  seed: 42\n  scale: 0.5\n"


def init(root: Path, *args: str) -> int:
    return main(["init", *args, "--spec", str(root / "specops.yaml")])


def test_an_existing_project_keeps_its_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    mine = {
        "README.md": "# churn\n",
        "requirements.txt": "numpy==2.0  # pinned\ndvc[s3]>=3\n",
        "params.yaml": "train:\n  seed: 7\n  scale: 2\nprepare: {split: 0.2}\n",
        ".gitignore": "/data\n",
        "src/utils.py": "X = 1\n",
    }
    root = build_tree(tmp_path, mine)
    (root / ".git").mkdir()
    assert init(root) == 0
    assert capsys.readouterr().out.splitlines() == [
        "created specops.yaml",
        "kept params.yaml",
        "kept requirements.txt",
        "created src/train.py",
        "kept .gitignore",
        "created dvc.yaml",
        f"created {WORKFLOW}",
        "todo requirements.txt: add specops, PyYAML: CI installs from it (`pip install -r"
        " requirements.txt`), unless it installs them another way",
        "todo .gitignore: add the line `*.specops-tmp`: Git should ignore the temporary files a"
        " killed specops command leaves",
        "next: dvc init && dvc repro",
    ]
    after = snapshot(root)
    assert {k: after[k] for k in mine} == {k: v.encode() for k, v in mine.items()}
    assert init(root, "--format", "json") == 2  # the spec is there now
    assert main(["render", "--check", "--spec", str(root / "specops.yaml")]) == 0


def test_init_reports_in_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = build_tree(tmp_path, {".gitignore": "*.specops-tmp\n", "params.yaml": OUR_PARAMS})
    assert init(root, "--format", "json") == 0
    assert json.loads(capsys.readouterr().out) == {
        "created": ["specops.yaml", "requirements.txt", "src/train.py", "dvc.yaml", WORKFLOW],
        "kept": ["params.yaml", ".gitignore"],
        "updated": [],
        "removed": [],
        "todo": [],
        "next": ["git init", "dvc init", "dvc repro"],
    }


def test_a_params_file_without_the_scaffolds_params_is_refused_with_what_to_add(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = build_tree(tmp_path, {"params.yaml": "train: {seed: 1, scale: fast}\n"})
    assert init(root) == 2
    assert capsys.readouterr().err == (
        "params.yaml: error: has no 'train.scale' (a number), which the src/train.py that"
        " specops init writes reads; add `train: {seed: 42, scale: 0.5}` to it, or put your own"
        " src/train.py in place first\n"
    )
    assert sorted(snapshot(root)) == ["params.yaml"]


def test_a_kept_training_script_keeps_the_spec_valid_and_is_a_todo(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = build_tree(tmp_path, {"params.yaml": "lr: 0.1\n", "src/train.py": "print('mine')\n"})
    assert init(root) == 0
    out = capsys.readouterr().out
    assert "kept src/train.py\n" in out
    assert (
        "todo src/train.py: the stage `train` of the spec runs it and expects it to write"
        " models/model.json and metrics/scores.json: make the stage's deps, params, outs and"
        " metrics what it reads and writes, then run `specops render`\n"
    ) in out
    # Its params.yaml has no `train`: the stage names no params, rather than an invalid key.
    assert "params:" not in (root / "specops.yaml").read_text()
    assert main(["validate", "--spec", str(root / "specops.yaml")]) == 0


def test_a_kept_params_file_the_spec_cannot_use_is_an_error_in_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = build_tree(tmp_path, {"params.yaml": OUR_PARAMS + "day: 2024-01-01\nx: [\n"})
    assert init(root) == 2
    assert capsys.readouterr().err == (
        "params.yaml:5:5: error: (root): invalid YAML: did not find expected node content\n"
    )
    (root / "params.yaml").write_text(OUR_PARAMS + "day: 2024-01-01\n")
    assert init(root) == 2
    assert capsys.readouterr().err == (
        "params.yaml:4:6: error: day: DVC cannot load a date into its values for `${...}`;"
        " quote it\n"
    )
    assert sorted(snapshot(root)) == ["params.yaml"]


@pytest.mark.parametrize(
    ("files", "problem"),
    [
        (
            {"dvc.yaml": "stages: {}\n"},
            "dvc.yaml: error: exists and was not generated by specops: this is a DVC project;"
            " run `specops import` to adopt it",
        ),
        (
            {"nlp/dvc.yaml": "stages: {}\n", "README.md": "x\n"},
            "nlp/dvc.yaml: error: is a DVC pipeline in a folder of this project; run `specops"
            " import` to adopt it",
        ),
    ],
)
def test_a_dvc_pipeline_is_left_to_specops_import(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], files: dict[str, str], problem: str
) -> None:
    root = build_tree(tmp_path, files)
    (root / ".git").mkdir()
    build_tree(root / ".git", {"dvc.yaml": "not a pipeline of the project\n"})
    before = snapshot(root)
    assert init(root) == 2
    assert capsys.readouterr().err == problem + "\n"
    assert snapshot(root) == before


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (
            lambda root: (root / "params.yaml").mkdir(),
            "params.yaml: error: is a folder, but specops init writes a file of that name; move"
            " it away",
        ),
        (
            lambda root: (root / "src").write_text("a file\n"),
            "src: error: is not a folder, but specops init writes src/train.py in a folder of"
            " that name; move it away",
        ),
        (
            lambda root: (root / ".github").write_text("a file\n"),
            ".github: error: is not a folder, but specops init writes"
            " .github/workflows/specops-ci.yml in a folder of that name; move it away",
        ),
        (
            lambda root: (root / "dvc.yaml").mkdir(),
            "dvc.yaml: error: is a folder, but specops init writes a file of that name; move it"
            " away",
        ),
        (
            lambda root: (root / ".gitignore").mkdir(),
            ".gitignore: error: is a folder, but specops init writes a file of that name; move"
            " it away",
        ),
        (
            lambda root: (root / "params.yaml").symlink_to("gone.yaml"),
            "params.yaml: error: is a symbolic link to nothing; remove it, or point it at a file",
        ),
        (
            lambda root: build_tree(root, {"models/model.json": "{}\n"}),
            "models/model.json: error: exists, and the stage of the spec specops init writes has"
            " it as an out, which `dvc repro` would replace; move it away",
        ),
    ],
)
def test_what_is_in_the_way_is_refused_and_nothing_written(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make: object, problem: str
) -> None:
    root = tmp_path / "project"
    root.mkdir()
    make(root)  # type: ignore[operator]
    before = snapshot(root)
    assert init(root) == 2
    assert capsys.readouterr().err == problem + "\n"
    assert snapshot(root) == before


def test_a_named_pipe_in_the_way_is_refused_unread(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    os.mkfifo(tmp_path / "requirements.txt")  # opening it to read would wait for a writer
    assert init(tmp_path) == 2
    assert (
        capsys.readouterr().err == "requirements.txt: error: is not a regular file; move it away\n"
    )
    assert [p.name for p in tmp_path.iterdir()] == ["requirements.txt"]


def test_links_out_of_the_project_are_kept_and_never_followed_to_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    outside = build_tree(tmp_path / "outside", {"reqs.txt": "x\n", "params.yaml": OUR_PARAMS})
    root = tmp_path / "project"
    root.mkdir()
    (root / "requirements.txt").symlink_to(outside / "reqs.txt")
    (root / "docs").symlink_to(outside)  # a folder: not searched for dvc.yaml either
    before = snapshot(outside)
    assert init(root) == 0
    assert "kept requirements.txt\n" in capsys.readouterr().out  # not read: no todo
    assert snapshot(outside) == before
    # A params file out of the project is one the spec could not read: refused.
    other = tmp_path / "other"
    other.mkdir()
    (other / "params.yaml").symlink_to(outside / "params.yaml")
    assert init(other) == 2
    assert capsys.readouterr().err == (
        f"params.yaml: error: its real path '{outside}/params.yaml' is outside the project"
        f" {str(other)!r}\n"
    )
    assert [p.name for p in other.iterdir()] == ["params.yaml"]


def test_unreadable_files_are_refused_when_the_spec_needs_them(tmp_path: Path) -> None:
    root = build_tree(tmp_path, {"params.yaml": OUR_PARAMS, "requirements.txt": "x\n"})
    (root / "secret").mkdir()
    (root / "secret").chmod(0)  # not searched, as DVC could not search it either
    (root / "params.yaml").chmod(0)
    try:
        result = run_unprivileged("init", cwd=root)
        assert (result.returncode, result.stderr) == (
            2,
            "params.yaml: error: cannot read: Permission denied\n",
        )
        (root / "params.yaml").chmod(0o644)
        (root / "requirements.txt").chmod(0)  # kept, and what it lacks is unknown
        result = run_unprivileged("init", cwd=root)
        assert result.returncode == 0, result.stderr
        assert "kept requirements.txt\n" in result.stdout and "todo" not in result.stdout
    finally:
        (root / "secret").chmod(0o755)


@pytest.mark.parametrize(
    ("layout", "next_steps"),
    [
        ([], "git init && dvc init && dvc repro"),
        ([".git"], "dvc init && dvc repro"),
        ([".git", ".dvc"], "dvc repro"),
        (["../.git"], "dvc init --subdir && dvc repro"),
        (["../.git", "../.dvc"], "dvc repro"),
    ],
)
def test_init_says_only_what_is_left_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], layout: list[str], next_steps: str
) -> None:
    root = tmp_path / "repo" / "project"
    root.mkdir(parents=True)
    for folder in layout:
        (root / folder).mkdir()
    assert init(root) == 0
    assert capsys.readouterr().out.splitlines()[-1] == f"next: {next_steps}"


def test_a_generated_file_of_a_spec_that_is_gone_is_rendered_again(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "project"
    root.mkdir()
    assert init(root) == 0
    (root / "specops.yaml").unlink()
    stale = root / ".github/workflows/specops-release.yml"
    stale.write_text((root / WORKFLOW).read_text())  # ours, from this spec name
    (root / "dvc.yaml").write_text((root / "dvc.yaml").read_text() + "# stale\n")
    capsys.readouterr()
    assert init(root) == 0
    out = capsys.readouterr().out
    assert "updated dvc.yaml\n" in out and "kept params.yaml\n" in out
    assert "removed .github/workflows/specops-release.yml\n" in out
    assert not stale.exists()


class Killed(BaseException):
    """A kill between two renames: nothing after it runs, no clean-up either."""


def project_with_files(root: Path) -> Path:
    build_tree(root, {"README.md": "# x\n", "requirements.txt": "specops\ndvc\nPyYAML\n"})
    (root / ".git").mkdir()
    return root


@pytest.fixture(scope="module")
def clean_init(tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes | str]:
    root = project_with_files(tmp_path_factory.mktemp("clean") / "project")
    commands.init(root / "specops.yaml")
    return snapshot(root)


@pytest.mark.parametrize("done", range(6))
def test_a_killed_init_leaves_no_spec_and_init_finishes_it(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    clean_init: dict[str, bytes | str],
    done: int,
) -> None:
    root = project_with_files(tmp_path / "project")
    replace, count = os.replace, [0]

    def killed_after(source: str, target: str) -> None:
        if count[0] == done:
            raise Killed
        count[0] += 1
        replace(source, target)

    with monkeypatch.context() as patch:
        patch.setattr(os, "replace", killed_after)
        with pytest.raises(Killed):
            commands.init(root / "specops.yaml")
    assert not (root / "specops.yaml").exists()  # written last
    assert any(p.name.endswith(TEMP_SUFFIX) for p in root.rglob("*"))
    result = commands.init(root / "specops.yaml")
    assert snapshot(root) == clean_init
    assert len(result.kept) == 1 + done  # requirements.txt, and what the killed run finished
    assert [path for path, _ in result.todo] == []


def test_init_in_an_existing_repository_reproduces(tmp_path: Path) -> None:
    root = build_tree(
        tmp_path / "churn",
        {"README.md": "# churn\n", "requirements.txt": "specops\ndvc\nPyYAML\n"},
    )
    git(root, "init", "-q")
    run(root, "dvc", "init", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "An existing project")
    out = run(root, "specops", "init").stdout
    assert out.splitlines()[-1] == "next: dvc repro"
    assert "kept requirements.txt\n" in out and "todo" not in out
    repro = run(root, "dvc", "repro")
    assert "Running stage 'train'" in repro.stdout
    assert "up to date" in run(root, "specops", "render", "--check").stdout
    assert (root / "README.md").read_text() == "# churn\n"


def test_the_scaffold_is_what_init_writes_into_an_empty_folder(tmp_path: Path) -> None:
    files = scaffold_files(tmp_path, "specops.yaml")
    assert [f.path for f in files] == [
        "specops.yaml",
        "params.yaml",
        "requirements.txt",
        "src/train.py",
        ".gitignore",
    ]
    assert files[1].text == OUR_PARAMS


def test_a_dvc_yaml_that_git_ignores_is_not_a_pipeline_as_for_dvc(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pipeline = "stages:\n  s:\n    cmd: run\n"
    root = build_tree(
        tmp_path,
        {
            ".gitignore": ".venv/\n",
            ".venv/lib/pkg/dvc.yaml": pipeline,
            "node_modules/pkg/dvc.yaml": pipeline,
        },
    )
    git(root, "init", "-q")
    run(root, "dvc", "init", "-q")
    # DVC collects the pipelines of the folders Git does not ignore only.
    from dvc.repo import Repo  # type: ignore[import-untyped]

    with Repo(str(root)) as repo:
        found = [Path(s.path).relative_to(root).as_posix() for s in repo.index.stages]
    assert found == ["node_modules/pkg/dvc.yaml"]
    assert init(root) == 2
    assert capsys.readouterr().err == (
        "node_modules/pkg/dvc.yaml: error: is a DVC pipeline in a folder of this project;"
        " run `specops import` to adopt it\n"
    )
    (root / ".gitignore").write_text(".venv/\nnode_modules\n")
    assert init(root) == 0
