"""specops touches only what it generated, only inside the project, all or nothing.

Each test is named after the promise it keeps against a hostile tree: symlinks out of the
project, special files, foreign and non-UTF-8 files, failed writes, killed runs, forged lines.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from specops.cli import main
from specops.generators.header import header
from specops.writer import TEMP_SUFFIX
from tests.conftest import Tree, build_tree
from tests.gitrepo import git
from tests.test_cli import PROJECT, SPEC, WORKFLOW

OURS = header("specops.yaml") + "name: old\n"


def cli(root: Path, *args: str, spec: str = "specops.yaml") -> int:
    return main([*args, "--spec", str(root / spec)])


def snapshot(root: Path) -> dict[str, bytes | str]:
    """Every entry below `root`: file bytes, or where a symlink points, or `dir`."""
    found: dict[str, bytes | str] = {}
    for path in sorted(root.rglob("*")):
        name = path.relative_to(root).as_posix()
        if path.is_symlink():
            found[name] = f"-> {os.readlink(path)}"
        elif path.is_dir():
            found[name] = "dir"
        else:
            found[name] = path.read_bytes()
    return found


def specops(
    *args: str, cwd: Path, timeout: float = 30, **env: str
) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "specops", *args]
    return subprocess.run(
        command,
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        errors="replace",
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A rendered project in `tmp_path/project`, beside an `outside` folder."""
    root = build_tree(tmp_path / "project", PROJECT)
    (tmp_path / "outside").mkdir()
    assert cli(root, "render") == 0
    return root


# -- 1. names that reach a workflow ---------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["x${{ github.event.pull_request.title }}.yaml", "it's.yaml", "a b.yaml", "-x.yaml", "é.yaml"],
)
def test_a_spec_name_that_is_not_plain_never_reaches_a_workflow(
    tree: Tree, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    root = tree({name: SPEC, "params.yaml": PROJECT["params.yaml"]})
    before = snapshot(root)
    assert cli(root, "render", spec=name) == 2
    assert capsys.readouterr().err == (
        f"{root / name}: error: the spec's file name {name!r} may hold only letters, digits, "
        "'.', '_' and '-', because generated workflows name it\n"
    )
    assert snapshot(root) == before


def test_a_spec_name_that_is_not_utf8_is_refused_on_one_line(tmp_path: Path) -> None:
    name = os.fsdecode(b"spec\xff.yaml")
    build_tree(tmp_path, {"params.yaml": PROJECT["params.yaml"]})
    (tmp_path / name).write_text(SPEC)
    result = specops("render", "--spec", name, cwd=tmp_path, PYTHONIOENCODING="ascii")
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        "spec\\xff.yaml: error: the spec's file name 'spec\\udcff.yaml' may hold only letters, "
        "digits, '.', '_' and '-', because generated workflows name it\n"
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["params.yaml", name]


# -- 2. symlinks out of the project ---------------------------------------------------------------


@pytest.mark.parametrize("link", [".github", ".github/workflows"])
def test_render_never_writes_or_deletes_outside_through_a_symlinked_folder(
    project: Path, capsys: pytest.CaptureFixture[str], link: str
) -> None:
    outside = project.parent / "outside"
    (outside / "specops-old.yml").write_text(OURS)
    shutil.rmtree(project / ".github")
    (project / link).parent.mkdir(parents=True, exist_ok=True)
    (project / link).symlink_to(outside, target_is_directory=True)
    (project / "specops.yaml").write_text(SPEC.replace("train.py", "fit.py"))
    before, before_outside = snapshot(project), snapshot(outside)
    capsys.readouterr()
    assert cli(project, "render") == 2
    real = outside if link == ".github/workflows" else outside / "workflows"
    assert capsys.readouterr().err.splitlines() == [
        f".github/workflows: error: its real path {str(real)!r} is outside the project "
        f"{str(project)!r}",
        f"{WORKFLOW}: error: its real path {str(real / 'specops-ci.yml')!r} is outside the "
        f"project {str(project)!r}",
    ]
    assert snapshot(project) == before  # not even dvc.yaml, which had no problem
    assert snapshot(outside) == before_outside


def test_a_symlinked_folder_inside_the_project_is_followed(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.rmtree(project / ".github")
    (project / "ci").mkdir()
    (project / ".github").symlink_to("ci", target_is_directory=True)
    assert cli(project, "render") == 0
    assert (project / "ci/workflows/specops-ci.yml").read_text().startswith(header("specops.yaml"))


@pytest.mark.parametrize("inside", [False, True])
def test_a_symlinked_target_is_refused_and_its_content_never_shown(
    project: Path, capsys: pytest.CaptureFixture[str], inside: bool
) -> None:
    target = project / "other.yaml" if inside else project.parent / "outside" / "secret.yaml"
    target.write_text(header("specops.yaml") + "secret: 42\n")
    (project / "dvc.yaml").unlink()
    (project / "dvc.yaml").symlink_to(target)
    capsys.readouterr()
    before = snapshot(project.parent)
    assert cli(project, "render", "--check", "--diff") == 2
    out, err = capsys.readouterr()
    assert out == ""
    reason = (
        "is a symbolic link; specops only replaces regular files it generated"
        if inside
        else f"its real path {str(target)!r} is outside the project {str(project)!r}"
    )
    assert err == f"dvc.yaml: error: {reason}\n"
    assert cli(project, "render", "--diff") == 2
    assert "secret" not in capsys.readouterr().out
    assert snapshot(project.parent) == before


def test_a_symlinked_workflow_is_never_removed(project: Path) -> None:
    outside = project.parent / "outside" / "specops-x.yml"
    outside.write_text(OURS)
    (project / ".github/workflows/specops-x.yml").symlink_to(outside)
    assert cli(project, "render") == 0
    assert (project / ".github/workflows/specops-x.yml").is_symlink()
    assert outside.read_text() == OURS


def test_the_project_root_is_where_the_spec_is_not_where_it_links_to(tmp_path: Path) -> None:
    shared = build_tree(tmp_path / "shared", PROJECT)
    root = tmp_path / "project"
    root.mkdir()
    (root / "specops.yaml").symlink_to(shared / "specops.yaml")
    (root / "params.yaml").write_text(PROJECT["params.yaml"])
    assert cli(root, "render") == 0
    assert (root / "dvc.yaml").is_file()
    assert sorted(p.name for p in shared.iterdir()) == ["params.yaml", "specops.yaml"]


def test_params_through_a_symlink_out_of_the_project_are_refused(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "params.yaml").unlink()
    (project / "params.yaml").symlink_to("/etc/passwd")
    capsys.readouterr()
    assert cli(project, "validate") == 2
    assert capsys.readouterr().err == (
        f"params.yaml: error: its real path '/etc/passwd' is outside the project {str(project)!r}\n"
    )


# -- 3. special and huge files --------------------------------------------------------------------


def test_named_pipes_are_refused_without_waiting(project: Path) -> None:
    for name in ("dvc.yaml", "params.yaml"):
        os.replace(project / name, project / f"{name}.bak")
        os.mkfifo(project / name)
        result = specops("render", "--check", cwd=project, timeout=20)
        assert (result.returncode, result.stdout) == (2, "")
        assert (
            result.stderr == f"{name}: error: cannot read: it is a named pipe, not a regular file\n"
        )
        (project / name).unlink()
        os.replace(project / f"{name}.bak", project / name)


def test_devices_and_huge_files_are_refused_without_reading_them(project: Path) -> None:
    result = specops("validate", "--spec", "/dev/zero", cwd=project, timeout=20)
    assert (result.returncode, result.stderr) == (
        2,
        "/dev/zero: error: cannot read: it is a device, not a regular file\n",
    )
    with open(project / "specops.yaml", "ab") as spec:
        spec.truncate(11 * 1024 * 1024)  # sparse: costs no disk
    result = specops("validate", cwd=project, timeout=20)
    assert (result.returncode, result.stderr) == (
        2,
        "specops.yaml: error: cannot read: larger than 10 MiB\n",
    )


# -- 4. never touch a file specops did not write --------------------------------------------------


def test_the_header_must_open_the_file(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "dvc.yaml").write_text("# mine\n" + header("specops.yaml") + "stages: {}\n")
    capsys.readouterr()
    assert cli(project, "render") == 2
    assert capsys.readouterr().err == (
        "dvc.yaml: error: exists and was not generated by specops; "
        "move it away, then render again\n"
    )


def test_a_target_that_is_not_utf8_is_refused_not_treated_as_missing(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "dvc.yaml").write_bytes(header("specops.yaml").encode() + b"\xff\xfe\n")
    before = snapshot(project)
    capsys.readouterr()
    assert cli(project, "render") == 2
    assert capsys.readouterr().err == (
        "dvc.yaml: error: is not UTF-8 text and was not generated by specops; "
        "move it away, then render again\n"
    )
    assert snapshot(project) == before


def test_workflows_without_the_header_are_never_removed(project: Path) -> None:
    mine = project / ".github/workflows/specops-mine.yml"
    mine.write_text("name: mine\n# Generated by specops from somewhere else, not at the top\n")
    spec = project / "specops.yaml"
    spec.write_text(SPEC.replace("maturity: 2", "maturity: 0"))
    assert cli(project, "render") == 0
    assert mine.read_text().startswith("name: mine\n")
    assert not (project / WORKFLOW).exists()


def test_a_rewritten_file_keeps_its_mode(project: Path) -> None:
    (project / "dvc.yaml").chmod(0o640)
    (project / "specops.yaml").write_text(SPEC.replace("train.py", "fit.py"))
    assert cli(project, "render") == 0
    assert "fit.py" in (project / "dvc.yaml").read_text()
    assert (project / "dvc.yaml").stat().st_mode & 0o777 == 0o640


@contextlib.contextmanager
def file_size_limit(limit: int) -> Iterator[None]:
    """Writes past `limit` bytes fail with EFBIG, in this process, for the duration."""
    old_limit = resource.getrlimit(resource.RLIMIT_FSIZE)
    old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, old_limit[1]))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, old_limit)
        signal.signal(signal.SIGXFSZ, old_handler)


def test_a_failed_write_removes_its_temporary_file_and_changes_nothing(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    long_desc = f"    desc: {'x' * 5000}\n    cmd:"
    (project / "specops.yaml").write_text(SPEC.replace("    cmd:", long_desc))
    (project / WORKFLOW).unlink()
    before = snapshot(project)
    capsys.readouterr()
    with file_size_limit(4096):
        code = cli(project, "render")
    assert code == 2
    assert capsys.readouterr().err == "dvc.yaml: error: cannot write: File too large\n"
    assert snapshot(project) == before  # no temporary file, and the workflow was not created


# -- 5. failures are one line and exit 2, and a render is all or nothing --------------------------


def without_root_powers(command: list[str]) -> list[str]:
    """`command` run so that file permissions apply to it even when the tests run as root."""
    if os.geteuid() != 0:
        return command
    setpriv = shutil.which("setpriv")
    assert setpriv, "running as root, the permission tests need setpriv (util-linux)"
    return [setpriv, "--bounding-set", "-dac_override,-dac_read_search,-fowner", *command]


def run_unprivileged(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    command = without_root_powers([sys.executable, "-m", "specops", *args])
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)


def assert_render_changes_nothing(project: Path, error: str) -> None:
    """An unprivileged render fails with `error` and leaves the project as it was; then the
    workflows folder gets back the owner and mode the test may have taken from it."""
    workflows = project / ".github/workflows"
    try:
        before = snapshot(project)
        result = run_unprivileged("render", cwd=project)
        assert (result.returncode, result.stderr) == (2, f"{error}\n")
        assert snapshot(project) == before
    finally:
        workflows.chmod(0o755)
        os.chown(workflows, os.getuid(), os.getgid())


def test_an_unreadable_params_file_is_one_line_and_exit_2(project: Path) -> None:
    (project / "params.yaml").chmod(0)
    result = run_unprivileged("validate", cwd=project)
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == "params.yaml: error: cannot read: Permission denied\n"


def test_a_removal_that_fails_undoes_the_whole_render(project: Path) -> None:
    workflows = project / ".github/workflows"
    (workflows / "specops-old.yml").write_text(OURS)
    (project / "specops.yaml").write_text(SPEC.replace("maturity: 2", "maturity: 0"))
    (project / "specops.yaml").write_text(
        SPEC.replace("maturity: 2", "maturity: 0").replace("train.py", "fit.py")
    )
    workflows.chmod(0o555)
    # dvc.yaml, which could be replaced, is not replaced either.
    assert_render_changes_nothing(project, f"{WORKFLOW}: error: cannot remove: Permission denied")


def test_output_that_cannot_be_written_exits_2(project: Path) -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)  # a reader that has already gone, as `| head` after its lines
    try:
        closed = subprocess.run(
            [sys.executable, "-m", "specops", "schema"],
            cwd=project,
            stdout=write_end,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
    finally:
        os.close(write_end)
    # No message for it, and the exit code still says the output was cut short.
    assert (closed.returncode, closed.stderr) == (2, "")
    piped = subprocess.run(
        f"{sys.executable} -m specops schema | head -c1",
        shell=True,
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert piped.stdout == "{"
    assert "Traceback" not in piped.stderr
    for args in (["validate"], ["--version"], ["--help"]):
        with open("/dev/full", "w") as full:
            result = subprocess.run(
                [sys.executable, "-m", "specops", *args],
                cwd=project,
                stdout=full,
                stderr=subprocess.PIPE,
                text=True,
                check=False,
            )
        assert (result.returncode, result.stderr) == (
            2,
            "specops: error: cannot write the output: No space left on device\n",
        )


def test_file_names_that_are_not_utf8_are_printed_escaped(project: Path) -> None:
    stale = project / ".github/workflows" / os.fsdecode(b"specops-\xff.yml")
    stale.write_text(OURS)
    result = specops("render", cwd=project, PYTHONIOENCODING="ascii")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "dvc.yaml: unchanged",
        f"{WORKFLOW}: unchanged",
        ".github/workflows/specops-\\xff.yml: delete",
    ]
    assert not stale.exists()


# -- 6. one problem is one line -------------------------------------------------------------------


def test_a_hostile_key_cannot_forge_a_problem_line(
    tree: Tree, capsys: pytest.CaptureFixture[str]
) -> None:
    forged = '"a\\nb.yaml:1:1: error: forged\\r\\u001b[2K\\u202e"'
    root = tree({**PROJECT, "specops.yaml": SPEC + f"{forged}: 1\n"})
    assert cli(root, "validate") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.isascii() and err[:-1].isprintable()
    assert err.endswith("error: a\\nb.yaml:1:1: error: forged\\r\\x1b[2K\\u202e: unknown key\n")


# -- 7. init is all or nothing --------------------------------------------------------------------


def test_init_writes_nothing_when_any_file_is_in_the_way(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = build_tree(tmp_path, {WORKFLOW: "name: mine\n"})
    assert cli(root, "init") == 2
    assert capsys.readouterr().err == (
        f"{WORKFLOW}: error: exists and was not generated by specops; move it away, then run"
        " `specops init` again\n"
    )
    assert snapshot(root) == {
        ".github": "dir",
        ".github/workflows": "dir",
        WORKFLOW: b"name: mine\n",
    }


@pytest.mark.parametrize("name", ["params.yaml", "dvc.yaml", "requirements.txt", "src"])
def test_init_refuses_a_spec_name_it_would_overwrite(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    assert cli(tmp_path, "init", spec=name) == 2
    assert capsys.readouterr().err == (
        f"{tmp_path / name}: error: specops writes a file or folder of that name itself; "
        "choose another name for the spec\n"
    )
    assert list(tmp_path.iterdir()) == []


def test_init_refuses_a_link_out_of_the_project_and_follows_none(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root, outside = tmp_path / "project", tmp_path / "outside"
    build_tree(outside, {"workflows/keep": "theirs"})
    root.mkdir()
    (root / ".github").symlink_to(outside)  # hidden, so the folder counts as empty
    before = snapshot(tmp_path)
    capsys.readouterr()
    assert cli(root, "init") == 2
    assert capsys.readouterr().err == (
        f".github/workflows: error: its real path '{outside}/workflows' is outside the"
        f" project {str(root)!r}\n"
        f"{WORKFLOW}: error: its real path '{outside}/workflows/specops-ci.yml' is outside the"
        f" project {str(root)!r}\n"
    )
    assert snapshot(tmp_path) == before


def test_init_leaves_a_hidden_named_pipe_alone(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / ".pipe")
    assert cli(tmp_path, "init") == 0
    assert (tmp_path / ".pipe").is_fifo()


# -- 8. killed renders ----------------------------------------------------------------------------


def test_temporary_files_left_by_a_killed_render_are_reported_and_removed(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    left = [
        project / f".dvc.yaml.0a1b2c3d{TEMP_SUFFIX}",
        project / f".github/workflows/.specops-ci.yml.99aabbcc{TEMP_SUFFIX}",
    ]
    for path in left:
        path.write_text("half a fi")
    mine = [project / f".notes{TEMP_SUFFIX}", project / f".dvc.yaml.mine{TEMP_SUFFIX}"]
    for path in mine:
        path.write_text("a user's own file that only looks like a temporary one")
    capsys.readouterr()
    assert cli(project, "render", "--check") == 1
    assert capsys.readouterr().out.splitlines() == [
        f"{left[0].relative_to(project)}: out of date (would delete)",
        f"{left[1].relative_to(project)}: out of date (would delete)",
    ]
    assert cli(project, "render") == 0
    assert not any(path.exists() for path in left)
    assert all(path.exists() for path in mine)


def test_a_render_killed_while_writing_leaves_a_file_the_next_render_removes(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "specops.yaml").write_text(
        SPEC.replace("    cmd:", f"    desc: {'x' * 5000}\n    cmd:")
    )
    pid = os.fork()
    if pid == 0:  # pragma: no cover - killed by the limit, as a full disk cannot do
        try:
            quiet = os.open(os.devnull, os.O_WRONLY)
            os.dup2(quiet, 1)
            os.dup2(quiet, 2)
            signal.signal(signal.SIGXFSZ, signal.SIG_DFL)
            resource.setrlimit(resource.RLIMIT_FSIZE, (4096, resource.RLIM_INFINITY))
            cli(project, "render")
        finally:
            os._exit(0)
    status = os.waitpid(pid, 0)[1]
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGXFSZ
    left = [p.relative_to(project).as_posix() for p in project.rglob(f"*{TEMP_SUFFIX}")]
    assert len(left) == 1 and re.fullmatch(rf"\.dvc\.yaml\.[0-9a-f]{{8}}{TEMP_SUFFIX}", left[0])
    capsys.readouterr()
    assert cli(project, "render", "--check") == 1
    assert f"{left[0]}: out of date (would delete)" in capsys.readouterr().out.splitlines()
    assert cli(project, "render") == 0
    assert not list(project.rglob(f"*{TEMP_SUFFIX}"))


def test_a_killed_render_leaves_every_file_whole_and_nothing_behind(tmp_path: Path) -> None:
    stages = "".join(
        f"  s{i}:\n    cmd: python s.py {i} {'x' * 200}\n    outs: [out/{i}]\n" for i in range(1500)
    )
    spec = f"version: 1\nname: big\nmaturity: 1\nstages:\n{stages}"
    root = build_tree(tmp_path / "big", {"specops.yaml": spec})
    scratch = tmp_path / "scratch"
    assert cli(scratch, "init") == 0  # for the .gitignore that init writes
    shutil.copy(scratch / ".gitignore", root / ".gitignore")
    started = time.perf_counter()
    assert specops("render", cwd=root).returncode == 0
    duration = time.perf_counter() - started
    old = (root / "dvc.yaml").read_text()
    (root / "specops.yaml").write_text(spec.replace("python s.py", "python t.py"))
    new = old.replace("python s.py", "python t.py")
    for attempt in range(12):
        process = subprocess.Popen([sys.executable, "-m", "specops", "render"], cwd=root)
        time.sleep(duration * (0.5 + attempt / 12))
        process.kill()
        process.wait()
        text = (root / "dvc.yaml").read_text()
        assert text in (old, new)
    git(root, "init", "-q")
    leftovers = [p.name for p in root.rglob(f"*{TEMP_SUFFIX}")]
    ignored = git(root, "status", "--porcelain", "--ignored").splitlines()
    assert all(f"!! {name}" in ignored for name in leftovers)
    assert specops("render", cwd=root).returncode == 0
    assert not list(root.rglob(f"*{TEMP_SUFFIX}"))


# -- 9. the spec is found as git finds its repository --------------------------------------------


def test_the_spec_is_found_from_a_subfolder(project: Path) -> None:
    (project / "src/deep").mkdir(parents=True)
    (project / ".git").mkdir()
    result = specops("validate", cwd=project / "src/deep")
    assert (result.returncode, result.stdout) == (
        0,
        "../../specops.yaml: valid; maturity 2, 1 stage(s), 0 model(s), 0 gate(s)\n",
    )


def test_a_missing_spec_says_where_it_looked(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "a").mkdir()
    (tmp_path / "specops.yaml").write_text(SPEC)  # above the Git root: not looked at
    result = specops("validate", cwd=repo / "a")
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        f"specops.yaml: error: no specops.yaml in {repo / 'a'} and the folders above it up to "
        f"the Git root {repo}; run `specops init` to start a project\n"
    )
    shutil.rmtree(repo / ".git")  # outside a Git repository only the folder itself counts
    result = specops("validate", cwd=repo / "a")
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr == (
        f"specops.yaml: error: no specops.yaml in {repo / 'a'}, which is not in a Git "
        "repository, so no folder above it was searched; run `specops init` to start a project\n"
    )


def test_render_never_replaces_files_of_another_spec_nor_the_spec_itself(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (project / "other.yaml").write_text(SPEC.replace("python train.py", "python other.py"))
    before = snapshot(project)
    capsys.readouterr()
    assert cli(project, "render", spec="other.yaml") == 2
    assert capsys.readouterr().err.splitlines() == [
        f"{WORKFLOW}: error: was generated from 'specops.yaml', not from 'other.yaml'; "
        "render it with --spec specops.yaml, or move it away",
        "dvc.yaml: error: was generated from 'specops.yaml', not from 'other.yaml'; "
        "render it with --spec specops.yaml, or move it away",
    ]
    (project / "dvc.yaml").write_text(header("x") + SPEC)
    assert cli(project, "render", spec="dvc.yaml") == 2
    assert capsys.readouterr().err == (
        f"{project / 'dvc.yaml'}: error: specops writes a file or folder of that name itself; "
        "choose another name for the spec\n"
    )
    assert snapshot(project) == {**before, "dvc.yaml": (header("x") + SPEC).encode()}


def test_a_failed_removal_of_leftovers_undoes_the_whole_render(project: Path) -> None:
    workflows = project / ".github/workflows"
    left = [
        project / f".dvc.yaml.0a1b2c3d{TEMP_SUFFIX}",
        workflows / f".specops-ci.yml.0a1b2c3d{TEMP_SUFFIX}",
    ]
    for path in left:
        path.write_text("half")
    workflows.chmod(0o555)
    reason = "cannot remove: Permission denied"
    assert_render_changes_nothing(project, f"{left[1].relative_to(project)}: error: {reason}")


def test_diff_headers_escape_file_names(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / ".github/workflows/specops-x\n+++ b\x1b[31m.yml").write_text(OURS)
    capsys.readouterr()
    assert cli(project, "render", "--check", "--diff") == 1
    out = capsys.readouterr().out
    assert "--- a/.github/workflows/specops-x\\n+++ b\\x1b[31m.yml\n" in out
    assert "\x1b" not in out


def test_folders_that_cannot_be_searched_are_one_line_and_exit_2(project: Path) -> None:
    deep = project / "a/b"
    deep.mkdir(parents=True)
    (project / "a").chmod(0o600)
    try:
        result = subprocess.run(
            without_root_powers([sys.executable, "-m", "specops", "validate"]),
            cwd=deep,
            capture_output=True,
            text=True,
            check=False,
        )
    finally:
        (project / "a").chmod(0o755)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and ": error: " in result.stderr
    (project / ".github/workflows").chmod(0)
    try:
        result = run_unprivileged("render", "--check", cwd=project)
    finally:
        (project / ".github/workflows").chmod(0o755)
    assert (result.returncode, result.stderr) == (
        2,
        f"{WORKFLOW}: error: cannot read: Permission denied\n",
    )


def test_a_closed_stdout_and_usage_errors_are_one_line_and_exit_2(project: Path) -> None:
    closed = subprocess.run(
        f"{sys.executable} -m specops validate >&-",
        shell=True,
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (closed.returncode, closed.stderr) == (2, "specops: error: standard output is closed\n")
    usage = specops("render", "--chek", cwd=project)
    assert (usage.returncode, usage.stderr) == (
        2,
        "specops: error: unrecognized arguments: --chek; see `specops --help`\n",
    )


def test_a_folder_named_like_a_temporary_file_is_left_alone(project: Path) -> None:
    folder = project / f".dvc.yaml.0a1b2c3d{TEMP_SUFFIX}"
    folder.mkdir()
    (folder / "keep").write_text("mine")
    assert cli(project, "render", "--check") == 0
    assert cli(project, "render") == 0
    assert (folder / "keep").read_text() == "mine"


def test_a_replace_that_fails_puts_back_the_files_replaced_before_it(project: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to give the workflow to another owner")
    workflows = project / ".github/workflows"
    workflow = workflows / "specops-ci.yml"
    # In a sticky folder only a file's owner may replace it: the temporary file can be written
    # and the old text kept, but the replace itself fails, after dvc.yaml was replaced.
    workflows.chmod(0o1777)
    workflow.chmod(0o666)
    os.chown(workflow, 4321, 4321)
    os.chown(workflows, 4321, 4321)
    changed = SPEC.replace("python train.py", "python fit.py").replace("name: demo", "name: demo2")
    (project / "specops.yaml").write_text(changed)
    assert_render_changes_nothing(
        project, f"{WORKFLOW}: error: cannot write: Operation not permitted"
    )


def test_a_file_too_large_to_read_back_is_never_written(
    tree: Tree, capsys: pytest.CaptureFixture[str]
) -> None:
    # Aliases keep the spec small, and YAML's block style adds a line per item to dvc.yaml.
    commands = ", ".join(f"echo {i:015d}" for i in range(10_000))
    stages = "".join(f"  s{i}:\n    cmd: *c\n" for i in range(1, 45))
    spec = f"version: 1\nname: demo\nmaturity: 0\nstages:\n  s0:\n    cmd: &c [{commands}]\n"
    root = tree({"specops.yaml": spec + stages})
    assert cli(root, "render") == 2
    assert capsys.readouterr().err == (
        "dvc.yaml: error: would be 11.6 MiB, more than the 10 MiB specops reads; make the spec"
        " smaller (long values, lists or aliases)\n"
    )
    assert not (root / "dvc.yaml").exists()


def test_usage_errors_and_diffs_show_escapes_not_control_characters(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    usage = specops("validate", "a\nb\x1b[31m", cwd=project)
    assert (usage.returncode, usage.stderr) == (
        2,
        "specops: error: unrecognized arguments: a\\nb\\x1b[31m; see `specops --help`\n",
    )
    with open(project / "dvc.yaml", "a") as dvc:
        dvc.write("\x1b]0;title\x07\x1b[2J\n")
    capsys.readouterr()
    assert cli(project, "render", "--check", "--diff") == 1
    out = capsys.readouterr().out
    assert "-\\x1b]0;title\\x07\\x1b[2J\n" in out
    assert "\x1b" not in out


def test_json_output_is_valid_unicode(tmp_path: Path) -> None:
    folder = tmp_path / os.fsdecode(b"dir\xff")
    build_tree(folder, PROJECT)
    result = specops(
        "validate", "--spec", str(folder / "specops.yaml"), "--format", "json", cwd=tmp_path
    )
    assert result.returncode == 0
    assert "\\udcff" not in result.stdout
    assert json.loads(result.stdout)["spec"].endswith("dir\\xff/specops.yaml")


def test_a_spec_path_from_a_deleted_folder_is_one_line(tmp_path: Path) -> None:
    gone = tmp_path / "gone"
    gone.mkdir()
    script = (
        "import os, sys; os.rmdir(sys.argv[1]); from specops.cli import main;"
        " sys.exit(main(sys.argv[2:]))"
    )
    for args in (["init"], ["validate", "--spec", "x.yaml"]):
        result = subprocess.run(
            [sys.executable, "-c", script, str(gone), *args],
            cwd=gone,
            capture_output=True,
            text=True,
            check=False,
        )
        gone.mkdir()
        assert result.returncode == 2
        assert result.stderr.count("\n") == 1 and "internal error" not in result.stderr


def test_init_after_a_killed_init_starts_afresh(tmp_path: Path) -> None:
    left = [
        tmp_path / f".specops.yaml.0a1b2c3d{TEMP_SUFFIX}",
        tmp_path / f"src/.train.py.0a1b2c3d{TEMP_SUFFIX}",
        tmp_path / f".github/workflows/.specops-ci.yml.0a1b2c3d{TEMP_SUFFIX}",
    ]
    for path in left:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("half")
    (tmp_path / "empty").mkdir()  # a folder of the user's, and a file named like ours
    build_tree(tmp_path / "notes", {".keep.specops-tmp": "a user's file"})
    assert cli(tmp_path, "init") == 0
    assert [p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob(f"*{TEMP_SUFFIX}")] == [
        "notes/.keep.specops-tmp"
    ]
    assert (tmp_path / "src/train.py").is_file() and (tmp_path / "empty").is_dir()
