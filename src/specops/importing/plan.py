"""Import a DVC project: its dvc.yaml files become a spec that renders them back the same.

Nothing is written here: `prepare` returns the spec's text, what it renders and the bytes of
each dvc.yaml as read, for the writer to take over all or nothing. Every problem is reported at
its position in the dvc.yaml it came from.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from specops.generators import Rendered
from specops.generators import render as render_files
from specops.generators.dvc import dump
from specops.scaffold import project_name
from specops.spec import parse_spec
from specops.spec.models import ProjectName, Spec
from specops.spec.problems import KeyPath, Problem, SpecError, format_keypath
from specops.spec.remotes import dvc_extras
from specops.spec.yamlfile import YamlDoc, load_yaml

from . import spectext
from .convert import Sources, key_problems, read_source, spec_data
from .find import DVC_FILE, pipeline_files


@dataclass(frozen=True)
class Imported:
    """One dvc.yaml that the spec now renders."""

    path: str
    stages: int  # as written: a matrix or foreach stage counts once
    comments: int  # moved into the spec


@dataclass(frozen=True)
class ImportPlan:
    """A new spec, what it renders, and the dvc.yaml files it takes over (path -> bytes read)."""

    spec: Rendered
    rendered: list[Rendered]
    read: dict[str, bytes]
    name: str
    maturity: int
    imported: list[Imported]
    #: Whether the spec holds the dvc.yaml files' own text, comments in place; else it was
    #: dumped from their data, comments moved above the keys and items they were next to.
    as_written: bool


def _name(name: str | None, root: Path) -> str:
    if name is None:
        return project_name(root)
    try:
        return TypeAdapter(ProjectName).validate_python(name)
    except ValidationError:
        msg = (
            f"{name!r} is not a project name: lowercase letters, digits and '-', starting with"
            " a letter or digit, at most 64 characters"
        )
        raise SpecError([Problem.plain("--name", msg)]) from None


def _sources(root: Path, spec_name: str) -> Sources:
    paths = pipeline_files(root)
    if not paths:
        msg = f"no {DVC_FILE} here or in a subfolder; `specops init` starts a new project"
        raise SpecError([Problem.plain(str(root), msg)])
    files, problems = [], []
    for path in paths:
        try:
            files.append(read_source(root, path, spec_name))
        except SpecError as exc:
            problems += exc.problems
    if paths[0] != DVC_FILE and Spec.model_fields["stages"].is_required():
        msg = (
            "does not exist: the spec's own `stages` render the dvc.yaml next to it, so"
            " specops cannot adopt a project whose pipelines are all in subfolders"
        )
        problems.append(Problem.plain(DVC_FILE, msg))
    for source in files:
        problems += key_problems(source)
    if problems:
        raise SpecError(problems)
    return Sources(files)


def _differs(a: Any, b: Any, path: KeyPath) -> KeyPath | None:
    """The first place where `b` is not exactly `a` (types included: DVC tells 1 from 1.0
    and true from 1), or None. The order of stages counts, that of other keys does not, and a
    key that is null or an empty list is no different to DVC from a key left out."""
    if type(a) is not type(b):
        return path
    if isinstance(a, dict):
        for key in (*a, *b):
            only = a[key] if key not in b else b[key] if key not in a else None
            if only not in (None, []):
                return (*path, key)
        if path == ("stages",) and list(a) != list(b):
            return path
        for key in a:
            if key in b and (found := _differs(a[key], b[key], (*path, key))) is not None:
                return found
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            if (d := _differs(x, y, (*path, i))) is not None:
                return d
        return None
    if isinstance(a, float) and math.isnan(a) and math.isnan(b):
        return None
    return None if a == b else path


def _round_trip(sources: Sources, rendered: list[Rendered]) -> list[Problem]:
    """Each dvc.yaml as the spec renders it must hold exactly the data it held: then DVC
    resolves the same stages, and dvc.lock stays valid."""
    by_path = {f.path: f.text for f in rendered}
    problems = []
    for source in sources.files:
        text = by_path.get(source.path)
        if text is None:
            msg = "the spec would not render this file; it cannot be imported"
            problems.append(Problem.plain(source.path, msg))
            continue
        path = _differs(source.doc.data, load_yaml(source.path, text.encode()).data, ())
        if path is not None:
            msg = "specops would render this differently, which would change what DVC reads"
            problems.append(source.doc.problem(path, msg))
    return problems


def _covers(written: str, path: str) -> bool:
    return written == path or (written.startswith(path) and written[len(path)] in ".[")


class _Positions:
    """The key paths of the spec's nodes by position, to map its problems back."""

    def __init__(self, doc: YamlDoc) -> None:
        self.at: dict[tuple[int, int], list[tuple[KeyPath, bool]]] = {}
        for marks, is_key in ((doc.values, False), (doc.keys, True)):
            for path, mark in marks.items():
                self.at.setdefault(mark, []).append((path, is_key))

    def node(self, problem: Problem) -> tuple[KeyPath, bool] | None:
        """The node a problem is about: of those at its position, the deepest whose key path
        its own starts with (a missing key is reported at the mapping that lacks it)."""
        fits = [
            (path, is_key)
            for path, is_key in self.at.get((problem.line, problem.col), [])
            if _covers(problem.keypath, format_keypath(path))
        ]
        return max(fits, key=lambda f: len(f[0]), default=None)


def _remap(
    problems: list[Problem], text: str, display: str, sources: Sources, maturity: int
) -> list[Problem]:
    positions: _Positions | None = None
    out = []
    for problem in problems:
        if problem.file != display or not problem.line:
            out.append(problem)  # params.yaml and other files keep their own positions
            continue
        if problem.keypath == "maturity":
            hint = "import at a lower --maturity, then raise it in the spec once that has them"
            out.append(Problem.plain(f"--maturity {maturity}", f"{problem.message}; {hint}"))
            continue
        positions = positions or _Positions(load_yaml(display, text.encode()))
        node = positions.node(problem)
        found = sources.locate(node[0]) if node else None
        if node is None or found is None:  # about what no dvc.yaml holds
            msg = f"the spec import would write: {problem.keypath}: {problem.message}"
            out.append(Problem.plain(display, msg))
            continue
        source, path = found
        if not path:  # about the file as a whole, as a pipeline's folder key is
            out.append(Problem.plain(source.path, f"{problem.keypath}: {problem.message}"))
            continue
        rest = problem.keypath[len(format_keypath(node[0])) :]
        keypath = f"{format_keypath(path)}{rest}" if path else rest.lstrip(".") or "(root)"
        line, col = (source.doc.keys if node[1] else source.doc.values)[path]
        out.append(Problem(source.path, line, col, keypath, problem.message))
    return out


def _validated(text: str, data: dict[str, Any], display: str, root: Path) -> Spec | None:
    """The spec of `text`, when it is valid and holds exactly `data`."""
    try:
        spec, doc = parse_spec(display, text.encode(), root)
    except SpecError:
        return None
    return spec if _differs(data, doc.data, ()) is None else None


def prepare(
    root: Path,
    spec_name: str,
    display: str,
    *,
    maturity: int = 0,
    name: str | None = None,
    folder: str = "",
    watched: Sequence[str] = (),
) -> ImportPlan:
    """The spec that renders the dvc.yaml files below `root`, or SpecError with every problem,
    at its position in the dvc.yaml it is about; `folder` is where `root` is in its Git
    repository (see specops.generators.render)."""
    project = _name(name, root)
    sources = _sources(root, spec_name)
    data = spec_data(project, maturity, sources.files)
    found = spectext.counts(sources)
    copied = spectext.copied(sources, {k: data[k] for k in ("version", "name", "maturity")})
    spec = _validated(copied, data, display, root) if copied is not None else None
    if spec is not None and copied is not None:
        text = copied
    else:  # dumped from the data instead, where problems are found and reported
        text = dump(data, blocks=True)
        try:
            spec, doc = parse_spec(display, text.encode(), root)
        except SpecError as exc:
            raise SpecError(_remap(exc.problems, text, display, sources, maturity)) from None
        text = spectext.with_comments(text, doc, sources, found)
    rendered = render_files(spec, spec_name, folder, dvc_extras=dvc_extras(root), watched=watched)
    problems = _round_trip(sources, rendered)
    if problems:
        raise SpecError(problems)
    imported = [
        Imported(s.path, len(_stages(s.doc.data)), len(found[s.path])) for s in sources.files
    ]
    return ImportPlan(
        spec=Rendered(spec_name, text),
        rendered=rendered,
        read={s.path: s.raw for s in sources.files},
        name=project,
        maturity=maturity,
        imported=imported,
        as_written=text is copied,
    )


def _stages(data: Any) -> dict[Any, Any]:
    stages = data.get("stages") if isinstance(data, dict) else None
    return stages if isinstance(stages, dict) else {}
