"""Renderers: pure functions from a validated spec to the text of each generated file."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from specops.spec import Spec


@dataclass(frozen=True)
class Rendered:
    """One generated file: its path relative to the project root (POSIX) and its text."""

    path: str
    text: str


def render(spec: Spec, spec_name: str, *, dvc_extras: Sequence[str] = ()) -> list[Rendered]:
    """Every file the spec generates at its maturity level, in a stable order; `dvc_extras`
    are the extras of the `dvc` package its DVC remotes need (Project.dvc_extras)."""
    from specops.generators.dvc import render_dvc, render_pipeline
    from specops.generators.github import render_workflows
    from specops.spec.folders import dvc_file

    files = [Rendered("dvc.yaml", render_dvc(spec, spec_name))]
    files += [
        Rendered(dvc_file(key), render_pipeline(pipe, spec_name))
        for key, pipe in spec.pipelines.items()
    ]
    workflows = render_workflows(spec, spec_name, dvc_extras=dvc_extras)
    files += [Rendered(path, text) for path, text in workflows.items()]
    return files
