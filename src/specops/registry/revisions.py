"""Read a file as it was at a Git revision: from Git, or from DVC's cache when DVC tracks it."""

from __future__ import annotations

import subprocess
from pathlib import Path

from specops.registry.git import git_ok
from specops.spec.files import MAX_FILE_BYTES


class RevisionError(Exception):
    """The revision does not exist, or a file at it could not be read."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def read_at(root: Path, rev: str, path: str) -> bytes | None:
    """The bytes of `path` (relative to `root`) at `rev`, or None when it is not there.

    A file that Git does not hold at `rev` may be a DVC output; DVC reads it from its cache.
    """
    args = ("rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}")
    if not git_ok(root, *args):
        raise RevisionError(f"no revision {rev!r} in the repository")
    data = read_git(root, rev, path)
    if data is not None:
        return data
    return _read_dvc(root, rev, path)


def read_git(root: Path, rev: str, path: str, *, name: str | None = None) -> bytes | None:
    """The bytes of `path` (relative to `root`) as Git holds it at `rev`, or None when Git
    does not hold it there. A file larger than specops reads is a RevisionError that calls
    the revision `name` (default: `rev`)."""
    size = subprocess.run(
        ["git", "cat-file", "-s", f"{rev}:./{path}"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    if size.returncode != 0:
        return None
    if int(size.stdout) > MAX_FILE_BYTES:
        limit = MAX_FILE_BYTES // 2**20
        raise RevisionError(f"{path} at {name or rev} is larger than {limit} MiB")
    proc = subprocess.run(
        ["git", "show", f"{rev}:./{path}"],
        cwd=root,
        capture_output=True,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    return proc.stdout if proc.returncode == 0 else None


def _read_dvc(root: Path, rev: str, path: str) -> bytes | None:
    import dvc.api  # type: ignore[import-untyped]  # only files Git does not hold need DVC
    from dvc.exceptions import PathMissingError  # type: ignore[import-untyped]

    try:
        with dvc.api.open(path, repo=str(root), rev=rev, mode="rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except (PathMissingError, FileNotFoundError):
        return None
    except Exception as exc:  # DVC's own errors: a missing cache, a broken dvc.lock
        raise RevisionError(f"cannot read {path} at {rev}: {exc}") from exc
    if len(data) > MAX_FILE_BYTES:
        raise RevisionError(f"{path} at {rev} is larger than {MAX_FILE_BYTES // 2**20} MiB")
    return data if isinstance(data, bytes) else str(data).encode()
