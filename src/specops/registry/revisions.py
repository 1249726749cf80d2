"""Files of a repository as they were at a revision."""

from __future__ import annotations

import subprocess
from pathlib import Path


class RevisionError(Exception):
    """A revision that does not exist in the repository."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _commit(root: Path, rev: str) -> str:
    proc = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise RevisionError(f"no revision {rev!r} in the repository")
    return proc.stdout.strip()


def read_at(root: Path, rev: str, path: str) -> bytes | None:
    """The bytes of `path` (relative to `root`) at `rev`: from Git, else from DVC's cache for
    a file DVC tracks; None when it is in neither."""
    commit = _commit(root, rev)
    proc = subprocess.run(
        ["git", "cat-file", "blob", f"{commit}:./{path}"],
        cwd=root,
        capture_output=True,
        check=False,
    )
    if proc.returncode == 0:
        return proc.stdout
    import dvc.api  # type: ignore[import-untyped]  # only for a file Git does not hold
    from dvc.exceptions import PathMissingError  # type: ignore[import-untyped]

    try:
        data: bytes = dvc.api.read(path, repo=str(root), rev=commit, mode="rb")
    except PathMissingError:
        return None
    return data
