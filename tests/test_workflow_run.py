"""The rendered workflows work: every job runs, for real, on a pull request of a small project."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.actexpr import Unsupported
from tests.actrun import Event, JobResult, dispatch, open_pull_request, push, run_workflow
from tests.conftest import build_tree
from tests.gitrepo import TINY_PROJECT, git, make_project, run

WORKFLOW = ".github/workflows/specops-ci.yml"

PROJECT = {
    **TINY_PROJECT,
    "specops.yaml": TINY_PROJECT["specops.yaml"]
    + 'ci:\n  install: python -c "import specops, dvc"\n'
    + "  test: python -m unittest discover -s checks\n",
    "checks/test_params.py": """\
import json
import pathlib
import unittest


class ParamsTest(unittest.TestCase):
    def test_scale_is_positive(self):
        params = json.loads(pathlib.Path("params.yaml").read_text())
        self.assertGreater(params["prepare"]["scale"], 0)
""",
}

CHECK_STEPS = [
    "Check out",
    "Set up Python",
    "Install",
    "Test",
    "Validate the spec",
    "Check that generated files are up to date",
]
PIPELINE_STEPS = [
    "Check out",
    "Set up Python",
    "Install",
    "Pull DVC data",
    "Reproduce the pipeline",
    "Push DVC data",
    "Summarize metrics",
]


@dataclass(frozen=True)
class Origin:
    bare: Path  # main, reproduced, with its data pushed to the DVC remote


@pytest.fixture(scope="module")
def origin(tmp_path_factory: pytest.TempPathFactory) -> Origin:
    base = tmp_path_factory.mktemp("origin")
    dev = make_project(base / "dev", PROJECT)
    run(dev, "dvc", "repro")
    run(dev, "dvc", "remote", "add", "-d", "storage", str(base / "dvc-storage"))
    pushed = run(dev, "dvc", "push")
    assert "1 file pushed" in pushed.stdout
    git(dev, "add", "-A")
    git(dev, "commit", "-q", "-m", "Reproduce the pipeline")
    git(base, "init", "-q", "--bare", "origin.git")
    git(dev, "push", "-q", str(base / "origin.git"), "main")
    return Origin(base / "origin.git")


def pull_request(origin: Origin, tmp_path: Path, branch: str, files: dict[str, str]) -> Event:
    """Push a branch that changes `files` on top of main, and open a pull request of it."""
    bare = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(origin.bare), bare.name)
    git(tmp_path, "clone", "-q", bare.name, "feature")
    work = tmp_path / "feature"
    git(work, "checkout", "-q", "-b", branch)
    build_tree(work, files)
    git(work, "commit", "-q", "-am", f"Change {', '.join(files)}")
    git(work, "push", "-q", "origin", branch)
    return open_pull_request(bare, branch, "main", tmp_path / "merge")


def failures(results: dict[str, JobResult]) -> str:
    """The output of every failed step, for assertion messages."""
    return "\n".join(
        f"{job.name} / {step.name} exited {step.returncode}\n{step.stdout}{step.stderr}"
        for job in results.values()
        for step in job.steps
        if not step.ok
    )


def md_tables(text: str) -> list[list[list[str]]]:
    """Every markdown table in `text` as rows of cells, without the separator row."""
    tables: list[list[list[str]]] = []
    previous = ""
    for line in text.splitlines():
        if line.startswith("|"):
            if not previous.startswith("|"):
                tables.append([])
            cells = [cell.strip() for cell in line.strip("|").split("|")]
            if not all(re.fullmatch(r":?-+:?", cell) for cell in cells):
                tables[-1].append(cells)
        previous = line
    return tables


def mermaid_graphs(text: str) -> list[tuple[set[str], set[tuple[str, str]]]]:
    """The node labels and edges of every mermaid flowchart in `text`."""
    graphs = []
    for block in re.findall(r"^```mermaid\nflowchart \w+\n(.*?)^```$", text, re.M | re.S):
        nodes = dict(re.findall(r'^\s*(\w+)\["([^"]+)"\]$', block, re.M))
        edges = re.findall(r"^\s*(\w+)-->(\w+)$", block, re.M)
        graphs.append((set(nodes.values()), {(nodes[a], nodes[b]) for a, b in edges}))
    return graphs


def sections(summary: str) -> dict[str, str]:
    """The text under each `## ` heading, by heading."""
    parts = re.split(r"^## (.*)$", summary, flags=re.M)
    assert parts[0].strip() == "", summary
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def test_every_job_of_the_ci_workflow_succeeds_on_a_pull_request(
    origin: Origin, tmp_path: Path
) -> None:
    params = '{"prepare": {"rows": 4, "scale": 3}}\n'
    event = pull_request(origin, tmp_path, "raise-scale", {"params.yaml": params})
    results = run_workflow(tmp_path / "feature" / WORKFLOW, event, tmp_path / "runner")

    assert [(j.name, j.status) for j in results.values()] == [
        ("check", "success"),
        ("pipeline", "success"),
    ], failures(results)
    check, pipeline = results["check"], results["pipeline"]
    assert [s.name for s in check.steps] == CHECK_STEPS
    assert [s.name for s in pipeline.steps] == PIPELINE_STEPS
    assert all(s.ok for s in check.steps + pipeline.steps), failures(results)
    steps = {s.name: s for s in check.steps}
    assert "Ran 1 test" in steps["Test"].stderr
    assert (
        "generated file(s) up to date" in steps["Check that generated files are up to date"].stdout
    )
    steps = {s.name: s for s in pipeline.steps}
    # The data of main came from the DVC remote, and the changed param re-ran both stages.
    assert "data/x.csv" in steps["Pull DVC data"].stdout, steps["Pull DVC data"].stdout
    assert "1 file fetched" in steps["Pull DVC data"].stdout, steps["Pull DVC data"].stdout
    repro = steps["Reproduce the pipeline"].stdout
    assert "Running stage 'prepare'" in repro
    assert "Running stage 'score'" in repro
    assert check.summary == ""

    summary = pipeline.summary
    parts = sections(summary)
    assert list(parts) == ["Metrics", "Changes against main", "Pipeline"], summary
    assert md_tables(parts["Metrics"]) == [
        [["Path", "mean", "rows"], ["metrics/scores.json", "4.5", "4"]],
    ], summary
    assert md_tables(parts["Changes against main"]) == [
        [
            ["Path", "Metric", "origin/main", "workspace", "Change"],
            ["metrics/scores.json", "mean", "3.75", "4.5", "0.75"],
        ],
        [
            ["Path", "Param", "origin/main", "workspace"],
            ["params.yaml", "prepare.scale", "2.5", "3"],
        ],
    ], summary
    assert mermaid_graphs(parts["Pipeline"]) == [({"prepare", "score"}, {("prepare", "score")})]


def test_a_push_to_main_reports_metrics_without_a_comparison(
    origin: Origin, tmp_path: Path
) -> None:
    workflow = tmp_path / "specops-ci.yml"
    workflow.write_text(git(origin.bare, "show", f"main:{WORKFLOW}"))
    results = run_workflow(workflow, push(origin.bare, "main"), tmp_path / "runner")

    assert [(j.name, j.status) for j in results.values()] == [
        ("check", "success"),
        ("pipeline", "success"),
    ], failures(results)
    parts = sections(results["pipeline"].summary)
    assert list(parts) == ["Metrics", "Pipeline"]
    assert md_tables(parts["Metrics"]) == [
        [["Path", "mean", "rows"], ["metrics/scores.json", "3.75", "4"]],
    ]


def test_a_hand_edited_dvc_yaml_fails_the_check_job(origin: Origin, tmp_path: Path) -> None:
    dvc_yaml = git(origin.bare, "show", "main:dvc.yaml")
    edited = dvc_yaml.replace("cmd: python score.py", "cmd: python score.py --verbose")
    assert edited != dvc_yaml and edited.startswith("# Generated by specops from specops.yaml.")
    event = pull_request(origin, tmp_path, "hand-edit", {"dvc.yaml": edited})
    results = run_workflow(tmp_path / "feature" / WORKFLOW, event, tmp_path / "runner")

    check = results["check"]
    assert (check.status, results["pipeline"].status) == ("failure", "skipped")
    assert [s.name for s in check.steps] == CHECK_STEPS
    *passed, stale = check.steps
    assert all(s.ok for s in passed), failures(results)
    assert stale.returncode == 1
    assert "dvc.yaml: out of date (would update)" in stale.stdout
    assert results["pipeline"].steps == []


def runner_workflow(tmp_path: Path, steps: str) -> Path:
    path = tmp_path / "workflow.yml"
    path.write_text(
        f"on: push\njobs:\n  job:\n    runs-on: ubuntu-latest\n    steps:\n{steps}",
        encoding="utf-8",
    )
    return path


def test_the_runner_stops_a_job_at_its_first_failing_step(tmp_path: Path) -> None:
    workflow = runner_workflow(
        tmp_path,
        "      - run: echo first > first\n"
        "      - shell: bash\n"
        "        run: |\n"
        "          false | true\n"
        "          touch second\n"
        "      - run: touch third\n",
    )
    event = push(tmp_path / "none.git", "main")
    job = run_workflow(workflow, event, tmp_path / "runner")["job"]
    workspace = tmp_path / "runner" / "job" / "workspace"
    # `shell: bash` means pipefail, so `false | true` fails.
    assert job.status == "failure"
    assert [s.outcome for s in job.steps] == ["success", "failure", "skipped"]
    assert sorted(p.name for p in workspace.iterdir()) == ["first"]


@pytest.mark.parametrize(
    "step",
    [
        "      - uses: actions/cache@v4\n",
        "      - run: echo ${{ github.ref }}\n",
        "      - run: echo hi\n        env:\n          ACTOR: ${{ github.actor }}\n",
        "      - uses: actions/checkout@v4\n        with:\n          ref: main\n",
        "      - run: echo hi\n        if: contains(github.ref, 'main')\n",
        "      - run: echo hi\n        if: github.ref == 'refs/heads/main' || 1\n",
        "      - run: echo hi\n        shell: pwsh\n",
    ],
)
def test_the_runner_refuses_what_it_does_not_emulate(tmp_path: Path, step: str) -> None:
    event = push(tmp_path / "none.git", "main")
    with pytest.raises(Unsupported):
        run_workflow(runner_workflow(tmp_path, step), event, tmp_path / "runner")
    assert not (tmp_path / "runner").exists()


# -- the runner: outputs, conditions, environments, pushes ---------------------------------------


def test_the_runner_passes_outputs_between_jobs_and_reads_conditions(tmp_path: Path) -> None:
    workflow = tmp_path / "workflow.yml"
    workflow.write_text(
        """\
on:
  workflow_dispatch:
    inputs:
      version: {type: string}
jobs:
  first:
    runs-on: ubuntu-latest
    outputs:
      v: ${{ steps.s.outputs.v }}
    steps:
      - id: s
        env:
          V: ${{ inputs.version }}
        run: |
          echo "v=$V-x" >> "$GITHUB_OUTPUT"
          false
      - if: ${{ !cancelled() && steps.s.outcome == 'failure' }}
        run: echo "after a failure" >> "$GITHUB_STEP_SUMMARY"
      - run: echo "never"
  second:
    needs: first
    if: ${{ always() && needs.first.outputs.v == '1.2.3-x' }}
    environment: "prod"
    runs-on: ubuntu-latest
    steps:
      - env:
          V: ${{ needs.first.outputs.v }}
        run: test "$V" = 1.2.3-x
  third:
    needs: first
    runs-on: ubuntu-latest
    steps:
      - run: echo "skipped with first failed"
""",
        encoding="utf-8",
    )
    event = dispatch(tmp_path / "none.git", "main", {"version": "1.2.3"})
    results = run_workflow(workflow, event, tmp_path / "runner")
    assert {n: j.status for n, j in results.items()} == {
        "first": "failure",
        "second": "success",
        "third": "skipped",
    }
    first = results["first"]
    assert [s.outcome for s in first.steps] == ["failure", "success", "skipped"]
    assert first.outputs == {"v": "1.2.3-x"}
    assert first.summary == "after a failure\n"
    assert results["second"].environment == "prod"


PUSHING_JOB = """\
  {name}:
    runs-on: ubuntu-latest
    permissions:
      contents: {contents}
    steps:
      - uses: actions/checkout@v4
        with:
          persist-credentials: {persist}
      - run: git tag {name} && git push -q origin {name}
"""


def test_a_job_pushes_only_with_contents_write_and_persisted_credentials(tmp_path: Path) -> None:
    dev = make_project(tmp_path / "dev", {"README": "x\n"})
    git(tmp_path, "init", "-q", "--bare", "origin.git")
    git(dev, "push", "-q", str(tmp_path / "origin.git"), "main")
    jobs = [("allowed", "write", "true"), ("reader", "read", "true"), ("forgot", "write", "false")]
    workflow = tmp_path / "workflow.yml"
    workflow.write_text(
        "on: push\njobs:\n"
        + "".join(PUSHING_JOB.format(name=n, contents=c, persist=p) for n, c, p in jobs),
        encoding="utf-8",
    )
    results = run_workflow(workflow, push(tmp_path / "origin.git", "main"), tmp_path / "runner")

    assert {n: j.status for n, j in results.items()} == {
        "allowed": "success",
        "reader": "failure",
        "forgot": "failure",
    }
    assert "actrun-cannot-push/no-contents-write" in results["reader"].steps[-1].stderr
    assert "actrun-cannot-push/no-credentials" in results["forgot"].steps[-1].stderr
    # GitHub starts no workflow for what a job's token pushed; neither does the runner.
    assert results.pushed == ["refs/tags/allowed"]
