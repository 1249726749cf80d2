"""Where stages run in CI: the checks of `runs_on`, `fan_out` and `max_parallel` on a stage."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

from specops.spec.models import Foreach, Spec, Stage, StageEntry
from specops.spec.pipeline import Instance, stage_graph
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


def runs_apart(spec: Spec, entry: StageEntry) -> bool:
    """Whether a stage runs in a CI job of its own, before the pipeline job: it fans out, or
    asks for another runner (the labels a runner must all have, compared as sets)."""
    stage = _body(entry)
    return stage.fan_out or set(stage.runs_on or spec.ci.runs_on) != set(spec.ci.runs_on)


def handover_problems(spec: Spec, insts: list[Instance], doc: YamlDoc) -> Iterator[Problem]:
    """The jobs after a stage's own job restore it from DVC's run-cache, which never holds an
    always-changed stage: DVC would run it again in each of them, on their runners."""
    stages = dict(entries(spec))
    apart = [where for where, entry in stages.items() if runs_apart(spec, entry)]
    if not apart:  # the stage graph is not cheap: only a spec with such stages pays for it
        return
    of = {inst.name: inst.where for inst in insts}
    upstream: dict[KeyPath, set[KeyPath]] = {where: set() for where in stages}
    for name, needs in stage_graph(insts).items():
        upstream[of[name]].update(of[u] for u in needs)
    why = dict.fromkeys(apart, "it runs on a runner of its own")
    for where in apart:
        todo = list(upstream[where])
        while todo:
            above = todo.pop()
            if above not in why:
                why[above] = f"{'.'.join(map(str, where))} needs it"
                todo += upstream[above]
    for where, entry in stages.items():
        if where in why and _body(entry).always_changed:
            yield doc.problem(
                (*body_path(where, entry), "always_changed"),
                f"the stage runs in a CI job before the pipeline job ({why[where]}), and DVC"
                " would run it again in every job after that one: its run-cache never restores"
                " an always-changed stage",
            )
