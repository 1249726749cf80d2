"""The maturity-3 workflows: who may push or comment, what the pipeline checks, and how the
spec's values reach the scripts."""

from __future__ import annotations

from typing import Any

from specops.generators.github import CI_WORKFLOW, RELEASE_WORKFLOW, render_workflows
from specops.spec.models import Promotion
from tests.test_github import HOSTILE, SPEC_NAME, parse, released_spec, steps, workflow


def test_the_release_workflow_pushes_only_from_jobs_that_may() -> None:
    text = render_workflows(released_spec(3, pr_comment=True), SPEC_NAME)[RELEASE_WORKFLOW]
    assert "pull_request_target" not in text
    doc = parse(text)
    assert doc["permissions"] == {}
    assert doc["on"] == {
        "push": {"branches": ["main"]},
        "workflow_dispatch": {
            "inputs": {
                "version": {
                    "description": "The version to release, X.Y.Z (default: the next patch "
                    "version)",
                    "required": False,
                    "type": "string",
                }
            }
        },
    }
    jobs = doc["jobs"]
    assert list(jobs) == ["release", "approve-production"]
    release, approve = jobs["release"], jobs["approve-production"]
    # Releases come from the default branch only, whatever branches run CI.
    assert release["if"] == (
        "${{ github.ref == format('refs/heads/{0}', github.event.repository.default_branch) }}"
    )
    assert release["outputs"] == {"version-0": "${{ steps.promote-0.outputs.version }}"}
    assert approve["needs"] == "release"
    assert approve["environment"] == "production"
    assert 'environment: "production"' in text
    for job, stage in ((release, "staging"), (approve, "production")):
        assert job["permissions"] == {"contents": "write"}
        assert job["timeout-minutes"] == 30
        assert job["concurrency"] == {"group": f"demo-{stage}", "cancel-in-progress": False}
        checkout = job["steps"][0]
        assert checkout["with"] == {"fetch-depth": 0, "persist-credentials": False}
        # The token that pushes is in the Git config for the promote step only.
        credentials = job["steps"][-2]
        assert credentials["name"] == "Set the push credentials"
        assert credentials["env"] == {"TOKEN": "${{ github.token }}"}
        assert "$TOKEN" in credentials["run"] and "echo" not in credentials["run"]
        promote = job["steps"][-1]
        assert promote["env"]["MODEL"] == "demo-clf"
        assert promote["env"]["STAGE"] == stage
        assert 'specops promote "$MODEL" --to "$STAGE"' in promote["run"]
        assert "--push" in promote["run"]
    assert approve["steps"][-1]["env"]["VERSION"] == "${{ needs.release.outputs.version-0 }}"
    assert release["steps"][-1]["env"]["VERSION"] == "${{ inputs.version }}"
    for step in steps(doc):
        assert "${{" not in step.get("run", "")


def test_only_the_comment_job_may_write_to_pull_requests() -> None:
    doc = parse(workflow(released_spec(3, pr_comment=True)))
    permissions = {name: job["permissions"] for name, job in doc["jobs"].items()}
    assert permissions == {
        "check": {"contents": "read"},
        "pipeline": {"contents": "read"},
        "comment": {"pull-requests": "write"},
    }
    comment = doc["jobs"]["comment"]
    assert "github.event.pull_request.head.repo.full_name == github.repository" in comment["if"]
    assert comment["steps"][-1]["env"]["GH_TOKEN"] == "${{ github.token }}"
    assert "comment" not in parse(workflow(released_spec(3)))["jobs"]


def test_at_maturity_3_the_pipeline_checks_dvc_lock_and_the_gates() -> None:
    spec = released_spec(3, before_gates=["python latency.py", "echo done"])
    names = [step["name"] for step in parse(workflow(spec))["jobs"]["pipeline"]["steps"]]
    assert names[3:] == [
        "Pull DVC data",
        "Reproduce the pipeline",
        "Check that dvc.lock is current",
        "Push DVC data",
        "Before the gates",
        "Plot against the base branch",
        "Upload the plots",
        "Check the gates",
        "Report",
    ]
    before = parse(workflow(spec))["jobs"]["pipeline"]["steps"][7]
    assert before["run"] == "python latency.py\necho done"


def test_top_level_plots_alone_are_plotted_against_the_base_branch() -> None:
    spec = released_spec(3)
    stages = {"train": spec.stages["train"].model_copy(update={"plots": []})}
    names = ["Plot against the base branch", "Upload the plots"]

    def steps_of(update: dict[str, Any]) -> list[str]:
        doc = parse(workflow(spec.model_copy(update=update)))
        return [step["name"] for step in doc["jobs"]["pipeline"]["steps"]]

    assert not set(names) & set(steps_of({"stages": stages}))
    assert set(names) <= set(steps_of({"stages": stages, "plots": ["roc.csv"]}))


def test_with_several_models_the_gates_are_checked_for_each() -> None:
    spec = released_spec(3)
    models = {**spec.models, "other-clf": spec.models["demo-clf"]}
    doc = parse(workflow(spec.model_copy(update={"models": models})))
    gates = next(s for s in doc["jobs"]["pipeline"]["steps"] if s["name"] == "Check the gates")
    assert gates["env"] == {"MODELS": "demo-clf other-clf"}
    assert 'specops gate "$model" --format md >> "$GITHUB_STEP_SUMMARY" || failed=1' in gates["run"]


def test_no_release_workflow_without_an_automatic_stage() -> None:
    spec = released_spec(3).model_copy(
        update={"promotion": Promotion(stages=["production"], approval="production")}
    )
    assert list(render_workflows(spec, SPEC_NAME)) == [CI_WORKFLOW]


def test_scripts_read_another_spec_name_from_the_environment() -> None:
    name = 'ml spec\'s "$(x)".yaml'
    for text in render_workflows(released_spec(3), name).values():
        doc = parse(text)
        assert doc["env"] == {"SPECOPS_SPEC": name}
        scripts = [step.get("run", "") for step in steps(doc)]
        gates = [script for script in scripts if "specops gate" in script]
        assert gates
        assert all('--format md --spec "$SPECOPS_SPEC"' in script for script in gates)


def test_hostile_commands_before_the_gates_change_no_structure() -> None:
    expected = parse(workflow(released_spec(3, before_gates=["X"])))
    doc = parse(workflow(released_spec(3, before_gates=HOSTILE)))
    before = next(s for s in doc["jobs"]["pipeline"]["steps"] if s["name"] == "Before the gates")
    assert before["run"] == "\n".join(HOSTILE)
    before["run"] = "X"
    assert doc == expected
