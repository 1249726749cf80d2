"""fetch and deploy: a registered version's model, verified, and the team's command.

`deploy` checks that the version in a stage is the one to ship (read through GTO and through
specops's own reading of the tags, which must agree), that its commit is on the branch, that
its gates pass at that commit and that the bytes it fetches are the ones dvc.lock records;
then it runs the spec's `deploy.<stage>.cmd`.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Literal

from specops.deploy import CheckFailed
from specops.deploy.fetch import Source, install, obtain, temporary_beside, verify
from specops.deploy.lock import Locked, locked_out
from specops.deploy.run import environment, run_command
from specops.gates.evaluate import Baseline, Sources, evaluate
from specops.registry import evidence
from specops.registry.git import GitError, run_git
from specops.registry.revisions import RevisionError, read_git
from specops.registry.tags import ModelTags, StageRef, TagEvent, model_tags
from specops.releases import check_stage, git_problem, model_project, normal_version
from specops.spec import Problem, Project, SpecError
from specops.spec.checks import did_you_mean
from specops.spec.files import Unreadable, read_bytes
from specops.spec.folders import recorded_in
from specops.spec.metrics_files import project_metrics_files
from specops.spec.pipeline import normalize

Verdict = Literal["pass", "fail", "skipped", "forced"]
Status = Literal["deployed", "dry-run", "skipped", "failed"]


@dataclass(frozen=True)
class Check:
    """One check of a deployment: its name, its verdict and why."""

    name: str
    verdict: Verdict
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class FetchResult:
    model: str
    version: str
    commit: str
    path: str
    md5: str
    source: Source
    written: bool  # False: the file held those bytes already

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class DeployResult:
    """What deploy checked and did. `status`: deployed, dry-run, skipped (the version asked
    for no longer holds the stage) or failed."""

    model: str
    stage: str
    version: str | None
    commit: str | None
    status: Status
    checks: list[Check]
    message: str
    exit_code: int | None = None  # the command's, when it ran

    @property
    def ok(self) -> bool:
        return self.status != "failed"

    def as_dict(self) -> dict[str, Any]:
        data = {**self.__dict__, "ok": self.ok}
        data["checks"] = [c.as_dict() for c in self.checks]
        return data


def _show(root: Path, commit: str, path: str) -> bytes | None:
    """`path` (relative to `root`) as Git holds it at `commit`, or None when it does not.
    A file larger than specops reads is a failed check."""
    try:
        return read_git(root, commit, path, name=commit[:12])
    except RevisionError as exc:
        raise CheckFailed(exc.message) from exc


def _locked(project: Project, model: str, commit: str) -> Locked:
    path = normalize(project.model_path(model))
    # A pipeline's stage records it in its folder's dvc.lock, relative to its folder.
    recorded = recorded_in(project.spec, project.doc, project.root, path)
    where = f"{recorded.lock} at {commit[:12]}"
    text = _show(project.root, commit, recorded.lock)
    if text is None:
        raise CheckFailed(f"{where}: not in Git")
    found = locked_out(text.decode("utf-8", "replace"), recorded.path, where)
    return dataclasses.replace(found, path=path, stage=recorded.prefix + found.stage)


def _cache(root: Path) -> Path:
    """The project's DVC cache folder (`dvc cache dir`)."""
    from dvc.repo import Repo  # type: ignore[import-untyped]  # only these commands need DVC

    try:
        with Repo(str(root)) as repo:
            return Path(repo.cache.local.path).parents[1]  # the objects are in files/md5
    except Exception as exc:  # DVC's own errors: not a DVC repository, a broken config
        raise CheckFailed(f"cannot find DVC's cache: {type(exc).__name__}: {exc}") from exc


def _bring(project: Project, commit: str, locked: Locked, dest: Path) -> Source:
    """The model's bytes at `dest`, checked against dvc.lock."""
    config = _show(project.root, commit, ".dvc/config")
    try:
        local = read_bytes(project.root / ".dvc" / "config.local")
    except Unreadable as exc:
        raise CheckFailed(f".dvc/config.local: {exc.reason}") from exc
    source = obtain(
        project.root,
        commit,
        locked,
        cache=_cache(project.root),
        config_text=config.decode("utf-8", "replace") if config is not None else None,
        local_text=local.decode("utf-8", "replace") if local is not None else None,
        dest=dest,
    )
    verify(dest, locked, source, f"dvc.lock at {commit[:12]}")
    return source


def _tags(project: Project, model: str) -> ModelTags:
    try:
        return model_tags(project.root, model)
    except GitError as exc:
        raise git_problem(project, exc) from exc


def _version(tags: ModelTags, model: str, version: str) -> str:
    """The commit of a live version."""
    commit = tags.commit_of(version)
    if commit is None:
        raise CheckFailed(f"{model} has no version {version}")
    if tags.deregistered(commit):
        raise CheckFailed(f"{model} {version} is deregistered")
    return commit


def fetch(
    spec_path: Path | None,
    model: str,
    *,
    stage: str | None = None,
    version: str | None = None,
    out: str | None = None,
    force: bool = False,
) -> FetchResult:
    """Write the model file of the version in `stage` (or of `version`) to `out` (a folder
    when it is one or ends in `/`), after checking its md5 against the dvc.lock of the
    version's commit."""
    project = model_project(spec_path, model)
    if (stage is None) == (version is None):
        msg = "fetch needs exactly one of --stage and --version"
        raise SpecError([Problem.plain(project.spec_name, msg)])
    if stage is not None:
        check_stage(project, stage)
    tags = _tags(project, model)
    if version is not None:
        name = normal_version(project, version)
        commit = _version(tags, model, name)
    else:
        assert stage is not None
        holder = tags.stage_holder(stage)
        if holder is None:
            raise CheckFailed(f"no version of {model} is in {stage}")
        name, commit = holder.version or holder.commit, holder.commit
    locked = _locked(project, model, commit)
    file_name = PurePosixPath(locked.path).name
    target = Path.cwd() / file_name if out is None else Path(out)
    if out is not None and out.endswith(os.sep) and not target.is_dir():
        raise SpecError([Problem.plain(out, "no such folder")])
    if target.is_dir():
        target = target / file_name
    try:
        tmp = temporary_beside(target)
    except OSError as exc:
        msg = f"cannot write there: {exc.strerror}"
        raise SpecError([Problem.plain(str(target), msg)]) from exc
    try:
        source = _bring(project, commit, locked, tmp)
        written = install(tmp, target, force=force)
    finally:
        tmp.unlink(missing_ok=True)
    return FetchResult(model, name, commit, str(target.absolute()), locked.md5, source, written)


def _assigned(root: Path, model: str, stage: str) -> StageRef:
    """The version in `stage`, as GTO reads the tags; specops's reading must agree."""
    import gto.api  # only deploy needs GTO

    holder = model_tags(root, model).stage_holder(stage)
    ours = holder.version if holder is not None else None
    try:
        found = gto.api.find_versions_in_stage(str(root), model, stage)
    except Exception as exc:  # GTO's own errors, e.g. an artifact with no tags at all
        if ours is None:
            raise CheckFailed(f"no version of {model} is in {stage}") from exc
        raise CheckFailed(f"gto cannot read the registry: {type(exc).__name__}: {exc}") from exc
    if isinstance(found, list):
        found = found[0] if found else None
    theirs = found.version if found is not None else None
    if theirs is None and ours is None:
        raise CheckFailed(f"no version of {model} is in {stage}")
    if theirs != ours or holder is None:
        raise CheckFailed(
            f"gto says {stage} holds {theirs or 'nothing'}, but the tags as specops reads them "
            f"say {ours or 'nothing'}"
        )
    return StageRef(holder.commit, ours or holder.commit, holder.tag)


def _on_branch(root: Path, commit: str, branch: str) -> str:
    try:
        tip = run_git(root, "rev-parse", "--verify", "--end-of-options", f"{branch}^{{commit}}")
    except GitError as exc:
        raise CheckFailed(f"no revision {branch!r}: {exc}") from exc
    proc = subprocess.run(
        ["git", "merge-base", "--is-ancestor", commit, tip.strip()],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    if proc.returncode == 1:
        raise CheckFailed(f"commit {commit[:12]} is not on {branch} ({tip.strip()[:12]})")
    if proc.returncode != 0:
        raise CheckFailed(f"`git merge-base --is-ancestor` failed: {proc.stderr.strip()}")
    return f"commit {commit[:12]} is on {branch} ({tip.strip()[:12]})"


def _registration(tags: ModelTags, commit: str) -> tuple[TagEvent, dict[str, Any]]:
    """The tag that registered the version at `commit`, and its specops evidence."""
    event = next((e for e in tags.registrations if e.commit == commit), None)
    if event is None:
        raise CheckFailed(f"no version is registered at commit {commit[:12]}")
    facts = event.evidence
    why = evidence.unusable(event.tag, facts, commit)
    if why is not None:
        raise CheckFailed(why)
    assert facts is not None
    return event, facts


def _recorded_md5(facts: dict[str, Any]) -> Any:
    lineage = facts.get("lineage")
    model = lineage.get("model") if isinstance(lineage, dict) else None
    return model.get("md5") if isinstance(model, dict) else None


def _gate_checks(
    project: Project, model: str, commit: str, tag: str, facts: dict[str, Any]
) -> list[Check]:
    """The spec's gates without `vs`, evaluated on the metrics files as committed at
    `commit`; a file that Git does not hold there falls back to the registration's evidence."""
    spec, at = project.spec, commit[:12]
    absent: set[str] = set()

    def read(path: str) -> bytes | None:
        data = _show(project.root, commit, path)
        if data is None:
            absent.add(path)
        return data

    default = spec.models[model].metrics
    sources = Sources(
        candidate=read,
        baseline=lambda vs: Baseline(""),  # no gate here has `vs`
        default_file=normalize(default) if default else None,
        files=project_metrics_files(spec, project.doc, project.root),
    )
    gates = [g for g in spec.gates if g.vs is None]
    recorded = {g.get("metric"): g for g in facts.get("gates") or [] if isinstance(g, dict)}
    forced = f"promoted with --force: {facts.get('reason')}" if facts.get("forced") else ""
    checks = []
    for result in evaluate(gates, sources):
        name = f"gate {result.metric}"
        if result.file is not None and result.file not in absent:
            if result.status == "pass":
                checks.append(Check(name, "pass", f"{result.threshold} at {at}"))
            elif forced:
                checks.append(Check(name, "forced", f"{result.reason} at {at}; {forced}"))
            else:
                checks.append(Check(name, "fail", f"{result.reason} at {at}"))
            continue
        what = f"{result.file} is not in Git at {at}" if result.file else result.reason
        entry = recorded.get(result.metric)
        passed = entry.get("status") == "pass" if entry else bool(facts.get("gates_passed"))
        if passed:
            checks.append(Check(name, "pass", f"{what}; {tag} records that it passed"))
        elif forced:
            checks.append(Check(name, "forced", f"{what}; {tag} was {forced}"))
        else:
            checks.append(Check(name, "fail", f"{what}, and {tag} does not record a pass"))
    return checks


def _deployment_of(project: Project, stage: str) -> Any:
    deployments = project.spec.deploy
    if stage not in deployments:
        known = ", ".join(deployments) or "none"
        msg = f"no deployment for stage {stage!r}; deploy has: {known}"
        raise SpecError([Problem.plain(project.spec_name, msg + did_you_mean(stage, deployments))])
    return deployments[stage]


def deploy(
    spec_path: Path | None,
    model: str,
    stage: str,
    *,
    version: str | None = None,
    branch: str = "HEAD",
    dry_run: bool = False,
    on_check: Callable[[Check], None] | None = None,
    quiet_stdout: bool = False,
) -> DeployResult:
    """Check the version that holds `stage`, then run `deploy.<stage>.cmd` of the working
    tree's spec. `on_check` hears of each check as it is made; with `quiet_stdout`, the
    command's output goes to stderr so that stdout carries only specops's own."""
    project = model_project(spec_path, model)
    deployment = _deployment_of(project, stage)
    wanted = normal_version(project, version) if version is not None else None
    checks: list[Check] = []

    def check(name: str, verdict: Verdict, detail: str) -> None:
        made = Check(name, verdict, detail)
        checks.append(made)
        if on_check is not None:
            on_check(made)

    def result(status: Status, message: str, code: int | None = None) -> DeployResult:
        return DeployResult(model, stage, held, commit, status, checks, message, code)

    held: str | None = None
    commit: str | None = None
    check("stage", "pass", f"deploy.{stage} is in {project.spec_name}")
    try:
        ref = _assigned(project.root, model, stage)
    except CheckFailed as exc:
        check("assigned", "fail", str(exc))
        return result("failed", str(exc))
    held, commit = ref.version, ref.commit
    check("assigned", "pass", f"{model} {held} is in {stage} ({ref.tag}); gto agrees")
    if wanted is not None and wanted != held:
        said = f"{wanted} was asked for, but {stage} holds {held} now: superseded"
        check("version", "skipped", said)
        return result("skipped", said)
    try:
        check("branch", "pass", _on_branch(project.root, ref.commit, branch))
    except CheckFailed as exc:
        check("branch", "fail", str(exc))
    tags = _tags(project, model)
    locked: Locked | None = None
    try:
        locked = _locked(project, model, ref.commit)
        event, facts = _registration(tags, ref.commit)
        recorded = _recorded_md5(facts)
        if recorded != locked.md5:
            raise CheckFailed(
                f"{event.tag} records model md5 {recorded}, but dvc.lock at {ref.commit[:12]} "
                f"records {locked.md5}"
            )
        check("evidence", "pass", f"{event.tag} records model md5 {locked.md5}, as dvc.lock does")
        for made in _gate_checks(project, model, ref.commit, event.tag, facts):
            check(made.name, made.verdict, made.detail)
    except CheckFailed as exc:
        check("evidence", "fail", str(exc))
    failed = [c.name for c in checks if c.verdict == "fail"]
    if failed or locked is None:
        return result("failed", f"check(s) failed: {', '.join(failed)}; nothing was run")
    with tempfile.TemporaryDirectory(prefix="specops-deploy-") as folder:
        path = Path(folder) / PurePosixPath(locked.path).name
        try:
            source = _bring(project, ref.commit, locked, path)
        except CheckFailed as exc:
            check("fetch", "fail", str(exc))
            return result("failed", "check(s) failed: fetch; nothing was run")
        check("fetch", "pass", f"{locked.path} from {source}, md5 {locked.md5}")
        if dry_run:
            return result("dry-run", f"dry run: would run deploy.{stage}.cmd")
        env = environment(
            os.environ,
            model=model,
            version=held,
            stage=stage,
            commit=ref.commit,
            model_path=path,
            model_hash=locked.md5,
            environment=deployment.environment_for(stage),
            url=deployment.url,
        )
        code = run_command(deployment.cmd, project.root, env, stdout_to_stderr=quiet_stdout)
    if code != 0:
        return result("failed", f"deploy.{stage}.cmd failed with exit code {code}", code)
    return result("deployed", f"deployed {model} {held} to {stage}", code)
