"""Render the GitHub Actions workflows for a spec's maturity level."""

from __future__ import annotations

import shlex
from functools import cache
from pathlib import Path

import jinja2

from specops.generators.header import header
from specops.generators.pins import uses
from specops.generators.quoting import yaml_quote
from specops.spec import SPEC_FILE, Spec

CI_WORKFLOW = ".github/workflows/specops-ci.yml"
RELEASE_WORKFLOW = ".github/workflows/specops-release.yml"
DEPLOY_WORKFLOW = ".github/workflows/specops-deploy.yml"
ROLLBACK_WORKFLOW = ".github/workflows/specops-rollback.yml"


@cache
def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["q"] = yaml_quote
    env.filters["shell_quote"] = shlex.quote
    env.globals["uses"] = uses
    return env


def _spec_arg(spec_name: str) -> str:
    """What the CLI needs to find the spec, inside the shell scripts of the workflows: the
    name is passed through the workflow's `env:`, so that no name can change a script."""
    return "" if spec_name == SPEC_FILE else ' --spec "$SPECOPS_SPEC"'


def render_workflows(spec: Spec, spec_name: str) -> dict[str, str]:
    """Workflow texts by path relative to the project root; none below maturity 1."""
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
        "has_plots": any(stage.plots for stage in spec.stages.values()),
    }
    files = {CI_WORKFLOW: env.get_template("specops-ci.yml.j2").render(values)}
    promotion = spec.promotion
    if spec.maturity >= 3 and spec.models and promotion is not None and promotion.auto:
        files[RELEASE_WORKFLOW] = env.get_template("specops-release.yml.j2").render(values)
    if spec.maturity >= 3 and spec.models and promotion is not None and spec.deploy:
        files[DEPLOY_WORKFLOW] = env.get_template("specops-deploy.yml.j2").render(values)
        files[ROLLBACK_WORKFLOW] = env.get_template("specops-rollback.yml.j2").render(values)
    return {path: header(spec_name) + text for path, text in files.items()}
