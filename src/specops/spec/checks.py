"""Checks that need the whole spec: references, paths, the DAG and the maturity rules."""

from __future__ import annotations

import difflib
import graphlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from specops.spec import pipeline
from specops.spec.files import Unreadable, read_bytes, real_path_inside
from specops.spec.models import Spec, path_of
from specops.spec.problems import KeyPath, Problem, SpecError
from specops.spec.yamlfile import YamlDoc, load_yaml

PARAMS_FILE = "params.yaml"

#: What each maturity level needs, beyond what the level below it needs.
MATURITY_NEEDS: dict[int, list[tuple[str, str]]] = {
    2: [("metrics", "a stage with `metrics`")],
    3: [("models", "`models`"), ("gates", "`gates`"), ("promotion", "`promotion`")],
    4: [("monitoring", "`monitoring`")],
}


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`; did you mean 'x'?` for the closest choice, or nothing."""
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def check(spec: Spec, doc: YamlDoc, root: Path) -> list[Problem]:
    """Every problem of a schema-valid spec, in file order."""
    insts = list(pipeline.instances(spec))  # matrices expanded once for every check below
    problems = [*_matrices(spec, doc), *_paths(spec, doc)]
    if not problems:  # the graph checks assume sane paths and matrices
        problems += _graph(insts, doc)
    problems += [
        *_expressions(doc, doc.data, ()),
        *_maturity(spec, doc),
        *_models(spec, insts, doc),
        *_gates(spec, doc),
        *_promotion(spec, doc),
        *_params(spec, doc, root),
    ]
    return sorted(problems)


def _expressions(doc: YamlDoc, value: Any, path: KeyPath) -> Iterator[Problem]:
    """No user string may smuggle a GitHub expression into a rendered workflow."""
    if isinstance(value, str):
        if "${{" in value:
            yield doc.problem(path, "must not contain '${{' (GitHub Actions expression syntax)")
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and "${{" in key:
                msg = "must not contain '${{' (GitHub Actions expression syntax)"
                yield doc.problem((*path, key), msg, at_key=True)
            yield from _expressions(doc, item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _expressions(doc, item, (*path, i))


def _matrices(spec: Spec, doc: YamlDoc) -> Iterator[Problem]:
    for name, stage in spec.stages.items():
        if stage.matrix is None:
            continue
        if not stage.matrix:
            yield doc.problem(("stages", name, "matrix"), "must name at least one key")
        for key, values in stage.matrix.items():
            if not values:
                yield doc.problem(("stages", name, "matrix", key), "must list at least one value")
        size = pipeline.matrix_size(stage)
        if size > pipeline.MAX_MATRIX:
            msg = f"expands to {size:,} stages; at most {pipeline.MAX_MATRIX:,} are allowed"
            yield doc.problem(("stages", name, "matrix"), msg)


def _spec_paths(spec: Spec) -> Iterator[tuple[str, KeyPath]]:
    for name, stage in spec.stages.items():
        for i, dep in enumerate(stage.deps):
            yield dep, ("stages", name, "deps", i)
        for field in ("outs", "metrics", "plots"):
            for i, entry in enumerate(getattr(stage, field)):
                yield path_of(entry), ("stages", name, field, i)
    for name, model in spec.models.items():
        yield model.path, ("models", name, "path")
        if model.metrics:
            yield model.metrics, ("models", name, "metrics")
    if spec.monitoring:
        yield spec.monitoring.reference, ("monitoring", "reference")
        yield spec.monitoring.current, ("monitoring", "current")


def _paths(spec: Spec, doc: YamlDoc) -> Iterator[Problem]:
    for path, loc in _spec_paths(spec):
        reason = pipeline.path_problem(path)
        if reason:
            yield doc.problem(loc, f"{path!r} {reason}")
        elif loc[2:3] in (("outs",), ("metrics",), ("plots",)) and pipeline.normalize(path) == ".":
            yield doc.problem(loc, "must name a file or folder, not the whole repository")


def _maturity(spec: Spec, doc: YamlDoc) -> Iterator[Problem]:
    have = {
        "metrics": any(stage.metrics for stage in spec.stages.values()),
        "models": bool(spec.models),
        "gates": bool(spec.gates),
        "promotion": spec.promotion is not None,
        "monitoring": spec.monitoring is not None,
    }
    missing = [
        text
        for level in range(2, spec.maturity + 1)
        for key, text in MATURITY_NEEDS.get(level, [])
        if not have[key]
    ]
    if missing:
        them = "them" if len(missing) > 1 else "it"
        msg = f"maturity {spec.maturity} needs {', '.join(missing)}; add {them} or lower the level"
        yield doc.problem(("maturity",), msg)


def metrics_files(spec: Spec) -> list[str]:
    """Every declared metrics file, normalized, in spec order."""
    return [
        pipeline.normalize(path_of(entry))
        for stage in spec.stages.values()
        for entry in stage.metrics
    ]


def _unknown_metrics_file(path: str, declared: list[str]) -> str:
    return f"{path!r} is not a metrics file of any stage{did_you_mean(path, declared)}"


def _models(spec: Spec, insts: list[pipeline.Instance], doc: YamlDoc) -> Iterator[Problem]:
    outs = [out for inst in insts for out, _ in inst.outs]
    out_set = set(outs)
    declared = metrics_files(spec)
    for name, model in spec.models.items():
        path = pipeline.normalize(model.path)
        if path not in out_set and not any(a in out_set for a in pipeline.ancestors(path)):
            msg = f"{model.path!r} is not an out of any stage{did_you_mean(path, outs)}"
            yield doc.problem(("models", name, "path"), msg)
        if model.metrics and pipeline.normalize(model.metrics) not in declared:
            yield doc.problem(
                ("models", name, "metrics"), _unknown_metrics_file(model.metrics, declared)
            )


def split_metric(metric: str) -> tuple[str | None, str]:
    """`file.json:key.path` -> (file, key); a bare key has no file."""
    if ":" in metric:
        file, key = metric.rsplit(":", 1)
        return file, key
    return None, metric


def _gates(spec: Spec, doc: YamlDoc) -> Iterator[Problem]:
    declared = metrics_files(spec)
    for i, gate in enumerate(spec.gates):
        loc: KeyPath = ("gates", i)
        file, key = split_metric(gate.metric)
        if not key:
            yield doc.problem((*loc, "metric"), "names no metric after ':'")
        if file is not None and pipeline.normalize(file) not in declared:
            yield doc.problem((*loc, "metric"), _unknown_metrics_file(file, declared))
        elif file is None and not declared:
            yield doc.problem((*loc, "metric"), "no stage declares a metrics file to read it from")
        if gate.min is None and gate.max is None and gate.vs is None:
            yield doc.problem(loc, "a gate needs at least one of min, max or vs")
        if gate.min is not None and gate.max is not None and gate.min > gate.max:
            yield doc.problem((*loc, "min"), f"min {gate.min:g} is greater than max {gate.max:g}")
        if gate.tolerance is not None and gate.vs is None:
            yield doc.problem((*loc, "tolerance"), "applies only to a comparison; add vs")


def _promotion(spec: Spec, doc: YamlDoc) -> Iterator[Problem]:
    promotion = spec.promotion
    if promotion is None:
        return
    seen: set[str] = set()
    for i, stage in enumerate(promotion.stages):
        if stage in seen:
            yield doc.problem(("promotion", "stages", i), f"{stage!r} is listed twice")
        seen.add(stage)
    for field in ("auto", "approval"):
        value = getattr(promotion, field)
        if value is not None and value not in seen:
            msg = f"{value!r} is not one of promotion.stages{did_you_mean(value, seen)}"
            yield doc.problem(("promotion", field), msg)
    if promotion.auto is not None and promotion.auto == promotion.approval:
        msg = f"{promotion.auto!r} cannot be assigned automatically and need approval"
        yield doc.problem(("promotion", "approval"), msg)


def _flatten(data: Any, prefix: str = "") -> Iterator[str]:
    if isinstance(data, dict):
        for key, value in data.items():
            name = f"{prefix}{key}"
            yield name
            yield from _flatten(value, f"{name}.")


def load_params(root: Path) -> YamlDoc | None:
    """params.yaml of the project, or None when it does not exist."""
    try:
        raw = read_bytes(real_path_inside(root, PARAMS_FILE))
    except Unreadable as exc:
        raise SpecError([Problem.plain(PARAMS_FILE, exc.reason)]) from exc
    return None if raw is None else load_yaml(PARAMS_FILE, raw)


def _params(spec: Spec, doc: YamlDoc, root: Path) -> Iterator[Problem]:
    refs = [
        (key, ("stages", name, "params", i))
        for name, stage in spec.stages.items()
        for i, key in enumerate(stage.params)
        if "${" not in key  # interpolated keys are resolved by DVC
    ]
    if not refs:
        return
    try:
        params = load_params(root)
    except SpecError as exc:
        yield from exc.problems
        return
    if params is None:
        yield doc.problem(refs[0][1], f"{PARAMS_FILE} does not exist next to the spec")
        return
    keys = set(_flatten(params.data))
    for key, loc in refs:
        if key not in keys:
            msg = f"{key!r} is not a key of {PARAMS_FILE}{did_you_mean(key, keys)}"
            yield doc.problem(loc, msg)


def _graph(insts: list[pipeline.Instance], doc: YamlDoc) -> Iterator[Problem]:
    """Overlapping outputs and cycles, on the stages with matrices expanded."""
    producer: dict[str, str] = {}
    inside: dict[str, set[str]] = {}  # folder -> instances writing something below it
    for inst in insts:
        for out, loc in inst.outs:
            other = producer.get(out)
            if other is not None:
                same = other.split("@")[0] == inst.stage
                where = "another item of the same matrix" if same else f"stage {other!r}"
                yield doc.problem(loc, f"{out!r} is also an out of {where}")
                continue
            producer[out] = inst.name
            for folder in pipeline.ancestors(out):
                inside.setdefault(folder, set()).add(inst.name)
    for inst in insts:
        for out, loc in inst.outs:
            for folder in pipeline.ancestors(out):
                owner = producer.get(folder)
                if owner is not None and owner != inst.name:
                    yield doc.problem(loc, f"{out!r} is inside {folder!r}, an out of {owner!r}")
    graph: dict[str, set[str]] = {inst.name: set() for inst in insts}
    for inst in insts:
        for dep, _ in inst.deps:
            for path in (dep, *pipeline.ancestors(dep)):
                if path in producer:
                    graph[inst.name].add(producer[path])
            graph[inst.name].update(inside.get(dep, ()))
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as exc:
        cycle: list[str] = exc.args[1]
        first = min(cycle[:-1], key=list(graph).index)
        start = cycle.index(first)
        loop = [*cycle[start:-1], *cycle[:start], first]
        msg = f"the pipeline has a cycle: {' -> '.join(loop)}"
        yield doc.problem(("stages", first.split("@")[0]), msg, at_key=True)
