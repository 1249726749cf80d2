"""Helpers for tests that drive real Git, DVC and specops processes in temporary folders."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path, PurePosixPath

from tests.conftest import build_tree

#: The test's own virtualenv, so that `specops`, `dvc` and `python` resolve to it.
VENV_BIN = str(Path(sys.executable).parent)

#: A fixed identity and no user or system Git config, so that commits work anywhere and
#: nothing from the machine (hooks, signing, default branch) changes the outcome.
GIT_ENV = {
    "GIT_AUTHOR_NAME": "specops tests",
    "GIT_AUTHOR_EMAIL": "tests@specops.invalid",
    "GIT_COMMITTER_NAME": "specops tests",
    "GIT_COMMITTER_EMAIL": "tests@specops.invalid",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}


def base_env() -> dict[str, str]:
    """os.environ with the venv first on PATH, the Git identity and DVC's analytics off."""
    path = os.pathsep.join([VENV_BIN, os.environ.get("PATH", "")])
    return {**os.environ, **GIT_ENV, "PATH": path, "DVC_NO_ANALYTICS": "1"}


def run(
    cwd: Path, *args: str, env: dict[str, str] | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run a command with `env` added to base_env(); with `check`, fail the test showing its
    output if it exits non-zero."""
    proc = subprocess.run(
        args,
        cwd=cwd,
        env={**base_env(), **(env or {})},
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    if check:
        assert proc.returncode == 0, (
            f"`{' '.join(args)}` in {cwd} exited {proc.returncode}\n"
            f"--- stdout\n{proc.stdout}--- stderr\n{proc.stderr}"
        )
    return proc


def git(cwd: Path, *args: str) -> str:
    """Run git with the fixed identity; return its stdout."""
    return run(cwd, "git", "-c", "init.defaultBranch=main", *args).stdout


def make_project(root: Path, files: dict[str, str]) -> Path:
    """A Git + DVC repository at `root` with `files`, every spec in them rendered, committed."""
    root.mkdir(parents=True, exist_ok=True)
    build_tree(root, files)
    git(root, "init", "-q")
    run(root, "dvc", "init", "-q")
    for spec in sorted(p for p in files if PurePosixPath(p).name == "specops.yaml"):
        run(root, "specops", "render", "--spec", spec)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "Initial commit")
    return root


# A two-stage project whose stages need only the standard library; each run is logged.
TINY_PROJECT = {
    "specops.yaml": """\
version: 1
name: tiny
maturity: 2
stages:
  prepare:
    cmd: python prepare.py
    deps: [prepare.py]
    params: [prepare]
    outs: [data/x.csv]
  score:
    cmd: python score.py
    deps: [score.py, data/x.csv]
    metrics:
      - metrics/scores.json: {cache: false}
""",
    # JSON is YAML too, and lets the stage scripts read it with the standard library.
    "params.yaml": '{"prepare": {"rows": 4, "scale": 2.5}}\n',
    "prepare.py": """\
import json
import pathlib

params = json.loads(pathlib.Path("params.yaml").read_text())["prepare"]
rows = "".join(f"{i},{i * params['scale']}\\n" for i in range(params["rows"]))
pathlib.Path("data").mkdir(exist_ok=True)
pathlib.Path("data/x.csv").write_text("i,x\\n" + rows)
with open("runs.log", "a") as log:
    log.write("prepare\\n")
""",
    "score.py": """\
import csv
import json
import pathlib

with open("data/x.csv", newline="") as f:
    xs = [float(row["x"]) for row in csv.DictReader(f)]
pathlib.Path("metrics").mkdir(exist_ok=True)
scores = {"rows": len(xs), "mean": sum(xs) / len(xs)}
pathlib.Path("metrics/scores.json").write_text(json.dumps(scores) + "\\n")
with open("runs.log", "a") as log:
    log.write("score\\n")
""",
    ".gitignore": "runs.log\n",
}


def dvc_load_error(root: Path, dvc_yaml: str, files: dict[str, str] | None = None) -> str:
    """What DVC says when it loads `dvc_yaml` (with `files`) in a new DVC project at `root`
    and builds its stage graph, in this process: the message of the error it stops with (its
    type when it has none), or "" when it loads it."""
    from dvc.repo import Repo  # type: ignore[import-untyped]

    root.mkdir(parents=True, exist_ok=True)
    build_tree(root, {"dvc.yaml": dvc_yaml, **(files or {})})
    Repo.init(str(root), no_scm=True).close()
    try:
        with Repo(str(root)) as repo:
            repo.index.graph  # noqa: B018 - it checks outs, deps and cycles
    except Exception as exc:  # whatever DVC stops with is the answer
        return str(exc) or type(exc).__name__
    return ""
