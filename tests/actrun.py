"""A local stand-in for the GitHub Actions runner: enough of it to run specops' workflows for real.

Jobs run in `needs` order, each in a fresh workspace. `actions/checkout` fetches the pull
request's merge ref from the bare `origin` repository the way the action does,
`actions/setup-python` does nothing (the test's own Python is on PATH), the artifact actions copy
folders below the runner's root, and every `run:` step runs in the shell GitHub would use.
`aws-actions/configure-aws-credentials` gives, as step outputs only, credentials that name the
role it assumed, and fails without `id-token: write`, in a fork's pull request, or when the
role's trust policy (Event.trust) refuses the token's subject, which names the job's
environment if it has one, else the pull request or the ref, as GitHub's does. The
`secrets` context holds the Event's secrets (none for a fork's pull request), and each step's
result records the environment it ran with.
`if:`, `env:`, `with:` and job `outputs:` may hold the expressions tests/actexpr.py reads.
Anything else a workflow might use raises Unsupported instead of being skipped, so a workflow can
only pass here by doing what it would do on GitHub.

As on GitHub, a job can push to `origin` only when its token may (`contents: write`) and the
workspace's Git config holds the job's token when it pushes: the `http.<server>/.extraheader`
that actions/checkout persists (`persist-credentials`, true unless set to false) or that a step
sets; otherwise a `pre-push` hook that the checkout installs refuses the push. A job bound to
an `environment:` runs as if a reviewer approved it at once. A job that `uses:` a reusable
workflow of the same repository runs that workflow's jobs, read from the commit under test,
with the job's `with:` as their `inputs`; as on GitHub, a job of the called workflow may not ask
for more token scopes than the calling job grants.
GitHub starts no workflow for refs pushed with a job's token, so this runner never starts a run
of its own: Run.pushed lists what a run pushed, and nothing else happens with it.

`runs-on` may name any label or list of labels: every job runs here, and JobResult.runs_on
records what it asked for. A job with `strategy.matrix` of one key and its list of values runs
once per value, each in a workspace of its own, with `matrix` and `strategy.job-index` in its
expressions; `fail-fast` and `max-parallel` are read but change nothing, as items run one after
the other. Its JobResult lists them in `items`, and fails when one of them failed: the jobs
that need it wait for all of them. `runner.temp` is the job's own temporary folder, as
RUNNER_TEMP is.

`on.<event>.paths` is honoured for pushes and pull requests: a file the event changed (a pull
request's merge commit against its base, a push's commit against `Event.before` or else its
first parent, a first commit against nothing) must match one of the patterns (`*` within a
folder, `**` across folders), or the run runs no job at all (Run.filtered). Other pattern
characters raise Unsupported. `run:` steps start in `defaults.run.working-directory` (or the
step's own), and the path inputs of the actions are relative to the workspace, as on GitHub.
"""

from __future__ import annotations

import dataclasses
import graphlib
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.actactions import (
    ACTION_INPUTS,
    REPOSITORY,
    SERVER_URL,
    TOKEN,
    Event,
    StepResult,
    action_name,
    dispatch,
    open_pull_request,
    push,
    run_action,
    schedule,
)
from tests.actexpr import Unsupported, condition, interpolate
from tests.gitrepo import base_env, git

__all__ = [
    "Event",
    "JobResult",
    "Run",
    "dispatch",
    "open_pull_request",
    "push",
    "run_workflow",
    "schedule",
]

WORKFLOW_KEYS = {"name", "on", True, "permissions", "concurrency", "defaults", "env", "jobs"}
JOB_KEYS = {
    "name",
    "needs",
    "if",
    "outputs",
    "environment",
    "concurrency",
    "runs-on",
    "timeout-minutes",
    "permissions",
    "defaults",
    "env",
    "steps",
    "strategy",
}
STRATEGY_KEYS = {"fail-fast", "max-parallel", "matrix"}
#: The keys of a job that calls a reusable workflow instead of running steps.
CALL_KEYS = {"name", "needs", "if", "permissions", "uses", "with"}
LEVELS = {"none": 0, "read": 1, "write": 2}
STEP_KEYS = {"name", "id", "if", "uses", "with", "run", "env", "shell", "working-directory"}
# What GitHub runs for each `shell:` on Linux; without one it uses `bash -e`.
SHELLS = {
    "bash": ["bash", "--noprofile", "--norc", "-eo", "pipefail"],
    "sh": ["sh", "-e"],
    None: ["bash", "-e"],
}
# A hung step must not hang the test suite for the workflow's full timeout-minutes.
MAX_STEP_SECONDS = 120


@dataclass
class JobResult:
    name: str
    status: str = "success"  # or "failure", "skipped"
    steps: list[StepResult] = field(default_factory=list)
    summary: str = ""
    outputs: dict[str, str] = field(default_factory=dict)
    environment: str | None = None  # the deployment environment it ran in, approved at once
    called: list[str] = field(default_factory=list)  # the jobs of a reusable workflow it ran
    runs_on: list[str] = field(default_factory=list)  # the labels it asked for
    items: list[JobResult] = field(default_factory=list)  # a matrix job's runs, one per item
    matrix: dict[str, str] = field(default_factory=dict)  # the item a matrix run ran


class Run(dict[str, JobResult]):
    """The jobs of one run by name, in the order they ran, and the refs the run pushed;
    `filtered` when the event changed no file the workflow's path filters name."""

    pushed: list[str]
    filtered: bool = False


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _no_expression(value: Any, where: str) -> str:
    text = _text(value)
    if "${{" in text:
        raise Unsupported(f"{where}: expressions are not supported here: {text!r}")
    return text


def _needs(job: dict[str, Any]) -> list[str]:
    needs = job.get("needs", [])
    return [needs] if isinstance(needs, str) else list(needs)


def _defaults(workflow: dict[str, Any], job: dict[str, Any]) -> dict[str, Any]:
    """`defaults.run` of the job over that of the workflow."""
    return {
        **(workflow.get("defaults") or {}).get("run", {}),
        **(job.get("defaults") or {}).get("run", {}),
    }


def _permissions(workflow: dict[str, Any], job: dict[str, Any]) -> dict[str, str]:
    granted = job.get("permissions", workflow.get("permissions", {}))
    if not isinstance(granted, dict):  # read-all, write-all: none of specops' workflows
        raise Unsupported(f"permissions: {granted!r}")
    return granted


def check(workflow: dict[str, Any]) -> None:
    """Raise Unsupported for anything in the workflow this runner would not do as GitHub does."""
    if unknown := set(workflow) - WORKFLOW_KEYS:
        raise Unsupported(f"workflow keys {sorted(map(str, unknown))}")
    _no_expression(workflow.get("env"), "workflow.env")
    for name, job in workflow["jobs"].items():
        if "uses" in job:
            if unknown := set(job) - CALL_KEYS:
                raise Unsupported(f"jobs.{name}: keys {sorted(unknown)}")
            if not str(job["uses"]).startswith("./.github/workflows/"):
                raise Unsupported(f"jobs.{name}.uses: {job['uses']!r}")
            _permissions(workflow, job)
            continue
        if unknown := set(job) - JOB_KEYS:
            raise Unsupported(f"jobs.{name}: keys {sorted(unknown)}")
        default_shell = _defaults(workflow, job).get("shell")
        _labels(job["runs-on"], f"jobs.{name}.runs-on")
        _matrix(job, name)
        _permissions(workflow, job)
        environment = job.get("environment", "")
        if isinstance(environment, dict) and set(environment) - {"name", "url"}:
            raise Unsupported(f"jobs.{name}.environment: keys {sorted(environment)}")
        if not isinstance(environment, (str, dict)):
            raise Unsupported(f"jobs.{name}.environment: {environment!r}")
        _no_expression(environment, f"jobs.{name}.environment")
        _no_expression(job.get("concurrency"), f"jobs.{name}.concurrency")
        for i, step in enumerate(job["steps"]):
            where = f"jobs.{name}.steps[{i}]"
            if unknown := set(step) - STEP_KEYS:
                raise Unsupported(f"{where}: keys {sorted(unknown)}")
            if ("uses" in step) == ("run" in step):
                raise Unsupported(f"{where}: needs exactly one of uses and run")
            if "uses" in step:
                inputs = set(step.get("with") or {})
                if unknown := inputs - ACTION_INPUTS[action_name(step["uses"])]:
                    raise Unsupported(f"{where}.with: inputs {sorted(unknown)}")
            else:
                # GitHub pastes an expression's value into the script: never do that.
                _no_expression(step["run"], f"{where}.run")
                if step.get("shell", default_shell) not in SHELLS:
                    raise Unsupported(f"{where}: shell {step.get('shell', default_shell)!r}")


def _labels(value: Any, where: str) -> list[str]:
    """The labels of `runs-on`: one, or a list of them; any label runs here."""
    labels = [value] if isinstance(value, str) else value
    if not isinstance(labels, list) or not labels:
        raise Unsupported(f"{where}: {value!r}")
    return [_no_expression(label, where) for label in labels]


def _matrix(job: dict[str, Any], name: str) -> list[dict[str, str]]:
    """The items of a job's matrix, in order: one key with a list of values; [] without one."""
    if "strategy" not in job:
        return []
    strategy = job["strategy"]
    if unknown := set(strategy) - STRATEGY_KEYS:
        raise Unsupported(f"jobs.{name}.strategy: keys {sorted(unknown)}")
    matrix = strategy.get("matrix")
    if not isinstance(matrix, dict) or len(matrix) != 1 or "include" in matrix:
        raise Unsupported(f"jobs.{name}.strategy.matrix: only one key and its values: {matrix!r}")
    ((key, values),) = matrix.items()
    if not isinstance(values, list) or not values:
        raise Unsupported(f"jobs.{name}.strategy.matrix.{key}: {values!r}")
    return [{key: _no_expression(v, f"jobs.{name}.strategy.matrix")} for v in values]


def _refs(origin: Path) -> dict[str, str]:
    """Every ref of `origin` and its object."""
    if not origin.is_dir():
        return {}
    listed = git(origin, "for-each-ref", "--format=%(refname) %(objectname)")
    return dict(tuple(line.split(" ", 1)) for line in listed.splitlines())  # type: ignore[misc]


def run_workflow(
    path: Path,
    event: Event,
    root: Path,
    *,
    tools: Path | None = None,
    while_waiting: Callable[[str], None] | None = None,
) -> Run:
    """Run every job of the workflow at `path` for `event`, each below `root/<job>`.

    `tools` is a folder put first on PATH, for programs GitHub's runners have that cannot do
    their job here, such as `gh` without GitHub. `while_waiting(job)` is called before a job
    bound to an environment starts: what happens while its reviewers have not approved yet.
    """
    workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
    on = workflow.get(True)  # YAML 1.1 reads the key `on` as true
    if event.name not in ([on] if isinstance(on, str) else on or ()):
        raise Unsupported(f"the workflow does not run on {event.name}")
    before = _refs(event.origin)
    if event.ref in before:
        event = dataclasses.replace(event, sha=before[event.ref])
    results = Run()
    results.pushed = []
    trigger = on.get(event.name) if isinstance(on, dict) else None
    if (
        isinstance(trigger, dict)
        and "paths" in trigger
        and not _changes_match(event, trigger["paths"])
    ):
        results.filtered = True
        return results
    _run_jobs(workflow, event, root, dict(event.inputs), tools, while_waiting, results, "")
    after = _refs(event.origin)
    results.pushed = sorted(ref for ref, sha in after.items() if before.get(ref) != sha)
    return results


def _pattern(glob: str) -> re.Pattern[str]:
    """A regular expression for one of GitHub's path filter patterns, as far as supported."""
    if set(glob) & set("?[]!+\\"):
        raise Unsupported(f"paths: pattern {glob!r}")
    parts = re.split(r"(\*\*|\*)", glob)
    table = {"**": ".*", "*": "[^/]*"}
    return re.compile("".join(table.get(part, re.escape(part)) for part in parts))


def _changes_match(event: Event, globs: list[str]) -> bool:
    """Whether a file the event changed matches one of `globs`."""
    if event.name not in ("push", "pull_request"):
        raise Unsupported(f"paths filters on {event.name}")
    if not event.sha:
        raise Unsupported(f"paths filters for {event.ref}, which is not in origin")
    if event.before:
        changed = git(event.origin, "diff", "--name-only", "--no-renames", event.before, event.sha)
    else:  # against the first parent; a first commit adds every file
        first_parent = ("--root", "--diff-merges=first-parent", "--no-renames", "--no-commit-id")
        changed = git(event.origin, "diff-tree", "-r", "--name-only", *first_parent, event.sha)
    patterns = [_pattern(glob) for glob in globs]
    return any(p.fullmatch(path) for path in changed.splitlines() for p in patterns)


def _run_jobs(
    workflow: dict[str, Any],
    event: Event,
    root: Path,
    inputs: dict[str, Any],
    tools: Path | None,
    while_waiting: Callable[[str], None] | None,
    results: Run,
    prefix: str,
) -> list[str]:
    """Run the jobs of `workflow` in `needs` order, adding them to `results` as
    `prefix + name`; return those names."""
    check(workflow)
    _check_expressions(workflow, _context(event, root, {}, inputs))
    jobs: dict[str, dict[str, Any]] = workflow["jobs"]
    graph = {name: set(_needs(job)) for name, job in jobs.items()}
    for name in graphlib.TopologicalSorter(graph).static_order():
        needs = {need: results[prefix + need] for need in graph[name]}
        context = _context(event, root, needs, inputs)
        statuses = [job.status for job in needs.values()]

        def status(function: str, statuses: list[str] = statuses) -> bool:
            return {
                "success": all(s == "success" for s in statuses),
                "failure": "failure" in statuses,
                "always": True,
                "cancelled": False,
            }[function]

        job = jobs[name]
        if not condition(str(job.get("if", "success()")), context, status):
            results[prefix + name] = JobResult(prefix + name, "skipped")
        elif "uses" in job:
            results[prefix + name] = _call(
                prefix + name, job, workflow, event, root, context, tools, while_waiting, results
            )
        else:
            if while_waiting is not None and "environment" in job:
                while_waiting(prefix + name)
            results[prefix + name] = _run_matrix(
                prefix + name, job, workflow, event, root, context, tools
            )
    return [prefix + name for name in graph]


def _call(
    name: str,
    job: dict[str, Any],
    workflow: dict[str, Any],
    event: Event,
    root: Path,
    context: dict[str, Any],
    tools: Path | None,
    while_waiting: Callable[[str], None] | None,
    results: Run,
) -> JobResult:
    """Run the reusable workflow a job `uses:`, as of the commit under test."""
    path = str(job["uses"]).removeprefix("./")
    called = yaml.safe_load(git(event.origin, "show", f"{event.sha}:{path}"))
    on = called.get(True)
    if not isinstance(on, dict) or "workflow_call" not in on:
        raise Unsupported(f"jobs.{name}.uses: {path} has no workflow_call trigger")
    declared: dict[str, dict[str, Any]] = (on["workflow_call"] or {}).get("inputs") or {}
    given = _evaluated(job.get("with"), context)
    if unknown := set(given) - set(declared):
        raise Unsupported(f"jobs.{name}.with: inputs {sorted(unknown)} are not declared")
    inputs: dict[str, Any] = {}
    for key, spec in declared.items():
        if key not in given and spec.get("required"):
            raise Unsupported(f"jobs.{name}.with: the required input {key!r} is missing")
        value = given.get(key, spec.get("default"))
        inputs[key] = value == "true" if spec.get("type") == "boolean" else value
    granted = _permissions(workflow, job)
    for inner_name, inner in called["jobs"].items():
        for scope, level in _permissions(called, inner).items():
            if LEVELS[level] > LEVELS[granted.get(scope, "none")]:
                raise Unsupported(
                    f"{path}: job {inner_name} asks for {scope}: {level}, more than jobs.{name}"
                    " grants; GitHub refuses to start the run"
                )
    names = _run_jobs(called, event, root, inputs, tools, while_waiting, results, f"{name}/")
    statuses = {results[n].status for n in names}
    return JobResult(name, "failure" if "failure" in statuses else "success", called=names)


def _check_expressions(workflow: dict[str, Any], context: dict[str, Any]) -> None:
    """Read every expression once before anything runs, so that one this runner cannot read
    fails the run before it starts."""
    context = {**context, "steps": {}}
    _evaluated(workflow.get("env"), context)
    for job in workflow["jobs"].values():
        items = _matrix(job, "") if "strategy" in job else []
        if items:
            strategy = {"job-index": "0", "job-total": str(len(items))}
            context = {**context, "matrix": items[0], "strategy": strategy}
        for part in (job, *job.get("steps", ())):
            condition(str(part.get("if", "success()")), context, lambda _: True)
            for key in ("env", "with", "outputs"):
                _evaluated(part.get(key), context)


def _context(
    event: Event, root: Path, needs: dict[str, JobResult], inputs: dict[str, Any]
) -> dict[str, Any]:
    """What expressions of a job may read."""
    return {
        "github": {
            "event_name": event.name,
            "ref": event.ref,
            "sha": event.sha,
            "repository": REPOSITORY,
            "token": TOKEN,
            "server_url": SERVER_URL,
            "event": event.payload(),
        },
        "inputs": inputs,
        "secrets": event.secrets_context(),
        "needs": {n: {"result": j.status, "outputs": j.outputs} for n, j in needs.items()},
        "runner": {"temp": str(root)},
    }


def _evaluated(mapping: dict[str, Any] | None, context: dict[str, Any]) -> dict[str, str]:
    return {k: interpolate(_text(v), context) for k, v in (mapping or {}).items()}


def _outputs(file: Path) -> dict[str, str]:
    """`name=value` lines and `name<<DELIMITER` blocks, as GitHub reads GITHUB_OUTPUT."""
    outputs, lines = {}, file.read_text(encoding="utf-8").splitlines()
    while lines:
        line = lines.pop(0)
        if "<<" in line and ("=" not in line or line.index("<<") < line.index("=")):
            key, delimiter = line.split("<<", 1)
            end = lines.index(delimiter)
            outputs[key], lines = "\n".join(lines[:end]), lines[end + 1 :]
        elif line:
            key, value = line.split("=", 1)
            outputs[key] = value
    return outputs


def _run_matrix(
    name: str,
    job: dict[str, Any],
    workflow: dict[str, Any],
    event: Event,
    root: Path,
    context: dict[str, Any],
    tools: Path | None,
) -> JobResult:
    """A job, or each item of its matrix in a workspace of its own."""
    items = _matrix(job, name)
    if not items:
        return _run_job(name, job, workflow, event, root, context, tools)
    runs = []
    for index, item in enumerate(items):
        strategy = {"job-index": str(index), "job-total": str(len(items))}
        item_context = {**context, "matrix": item, "strategy": strategy}
        run = _run_job(f"{name}-{index}", job, workflow, event, root, item_context, tools)
        runs.append(dataclasses.replace(run, matrix=item))
    failed = any(run.status == "failure" for run in runs)
    labels = _labels(job["runs-on"], name)
    return JobResult(name, "failure" if failed else "success", runs_on=labels, items=runs)


def _run_job(
    name: str,
    job: dict[str, Any],
    workflow: dict[str, Any],
    event: Event,
    root: Path,
    context: dict[str, Any],
    tools: Path | None,
) -> JobResult:
    folder = root / name
    workspace, temp = folder / "workspace", folder / "temp"
    workspace.mkdir(parents=True)
    temp.mkdir()
    defaults = _defaults(workflow, job)
    may_push = _permissions(workflow, job).get("contents") == "write"
    # Nothing from a runner the tests themselves may run on leaks into the job, nor the test
    # run's own settings (SPECOPS_REQUIRE_LINT, SPECOPS_UPDATE_GOLDEN).
    prefixes = ("GITHUB_", "RUNNER_", "SPECOPS_")
    env = {k: v for k, v in base_env().items() if not k.startswith(prefixes)}
    if tools is not None:
        env["PATH"] = f"{tools}:{env['PATH']}"
    env |= {
        "CI": "true",
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": event.name,
        "GITHUB_REF": event.ref,
        "GITHUB_BASE_REF": event.base,
        "GITHUB_HEAD_REF": event.head,
        "GITHUB_REPOSITORY": REPOSITORY,
        "GITHUB_RUN_ID": "1",
        "GITHUB_SERVER_URL": SERVER_URL,
        "GITHUB_WORKSPACE": str(workspace),
        "RUNNER_TEMP": str(temp),
        **_evaluated(workflow.get("env"), context),
    }
    steps: dict[str, dict[str, Any]] = {}
    context = {**context, "steps": steps, "runner": {"temp": str(temp)}}
    env |= _evaluated(job.get("env"), context)
    timeout = min(60 * int(job.get("timeout-minutes", 360)), MAX_STEP_SECONDS)
    environment = job.get("environment")
    if isinstance(environment, dict):
        environment = environment["name"]
    result = JobResult(name, environment=environment, runs_on=_labels(job["runs-on"], name))
    # The subject of the job's OpenID Connect token, as GitHub sets it: a job bound to an
    # environment is named by it, whatever the branch.
    id_token = None
    if _permissions(workflow, job).get("id-token") == "write":
        id_token = f"repo:{REPOSITORY}:" + (
            f"environment:{environment}"
            if environment
            else "pull_request"
            if event.name == "pull_request"
            else f"ref:{event.ref}"
        )

    def status(function: str) -> bool:
        failed = any(step.outcome == "failure" for step in result.steps)
        return {"success": not failed, "failure": failed, "always": True, "cancelled": False}[
            function
        ]

    for i, step in enumerate(job["steps"]):
        step_name = step.get("name") or step.get("uses") or f"Run {step['run'].splitlines()[0]}"
        if not condition(str(step.get("if", "success()")), context, status):
            outcome = StepResult(step_name, 0, "", "", skipped=True)
            outputs: dict[str, str] = {}
        else:
            files = {
                var: temp / f"step{i}-{var.lower()}"
                for var in ("GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_PATH")
            }
            for file in files.values():
                file.touch()
            step_env = (
                env | {k: str(v) for k, v in files.items()} | _evaluated(step.get("env"), context)
            )
            if "uses" in step:
                inputs = _evaluated(step.get("with"), context)
                outcome = run_action(
                    step_name,
                    step["uses"],
                    inputs,
                    workspace,
                    event,
                    root,
                    may_push,
                    id_token,
                    files["GITHUB_OUTPUT"],
                )
            else:
                outcome = _shell(step, step_name, i, defaults, workspace, temp, step_env, timeout)
            outcome = dataclasses.replace(outcome, env=step_env)
            result.summary += files["GITHUB_STEP_SUMMARY"].read_text(encoding="utf-8")
            for var in ("GITHUB_ENV", "GITHUB_PATH"):
                if files[var].read_text(encoding="utf-8"):
                    raise Unsupported(f"jobs.{name}: step {outcome.name!r} writes {var}")
            outputs = _outputs(files["GITHUB_OUTPUT"])
        result.steps.append(outcome)
        if "id" in step:
            steps[step["id"]] = {
                "outcome": outcome.outcome,
                "conclusion": outcome.outcome,
                "outputs": outputs,
            }
    if any(step.outcome == "failure" for step in result.steps):
        result.status = "failure"
    result.outputs = _evaluated(job.get("outputs"), context)
    return result


def _shell(
    step: dict[str, Any],
    name: str,
    index: int,
    defaults: dict[str, Any],
    workspace: Path,
    temp: Path,
    env: dict[str, str],
    timeout: int,
) -> StepResult:
    script = temp / f"step{index}.sh"
    script.write_text(step["run"], encoding="utf-8")
    shell = SHELLS[step.get("shell", defaults.get("shell"))]
    folder = step.get("working-directory", defaults.get("working-directory", "."))
    cwd = workspace / folder
    if not cwd.is_dir():  # GitHub fails the step
        return StepResult(name, 1, "", f"working-directory {folder!r} does not exist")
    try:
        proc = subprocess.run(
            [*shell, str(script)],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
        return StepResult(name, -1, out, f"timed out after {timeout} s")
    return StepResult(name, proc.returncode, proc.stdout, proc.stderr)
