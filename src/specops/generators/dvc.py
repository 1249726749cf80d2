"""dvc.yaml from the spec: stages with their DVC fields, and models as DVC artifacts."""

from __future__ import annotations

from typing import Any

import yaml

from specops.generators.header import also, header
from specops.spec import scalars
from specops.spec.folders import dvc_file
from specops.spec.models import Foreach, ModelEntry, OutOptions, Pipeline, Spec, Stage

try:  # libyaml's emitter is several times faster on large pipelines
    from yaml import CSafeDumper as _BaseDumper
except ImportError:  # pragma: no cover
    from yaml import SafeDumper as _BaseDumper  # type: ignore[assignment]


class _Dumper(_BaseDumper):
    """Quotes a string that either YAML 1.1 (PyYAML's rules) or DVC's YAML 1.2 loader would
    read as something else: `on` and `010`, and also `1e3`, `0o17` and `09`."""

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: Any) -> Any:
        tag = super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]
        if kind is yaml.ScalarNode and implicit[0] and tag == scalars.STR:
            return scalars.resolve(value)
        return tag


def _entries(entries: list[str | dict[str, OutOptions]]) -> list[Any]:
    return [
        e if isinstance(e, str) else {p: o.model_dump(exclude_none=True) for p, o in e.items()}
        for e in entries
    ]


def _stage(stage: Stage) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if stage.desc is not None:
        out["desc"] = stage.desc
    if stage.matrix is not None:
        out["matrix"] = stage.matrix
    if stage.vars:
        out["vars"] = list(stage.vars)
    if stage.wdir is not None:
        out["wdir"] = stage.wdir
    out["cmd"] = stage.cmd[0] if len(stage.cmd) == 1 else list(stage.cmd)
    if stage.deps:
        out["deps"] = list(stage.deps)
    if stage.params:
        out["params"] = [p if isinstance(p, str) else dict(p) for p in stage.params]
    for field in ("outs", "metrics", "plots"):
        if getattr(stage, field):
            out[field] = _entries(getattr(stage, field))
    for flag in ("always_changed", "frozen", "meta"):
        if getattr(stage, flag) is not None:
            out[flag] = getattr(stage, flag)
    return out


def _entry(entry: Stage | Foreach) -> dict[str, Any]:
    """A stage, or a foreach stage as written: DVC expands it."""
    if isinstance(entry, Foreach):
        return {"foreach": entry.foreach, "do": _stage(entry.do)}
    return _stage(entry)


def _artifact(model: ModelEntry) -> dict[str, Any]:
    out: dict[str, Any] = {"path": model.path, "type": model.type}
    if model.desc is not None:
        out["desc"] = model.desc
    if model.labels:
        out["labels"] = list(model.labels)
    return out


def to_dvc(spec: Spec) -> dict[str, Any]:
    """The content of dvc.yaml as plain data."""
    data: dict[str, Any] = {"vars": list(spec.vars)} if spec.vars else {}
    data["stages"] = {name: _entry(s) for name, s in spec.stages.items()}
    if spec.metrics:
        data["metrics"] = list(spec.metrics)
    if spec.params:
        data["params"] = list(spec.params)
    if spec.models:
        data["artifacts"] = {name: _artifact(model) for name, model in spec.models.items()}
    return data


def _dump(data: dict[str, Any]) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)


def render_dvc(spec: Spec, spec_name: str) -> str:
    """The text of dvc.yaml, opened by the generated-file header (and the list of the
    pipelines' dvc.yaml files rendered with it)."""
    others = [dvc_file(key) for key in spec.pipelines]
    return header(spec_name) + also(others) + _dump(to_dvc(spec))


def pipeline_to_dvc(pipe: Pipeline) -> dict[str, Any]:
    """The content of a pipeline's dvc.yaml as plain data, as written (DVC resolves it)."""
    data: dict[str, Any] = {"vars": list(pipe.vars)} if pipe.vars else {}
    data["stages"] = {name: _entry(s) for name, s in pipe.stages.items()}
    if pipe.metrics:
        data["metrics"] = list(pipe.metrics)
    if pipe.params:
        data["params"] = list(pipe.params)
    return data


def render_pipeline(pipe: Pipeline, spec_name: str) -> str:
    """The text of a pipeline's dvc.yaml in its folder."""
    return header(spec_name) + _dump(pipeline_to_dvc(pipe))
