"""GTO's tags: which version of a model a stage holds, and at which commit.

GTO names a version `MODEL@vX.Y.Z` and a stage assignment `MODEL#STAGE#N` (`MODEL#STAGE!#N`
takes it back); the assignment with the highest N is the current one.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class StageRef:
    """The version a stage holds: its commit, its version and the tag that assigned it."""

    commit: str
    version: str
    tag: str


def _git(root: Path, *args: str) -> str:
    proc = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True)
    return proc.stdout


def stage_commit(root: Path, model: str, stage: str) -> StageRef | None:
    """The version currently in `stage` of `model`, or None when the stage holds none."""
    names = _git(
        root,
        "for-each-ref",
        "--format=%(refname:strip=2)",
        f"refs/tags/{model}#{stage}#*",
        f"refs/tags/{model}#{stage}!#*",
    ).split()
    pattern = re.compile(rf"{re.escape(model)}#{re.escape(stage)}(!?)#([0-9]+)")
    latest: tuple[int, str, bool] | None = None
    for name in names:
        match = pattern.fullmatch(name)
        if match and (latest is None or int(match[2]) > latest[0]):
            latest = (int(match[2]), name, bool(match[1]))
    if latest is None or latest[2]:
        return None
    tag = latest[1]
    commit = _git(root, "rev-parse", f"refs/tags/{tag}^{{commit}}").strip()
    versions = _git(root, "tag", "--points-at", commit, "--list", f"{model}@v*").split()
    version = max(versions, key=_version_key, default=f"{model}@?").split("@", 1)[1]
    return StageRef(commit=commit, version=version, tag=tag)


def _version_key(tag: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"[0-9]+", tag.split("@", 1)[1]))
