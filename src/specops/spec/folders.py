"""Pipelines in folders: each `pipelines` entry is the dvc.yaml of its folder, checked as the
spec's own is, with its paths made relative to the spec's folder so that the checks across
the repository (overlapping outs, cycles, models and gates) see every stage alike."""

from __future__ import annotations

import dataclasses
import os
import posixpath
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from specops.spec import pipeline
from specops.spec.models import Dataset, Foreach, PlotDefinition, Spec, Stage
from specops.spec.problems import KeyPath, Problem
from specops.spec.resolve import expand
from specops.spec.yamlfile import YamlDoc

DVC_FILE = "dvc.yaml"
LOCK_FILE = "dvc.lock"


def folder(key: str) -> str:
    """A pipeline's folder in one spelling: `./nlp/` is `nlp`."""
    return pipeline.normalize(key)


def dvc_file(key: str) -> str:
    """The dvc.yaml a pipeline renders, relative to the spec."""
    return f"{folder(key)}/{DVC_FILE}"


def address(key: str, name: str) -> str:
    """A stage of the pipeline as DVC names it outside its folder: `nlp/dvc.yaml:train`."""
    return f"{dvc_file(key)}:{name}"


@dataclass
class ScopedDoc(YamlDoc):
    """One entry of the spec seen as a document of its own: its data, with problems placed by
    key paths from the spec's root."""

    prefix: KeyPath = ()

    def problem(self, path: Any, message: str, *, at_key: bool = False) -> Problem:
        return super().problem((*self.prefix, *path), message, at_key=at_key)


def scoped(doc: YamlDoc, key: str) -> ScopedDoc:
    data = doc.data["pipelines"][key] if isinstance(doc.data, dict) else None
    prefix: KeyPath = ("pipelines", key)
    return ScopedDoc(doc.file, data, doc.values, doc.keys, doc.numbers, doc.interpolated, prefix)


def _in_folder(stage: Stage, where: str) -> Stage:
    return stage.model_copy(update={"wdir": posixpath.join(where, stage.wdir or "")})


def _plot_in_folder(entry: str | dict[str, PlotDefinition | None], where: str) -> Any:
    """A top-level plot with its id and the files its axes name relative to the spec."""
    if isinstance(entry, str):
        return posixpath.join(where, entry)
    joined = {}
    for name, definition in entry.items():
        if definition is not None:
            axes = {
                axis: {posixpath.join(where, f): v for f, v in value.items()}
                for axis in ("x", "y")
                if isinstance(value := getattr(definition, axis), dict)
            }
            definition = definition.model_copy(update=axes)
        joined[posixpath.join(where, name)] = definition
    return joined


def as_spec(spec: Spec, key: str) -> Spec:
    """The pipeline as a spec of its own whose stages run in its folder: each stage's `wdir` is
    the folder joined with its own, which makes its paths, params files and vars files
    relative to the folder as DVC reads them, and its top-level files likewise. Only for the
    checks: it is rendered as written."""
    pipe, where = spec.pipelines[key], folder(key)

    def join(path: str) -> str:
        return posixpath.join(where, path)

    stages = {
        name: entry.model_copy(update={"do": _in_folder(entry.do, where)})
        if isinstance(entry, Foreach)
        else _in_folder(entry, where)
        for name, entry in pipe.stages.items()
    }
    return spec.model_copy(
        update={
            "vars": pipe.vars,
            "stages": stages,
            "metrics": [join(p) for p in pipe.metrics],
            "params": [join(p) for p in pipe.params],
            "plots": [_plot_in_folder(entry, where) for entry in pipe.plots],
            "datasets": pipe.datasets,
            "artifacts": {
                name: a if a.is_url else a.model_copy(update={"path": join(a.path)})
                for name, a in pipe.artifacts.items()
            },
            "pipelines": {},
            "models": {},
            "monitoring": None,
        }
    )


def absolute(insts: list[pipeline.Instance], key: str) -> list[pipeline.Instance]:
    """The concrete stages of a pipeline as the whole spec sees them: named as DVC addresses
    them (`nlp/dvc.yaml:train@us`), at key paths from the spec's root."""
    prefix: KeyPath = ("pipelines", key)
    return [
        dataclasses.replace(
            inst,
            name=address(key, inst.name),
            deps=tuple((p, (*prefix, *loc)) for p, loc in inst.deps),
            outs=tuple((p, (*prefix, *loc)) for p, loc in inst.outs),
            params=tuple((f, k, (*prefix, *loc)) for f, k, loc in inst.params),
            params_files=tuple((f, (*prefix, *loc)) for f, loc in inst.params_files),
            where=(*prefix, *inst.where),
        )
        for inst in insts
    ]


def expand_all(spec: Spec, doc: YamlDoc, root: Path) -> list[pipeline.Instance]:
    """The concrete stages of a valid spec and of all its pipelines, as the checks see them."""
    insts = expand(spec, doc, root)
    for key in spec.pipelines:
        part = expand(as_spec(spec, key), scoped(doc, key), root, folder(key))
        insts += absolute(part, key)
    return insts


@dataclass(frozen=True)
class Recorded:
    """Where DVC records an out: in which dvc.lock, as which path (relative to the folder of
    the stage that writes it), and how DVC addresses that stage from the spec's folder."""

    lock: str
    path: str
    prefix: str  # `nlp/dvc.yaml:` for a pipeline's stage, else ""


def recorded_in(spec: Spec, doc: YamlDoc, root: Path, path: str) -> Recorded:
    """Where the out `path` (relative to the spec) of a valid spec is recorded; the spec's own
    dvc.lock, as written, when no stage writes exactly that path."""
    norm = pipeline.normalize(path)
    for inst in expand_all(spec, doc, root):
        if any(out == norm for out, _ in inst.outs):
            key = inst.where[1] if inst.where[:1] == ("pipelines",) else None
            lock = LOCK_FILE if key is None else f"{folder(str(key))}/{LOCK_FILE}"
            prefix = "" if key is None else f"{dvc_file(str(key))}:"
            return Recorded(lock, posixpath.relpath(norm, inst.wdir or "."), prefix)
    return Recorded(LOCK_FILE, norm, "")


def all_stages(spec: Spec) -> Iterator[Stage]:
    """Every stage of the spec and of its pipelines (a foreach stage's `do`)."""
    yield from (stage for _, stage, _ in pipeline.bodies(spec))
    for pipe in spec.pipelines.values():
        for entry in pipe.stages.values():
            yield entry.do if isinstance(entry, Foreach) else entry


def _on_disk_problem(root: Path, where: str) -> str | None:
    """Why the folder `where` cannot hold a pipeline as it is on disk: it or a folder above it
    is a symbolic link (DVC collects a dvc.yaml where the link points, under that name only,
    and `dvc repro link/dvc.yaml` fails), or a file. A folder not there yet is fine."""
    for part in reversed((where, *pipeline.ancestors(where))):
        try:
            mode = os.lstat(root / part).st_mode
        except OSError:  # missing, or not searchable: render creates it or reports it
            return None
        if stat.S_ISLNK(mode):
            return (
                f"{part!r} is a symbolic link; DVC finds a dvc.yaml only where the link points,"
                " and `dvc repro` fails on one reached through it"
            )
        if not stat.S_ISDIR(mode):
            return f"{part!r} is a file, not a folder"
    return None


def folder_problems(spec: Spec, doc: YamlDoc, root: Path) -> dict[str, list[Problem]]:
    """What is wrong with each pipeline's folder itself: outside the repository, the spec's
    own, inside Git's or DVC's files, named by another entry already, one that `dvc repro`
    would take for an option, or a link or a file on disk."""
    found: dict[str, list[Problem]] = {}
    first: dict[str, str] = {}
    for key in spec.pipelines:
        loc: KeyPath = ("pipelines", key)
        where = folder(key)
        reason = pipeline.path_problem(key)
        if reason is None and where == ".":
            reason = "names the spec's own folder, whose dvc.yaml the top-level stages make"
        if reason is None:
            reason = pipeline.out_problem(key)
        if reason is None and where in first:
            line = doc.problem(("pipelines", first[where]), "", at_key=True).line
            reason = f"{key!r} is the folder {first[where]!r} again (line {line})"
        first.setdefault(where, key)
        if reason is None and where.startswith("-"):
            # CI and the README name each dvc.yaml as an argument of `dvc repro`.
            reason = (
                f"{where!r} starts with '-', which `dvc repro {where}/{DVC_FILE}` would read as"
                " an option"
            )
        if reason is None:
            reason = _on_disk_problem(root, where)
        if reason is not None:
            found[key] = [doc.problem(loc, reason, at_key=True)]
    return found


def output_problems(spec: Spec, insts: list[pipeline.Instance], doc: YamlDoc) -> Iterator[Problem]:
    """A pipeline in a stage's output, where DVC does not look for a dvc.yaml (it skips the
    folders of outputs), or an out that is a pipeline's dvc.lock."""
    locks = {f"{folder(key)}/{LOCK_FILE}": key for key in spec.pipelines}
    producer: dict[str, str] = {}
    for inst in insts:
        for out, loc in inst.outs:
            producer[out] = inst.name
            if out in locks:
                yield doc.problem(loc, f"{out!r} is the dvc.lock of the pipeline {locks[out]!r}")
    for key in spec.pipelines:
        where = folder(key)
        owner = next(
            ((f, producer[f]) for f in (where, *pipeline.ancestors(where)) if f in producer),
            None,
        )
        if owner is not None:
            inside = "is" if owner[0] == where else f"is inside {owner[0]!r},"
            msg = (
                f"{where!r} {inside} an out of stage {owner[1]!r}; DVC does not look for a"
                " dvc.yaml in an output"
            )
            yield doc.problem(("pipelines", key), msg, at_key=True)


def dataset_names(spec: Spec) -> dict[str | None, list[str]]:
    """The names of the datasets of each dvc.yaml (None for the spec's own), as written."""
    names: dict[str | None, list[str]] = {None: [d.name for d in spec.datasets]}
    names |= {key: [d.name for d in pipe.datasets] for key, pipe in spec.pipelines.items()}
    return names


def dataset_problems(spec: Spec, doc: YamlDoc) -> Iterator[Problem]:
    """A dataset name in two dvc.yaml files: DVC's datasets are the repository's, and it
    keeps one per name."""
    first: dict[str, str] = {}
    places: list[tuple[KeyPath, str, list[Dataset]]] = [(("datasets",), DVC_FILE, spec.datasets)]
    for key, pipe in spec.pipelines.items():
        places.append((("pipelines", key, "datasets"), dvc_file(key), pipe.datasets))
    for base, where, datasets in places:
        # Names with `${...}` are left out; a name repeated in one file is reported there.
        names = {d.name: i for i, d in reversed(list(enumerate(datasets))) if "${" not in d.name}
        for name, i in names.items():
            if name in first:
                msg = (
                    f"{name!r} is also the name of a dataset of {first[name]}; DVC keeps one"
                    " dataset per name in the repository"
                )
                yield doc.problem((*base, i, "name"), msg)
        for name in names:
            first.setdefault(name, where)


def lock_files(spec: Spec) -> list[str]:
    """The dvc.lock of every dvc.yaml the spec renders."""
    return [LOCK_FILE, *(f"{folder(key)}/{LOCK_FILE}" for key in spec.pipelines)]


def dvc_files(spec: Spec) -> list[str]:
    """Every dvc.yaml the spec renders, its own first."""
    return [DVC_FILE, *(dvc_file(key) for key in spec.pipelines)]
