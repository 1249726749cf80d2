"""Renderers: pure functions from a validated spec to the text of each generated file."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from specops.spec import Spec
from specops.spec.pipeline import Instance


@dataclass(frozen=True)
class Rendered:
    """One generated file: its path (POSIX) and its text. Workflows (below `.github/`) are
    relative to the Git root, every other file to the project root; the two differ only for a
    project in a folder of its Git repository."""

    path: str
    text: str


def render(
    spec: Spec,
    spec_name: str,
    folder: str = "",
    stages: list[Instance] | None = None,
    *,
    dvc_extras: Sequence[str] = (),
    watched: Sequence[str] = (),
) -> list[Rendered]:
    """Every file the spec generates at its maturity level, in a stable order; `folder` is
    where the project is in its Git repository ("" at the root); `stages` as
    github.render_workflows takes them; `dvc_extras` are the extras of the `dvc` package its
    DVC remotes need (Project.dvc_extras); `watched` are files outside `folder` whose changes
    start CI too (layout.watched)."""
    from specops.generators.dvc import render_dvc, render_pipeline
    from specops.generators.github import render_workflows
    from specops.spec.folders import dvc_file

    files = [Rendered("dvc.yaml", render_dvc(spec, spec_name))]
    files += [
        Rendered(dvc_file(key), render_pipeline(pipe, spec_name))
        for key, pipe in spec.pipelines.items()
    ]
    workflows = render_workflows(
        spec, spec_name, folder, stages, dvc_extras=dvc_extras, watched=watched
    )
    files += [Rendered(path, text) for path, text in workflows.items()]
    return files
