"""Where stages run in CI: the checks of `runs_on`, `fan_out` and `max_parallel` on a stage."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from specops.spec.models import Foreach, Spec, Stage, StageEntry
from specops.spec.pipeline import Instance
from specops.spec.problems import KeyPath, Problem
from specops.spec.yamlfile import YamlDoc

#: GitHub Actions runs at most this many jobs of one matrix.
MAX_FAN_OUT = 256


def entries(spec: Spec) -> Iterator[tuple[KeyPath, StageEntry]]:
    """Every stage entry of the spec and of its pipelines, with where it is."""
    for name, entry in spec.stages.items():
        yield ("stages", name), entry
    for key, pipe in spec.pipelines.items():
        for name, entry in pipe.stages.items():
            yield ("pipelines", key, "stages", name), entry


def body_path(where: KeyPath, entry: StageEntry) -> KeyPath:
    """Where the keys of the stage itself are: a foreach stage's are under `do`."""
    return (*where, "do") if isinstance(entry, Foreach) else where


def _body(entry: StageEntry) -> Stage:
    return entry.do if isinstance(entry, Foreach) else entry


def problems(spec: Spec, doc: YamlDoc) -> Iterator[Problem]:
    """fan_out only on a stage with items to spread, and max_parallel only with fan_out."""
    for where, entry in entries(spec):
        stage, at = _body(entry), body_path(where, entry)
        if stage.fan_out and not isinstance(entry, Foreach) and stage.matrix is None:
            yield doc.problem(
                (*at, "fan_out"),
                "only a stage with `matrix` or `foreach` has items to run on runners of their own",
            )
        if stage.max_parallel is not None and not stage.fan_out:
            yield doc.problem(
                (*at, "max_parallel"),
                "limits how many items of a fan-out run at a time: add `fan_out: true`",
            )


def item_problems(spec: Spec, insts: list[Instance], doc: YamlDoc) -> Iterator[Problem]:
    """A fan-out must fit in one GitHub Actions matrix, whose values its items' names are:
    a name from params.yaml or a vars file, which the spec's own check of `${{` does not see,
    must not hold an expression that GitHub would evaluate there."""
    counts = Counter(inst.where for inst in insts)
    for where, entry in entries(spec):
        if not _body(entry).fan_out:
            continue
        at = (*body_path(where, entry), "fan_out")
        if counts[where] > MAX_FAN_OUT:
            yield doc.problem(
                at,
                f"the stage has {counts[where]:,} items; a fan-out runs at most {MAX_FAN_OUT},"
                " as GitHub Actions runs at most that many jobs of one matrix",
            )
        for inst in insts:
            if inst.where == where and "${{" in inst.name:
                yield doc.problem(
                    at,
                    f"the item {inst.name!r} holds '${{{{', which GitHub Actions would evaluate"
                    " in the fan-out's matrix; rename the item",
                )
