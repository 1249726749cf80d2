"""Checks of the `ci` section that span more than one of its keys."""

from __future__ import annotations

from collections.abc import Iterator

from specops.spec.models import Spec
from specops.spec.problems import Problem
from specops.spec.yamlfile import YamlDoc

#: The variables the steps that reach the DVC remote get from `ci.oidc.aws`.
AWS_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
)


def ci_problems(spec: Spec, doc: YamlDoc) -> Iterator[Problem]:
    """A secret named as a variable that OpenID Connect sets would have two values."""
    if spec.ci.oidc is None:
        return
    for i, name in enumerate(spec.ci.secrets):
        if name in AWS_VARIABLES:
            yield doc.problem(
                ("ci", "secrets", i),
                f"{name!r} is set from `ci.oidc.aws`; remove the secret or the OIDC option",
            )
