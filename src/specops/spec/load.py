"""Read a spec file: YAML with positions, then the schema, then the checks."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from specops.spec.checks import check
from specops.spec.models import Spec
from specops.spec.problems import Problem, SpecError
from specops.spec.schema_errors import describe, schema_problems
from specops.spec.yamlfile import YamlDoc, load_yaml

SPEC_FILE = "specops.yaml"


@dataclass(frozen=True)
class Project:
    """A valid spec and where it lives: every project path is relative to `root`."""

    spec: Spec
    root: Path
    spec_name: str  # the spec's file name relative to root, for headers and messages
    doc: YamlDoc


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


def load_spec(path: Path) -> Project:
    """Load and validate the spec at `path`, or raise SpecError with every problem."""
    display = str(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SpecError([Problem(display, 1, 1, "(root)", f"cannot read: {exc.strerror}")]) from exc
    root = path.resolve().parent
    spec, doc = parse_spec(display, raw, root)
    return Project(spec, root, path.name, doc)
