"""The stage graph: matrix expansion, repository paths, outputs and the DAG they imply."""

from __future__ import annotations

import itertools
import posixpath
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from specops.spec.models import Spec, Stage, path_of
from specops.spec.problems import KeyPath

#: A matrix larger than this is almost certainly a mistake, and DVC would be slow on it.
MAX_MATRIX = 10_000

_ITEM = re.compile(r"\$\{\s*item\.([A-Za-z0-9_.]+)\s*\}")
_DRIVE = re.compile(r"^[A-Za-z]:")


def normalize(path: str) -> str:
    """A repository path in one spelling: forward slashes, no `.` parts or trailing slash."""
    return posixpath.normpath(path.replace("\\", "/"))


def path_problem(path: str) -> str | None:
    """Why `path` does not stay inside the repository, or None."""
    if path.startswith(("/", "\\")) or _DRIVE.match(path):
        return "must be relative to the repository, not absolute"
    norm = normalize(path)
    if norm == ".." or norm.startswith("../"):
        return "leaves the repository through '..'"
    return None


def ancestors(path: str) -> Iterator[str]:
    """`a/b/c` -> `a/b`, `a`."""
    while "/" in path:
        path = path.rsplit("/", 1)[0]
        yield path


def matrix_size(stage: Stage) -> int:
    size = 1
    for values in (stage.matrix or {}).values():
        size *= len(values)
    return size


def _lookup(item: dict[str, Any], dotted: str) -> Any:
    value: Any = item
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def interpolate(text: str, item: dict[str, Any]) -> str:
    """Replace `${item.key}` as DVC does for a matrix stage; other `${...}` stay as they are."""

    def replace(match: re.Match[str]) -> str:
        value = _lookup(item, match.group(1))
        if value is None:
            return match.group(0)
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    return _ITEM.sub(replace, text) if "${" in text else text


@dataclass(frozen=True)
class Instance:
    """One concrete stage: a plain stage, or one item of a matrix stage."""

    name: str  # the stage name, `stage@item` for a matrix item
    stage: str  # the name in the spec
    deps: tuple[tuple[str, KeyPath], ...]
    outs: tuple[tuple[str, KeyPath], ...]


def _items(stage: Stage) -> Iterator[tuple[str, dict[str, Any]]]:
    if not stage.matrix:
        yield "", {}
        return
    keys = list(stage.matrix)
    for index, combo in enumerate(itertools.product(*stage.matrix.values())):
        label = "-".join(str(v) if not isinstance(v, dict) else str(index) for v in combo)
        yield f"@{label}", dict(zip(keys, combo, strict=True))


def instances(spec: Spec) -> Iterator[Instance]:
    """Every concrete stage with its dependency and output paths, normalized."""
    for name, stage in spec.stages.items():
        if matrix_size(stage) > MAX_MATRIX:
            continue
        base: KeyPath = ("stages", name)
        outs = [
            (path_of(entry), (*base, field, i))
            for field in ("outs", "metrics", "plots")
            for i, entry in enumerate(getattr(stage, field))
        ]
        for suffix, item in _items(stage):
            yield Instance(
                name + suffix,
                name,
                tuple(
                    (normalize(interpolate(d, item)), (*base, "deps", i))
                    for i, d in enumerate(stage.deps)
                ),
                tuple((normalize(interpolate(p, item)), loc) for p, loc in outs),
            )
