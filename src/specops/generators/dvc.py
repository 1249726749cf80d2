"""dvc.yaml from the spec: stages with their DVC fields, and models as DVC artifacts."""

from __future__ import annotations

from typing import Any

import yaml

from specops.generators.header import also, header
from specops.spec import scalars
from specops.spec.folders import dvc_file
from specops.spec.models import (
    Artifact,
    Dataset,
    Foreach,
    ModelEntry,
    OneCommand,
    OutOptions,
    Pipeline,
    PlotDefinition,
    Spec,
    Stage,
)

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
    out["cmd"] = stage.cmd[0] if isinstance(stage.cmd, OneCommand) else list(stage.cmd)
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


def _artifact(artifact: Artifact) -> dict[str, Any]:
    out: dict[str, Any] = {"path": artifact.path}
    for field in ("type", "desc"):
        if getattr(artifact, field) is not None:
            out[field] = getattr(artifact, field)
    if artifact.labels:
        out["labels"] = list(artifact.labels)
    if artifact.meta is not None:
        out["meta"] = artifact.meta
    return out


def _plot(entry: str | dict[str, PlotDefinition | None]) -> Any:
    if isinstance(entry, str):
        return entry
    return {
        plot_id: None if definition is None else definition.model_dump(exclude_none=True)
        for plot_id, definition in entry.items()
    }


def _dataset(dataset: Dataset) -> dict[str, Any]:
    return dataset.model_dump(exclude_none=True)


def to_dvc(spec: Spec) -> dict[str, Any]:
    """The content of dvc.yaml as plain data. Artifacts are the models, then the other
    artifacts, each in spec order."""
    return _dvc_file(spec, spec.models)


def pipeline_to_dvc(pipe: Pipeline) -> dict[str, Any]:
    """The content of a pipeline's dvc.yaml as plain data, as written (DVC resolves it)."""
    return _dvc_file(pipe, {})


def _dvc_file(source: Spec | Pipeline, models: dict[str, ModelEntry]) -> dict[str, Any]:
    data: dict[str, Any] = {"vars": list(source.vars)} if source.vars else {}
    if source.datasets:
        data["datasets"] = [_dataset(d) for d in source.datasets]
    data["stages"] = {name: _entry(s) for name, s in source.stages.items()}
    if source.metrics:
        data["metrics"] = list(source.metrics)
    if source.params:
        data["params"] = list(source.params)
    if source.plots:
        data["plots"] = [_plot(entry) for entry in source.plots]
    artifacts = {**models, **source.artifacts}
    if artifacts:
        data["artifacts"] = {name: _artifact(a) for name, a in artifacts.items()}
    return data


class _BlockDumper(_Dumper):
    """For a file people edit: text of several lines as a literal block, where YAML allows it
    (PyYAML falls back to quotes otherwise). Not when it ends in blank lines: those would be
    kept (`|+`) and a blank line written after the block would become part of it."""


def _text(dumper: _BlockDumper, value: str) -> yaml.ScalarNode:
    block = "\n" in value.rstrip("\n") and not value.endswith("\n\n")
    return dumper.represent_scalar(scalars.STR, value, style="|" if block else None)


_BlockDumper.add_representer(str, _text)


def dump(data: Any, *, blocks: bool = False) -> str:
    """`data` as YAML that DVC, and specops, read back as the same values; with `blocks`,
    text of several lines is written as literal blocks."""
    dumper = _BlockDumper if blocks else _Dumper
    return yaml.dump(data, Dumper=dumper, sort_keys=False, allow_unicode=True, width=100)


def render_dvc(spec: Spec, spec_name: str) -> str:
    """The text of dvc.yaml, opened by the generated-file header (and the list of the
    pipelines' dvc.yaml files rendered with it)."""
    others = [dvc_file(key) for key in spec.pipelines]
    return header(spec_name) + also(others) + dump(to_dvc(spec))


def render_pipeline(pipe: Pipeline, spec_name: str) -> str:
    """The text of a pipeline's dvc.yaml in its folder."""
    return header(spec_name) + dump(pipeline_to_dvc(pipe))
