"""Render the GitHub Actions workflows for a spec's maturity level."""

from __future__ import annotations

import contextlib
import os
import shlex
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path

import jinja2

from specops.generators.header import header
from specops.generators.jobs import HANDOVER, needs_plan, plan
from specops.generators.pins import uses
from specops.generators.quoting import yaml_quote
from specops.spec import SPEC_FILE, Spec
from specops.spec.folders import all_stages, dvc_files, lock_files
from specops.spec.pipeline import Instance

WORKFLOW_DIR = ".github/workflows"
CI_WORKFLOW = f"{WORKFLOW_DIR}/specops-ci.yml"
RELEASE_WORKFLOW = f"{WORKFLOW_DIR}/specops-release.yml"
DEPLOY_WORKFLOW = f"{WORKFLOW_DIR}/specops-deploy.yml"
ROLLBACK_WORKFLOW = f"{WORKFLOW_DIR}/specops-rollback.yml"
MONITOR_WORKFLOW = f"{WORKFLOW_DIR}/specops-monitor.yml"
#: Characters that GitHub's path filters and artifact paths read as patterns.
GLOB_CHARACTERS = frozenset("*?[]!+\\")


def workflow_path(spec: Spec, kind: str, folder: str = "") -> str:
    """Where the workflow of `kind` (ci, release, deploy, rollback, monitor) goes, relative to
    the Git root: a spec below the root names its workflows after the project, so that two never
    clash (project names are `[a-z0-9][a-z0-9-]*` and no kind holds a `-`)."""
    name = f"specops-{spec.name}-{kind}" if folder else f"specops-{kind}"
    return f"{WORKFLOW_DIR}/{name}.yml"


class _TemplateCache(jinja2.FileSystemBytecodeCache):
    """Compiled templates kept between runs in the user's cache folder: compiling them took a
    sixth of `render --check`. An entry is used only for the template text it was compiled from;
    a cache that cannot be written only costs the compile time."""

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        with contextlib.suppress(OSError):
            super().dump_bytecode(bucket)


def _template_cache() -> jinja2.BytecodeCache | None:
    # The user's own cache folder, as pip and pre-commit use, not a shared temporary one.
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = os.path.join(base, "specops", f"templates-{jinja2.__version__}")
    try:
        os.makedirs(folder, mode=0o700, exist_ok=True)
    except OSError:
        return None
    return _TemplateCache(folder)


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        bytecode_cache=_template_cache(),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["q"] = yaml_quote
    env.filters["shell_quote"] = shlex.quote
    env.filters["runs_on"] = _runs_on
    env.filters["step_output"] = lambda step, output: f"steps.{step}.outputs.{output}"
    env.globals["uses"] = uses
    env.globals["handover_artifacts"] = HANDOVER
    return env


def _runs_on(labels: list[str]) -> str:
    """`runs-on`: one label, or the labels a runner must all have, each quoted."""
    if len(labels) == 1:
        return yaml_quote(labels[0])
    return "[" + ", ".join(map(yaml_quote, labels)) + "]"


def _spec_arg(spec_name: str) -> str:
    """What the CLI needs to find the spec, inside the shell scripts of the workflows: the
    name is passed through the workflow's `env:`, so that no name can change a script."""
    return "" if spec_name == SPEC_FILE else ' --spec "$SPECOPS_SPEC"'


def _kinds(spec: Spec) -> list[str]:
    """The workflows the spec's maturity, models, promotion and deploy stages ask for."""
    if spec.maturity < 1:
        return []
    kinds = ["ci"]
    promotion = spec.promotion
    if spec.maturity >= 3 and spec.models and promotion is not None and promotion.auto:
        kinds.append("release")
    if spec.maturity >= 3 and spec.models and promotion is not None and spec.deploy:
        kinds += ["deploy", "rollback"]
    if spec.maturity >= 4 and spec.monitoring is not None:
        kinds.append("monitor")
    return kinds


def _in_folder(folder: str) -> Callable[[str], str]:
    """A path inside the project as action inputs name it, as a YAML scalar: relative to the
    workspace, which is the Git root (`run:` steps start in the project's folder)."""
    return lambda path: yaml_quote(f"{folder}/{path}") if folder else path


def render_workflows(
    spec: Spec,
    spec_name: str,
    folder: str = "",
    stages: list[Instance] | None = None,
    *,
    dvc_extras: Sequence[str] = (),
    watched: Sequence[str] = (),
) -> dict[str, str]:
    """Workflow texts by path relative to the Git root, for a project in `folder` of it (a
    POSIX path without glob characters, "" for the root itself); none below maturity 1.
    `stages` are the spec's concrete stages (folders.expand_all), needed only when a stage runs
    on a runner of its own (jobs.needs_plan); `dvc_extras` are those of the `dvc` package that
    the project's remotes need (`s3`, ...); `watched` are files outside `folder` (relative to
    the Git root, without glob characters) whose changes start CI too."""
    kinds = _kinds(spec)
    if not kinds:
        return {}
    jobs = []
    if spec.maturity >= 2 and needs_plan(spec):
        if stages is None:
            raise ValueError("a spec with per-stage runners needs its stages to be rendered")
        jobs = plan(spec, stages)
    paths = {kind: workflow_path(spec, kind, folder) for kind in kinds}
    env = _environment()
    # timeout_minutes is the one spec value emitted unquoted: GitHub requires a number there,
    # and int() makes sure nothing but digits can reach the file.
    values = {
        "spec": spec,
        "spec_name": spec_name,
        "default_spec": SPEC_FILE,
        "spec_arg": _spec_arg(spec_name),
        "timeout_minutes": int(spec.ci.timeout_minutes),
        "has_plots": bool(spec.plots)
        or any(stage.plots for stage in all_stages(spec))
        or any(pipe.plots for pipe in spec.pipelines.values()),
        # What `dvc repro` reproduces (without targets, only the spec's own dvc.yaml and what
        # it needs) and the locks it writes.
        "dvc_files": dvc_files(spec),
        "lock_files": lock_files(spec),
        # The jobs before the final pipeline job, when stages ask for runners of their own.
        "jobs": jobs,
        # Below the Git root: where `run:` steps start, and what a push or pull request must
        # change to start CI or a release (the project's folder and its own workflows).
        "folder": folder,
        "in_folder": _in_folder(folder),
        "paths": [f"{folder}/**", *watched, *paths.values()] if folder else [],
        "deploy_workflow": paths.get("deploy", DEPLOY_WORKFLOW),
        # Names from a fixed list (specops.spec.remotes.EXTRAS), safe in a shell word.
        "dvc_extras": list(dvc_extras),
    }
    # The header names the spec as seen from where the file is: the Git root.
    source = header(f"{folder}/{spec_name}" if folder else spec_name)
    return {
        path: source + env.get_template(f"specops-{kind}.yml.j2").render(values)
        for kind, path in paths.items()
    }
