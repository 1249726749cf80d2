"""Runners: `ci.runs_on` for every job, and the jobs of stages that run on runners of their own
(jobs.plan), rendered, checked and linted."""

from __future__ import annotations

import os
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest

from specops.generators.github import CI_WORKFLOW, render_workflows
from specops.generators.jobs import Job, plan
from specops.spec import parse_spec
from specops.spec.folders import expand_all
from tests.conftest import check_golden
from tests.specerrors import spec_errors
from tests.test_github import DEPLOY, GOLDEN, LINT, SPEC_NAME, parse, released_spec

HEAD = "version: 1\nname: demo\nmaturity: {}\n"
METRICS = "    metrics:\n      - scores.json: {cache: false}\n"


def _spec(body: str, root: Path, maturity: int = 2) -> tuple[Any, Any]:
    """A spec and its concrete stages; the plan needs no metrics, maturity 2 does."""
    text = HEAD.format(maturity) + textwrap.dedent(body)
    spec, doc = parse_spec(SPEC_NAME, text.encode(), root)
    return spec, expand_all(spec, doc, root)


def jobs(body: str, root: Path) -> list[Job]:
    return plan(*_spec(body, root, maturity=1))


def workflow(body: str, root: Path) -> str:
    spec, stages = _spec(body, root)
    return render_workflows(spec, SPEC_NAME, stages=stages)[CI_WORKFLOW]


def shape(found: list[Job]) -> list[tuple[str, list[str], list[str], list[str]]]:
    return [(j.id, j.runs_on, j.targets, j.needs) for j in found]


CHAIN = (
    """\
stages:
  prepare: {cmd: p, outs: [data]}
  train: {cmd: t, deps: [data], outs: [model], runs_on: gpu}
  evaluate: {cmd: e, deps: [model], outs: [eval]}
  report: {cmd: r, deps: [eval], outs: [report], runs_on: [self-hosted, gpu]}
  other: {cmd: o, outs: [other]}
  score:
    cmd: s
    deps: [report, other]
"""
    + METRICS
)


def test_stages_on_other_runners_and_those_before_them_get_jobs_in_dag_order(
    tmp_path: Path,
) -> None:
    # `other` runs on the default runner and no stage of another runner needs it: it runs in
    # the final job, with `score`.
    assert shape(jobs(CHAIN, tmp_path)) == [
        ("stages-1", ["ubuntu-latest"], ["prepare"], []),
        ("stages-2", ["gpu"], ["train"], ["stages-1"]),
        ("stages-3", ["ubuntu-latest"], ["evaluate"], ["stages-2"]),
        ("stages-4", ["self-hosted", "gpu"], ["report"], ["stages-3"]),
    ]


def test_stages_of_one_runner_share_a_job_where_the_dag_allows(tmp_path: Path) -> None:
    body = """\
    stages:
      a: {cmd: a, outs: [a], runs_on: gpu}
      b: {cmd: b, deps: [a], outs: [b], runs_on: gpu}
      c: {cmd: c, outs: [c], runs_on: gpu}
      d: {cmd: d, deps: [b, c], outs: [d], runs_on: [self-hosted]}
      e: {cmd: e, deps: [d], outs: [e], runs_on: gpu}
    """
    assert shape(jobs(body, tmp_path)) == [
        ("stages-1", ["gpu"], ["a", "c", "b"], []),
        ("stages-2", ["self-hosted"], ["d"], ["stages-1"]),
        ("stages-3", ["gpu"], ["e"], ["stages-2"]),
    ]


def test_a_fan_out_is_a_job_of_its_own_with_one_item_each(tmp_path: Path) -> None:
    body = """\
    stages:
      prepare: {cmd: p, outs: [data]}
      sweep:
        cmd: python fit.py ${item.lr} ${item.region}
        matrix: {lr: [0.1, 1], region: [us, "e u"]}
        deps: [data]
        outs: ["fit/${item.lr}-${item.region}"]
        fan_out: true
        max_parallel: 3
      each:
        foreach: [x]
        do: {cmd: "e ${item}", outs: ["each/${item}"], fan_out: true}
    """
    found = jobs(body, tmp_path)
    assert shape(found) == [
        ("stages-1", ["ubuntu-latest"], ["prepare"], []),
        ("stages-2", ["ubuntu-latest"], ["each"], []),
        ("stages-3", ["ubuntu-latest"], ["sweep"], ["stages-1"]),
    ]
    assert [(j.items, j.max_parallel) for j in found] == [
        ([], None),
        (["each@x"], None),
        (["sweep@0.1-us", "sweep@0.1-e u", "sweep@1-us", "sweep@1-e u"], 3),
    ]


def test_a_runner_named_as_ci_runs_on_names_it_needs_no_job(tmp_path: Path) -> None:
    body = CHAIN.replace("runs_on: gpu", "runs_on: [linux, self-hosted]").replace(
        "runs_on: [self-hosted, gpu]", "runs_on: [self-hosted, linux]"
    )
    body += "ci:\n  runs_on: [self-hosted, linux]\n"
    assert jobs(body, tmp_path) == []
    text = workflow(body, tmp_path)
    assert parse(text)["jobs"]["pipeline"]["needs"] == "check"


def test_a_stage_of_a_pipeline_folder_is_addressed_through_its_dvc_yaml(tmp_path: Path) -> None:
    (tmp_path / "nlp").mkdir()
    body = """\
    stages:
      score: {cmd: s, deps: [nlp/tokens]}
    pipelines:
      nlp:
        stages:
          tokenize: {cmd: t, outs: [tokens], runs_on: gpu}
    """
    assert shape(jobs(body, tmp_path)) == [("stages-1", ["gpu"], ["nlp/dvc.yaml:tokenize"], [])]


# -- rendered --------------------------------------------------------------------------------

RUNNERS = (
    """\
stages:
  prepare:
    cmd: python prepare.py
    deps: [prepare.py]
    outs: [data]
  train:
    foreach: [us, eu]
    do:
      cmd: python train.py ${item}
      deps: [train.py, data]
      outs: ["models/${item}"]
      fan_out: true
      max_parallel: 2
  combine:
    cmd: python combine.py
    deps: [combine.py, models]
    outs: [combined]
    runs_on: [self-hosted, linux, x64]
  score:
    cmd: python score.py
    deps: [score.py, combined]
"""
    + METRICS
)


def test_the_per_stage_jobs_match_the_golden(tmp_path: Path) -> None:
    text = workflow(RUNNERS + "ci:\n  runs_on: ubuntu-22.04\n", tmp_path)
    check_golden(GOLDEN / "runners.yml", text)


def test_item_names_reach_the_workflow_only_as_quoted_matrix_values(tmp_path: Path) -> None:
    body = RUNNERS.replace("[us, eu]", "['a; rm -rf /', '$(id) `id`', \"x'y\"]")
    text = workflow(body, tmp_path)
    doc = parse(text)
    fan_out = doc["jobs"]["stages-2"]
    assert fan_out["strategy"] == {
        "fail-fast": False,
        "max-parallel": 2,
        "matrix": {"stage": ["train@a; rm -rf /", "train@$(id) `id`", "train@x'y"]},
    }
    for step in fan_out["steps"]:
        assert "train@" not in step.get("run", ""), step
    assert "`id`" not in text.replace('"train@$(id) `id`"', "")


def test_ci_runs_on_is_every_job_of_every_workflow() -> None:
    texts = render_workflows(released_spec(4, DEPLOY, runs_on=["self-hosted", "linux"]), SPEC_NAME)
    assert len(texts) == 5
    for text in texts.values():
        for name, job in parse(text)["jobs"].items():
            # A job that calls a reusable workflow runs that workflow's jobs.
            assert job.get("runs-on", ["self-hosted", "linux"]) == ["self-hosted", "linux"], name
        assert 'runs-on: ["self-hosted", "linux"]' in text
    text = render_workflows(released_spec(3, runs_on="ubuntu-22.04"), SPEC_NAME)[CI_WORKFLOW]
    assert text.count('runs-on: "ubuntu-22.04"') == len(parse(text)["jobs"])


def test_rendering_per_stage_runners_needs_the_stages(tmp_path: Path) -> None:
    spec, _ = _spec(RUNNERS, tmp_path)
    with pytest.raises(ValueError, match="needs its stages"):
        render_workflows(spec, SPEC_NAME)


def test_per_stage_workflows_pass_linters(tmp_path: Path) -> None:
    if not LINT.is_file():
        reason = f"workflow linters not found at {LINT}"
        if os.environ.get("SPECOPS_REQUIRE_LINT") == "1":
            pytest.fail(f"{reason}, and SPECOPS_REQUIRE_LINT=1 requires them")
        pytest.skip(f"{reason}; set SPECOPS_REQUIRE_LINT=1 to make this a failure")
    hostile = RUNNERS.replace("[us, eu]", "['a; rm -rf /', '$(id) `id`', \"x'y\"]")
    bodies = {
        "runners": RUNNERS,
        "hostile-items": hostile,
        # actionlint knows GitHub's labels and a few of self-hosted runners only.
        "chain": CHAIN.replace("gpu", "arm64"),
    }
    files = []
    for name, body in bodies.items():
        path = tmp_path / f"{name}.yml"
        path.write_text(workflow(body, tmp_path), encoding="utf-8")
        files.append(str(path))
    spec = released_spec(4, DEPLOY, runs_on=["self-hosted", "linux", "x64"])
    for rendered, text in render_workflows(spec, SPEC_NAME).items():
        file = tmp_path / f"released-{Path(rendered).name}"
        file.write_text(text, encoding="utf-8")
        files.append(str(file))
    result = subprocess.run(
        ["bash", str(LINT), *files], capture_output=True, text=True, check=False, timeout=900
    )
    assert result.returncode == 0, result.stdout + result.stderr


# -- checks ----------------------------------------------------------------------------------


def test_spec_errors(tmp_path: Path) -> None:
    body = """\
    stages:
      plain:
        cmd: echo
        fan_out: true
        max_parallel: 2
      loop:
        foreach: [1, 2]
        do:
          cmd: echo ${item}
          max_parallel: 3
    ci:
      runs_on: [self-hosted, self-hosted]
    """
    assert spec_errors("x", body, tmp_path) == [
        "specops.yaml:15:12: error: ci.runs_on: the label 'self-hosted' is listed twice",
    ]
    assert spec_errors("x", body.replace("self-hosted]", "gpu]"), tmp_path) == [
        "specops.yaml:7:14: error: stages.plain.fan_out: only a stage with `matrix` or"
        " `foreach` has items to run on runners of their own",
        "specops.yaml:13:21: error: stages.loop.do.max_parallel: limits how many items of a"
        " fan-out run at a time: add `fan_out: true`",
    ]


@pytest.mark.parametrize(
    ("value", "error"),
    [
        (
            '"${{ secrets.X }}"',
            "specops.yaml:7:14: error: stages.a.runs_on: '${{ secrets.X }}' is not a runner label"
            " specops accepts: letters, digits and '._-', starting with a letter or digit,"
            " at most 100 characters",
        ),
        (
            "[gpu, 'a: b']",
            "specops.yaml:7:20: error: stages.a.runs_on[1]: 'a: b' is not a runner label"
            " specops accepts: letters, digits and '._-', starting with a letter or digit,"
            " at most 100 characters",
        ),
        (
            "[]",
            "specops.yaml:7:14: error: stages.a.runs_on: list should have at least 1 item after"
            " validation, not 0, got a list",
        ),
    ],
)
def test_runner_labels_cannot_change_the_workflow(value: str, error: str, tmp_path: Path) -> None:
    body = f"stages:\n  a:\n    cmd: echo\n    runs_on: {value}\n"
    assert spec_errors("x", body, tmp_path) == [error]


def test_a_fan_out_fits_in_one_matrix(tmp_path: Path) -> None:
    values = ", ".join(map(str, range(257)))
    body = f"stages:\n  a:\n    cmd: echo ${{item}}\n    foreach: [{values}]\n"
    body = f"stages:\n  a:\n    foreach: [{values}]\n    do:\n      cmd: echo ${{item}}\n"
    assert spec_errors("x", body + "      fan_out: true\n", tmp_path) == [
        "specops.yaml:9:16: error: stages.a.do.fan_out: the stage has 257 items; a fan-out"
        " runs at most 256, as GitHub Actions runs at most that many jobs of one matrix",
    ]


def test_labels_are_data_in_the_workflow() -> None:
    spec = released_spec(3, runs_on=["true", "1.0", "on"])
    jobs_ = parse(render_workflows(spec, SPEC_NAME)[CI_WORKFLOW])["jobs"]
    assert {tuple(job["runs-on"]) for job in jobs_.values()} == {("true", "1.0", "on")}


def test_a_fan_out_item_from_params_holds_no_expression(tmp_path: Path) -> None:
    # The spec's own check of `${{` does not see names that come from params.yaml.
    (tmp_path / "params.yaml").write_text(
        'regions:\n  "${{ github.token }}": 1\n  us: 2\nmodels: ["${{ secrets.KEY }}"]\n'
    )
    body = """\
        stages:
          a:
            foreach: ${regions}
            do:
              cmd: echo ${key}
              fan_out: true
          b:
            matrix:
              m: ${models}
            cmd: echo ${item.m}
            fan_out: true
        """
    assert spec_errors("x", body, tmp_path) == [
        "specops.yaml:9:16: error: stages.a.do.fan_out: the item 'a@${{ github.token }}' holds"
        " '${{', which GitHub Actions would evaluate in the fan-out's matrix; rename the item",
        "specops.yaml:14:14: error: stages.b.fan_out: the item 'b@${{ secrets.KEY }}' holds"
        " '${{', which GitHub Actions would evaluate in the fan-out's matrix; rename the item",
    ]
    # Without fan_out, item names never reach a workflow.
    assert spec_errors("x", body.replace("fan_out: true", "desc: d"), tmp_path) == []


def test_a_stage_before_the_pipeline_job_is_not_always_changed(tmp_path: Path) -> None:
    # The jobs after it would run it again, on their own runners: DVC's run-cache, which
    # hands stages over from job to job, never restores an always-changed stage.
    body = """\
        stages:
          fetch:
            cmd: fetch
            outs: [raw]
            always_changed: true
          gpu:
            cmd: train
            deps: [raw]
            outs: [model]
            runs_on: [self-hosted, gpu]
          each:
            foreach: [a, b]
            do:
              cmd: e ${item}
              deps: [model]
              outs: ["each/${item}"]
              fan_out: true
              always_changed: true
          report:
            cmd: report
            deps: [each]
            outs: [report.html]
            always_changed: true
        """
    assert spec_errors("x", body, tmp_path) == [
        "specops.yaml:8:21: error: stages.fetch.always_changed: the stage runs in a CI job before"
        " the pipeline job (stages.gpu needs it), and DVC would run it again in every job after"
        " that one: its run-cache never restores an always-changed stage",
        "specops.yaml:21:23: error: stages.each.do.always_changed: the stage runs in a CI job"
        " before the pipeline job (it runs on a runner of its own), and DVC would run it again"
        " in every job after that one: its run-cache never restores an always-changed stage",
    ]
    # In the pipeline job, as without runners of their own, it may be.
    plain = body.replace("runs_on: [self-hosted, gpu]", "desc: d").replace("fan_out: true", "")
    assert spec_errors("x", plain, tmp_path) == []
