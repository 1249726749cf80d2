"""What each CLI command does, returning data for the CLI to print as text or JSON."""

from __future__ import annotations

import contextlib
import importlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from specops import gating, layout, writer
from specops.gates.run import GateRun
from specops.gating import Report
from specops.generators import Rendered
from specops.generators import render as render_generated
from specops.generators.jobs import needs_plan
from specops.spec import Problem, Project, SpecError, load_spec
from specops.spec.folders import address, expand_all
from specops.spec.load import find_spec
from specops.spec.models import Spec


@dataclass(frozen=True)
class Summary:
    """A valid spec in numbers."""

    spec: str
    name: str
    maturity: int
    stages: list[str]
    models: list[str]
    gates: int
    files: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {"valid": True, **self.__dict__}


@dataclass(frozen=True)
class RenderResult:
    """What render did, or with `check`, what it would do."""

    changes: list[writer.Change]
    written: bool

    @property
    def stale(self) -> list[writer.Change]:
        return [c for c in self.changes if c.action is not writer.Action.UNCHANGED]

    def as_dict(self) -> dict[str, Any]:
        return {
            "written": self.written,
            "files": [
                {"path": c.path, "action": c.action.value, "diff": c.diff()} for c in self.changes
            ],
        }


def locate(spec_path: Path | None) -> Path:
    """The spec the user named, or the nearest one above the working folder."""
    if spec_path is not None:
        return spec_path
    try:
        here = Path.cwd()
    except OSError as exc:
        raise SpecError(
            [Problem.plain(".", f"cannot use the current folder: {exc.strerror}")]
        ) from exc
    return find_spec(here)


def render_files(project: Project, where: layout.Layout) -> list[Rendered]:
    """Every file the project's spec generates, for a project `where` in its Git repository;
    its concrete stages are expanded only when stages run on runners of their own, whose jobs
    follow the stage graph."""
    spec = project.spec
    stages = expand_all(spec, project.doc, project.root) if needs_plan(spec) else None
    return render_generated(
        spec,
        project.spec_name,
        where.folder,
        stages,
        dvc_extras=project.dvc_extras,
        watched=layout.watched(where),
    )


def validate(spec_path: Path | None) -> Summary:
    """Load and check the spec; raises SpecError with every problem."""
    spec_path = locate(spec_path)
    project = load_spec(spec_path)
    problems = gating.metric_problems(project)
    if problems:
        raise SpecError(problems)
    spec = project.spec
    where = layout.layout(project.root, str(spec_path))
    return Summary(
        spec=str(spec_path),
        name=spec.name,
        maturity=spec.maturity,
        stages=[
            *spec.stages,
            *(address(k, n) for k, p in spec.pipelines.items() for n in p.stages),
        ],
        models=list(spec.models),
        gates=len(spec.gates),
        files=layout.paths(where, render_files(project, where)),
    )


def render(spec_path: Path | None, *, check: bool = False) -> RenderResult:
    """Render every generated file; with `check`, only compare and write nothing."""
    project = load_spec(locate(spec_path))
    shown = spec_path or Path(project.spec_name)
    where = layout.layout(project.root, str(shown))
    files = render_files(project, where)
    writer.refuse_clash(shown, project.spec_name, files)
    layout.refuse_shared_names(where, project)
    changes = layout.plan(where, files, project.spec_name)
    if not check:
        writer.apply(where.top, changes)
    return RenderResult(changes, written=not check)


def init(spec_path: Path | None) -> InitResult:
    """Scaffold a project around `spec_path`, into an empty folder or an existing project:
    what is missing is created, what is there is kept (see specops.initializing)."""
    from specops.initializing import init as scaffold_project

    return scaffold_project(spec_path)


def import_(spec_path: Path | None, *, maturity: int = 0, name: str | None = None) -> ImportResult:
    """Adopt the DVC project around `spec_path`: write a spec that renders its dvc.yaml files
    the same, and take them over, all or nothing (see specops.importing)."""
    from specops.importing.adopt import adopt

    return adopt(spec_path, maturity=maturity, name=name)


def schema() -> dict[str, Any]:
    """The JSON Schema of the spec, for editors."""
    data = Spec.model_json_schema()
    data["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    data["title"] = "specops.yaml"
    return data


# Gates and the pull-request report (specops.gating does the work).


def gate(
    spec_path: Path | None, model: str | None = None, *, require_baseline: bool = False
) -> GateRun:
    """Evaluate every gate of the spec against the working tree's metrics."""
    project = load_spec(locate(spec_path))
    return gating.gate_project(project, model, require_baseline=require_baseline)


def report(spec_path: Path | None, base: str | None = None) -> Report:
    """Markdown for a pull request: gates, metrics and params against `base`, the pipeline."""
    return gating.report_project(load_spec(locate(spec_path)), base)


# Drift (specops.monitoring does the work, with numpy, scipy and pyarrow imported there).


@dataclass(frozen=True)
class DriftOptions:
    """What a drift run was asked on its command line; None (or empty) takes the spec's."""

    reference: Path | None = None
    current: Path | None = None
    method: str | None = None
    threshold: float | None = None
    share: float | None = None
    column_types: dict[str, str] = field(default_factory=dict)
    #: The target, prediction, predicted_class and latency columns named; '' drops the spec's.
    roles: dict[str, str] = field(default_factory=dict)
    progress: Progress | None = None


def drift(
    spec_path: Path | None,
    options: DriftOptions,
    *,
    output: tuple[str, Path] | None = None,
) -> DriftResult:
    """Compare the current batch with the reference: the data contract, then each column's
    drift, then the model's quality when a target or a prediction column is named. The spec's
    `monitoring` gives what the arguments leave out; with both files named, no spec is
    needed."""
    import dataclasses

    from specops.monitoring.drift import compare
    from specops.monitoring.performance import assess

    inputs = _drift_inputs(spec_path, options)
    _not_an_input(output, inputs.files)
    result = compare(inputs.sides[0], inputs.sides[1], inputs.settings)
    if result.breaches:
        return result
    quality = assess(inputs.sides[0], inputs.sides[1], inputs.roles, inputs.gates, inputs.settings)
    return dataclasses.replace(result, quality=quality)


def drift_partial(
    spec_path: Path | None,
    options: DriftOptions,
    *,
    output: tuple[str, Path] | None = None,
) -> dict[str, Any]:
    """One partition of the current batch against the whole reference: a summary that
    `drift_combine` combines with the other partitions', the model's quality included."""
    from specops.monitoring import quality_partial
    from specops.monitoring.partial import summarize

    inputs = _drift_inputs(spec_path, options)
    _not_an_input(output, inputs.files)
    reference_table, current_table = inputs.sides
    summary = summarize(reference_table, current_table, inputs.settings)
    if not summary["contract"]:
        summary["quality"] = quality_partial.summarize(
            reference_table, current_table, inputs.roles, inputs.gates, inputs.settings
        )
    return summary


def drift_combine(paths: list[Path], output: tuple[str, Path] | None = None) -> DriftResult:
    """The batch's drift from its partitions' summaries."""
    from specops.monitoring.partial import combine

    _not_an_input(output, paths)
    return combine(paths)


def _not_an_input(output: tuple[str, Path] | None, inputs: list[Path]) -> None:
    """Refuse to write a report or a summary (`output`: its option and path) over a file the run
    reads: a slip of `--output` would replace the data."""
    if output is None:
        return
    option, path = output
    for given in inputs:
        with contextlib.suppress(OSError):  # a file that is not there is no input
            if os.path.samefile(path, given):
                raise SpecError(
                    [
                        Problem.plain(
                            str(path), f"is an input of this run; {option} names another file"
                        )
                    ]
                )


@dataclass(frozen=True)
class _DriftInputs:
    settings: Settings
    sides: tuple[Table, Table]
    roles: Roles
    gates: list[Gate]
    #: Every file the run reads: both sides, and the spec when one was loaded.
    files: list[Path]


def _drift_inputs(spec_path: Path | None, options: DriftOptions) -> _DriftInputs:
    from specops.monitoring.performance import Roles
    from specops.monitoring.settings import Settings
    from specops.monitoring.tables import Table

    reference, current = options.reference, options.current
    watch, root, files = None, Path(), []
    if spec_path is not None or reference is None or current is None:
        project = load_spec(locate(spec_path))
        watch, root = project.spec.monitoring, project.root
        files.append(root / project.spec_name)
        if watch is None and (reference is None or current is None):
            where = project.spec_name
            raise SpecError(
                [Problem.plain(where, "has no `monitoring`: name --reference and --current")]
            )
    asked = options.roles
    spec_roles = {
        role: getattr(watch, role) if watch else None
        for role in ("target", "prediction", "predicted_class", "latency")
    }
    named = Roles(
        **{role: (asked[role] or None) if role in asked else c for role, c in spec_roles.items()}
    )
    # A spec's column dropped with '' (a log whose labels have not arrived) is no feature either.
    dropped = [c for role, c in spec_roles.items() if c and role in asked and not asked[role]]
    settings = Settings(
        method=options.method or (watch.drift.method if watch else "auto"),
        threshold=options.threshold
        if options.threshold is not None
        else (watch.drift.threshold if watch else None),
        share=options.share if options.share is not None else (watch.drift.share if watch else 0.5),
        columns=watch.columns if watch else None,
        exclude=frozenset([*named.names(), *dropped, *(watch.ignore if watch else ())]),
        types=dict(options.column_types),
        progress=options.progress,
    )
    sides = []
    for given, written in (
        (reference, watch and watch.reference),
        (current, watch and watch.current),
    ):
        if given is not None:
            sides.append(Table.open(given, str(given)))
        else:
            assert written
            sides.append(Table.open(root / written, written))
    gates = list(watch.performance) if watch else []
    files += [Path(side.path) for side in sides]
    return _DriftInputs(settings, (sides[0], sides[1]), named, gates, files)


def write_output(path: Path, text: str) -> None:
    """Write a report the user named with --output."""
    writer.write_output(path, text)


# The registry's commands, imported when first used: `validate` and `render` need none of them.
if TYPE_CHECKING:
    from specops.deploy import CheckFailed as CheckFailed
    from specops.deploying import deploy as deploy
    from specops.deploying import fetch as fetch
    from specops.importing.adopt import ImportResult
    from specops.initializing import InitResult
    from specops.monitoring.performance import Roles
    from specops.monitoring.result import DriftResult as DriftResult
    from specops.monitoring.settings import Progress, Settings
    from specops.monitoring.tables import Table
    from specops.releases import card as card
    from specops.releases import history as history
    from specops.releases import promote as promote
    from specops.releases import retire as retire
    from specops.rollback import rollback as rollback
    from specops.spec.models import Gate

_LATER = {
    "CheckFailed": "specops.deploy",
    "deploy": "specops.deploying",
    "fetch": "specops.deploying",
    "card": "specops.releases",
    "history": "specops.releases",
    "promote": "specops.releases",
    "retire": "specops.releases",
    "rollback": "specops.rollback",
}


def __getattr__(name: str) -> Any:
    if name not in _LATER:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_LATER[name]), name)
