"""The deployment workflows: when they are rendered, who may run them, and what reaches them."""

from __future__ import annotations

from typing import Any

import pytest

from specops.generators.github import (
    CI_WORKFLOW,
    DEPLOY_WORKFLOW,
    MONITOR_WORKFLOW,
    RELEASE_WORKFLOW,
    ROLLBACK_WORKFLOW,
    render_workflows,
)
from tests.test_github import DEPLOY, HOSTILE, SPEC_NAME, parse, released_spec, steps

DEPLOY_URL = DEPLOY["production"]["url"]
ON_DEFAULT_BRANCH = "github.ref == format('refs/heads/{0}', github.event.repository.default_branch)"


def files(deploy: dict[str, Any] | None = DEPLOY, maturity: int = 3) -> dict[str, Any]:
    texts = render_workflows(released_spec(maturity, deploy), SPEC_NAME)
    return {path: parse(text) for path, text in texts.items()}


def test_deployments_render_two_workflows_only_when_the_spec_has_deploy() -> None:
    assert list(files({})) == [CI_WORKFLOW, RELEASE_WORKFLOW]
    assert list(files()) == [CI_WORKFLOW, RELEASE_WORKFLOW, DEPLOY_WORKFLOW, ROLLBACK_WORKFLOW]
    assert list(files(maturity=4)) == [*files(), MONITOR_WORKFLOW]


def test_the_deploy_workflow_runs_one_job_per_stage_from_the_default_branch_only() -> None:
    doc = files()[DEPLOY_WORKFLOW]
    assert doc["permissions"] == {}
    assert set(doc["on"]) == {"workflow_call", "workflow_dispatch"}
    dispatch = doc["on"]["workflow_dispatch"]["inputs"]
    assert dispatch["model"]["options"] == ["demo-clf"]
    assert dispatch["stage"]["options"] == ["staging", "production"]
    assert list(doc["jobs"]) == ["deploy-staging", "deploy-production"]
    environments = {"staging": "staging", "production": {"name": "prod", "url": DEPLOY_URL}}
    for stage, environment in environments.items():
        job = doc["jobs"][f"deploy-{stage}"]
        # The environment is the spec's literal: no input or tag picks the approval rules.
        assert job["environment"] == environment
        assert job["if"] == f"${{{{ inputs.stage == '{stage}' && {ON_DEFAULT_BRANCH} }}}}"
        assert job["permissions"] == {"contents": "read"}
        assert job["concurrency"] == {"group": f"demo-{stage}", "cancel-in-progress": False}
        assert job["steps"][0]["with"] == {"fetch-depth": 0, "persist-credentials": False}
        deploy = job["steps"][-1]
        assert deploy["env"] == {
            "MODEL": "${{ inputs.model }}",
            "STAGE": stage,
            "VERSION": "${{ inputs.version }}",
        }
        assert 'specops deploy "$MODEL" --stage "$STAGE" "${version[@]}"' in deploy["run"]


def test_a_rollback_reassigns_and_deploys_in_one_approved_job() -> None:
    doc = files()[ROLLBACK_WORKFLOW]
    assert doc["permissions"] == {}
    assert set(doc["on"]) == {"workflow_dispatch"}
    assert doc["on"]["workflow_dispatch"]["inputs"]["reason"]["required"] is True
    job = doc["jobs"]["rollback-production"]
    assert list(doc["jobs"]) == ["rollback-staging", "rollback-production"]
    assert job["environment"] == {"name": "prod", "url": DEPLOY_URL}
    assert job["if"] == f"${{{{ inputs.stage == 'production' && {ON_DEFAULT_BRANCH} }}}}"
    assert job["permissions"] == {"contents": "write"}
    assert job["concurrency"] == {"group": "demo-production", "cancel-in-progress": False}
    names = [step["name"] for step in job["steps"]]
    assert names[-3:] == ["Roll back", "Drop the push credentials", "Deploy"]
    assert '--reason "$REASON" --push' in job["steps"][-3]["run"]
    assert job["steps"][-3]["env"]["REASON"] == "${{ inputs.reason }}"


def test_the_release_calls_the_deploy_workflow_and_deploys_the_approved_stage_in_its_job() -> None:
    doc = files()[RELEASE_WORKFLOW]
    assert list(doc["jobs"]) == ["release", "deploy-staging-0", "approve-production"]
    call = doc["jobs"]["deploy-staging-0"]
    assert call == {
        "name": "Deploy demo-clf to staging",
        "needs": "release",
        "permissions": {"contents": "read"},
        "uses": "./.github/workflows/specops-deploy.yml",
        "with": {
            "model": "demo-clf",
            "stage": "staging",
            "version": "${{ needs.release.outputs.version-0 }}",
        },
    }
    approve = doc["jobs"]["approve-production"]
    # One approval: the job that promotes to production is the one that deploys there.
    assert approve["environment"] == {"name": "prod", "url": DEPLOY_URL}
    names = [step["name"] for step in approve["steps"]]
    assert names[-3:] == [
        "Promote demo-clf to production",
        "Drop the push credentials",
        "Deploy demo-clf to production",
    ]
    deploy = approve["steps"][-1]
    assert deploy["env"]["VERSION"] == "${{ needs.release.outputs.version-0 }}"
    assert deploy["run"] == 'specops deploy "$MODEL" --stage "$STAGE" --version "$VERSION"'


def test_stages_without_a_deployment_are_only_promoted() -> None:
    doc = files({"production": DEPLOY["production"]})[RELEASE_WORKFLOW]
    assert list(doc["jobs"]) == ["release", "approve-production"]
    doc = files({"staging": DEPLOY["staging"]})[RELEASE_WORKFLOW]
    assert list(doc["jobs"]) == ["release", "deploy-staging-0", "approve-production"]
    approve = doc["jobs"]["approve-production"]
    assert approve["environment"] == "production"
    assert not any("specops deploy" in step.get("run", "") for step in approve["steps"])


@pytest.mark.parametrize("hostile", HOSTILE)
def test_deploy_commands_never_reach_a_workflow(hostile: str) -> None:
    """`specops deploy` reads the command from the spec: no workflow holds it."""
    texts = render_workflows(released_spec(3, {"staging": {"cmd": hostile}}), SPEC_NAME)
    for text in texts.values():
        assert hostile not in text
    for doc in map(parse, texts.values()):
        for step in steps({"jobs": {k: j for k, j in doc["jobs"].items() if "steps" in j}}):
            assert "${{" not in step.get("run", "")
