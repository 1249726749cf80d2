"""Which dvc.yaml files DVC reads in a repository, found without importing DVC.

DVC walks the whole work tree, skipping Git's and DVC's own folders, nested DVC repositories
and whatever Git ignores. `git ls-files` gives exactly the files Git does not ignore; outside a
Git repository, the folders are walked instead.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path, PurePosixPath

DVC_FILE = "dvc.yaml"
#: Folders DVC never looks into.
_SKIPPED = frozenset({".git", ".dvc", ".hg"})
#: Tracked files and those Git would track, each once, NUL-separated.
_LS_FILES = ("git", "ls-files", "-z", "--cached", "--others", "--exclude-standard", "--")


def dvc_root(start: Path) -> Path | None:
    """The DVC repository `start` is in: the nearest folder at or above it with `.dvc`."""
    for folder in (start, *start.parents):
        if (folder / ".dvc").is_dir():
            return folder
    return None


def _git_listed(root: Path) -> list[str] | None:
    """Every dvc.yaml below `root` that Git tracks or would track; None outside Git."""
    try:
        proc = subprocess.run(
            [*_LS_FILES, f":(glob)**/{DVC_FILE}"],
            cwd=root,
            capture_output=True,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except OSError:  # no git on PATH
        return None
    if proc.returncode != 0:
        return None
    names = proc.stdout.decode("utf-8", "surrogateescape").split("\0")
    return sorted({n for n in names if n})


def _walked(root: Path) -> list[str]:
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _SKIPPED)
        if DVC_FILE in files:
            found.append(Path(folder, DVC_FILE).relative_to(root).as_posix())
    return found


def _read_by_dvc(root: Path, path: str) -> bool:
    """Whether DVC reads `path`: it exists (an index may list a deleted file), and no folder on
    the way is one DVC skips or the root of a nested DVC repository."""
    folders = PurePosixPath(path).parent.parts
    if _SKIPPED & set(folders):
        return False
    nested = any((root.joinpath(*folders[: i + 1]) / ".dvc").is_dir() for i in range(len(folders)))
    return not nested and os.path.lexists(root / path)


def pipeline_files(root: Path) -> list[str]:
    """The dvc.yaml files DVC reads below `root`, relative POSIX paths: `dvc.yaml` first, then
    those of subfolders in path order."""
    listed = _git_listed(root)
    paths = listed if listed is not None else _walked(root)
    kept = [p for p in paths if _read_by_dvc(root, p)]
    return sorted(kept, key=lambda p: (p != DVC_FILE, PurePosixPath(p).parts))
