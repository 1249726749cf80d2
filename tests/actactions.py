"""The events and actions tests/actrun.py emulates: what a run starts from, and the steps
that `uses:` an action instead of running a script.

Artifacts live below the runner's root, one folder each; as on GitHub, a name is uploaded once
per run unless `overwrite` replaces it. download-artifact takes one `name`, or a `pattern` of
names (fnmatch, as the action's minimatch reads simple globs) that may match none; each
artifact lands in `path/<name>`, or with `merge-multiple` all in `path` itself.
`retention-days` is accepted and changes nothing.
"""

from __future__ import annotations

import base64
import fnmatch
import shlex
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.actexpr import Unsupported
from tests.gitrepo import git

ACTION_INPUTS = {
    "actions/checkout": {"fetch-depth", "persist-credentials"},
    "actions/setup-python": {"python-version", "cache", "cache-dependency-path"},
    "actions/upload-artifact": {
        "name",
        "path",
        "if-no-files-found",
        "retention-days",
        "overwrite",
    },
    "actions/download-artifact": {"name", "pattern", "path", "merge-multiple"},
    "aws-actions/configure-aws-credentials": {
        "role-to-assume",
        "aws-region",
        "output-credentials",
        "output-env-credentials",
    },
}
#: How a refused push starts its message, before the reason.
NO_PUSH = "actrun-cannot-push"
#: The job's token (`github.token`) and the server's URL (GITHUB_SERVER_URL).
TOKEN = "actrun-token"
SERVER_URL = "https://github.com"
#: The repository every event is in, as `owner/name`.
REPOSITORY = "specops/project"


@dataclass(frozen=True)
class Event:
    """The event under test: `name` ("pull_request", "push", "workflow_dispatch" or "schedule")
    checks out `ref` of `origin`.

    GitHub sets GITHUB_BASE_REF and GITHUB_HEAD_REF on pull requests only; they are "" here
    otherwise, as on GitHub. `head_repository` is where a pull request comes from (a fork when
    it is not REPOSITORY); `inputs` are those of a workflow_dispatch. `secrets` are the
    repository's; as on GitHub, a pull request from a fork gets none of them.
    """

    origin: Path
    name: str
    ref: str
    base: str = ""
    head: str = ""
    head_repository: str = REPOSITORY
    inputs: dict[str, str] = field(default_factory=dict)
    number: int = 0
    sha: str = ""  # the commit of `ref` when the run starts; every job checks it out
    before: str = ""  # a push's previous commit of the branch (default: the first parent)
    default_branch: str = "main"
    secrets: dict[str, str] = field(default_factory=dict)
    #: Each AWS role's trust policy: the OpenID Connect subjects (fnmatch patterns, as an IAM
    #: StringLike condition) that may assume it; a role not named here trusts every subject.
    trust: dict[str, str] = field(default_factory=dict)

    @property
    def from_fork(self) -> bool:
        return self.name == "pull_request" and self.head_repository != REPOSITORY

    def secrets_context(self) -> dict[str, str]:
        """The `secrets` context: empty for a pull request from a fork."""
        return {} if self.from_fork else dict(self.secrets)

    def payload(self) -> dict[str, Any]:
        """The part of `github.event` the workflows read."""
        if self.name == "schedule":  # GitHub's scheduled runs have no `repository` in theirs
            return {}
        repository = {"repository": {"default_branch": self.default_branch}}
        if self.name == "pull_request":
            head = {"repo": {"full_name": self.head_repository}}
            return {"pull_request": {"number": self.number, "head": head}} | repository
        if self.name == "workflow_dispatch":
            return {"inputs": dict(self.inputs)} | repository
        return repository


@dataclass(frozen=True)
class StepResult:
    name: str
    returncode: int
    stdout: str
    stderr: str
    skipped: bool = False  # its `if:` did not hold; then it did not run
    #: The environment it ran with (for an action, that of its process on GitHub).
    env: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def ok(self) -> bool:
        return self.skipped or self.returncode == 0

    @property
    def outcome(self) -> str:
        return "skipped" if self.skipped else "success" if self.ok else "failure"


def open_pull_request(origin: Path, head: str, base: str, work: Path, number: int = 1) -> Event:
    """Create the merge ref GitHub makes for a pull request, `refs/pull/N/merge`, in `origin`."""
    git(work.parent, "clone", "-q", "--branch", base, str(origin), work.name)
    git(work, "merge", "-q", "--no-ff", "-m", f"Merge {head} into {base}", f"origin/{head}")
    git(work, "push", "-q", "origin", f"HEAD:refs/pull/{number}/merge")
    return Event(origin, "pull_request", f"refs/pull/{number}/merge", base, head, number=number)


def push(origin: Path, branch: str) -> Event:
    """A push to `branch` of `origin`, as already made there."""
    return Event(origin, "push", f"refs/heads/{branch}")


def schedule(origin: Path, branch: str = "main") -> Event:
    """A run on the workflow's `schedule`, which GitHub starts on the default branch."""
    return Event(origin, "schedule", f"refs/heads/{branch}", default_branch=branch)


def dispatch(origin: Path, branch: str, inputs: dict[str, str]) -> Event:
    """A manual run on `branch` of `origin` with `inputs`."""
    return Event(origin, "workflow_dispatch", f"refs/heads/{branch}", inputs=inputs)


def action_name(uses: str) -> str:
    name = uses.split("@", 1)[0]
    if name not in ACTION_INPUTS or "@" not in uses:
        raise Unsupported(f"uses: {uses!r} is not an action this runner emulates")
    return name


def run_action(
    name: str,
    uses: str,
    inputs: dict[str, str],
    workspace: Path,
    event: Event,
    root: Path,
    may_push: bool,
    id_token: str | None = None,
    output: Path | None = None,
) -> StepResult:
    """Run one action; `id_token` the subject of the job's OpenID Connect token when it may ask
    for one, `output` the step's GITHUB_OUTPUT file."""
    action = action_name(uses)
    if action == "actions/setup-python":  # its pip cache only saves time
        return StepResult(name, 0, "", "")
    if action == "aws-actions/configure-aws-credentials":
        return _aws_credentials(name, inputs, event, id_token, output)
    if action == "actions/upload-artifact":
        source, target = workspace / inputs["path"], root / "artifacts" / inputs["name"]
        if target.exists():
            if inputs.get("overwrite", "false") != "true":
                return StepResult(name, 1, "", f"an artifact named {inputs['name']!r} exists")
            shutil.rmtree(target)
        if not source.exists():
            missing = inputs.get("if-no-files-found", "warn") == "error"
            return StepResult(name, int(missing), "", f"no files found at {inputs['path']}")
        if source.is_dir():
            shutil.copytree(source, target)
        else:
            target.mkdir(parents=True)
            shutil.copy2(source, target)
        return StepResult(name, 0, "", "")
    if action == "actions/download-artifact":
        return _download(name, inputs, workspace, root)
    # As actions/checkout does it: the event's ref, shallow unless fetch-depth is 0, which also
    # fetches every branch and tag.
    depth = int(inputs.get("fetch-depth", "1"))
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
    # GitHub checks out the event's commit, even when the ref has moved on since.
    if event.sha and git(workspace, "rev-parse", "HEAD").strip() != event.sha:
        if depth != 0:
            git(workspace, "fetch", "-q", "--no-tags", f"--depth={depth}", "origin", event.sha)
        git(workspace, "checkout", "-q", "--force", event.sha)
    # As the action does, the job's token in the Git config unless persist-credentials is false.
    if inputs.get("persist-credentials", "true") == "true":
        git(workspace, "config", "--local", f"http.{SERVER_URL}/.extraheader", extraheader(TOKEN))
    _push_hook(workspace, TOKEN if may_push else None)
    return StepResult(name, 0, "", "")


def extraheader(token: str) -> str:
    """The Git config value that authenticates with `token`, as actions/checkout writes it."""
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    return f"AUTHORIZATION: basic {basic}"


def _push_hook(workspace: Path, token: str | None) -> None:
    """GitHub's side of a push: refused unless the job's token may write (`token`, None
    without contents: write) and the workspace's Git config holds it at the time of the push."""
    if token is None:
        check = "false"
        reason = "no-contents-write: the job's token may not push (contents: write)"
    else:
        expected = shlex.quote(f"http.{SERVER_URL}/.extraheader {extraheader(token)}")
        check = f"git config --get-regexp '^http\\..*\\.extraheader$' | grep -qxF {expected}"
        reason = "no-credentials: the Git config holds no extraheader with the job's token"
    hook = workspace / ".git" / "hooks" / "pre-push"
    hook.parent.mkdir(parents=True, exist_ok=True)
    message = shlex.quote(f"fatal: {NO_PUSH}/{reason}")
    hook.write_text(
        f"#!/bin/sh\n{check} && exit 0\necho {message} >&2\nexit 1\n",
        encoding="utf-8",
    )
    hook.chmod(0o755)


def _download(name: str, inputs: dict[str, str], workspace: Path, root: Path) -> StepResult:
    target = workspace / inputs.get("path", ".")
    stored = root / "artifacts"
    if "name" in inputs:
        if "pattern" in inputs:
            raise Unsupported("download-artifact: both name and pattern")
        source = stored / inputs["name"]
        if not source.is_dir():
            return StepResult(name, 1, "", f"artifact {inputs['name']!r} not found")
        shutil.copytree(source, target, dirs_exist_ok=True)
        return StepResult(name, 0, "", "")
    names = sorted(p.name for p in stored.iterdir()) if stored.is_dir() else []
    found = fnmatch.filter(names, inputs.get("pattern", "*"))
    merge = inputs.get("merge-multiple", "false") == "true"
    for artifact in found:
        into = target if merge else target / artifact
        shutil.copytree(stored / artifact, into, dirs_exist_ok=True)
    return StepResult(name, 0, f"Total of {len(found)} artifact(s) downloaded", "")


def _aws_credentials(
    name: str, inputs: dict[str, str], event: Event, id_token: str | None, output: Path | None
) -> StepResult:
    """Assume `role-to-assume` with the job's OpenID Connect token (`id_token` is its subject),
    as the action does, and output credentials that name the role. Without `id-token: write`,
    or in a pull request from a fork (whose token GitHub never grants it), there is no token and
    the action fails; so it does when the role's trust policy (Event.trust) refuses the
    subject."""
    as_outputs = inputs.get("output-credentials") == "true"
    if inputs.get("output-env-credentials") != "false" or not as_outputs:
        raise Unsupported(f"{name}: credentials in the job's environment (GITHUB_ENV)")
    if not id_token or event.from_fork:
        return StepResult(name, 1, "", "Could not load credentials from any providers")
    assert output is not None
    role = inputs["role-to-assume"]
    trusted = event.trust.get(role, "*")
    if not fnmatch.fnmatchcase(id_token, trusted):
        msg = f"Not authorized to perform sts:AssumeRoleWithWebIdentity: {id_token} for {role}"
        return StepResult(name, 1, "", msg)
    credentials = {
        "aws-access-key-id": f"key-of-{role}",
        "aws-secret-access-key": f"secret-of-{role}",
        "aws-session-token": f"session-of-{role}",
    }
    output.write_text("".join(f"{k}={v}\n" for k, v in credentials.items()), encoding="utf-8")
    return StepResult(name, 0, "", "")
