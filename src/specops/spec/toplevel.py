"""dvc.yaml's top-level sections beside the stages: plots, datasets and artifacts, and the paths
of every top-level section with `${...}` resolved, as DVC resolves them (with the spec's
`vars` and params.yaml; a top-level section has no matrix item)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from specops.spec import interpolate
from specops.spec.context import load_context
from specops.spec.interpolate import Suggest, Unresolved
from specops.spec.models import ARTIFACT_NAME, ARTIFACT_NAME_RULE, Spec, plot_id
from specops.spec.pipeline import Instance, bodies, path_problem
from specops.spec.problems import KeyPath, Problem
from specops.spec.yamlfile import YamlDoc

_UNRESOLVED = object()


def _quiet(_word: str, _choices: Any) -> str:
    return ""


def resolve(data: Mapping[str, Any] | None, text: str) -> Any:
    """`text` resolved in the spec's values, or _UNRESOLVED when it cannot be (the reference
    checks say why) or when there are no values to resolve it in."""
    if "${" not in text:
        return text
    if data is None:
        return _UNRESOLVED
    try:
        return interpolate.resolve(text, data, None, _quiet)
    except Unresolved:
        return _UNRESOLVED


def resolved_path(data: Mapping[str, Any] | None, text: str) -> str | None:
    """A top-level path with its `${...}` resolved; None when it does not resolve to text."""
    value = resolve(data, text)
    return value if isinstance(value, str) else None


def model_paths(spec: Spec, doc: YamlDoc, root: Path) -> dict[str, str]:
    """Each model's path as DVC reads it from dvc.yaml's `artifacts:` (a valid spec's paths
    resolve)."""
    data = load_context(spec.vars, doc, root).data
    return {name: resolved_path(data, m.path) or m.path for name, m in spec.models.items()}


def _what(value: Any) -> str:
    return interpolate.kind(value) if value is not _UNRESOLVED else ""


# Where each path of a top-level section is written: (text, location, whether at a key).
Written = tuple[str, KeyPath, bool]


def _plot_files(spec: Spec, data: Mapping[str, Any] | None) -> Iterator[Written]:
    """The files each top-level plot reads, as DVC finds them (`infer_data_sources`): its id,
    unless `y` maps files to fields; then those files; and the files of an `x` mapping."""
    for i, entry in enumerate(spec.plots):
        if isinstance(entry, str):
            yield entry, ("plots", i), False
            continue
        name = plot_id(entry)
        definition = entry[name]
        axes = {"x": definition.x, "y": definition.y} if definition is not None else {}
        for axis, value in axes.items():
            loc: KeyPath = ("plots", i, name, axis)
            if isinstance(value, str) and isinstance(found := resolve(data, value), dict):
                # `y: ${files}` that resolves to a mapping names its files once resolved
                axes[axis] = found
                yield from ((str(f), loc, False) for f in found)
            elif isinstance(value, dict):
                yield from ((f, (*loc, f), True) for f in value)
        if not isinstance(axes.get("y"), dict):
            yield name, ("plots", i, name), True


def _artifact_paths(spec: Spec) -> Iterator[Written]:
    for name, artifact in spec.artifacts.items():
        if not artifact.is_url:
            yield artifact.path, ("artifacts", name, "path"), False


def _resolved_only(spec: Spec) -> Iterator[Written]:
    """Paths of the sections whose paths as written the general path checks cover."""
    for name, model in spec.models.items():
        yield model.path, ("models", name, "path"), False
    for section in ("metrics", "params"):
        for i, path in enumerate(getattr(spec, section)):
            yield path, (section, i), False


def _path_problems(
    doc: YamlDoc, data: Mapping[str, Any] | None, paths: Iterable[Written], *, as_written: bool
) -> Iterator[Problem]:
    """Paths that leave the repository, as written (`as_written`) and with `${...}` resolved."""
    for text, loc, at_key in paths:
        reason = path_problem(text)
        if reason is not None:
            if as_written:
                yield doc.problem(loc, reason, at_key=at_key)
            continue
        if "${" not in text:
            continue
        value = resolve(data, text)
        if isinstance(value, str):
            reason = path_problem(value)
        elif value is not _UNRESOLVED:
            reason = f"{text!r} is {_what(value)}; a path is needed"
        if reason is not None:
            yield doc.problem(loc, reason, at_key=at_key)


def _line(doc: YamlDoc, loc: KeyPath, at_key: bool) -> int:
    return doc.problem(loc, "", at_key=at_key).line


def _twice(
    doc: YamlDoc, entries: Iterable[tuple[str, str, KeyPath, bool]], what: str
) -> Iterator[Problem]:
    """Each `(identity, as written, location, at a key)` whose identity came before."""
    first: dict[str, tuple[str, KeyPath, bool]] = {}
    for identity, written, loc, at_key in entries:
        seen = first.setdefault(identity, (written, loc, at_key))
        if seen[1] == loc:
            continue
        where = f"first on line {_line(doc, seen[1], seen[2])}"
        if seen[0] != identity:
            where += f", as {seen[0]!r}"
        subject = repr(identity)
        if written != identity:
            subject = f"{written!r} resolves to {subject}, which"
        yield doc.problem(loc, f"{subject} is {what} ({where})", at_key=at_key)


def _plot_ids(spec: Spec, doc: YamlDoc, data: Mapping[str, Any] | None) -> Iterator[Problem]:
    """DVC keeps the last of two plots with one id."""
    ids = []
    for i, entry in enumerate(spec.plots):
        name = plot_id(entry)
        value = resolve(data, name)
        at_key = not isinstance(entry, str)
        loc: KeyPath = ("plots", i, name) if at_key else ("plots", i)
        if isinstance(value, str):
            ids.append((value, name, loc, at_key))
        elif value is not _UNRESOLVED:
            yield doc.problem(
                loc, f"{name!r} is {_what(value)}; a plot id is needed", at_key=at_key
            )
    yield from _twice(doc, ids, "the id of two plots")


def _datasets(
    spec: Spec,
    doc: YamlDoc,
    data: Mapping[str, Any] | None,
    suggest: Suggest,
    elsewhere: Iterable[str],
    insts: list[Instance] | None,
) -> Iterator[Problem]:
    names = []
    for i, dataset in enumerate(spec.datasets):
        for field in ("path", "rev"):
            if getattr(dataset, field) is not None and dataset.type != "dvc":
                yield doc.problem(
                    ("datasets", i, field), "applies only to a dataset of type dvc", at_key=True
                )
        value = resolve(data, dataset.name)
        if isinstance(value, str):
            names.append((value, dataset.name, ("datasets", i, "name"), False))
    yield from _twice(doc, names, "the name of two datasets")  # DVC keeps the last one
    known = [*(name for name, *_ in names), *elsewhere]  # DVC's datasets are the repository's
    # Each dependency as written, then those with `${...}` in each stage generated from them.
    deps: list[tuple[str, KeyPath, str]] = [
        (dep, (*base, "deps", i), "")
        for _, stage, base in bodies(spec)
        for i, dep in enumerate(stage.deps)
        if "${" not in dep
    ]
    reported: set[KeyPath] = set()
    for inst in insts or ():
        deps += [(dep, loc, f"in stage {inst.name!r}: ") for dep, loc in inst.deps]
    for dep, loc, where in deps:
        if loc in reported or urlparse(dep).scheme != "ds":
            continue
        name = urlparse(dep).netloc
        if name not in known:
            reported.add(loc)
            msg = f"{where}{dep!r} names no dataset of `datasets`{suggest(name, known)}"
            yield doc.problem(loc, msg)


def _artifact_names(spec: Spec, doc: YamlDoc, data: Mapping[str, Any] | None) -> Iterator[Problem]:
    """Artifact names as DVC reads them: resolved, GTO's names, one artifact per name (DVC
    keeps the last)."""
    taken = {
        name: f"of a model (line {_line(doc, ('models', name), True)})" for name in spec.models
    }
    for name in spec.artifacts:
        loc: KeyPath = ("artifacts", name)
        value = resolve(data, name)
        if value is _UNRESOLVED:
            continue
        if not isinstance(value, str):
            yield doc.problem(loc, f"{name!r} is {_what(value)}; a name is needed", at_key=True)
            continue
        what = repr(name) if value == name else f"{name!r} resolves to {value!r}, which"
        if not re.fullmatch(ARTIFACT_NAME, value):
            msg = f"{what} is not a valid artifact name: {ARTIFACT_NAME_RULE}"
            yield doc.problem(loc, msg, at_key=True)
        elif value in taken:
            msg = f"{what} is also the name {taken[value]}; DVC keeps one artifact per name"
            yield doc.problem(loc, msg, at_key=True)
        else:
            taken[value] = f"of artifact {name!r} (line {_line(doc, loc, True)})"


def problems(
    spec: Spec,
    doc: YamlDoc,
    data: Mapping[str, Any] | None,
    suggest: Suggest,
    elsewhere: Iterable[str] = (),
    insts: list[Instance] | None = None,
) -> list[Problem]:
    """Every problem of the top-level sections that the general checks do not cover; `data`
    holds the spec's values for `${...}`, `elsewhere` the datasets of the other dvc.yaml
    files, `insts` the stages with their values put in."""
    files = [*_plot_files(spec, data), *_artifact_paths(spec)]
    return [
        *_path_problems(doc, data, files, as_written=True),
        *_path_problems(doc, data, _resolved_only(spec), as_written=False),
        *_plot_ids(spec, doc, data),
        *_datasets(spec, doc, data, suggest, elsewhere, insts),
        *_artifact_names(spec, doc, data),
    ]
