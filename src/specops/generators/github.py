"""Render the GitHub Actions workflows for a spec's maturity level."""

from __future__ import annotations

import contextlib
import os
import shlex
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import jinja2

from specops.generators.header import header
from specops.generators.pins import uses
from specops.generators.quoting import yaml_quote
from specops.spec import SPEC_FILE, Spec
from specops.spec.folders import all_stages, dvc_files, lock_files

CI_WORKFLOW = ".github/workflows/specops-ci.yml"
RELEASE_WORKFLOW = ".github/workflows/specops-release.yml"
DEPLOY_WORKFLOW = ".github/workflows/specops-deploy.yml"
ROLLBACK_WORKFLOW = ".github/workflows/specops-rollback.yml"


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
    env.filters["step_output"] = lambda step, output: f"steps.{step}.outputs.{output}"
    env.globals["uses"] = uses
    return env


def _spec_arg(spec_name: str) -> str:
    """What the CLI needs to find the spec, inside the shell scripts of the workflows: the
    name is passed through the workflow's `env:`, so that no name can change a script."""
    return "" if spec_name == SPEC_FILE else ' --spec "$SPECOPS_SPEC"'


def render_workflows(
    spec: Spec, spec_name: str, *, dvc_extras: Sequence[str] = ()
) -> dict[str, str]:
    """Workflow texts by path relative to the project root; none below maturity 1.
    `dvc_extras` are those of the `dvc` package that the project's remotes need (`s3`, ...)."""
    if spec.maturity < 1:
        return {}
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
        # Names from a fixed list (specops.spec.remotes.EXTRAS), safe in a shell word.
        "dvc_extras": list(dvc_extras),
    }
    files = {CI_WORKFLOW: env.get_template("specops-ci.yml.j2").render(values)}
    promotion = spec.promotion
    if spec.maturity >= 3 and spec.models and promotion is not None and promotion.auto:
        files[RELEASE_WORKFLOW] = env.get_template("specops-release.yml.j2").render(values)
    if spec.maturity >= 3 and spec.models and promotion is not None and spec.deploy:
        files[DEPLOY_WORKFLOW] = env.get_template("specops-deploy.yml.j2").render(values)
        files[ROLLBACK_WORKFLOW] = env.get_template("specops-rollback.yml.j2").render(values)
    return {path: header(spec_name) + text for path, text in files.items()}
