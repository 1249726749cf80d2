"""Run git in a repository and turn its failures into errors that keep git's own words."""

from __future__ import annotations

import subprocess
from pathlib import Path


class GitError(Exception):
    """A git command failed; the message holds the command and what git said."""


def run_git(root: Path, *args: str, stdin: str | None = None, check: bool = True) -> str:
    """Run `git args` in `root`; return stdout. With `check`, raise GitError on failure."""
    proc = subprocess.run(
        ["git", *args],
        cwd=root,
        input=stdin,
        capture_output=True,
        # Tag messages and names are anybody's bytes: one that is not UTF-8 must not stop
        # every registry command.
        encoding="utf-8",
        errors="replace",
        check=False,
        stdin=None if stdin is not None else subprocess.DEVNULL,
    )
    if check and proc.returncode != 0:
        said = (proc.stderr or proc.stdout).strip()
        raise GitError(f"`git {' '.join(args)}` failed: {said}")
    return proc.stdout


def git_ok(root: Path, *args: str) -> bool:
    """Whether `git args` succeeds in `root`."""
    proc = subprocess.run(
        ["git", *args],
        cwd=root,
        capture_output=True,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    return proc.returncode == 0


def git_root(root: Path) -> Path:
    """The top folder of the repository that holds `root`."""
    return Path(run_git(root, "rev-parse", "--show-toplevel").strip())
