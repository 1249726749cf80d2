"""Read a spec file: YAML with positions, then the schema, then the checks."""

from __future__ import annotations

import gc
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from specops.spec.checks import check
from specops.spec.files import Unreadable, read_bytes
from specops.spec.models import Spec
from specops.spec.problems import Problem, SpecError
from specops.spec.remotes import dvc_extras
from specops.spec.schema_errors import describe, schema_problems
from specops.spec.toplevel import model_paths
from specops.spec.yamlfile import YamlDoc, load_yaml

SPEC_FILE = "specops.yaml"

#: The spec's file name reaches generated workflows (`--spec NAME`) and headers, so it is kept
#: to characters that mean nothing to YAML, a shell or GitHub's expression syntax.
_PLAIN_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]*")


@dataclass(frozen=True)
class Project:
    """A valid spec and where it lives: every project path is relative to `root`."""

    spec: Spec
    root: Path
    spec_name: str  # the spec's file name relative to root, for headers and messages
    doc: YamlDoc
    #: The extras of the `dvc` package that reach the remotes in `.dvc/config` (`s3`, ...).
    dvc_extras: tuple[str, ...] = ()

    def model_path(self, name: str) -> str:
        """The path of model `name` as DVC reads it from dvc.yaml: `${...}` resolved."""
        return model_paths(self.spec, self.doc, self.root)[name]


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Loading builds many objects and no reference cycles, so the cyclic collector would only
    re-scan a growing heap again and again, making large specs cost more than linear time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def parse_spec(display: str, raw: bytes, root: Path) -> tuple[Spec, YamlDoc]:
    """Validate the bytes of a spec; `root` is the folder its paths are relative to."""
    with _gc_paused():
        return _parse_spec(display, raw, root)


def _parse_spec(display: str, raw: bytes, root: Path) -> tuple[Spec, YamlDoc]:
    doc = load_yaml(display, raw)
    if not isinstance(doc.data, dict):
        problem = doc.problem((), f"expected a mapping at the top level, got {describe(doc.data)}")
        raise SpecError([problem])
    bad_keys = [
        doc.problem(path, f"keys must be strings, got {describe(path[-1])}", at_key=True)
        for path in doc.keys
        if not isinstance(path[-1], str)
    ]
    if bad_keys:
        raise SpecError(bad_keys)
    try:
        spec = Spec.model_validate(doc.data)
    except ValidationError as exc:
        raise SpecError(schema_problems(doc, exc, Spec)) from exc
    problems = check(spec, doc, root)
    if problems:
        raise SpecError(problems)
    return spec, doc


def find_spec(start: Path) -> Path:
    """The nearest SPEC_FILE in `start` or a folder above it up to the Git root, as git looks
    for its repository (outside a Git repository, only `start`); relative to `start`."""
    folder = start
    try:
        chain = [start, *start.parents]
        git_root = next((f for f in chain if (f / ".git").exists()), None)
        searched = chain[: chain.index(git_root) + 1] if git_root is not None else [start]
        for folder in searched:
            candidate = folder / SPEC_FILE
            if candidate.exists() or candidate.is_symlink():
                return Path(os.path.relpath(candidate, start))
    except OSError as exc:
        msg = f"cannot look for it in {folder}: {exc.strerror or exc}"
        raise SpecError([Problem.plain(SPEC_FILE, msg)]) from exc
    if git_root is None:
        looked = f"{start}, which is not in a Git repository, so no folder above it was searched"
    elif git_root == start:
        looked = str(start)
    else:
        looked = f"{start} and the folders above it up to the Git root {git_root}"
    msg = f"no {SPEC_FILE} in {looked}; run `specops init` to start a project"
    raise SpecError([Problem.plain(SPEC_FILE, msg)])


def spec_root(path: Path) -> Path:
    """The project root: the folder the spec file is in, not the folder a symlink points to."""
    try:
        return Path(os.path.abspath(path)).parent.resolve()
    except OSError as exc:  # a relative path from a folder that no longer exists
        msg = f"cannot find the spec's folder: {exc.strerror or exc}"
        raise SpecError([Problem.plain(str(path), msg)]) from exc


def check_spec_name(path: Path) -> None:
    """Refuse a spec file name that could not be written into a workflow as it is."""
    if not _PLAIN_NAME.fullmatch(path.name):
        msg = (
            f"the spec's file name {path.name!r} may hold only letters, digits, '.', '_' and '-',"
            " because generated workflows name it"
        )
        raise SpecError([Problem.plain(str(path), msg)])


def load_spec(path: Path) -> Project:
    """Load and validate the spec at `path`, or raise SpecError with every problem."""
    display = str(path)
    check_spec_name(path)
    try:
        raw = read_bytes(path)
    except Unreadable as exc:
        raise SpecError([Problem.plain(display, exc.reason)]) from exc
    if raw is None:
        raise SpecError([Problem.plain(display, "cannot read: No such file or directory")])
    root = spec_root(path)
    spec, doc = parse_spec(display, raw, root)
    return Project(spec, root, path.name, doc, dvc_extras(root))
