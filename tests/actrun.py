"""A local stand-in for the GitHub Actions runner: enough of it to run specops' workflows for real.

Jobs run in `needs` order, each in a fresh workspace. `actions/checkout` fetches the pull
request's merge ref from the bare `origin` repository the way the action does,
`actions/setup-python` does nothing (the test's own Python is on PATH), and every `run:` step runs
in the shell GitHub would use. Anything else a workflow might use raises Unsupported instead of
being skipped, so a workflow can only pass here by doing what it would do on GitHub.
"""

from __future__ import annotations

import graphlib
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tests.gitrepo import base_env, git

WORKFLOW_KEYS = {"name", "on", True, "permissions", "concurrency", "defaults", "env", "jobs"}
JOB_KEYS = {
    "name",
    "needs",
    "runs-on",
    "timeout-minutes",
    "permissions",
    "defaults",
    "env",
    "steps",
}
STEP_KEYS = {"name", "id", "uses", "with", "run", "env", "shell", "working-directory"}
ACTION_INPUTS = {
    "actions/checkout": {"fetch-depth", "persist-credentials"},
    "actions/setup-python": {"python-version"},
}
# What GitHub runs for each `shell:` on Linux; without one it uses `bash -e`.
SHELLS = {
    "bash": ["bash", "--noprofile", "--norc", "-eo", "pipefail"],
    "sh": ["sh", "-e"],
    None: ["bash", "-e"],
}
# A hung step must not hang the test suite for the workflow's full timeout-minutes.
MAX_STEP_SECONDS = 120


class Unsupported(Exception):
    """The workflow uses something this runner does not emulate."""


@dataclass(frozen=True)
class Event:
    """The event under test: `name` ("pull_request" or "push") checks out `ref` of `origin`.

    GitHub sets GITHUB_BASE_REF and GITHUB_HEAD_REF on pull requests only; they are "" here
    otherwise, as on GitHub.
    """

    origin: Path
    name: str
    ref: str
    base: str = ""
    head: str = ""


@dataclass(frozen=True)
class StepResult:
    name: str
    returncode: int
    stdout: str
    stderr: str

    @property
    def ok(self) -> bool:
        return self.returncode == 0


@dataclass
class JobResult:
    name: str
    status: str = "success"  # or "failure", "skipped"
    steps: list[StepResult] = field(default_factory=list)
    summary: str = ""


def open_pull_request(origin: Path, head: str, base: str, work: Path, number: int = 1) -> Event:
    """Create the merge ref GitHub makes for a pull request, `refs/pull/N/merge`, in `origin`."""
    git(work.parent, "clone", "-q", "--branch", base, str(origin), work.name)
    git(work, "merge", "-q", "--no-ff", "-m", f"Merge {head} into {base}", f"origin/{head}")
    git(work, "push", "-q", "origin", f"HEAD:refs/pull/{number}/merge")
    return Event(origin, "pull_request", f"refs/pull/{number}/merge", base, head)


def push(origin: Path, branch: str) -> Event:
    """A push to `branch` of `origin`, as already made there."""
    return Event(origin, "push", f"refs/heads/{branch}")


def _literal(value: Any, where: str) -> str:
    text = str(value).lower() if isinstance(value, bool) else str(value)
    if "${{" in text:
        raise Unsupported(f"{where}: expressions are not supported: {text!r}")
    return text


def _env(mapping: dict[str, Any] | None, where: str) -> dict[str, str]:
    return {k: _literal(v, f"{where}.env.{k}") for k, v in (mapping or {}).items()}


def _needs(job: dict[str, Any]) -> list[str]:
    needs = job.get("needs", [])
    return [needs] if isinstance(needs, str) else list(needs)


def _action(uses: str) -> str:
    name = uses.split("@", 1)[0]
    if name not in ACTION_INPUTS or "@" not in uses:
        raise Unsupported(f"uses: {uses!r} is not an action this runner emulates")
    return name


def _defaults(workflow: dict[str, Any], job: dict[str, Any]) -> dict[str, Any]:
    """`defaults.run` of the job over that of the workflow."""
    return {
        **(workflow.get("defaults") or {}).get("run", {}),
        **(job.get("defaults") or {}).get("run", {}),
    }


def check(workflow: dict[str, Any]) -> None:
    """Raise Unsupported for anything in the workflow this runner would not do as GitHub does."""
    if unknown := set(workflow) - WORKFLOW_KEYS:
        raise Unsupported(f"workflow keys {sorted(map(str, unknown))}")
    for name, job in workflow["jobs"].items():
        if unknown := set(job) - JOB_KEYS:
            raise Unsupported(f"jobs.{name}: keys {sorted(unknown)}")
        default_shell = _defaults(workflow, job).get("shell")
        if not str(job["runs-on"]).startswith("ubuntu-"):
            raise Unsupported(f"jobs.{name}.runs-on: {job['runs-on']!r}")
        _env(job.get("env"), f"jobs.{name}")
        for i, step in enumerate(job["steps"]):
            where = f"jobs.{name}.steps[{i}]"
            if unknown := set(step) - STEP_KEYS:
                raise Unsupported(f"{where}: keys {sorted(unknown)}")
            if ("uses" in step) == ("run" in step):
                raise Unsupported(f"{where}: needs exactly one of uses and run")
            _env(step.get("env"), where)
            if "uses" in step:
                inputs = set(step.get("with") or {})
                if unknown := inputs - ACTION_INPUTS[_action(step["uses"])]:
                    raise Unsupported(f"{where}.with: inputs {sorted(unknown)}")
                for key, value in (step.get("with") or {}).items():
                    _literal(value, f"{where}.with.{key}")
            else:
                _literal(step["run"], f"{where}.run")
                if step.get("shell", default_shell) not in SHELLS:
                    raise Unsupported(f"{where}: shell {step.get('shell', default_shell)!r}")


def run_workflow(path: Path, event: Event, root: Path) -> dict[str, JobResult]:
    """Run every job of the workflow at `path` for `event`, each below `root/<job>`."""
    workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
    check(workflow)
    jobs: dict[str, dict[str, Any]] = workflow["jobs"]
    graph = {name: set(_needs(job)) for name, job in jobs.items()}
    results: dict[str, JobResult] = {}
    for name in graphlib.TopologicalSorter(graph).static_order():
        # Without `if:`, GitHub skips a job when any job it needs did not succeed.
        if any(results[need].status != "success" for need in graph[name]):
            results[name] = JobResult(name, "skipped")
        else:
            results[name] = _run_job(name, jobs[name], workflow, event, root / name)
    return results


def _run_job(
    name: str, job: dict[str, Any], workflow: dict[str, Any], event: Event, folder: Path
) -> JobResult:
    workspace, temp = folder / "workspace", folder / "temp"
    workspace.mkdir(parents=True)
    temp.mkdir()
    defaults = _defaults(workflow, job)
    # Nothing from a runner the tests themselves may run on leaks into the job.
    env = {k: v for k, v in base_env().items() if not k.startswith(("GITHUB_", "RUNNER_"))}
    env |= {
        "CI": "true",
        "GITHUB_ACTIONS": "true",
        "GITHUB_EVENT_NAME": event.name,
        "GITHUB_REF": event.ref,
        "GITHUB_BASE_REF": event.base,
        "GITHUB_HEAD_REF": event.head,
        "GITHUB_WORKSPACE": str(workspace),
        "RUNNER_TEMP": str(temp),
        **_env(workflow.get("env"), "workflow"),
        **_env(job.get("env"), f"jobs.{name}"),
    }
    timeout = min(60 * int(job.get("timeout-minutes", 360)), MAX_STEP_SECONDS)
    result = JobResult(name)
    for i, step in enumerate(job["steps"]):
        files = {
            var: temp / f"step{i}-{var.lower()}"
            for var in ("GITHUB_STEP_SUMMARY", "GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_PATH")
        }
        for file in files.values():
            file.touch()
        step_env = env | {k: str(v) for k, v in files.items()} | _env(step.get("env"), "step")
        if "uses" in step:
            outcome = _uses(step, workspace, event)
        else:
            outcome = _shell(step, i, defaults, workspace, temp, step_env, timeout)
        result.steps.append(outcome)
        result.summary += files["GITHUB_STEP_SUMMARY"].read_text(encoding="utf-8")
        for var in ("GITHUB_ENV", "GITHUB_PATH"):
            if files[var].read_text(encoding="utf-8"):
                raise Unsupported(f"jobs.{name}: step {outcome.name!r} writes {var}")
        if not outcome.ok:  # GitHub stops a job at its first failing step
            result.status = "failure"
            break
    return result


def _uses(step: dict[str, Any], workspace: Path, event: Event) -> StepResult:
    action = _action(step["uses"])
    name = step.get("name", step["uses"])
    if action == "actions/setup-python":
        return StepResult(name, 0, "", "")
    # As actions/checkout does it: the event's ref, shallow unless fetch-depth is 0, which also
    # fetches every branch and tag.
    depth = int((step.get("with") or {}).get("fetch-depth", 1))
    tracking = event.ref.replace("refs/heads/", "refs/remotes/origin/").replace(
        "refs/pull/", "refs/remotes/pull/"
    )
    refspec = f"+{event.ref}:{tracking}"
    git(workspace, "init", "-q")
    git(workspace, "remote", "add", "origin", event.origin.resolve().as_uri())
    if depth == 0:
        heads, tags = "+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*"
        git(workspace, "fetch", "-q", "--prune", "origin", heads, tags)
        git(workspace, "fetch", "-q", "origin", refspec)
    else:
        git(workspace, "fetch", "-q", "--no-tags", f"--depth={depth}", "origin", refspec)
    git(workspace, "checkout", "-q", "--force", tracking)
    return StepResult(name, 0, "", "")


def _shell(
    step: dict[str, Any],
    index: int,
    defaults: dict[str, Any],
    workspace: Path,
    temp: Path,
    env: dict[str, str],
    timeout: int,
) -> StepResult:
    name = step.get("name") or f"Run {step['run'].splitlines()[0]}"
    script = temp / f"step{index}.sh"
    script.write_text(step["run"], encoding="utf-8")
    shell = SHELLS[step.get("shell", defaults.get("shell"))]
    cwd = workspace / step.get("working-directory", defaults.get("working-directory", "."))
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
