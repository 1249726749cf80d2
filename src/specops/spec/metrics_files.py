"""The metrics files a spec declares, which models and gates may name: those its stages write,
with matrices and foreach expanded, and its top-level ones."""

from __future__ import annotations

import posixpath
from pathlib import Path

from specops.spec import pipeline
from specops.spec.folders import expand_all, folder
from specops.spec.models import Spec, body, path_of
from specops.spec.yamlfile import YamlDoc


def metrics_files(spec: Spec, insts: list[pipeline.Instance] | None = None) -> list[str]:
    """Every declared metrics file, normalized, in spec order: those of the stages, then the
    top-level ones that no stage writes, then the pipelines' top-level ones. With the concrete
    stages (of every pipeline), their metrics files are those of each matrix or foreach item,
    with `${...}` resolved."""
    if insts is not None:
        written = [p for i in insts for p, loc in i.outs if pipeline.stage_field(loc) == "metrics"]
    else:
        written = [
            pipeline.normalize(path_of(entry))
            for _, stage, _ in pipeline.bodies(spec)
            for entry in stage.metrics
        ]
    top = [pipeline.normalize(path) for path in spec.metrics]
    top += [
        pipeline.normalize(posixpath.join(folder(key), path))
        for key, pipe in spec.pipelines.items()
        for path in pipe.metrics
    ]
    return written + top


def _expanded_metrics(spec: Spec) -> bool:
    """Whether a stage's metrics files differ from item to item, or from the spec's text:
    written with `${...}`, or relative to a wdir or a pipeline's folder."""
    piped = (body(entry) for pipe in spec.pipelines.values() for entry in pipe.stages.values())
    if any(stage.metrics for stage in piped):
        return True
    return any(
        stage.wdir is not None or any("${" in path_of(entry) for entry in stage.metrics)
        for _, stage, _ in pipeline.bodies(spec)
        if stage.metrics
    )


def project_metrics_files(spec: Spec, doc: YamlDoc, root: Path) -> list[str]:
    """metrics_files of a valid spec, the stages expanded when their metrics files need it."""
    if not _expanded_metrics(spec):
        return metrics_files(spec)
    return metrics_files(spec, expand_all(spec, doc, root))


def declared_metrics(spec: Spec, insts: list[pipeline.Instance] | None) -> list[str] | None:
    """The metrics files models and gates may name; None when they cannot be known because
    the stages could not be expanded."""
    if insts is None and _expanded_metrics(spec):
        return None
    return metrics_files(spec, insts)
