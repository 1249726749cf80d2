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


def render_workflows(spec: Spec, spec_name: str) -> dict[str, str]:
    """Workflow texts by path relative to the project root; none below maturity 1."""
    if spec.maturity < 1:
        return {}
    template = _environment().get_template("specops-ci.yml.j2")
    # The one spec value emitted unquoted: GitHub requires a number here, and int() makes sure
    # nothing but digits can reach the file.
    text = template.render(
        spec=spec,
        spec_name=spec_name,
        default_spec=SPEC_FILE,
        timeout_minutes=int(spec.ci.timeout_minutes),
    )
    return {CI_WORKFLOW: header(spec_name) + text}
