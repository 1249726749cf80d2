"""promote, history, retire and card: the model registry's commands, returning data."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from specops.registry import evidence
from specops.registry.git import GitError, run_git
from specops.registry.publish import NewTag, Refused, publish
from specops.registry.tags import VERSION_RE, ModelTags, TagEvent, read_tags, version_key
from specops.spec import Problem, SpecError, load_spec
from specops.spec.folders import folder, recorded_in
from specops.spec.load import Project

Bump = Literal["patch", "minor", "major"]


@dataclass(frozen=True)
class PromoteResult:
    """What promote did: the tags it made, or why it refused."""

    model: str
    stage: str
    version: str | None
    commit: str
    tags: list[str]
    refused: list[str]
    forced: bool
    pushed: bool
    gates: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.refused

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "ok": self.ok}


@dataclass(frozen=True)
class RetireResult:
    model: str
    version: str
    stage: str | None
    tags: list[str]
    pushed: bool

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class History:
    """Registry events, newest first, and which version holds each stage now."""

    events: list[TagEvent]
    stages: dict[str, dict[str, str]]  # model -> stage -> version

    def as_dict(self) -> dict[str, Any]:
        return {"stages": self.stages, "events": [e.as_dict() for e in self.events]}


def model_project(spec_path: Path | None, model: str | None) -> Project:
    """The project of the spec, refusing a `model` it does not declare."""
    from specops.commands import locate

    project = load_spec(locate(spec_path))
    if model is not None and model not in project.spec.models:
        known = ", ".join(project.spec.models) or "none"
        msg = f"unknown model {model!r}; the spec declares: {known}"
        raise SpecError([Problem.plain(project.spec_name, msg)])
    return project


def check_stage(project: Project, stage: str) -> None:
    promotion = project.spec.promotion
    if promotion is None:
        msg = "has no `promotion` section, so it names no stages to promote to"
        raise SpecError([Problem.plain(project.spec_name, msg)])
    if stage not in promotion.stages:
        msg = f"unknown stage {stage!r}; promotion.stages are: {', '.join(promotion.stages)}"
        raise SpecError([Problem.plain(project.spec_name, msg)])


def git_problem(project: Project, exc: GitError) -> SpecError:
    return SpecError([Problem.plain(str(project.root), str(exc))])


def next_version(tags: ModelTags, bump: Bump) -> str:
    """The latest version bumped; the first version is v0.1.0 (v1.0.0 with a major bump)."""
    latest = tags.latest_version()
    if latest is None:
        return "v1.0.0" if bump == "major" else "v0.1.0"
    major, minor, patch, _ = version_key(latest)
    if bump == "major":
        return f"v{major + 1}.0.0"
    if bump == "minor":
        return f"v{major}.{minor + 1}.0"
    return f"v{major}.{minor}.{patch + 1}"


def normal_version(project: Project, version: str) -> str:
    if not VERSION_RE.match(version):
        msg = f"--version {version!r} is not a semantic version such as 1.2.3"
        raise SpecError([Problem.plain(project.spec_name, msg)])
    return version if version.startswith("v") else f"v{version}"


def dirty(project: Project) -> list[str]:
    """Why the working tree does not describe the commit: an uncommitted change to a tracked
    file or to the spec, params, dvc.yaml or dvc.lock, or a pipeline that `dvc status` finds
    out of date."""
    # Any tracked file may feed the gates (dvc.yaml, a metrics file in Git), so any change to
    # one refuses; of the untracked files, those that define the project do.
    files = [project.spec_name, "params.yaml", "dvc.lock", "dvc.yaml"]
    for key in project.spec.pipelines:  # each pipeline's own
        files += [f"{folder(key)}/{name}" for name in ("params.yaml", "dvc.lock", "dvc.yaml")]
    tracked = run_git(project.root, "status", "--porcelain", "--untracked-files=no")
    new = run_git(project.root, "status", "--porcelain", "--untracked-files=all", "--", *files)
    changed = dict.fromkeys(line[3:] for line in (*tracked.splitlines(), *new.splitlines()))
    reasons = [f"uncommitted change: {path}" for path in changed if path.strip()]
    proc = subprocess.run(
        ["dvc", "status", "--quiet"],
        cwd=project.root,
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    if proc.returncode != 0:
        said = (proc.stderr or proc.stdout).strip().replace("\n", " ")
        reasons.append(f"`dvc status` is not clean: {said or 'changed outputs or dependencies'}")
    return reasons


def promote(
    spec_path: Path | None,
    model: str,
    stage: str,
    *,
    version: str | None = None,
    bump: Bump = "patch",
    force: bool = False,
    reason: str | None = None,
    push: bool = False,
    remote: str = "origin",
) -> PromoteResult:
    """Gate the current commit, then register a version (when it has none) and assign
    `stage`, as annotated tags that hold the evidence; with `push`, push them atomically."""
    from specops.commands import gate  # gates and registry meet only here

    project = model_project(spec_path, model)
    check_stage(project, stage)
    if force and not (reason and reason.strip()):
        raise SpecError([Problem.plain(project.spec_name, "--force needs --reason TEXT")])
    wanted = normal_version(project, version) if version is not None else None
    entry = project.spec.models[model]
    try:
        commit = run_git(project.root, "rev-parse", "--verify", "HEAD^{commit}").strip()
        refused = dirty(project)
    except GitError as exc:
        raise git_problem(project, exc) from exc
    run = gate(spec_path, model)
    gates = [r.as_dict() for r in run.results]
    failed = [f"gate {r.metric}: {r.reason}" for r in run.results if not r.passed()]
    if not force:
        refused += failed
    result = PromoteResult(model, stage, None, commit, [], refused, force, push, gates)
    if refused:
        return result
    files = [entry.metrics] if entry.metrics else []
    files += [r.file for r in run.results if r.file]
    recorded = recorded_in(project.spec, project.doc, project.root, project.model_path(model))
    found = evidence.collect(
        project.root,
        spec_file=project.spec_name,
        model=model,
        model_path=project.model_path(model),
        lock_file=recorded.lock,
        recorded=(recorded.path, recorded.prefix),
        commit=commit,
        metrics_files=files,
        gates=gates,
        gates_passed=run.ok,
        reason=reason.strip() if force and reason else None,
    )
    chosen: dict[str, str] = {}

    def plan(tags: ModelTags) -> list[NewTag]:
        new: list[NewTag] = []
        current = tags.version_at(commit)
        if current is None and tags.deregistered(commit):
            raise Refused(
                f"commit {commit[:12]} holds a deregistered version, and GTO allows one version"
                " per commit: make a new commit to promote"
            )
        if current is not None and wanted is not None and wanted != current:
            raise Refused(f"commit {commit[:12]} is registered already as {current}")
        name = current or wanted or next_version(tags, bump)
        chosen["version"] = name
        facts = {**found, "version": name, "stage": stage}
        if current is None:
            if tags.commit_of(name) is not None:
                raise Refused(f"{name} is registered already, at another commit")
            summary = f"Register {model} {name}"
            new.append(NewTag(f"{model}@{name}", commit, evidence.message(summary, facts)))
        holder = tags.stage_holder(stage)
        if holder is not None and holder.commit == commit:
            return new  # the stage is this version's already
        summary = f"Assign {stage} to {model} {name}" + (" (forced)" if force else "")
        counter = tags.next_counter()
        tag = f"{model}#{stage}#{counter}"
        new.append(NewTag(tag, commit, evidence.message(summary, facts)))
        return new

    try:
        made = publish(project.root, model, plan, push=push, remote=remote)
    except Refused as exc:
        return PromoteResult(
            model, stage, chosen.get("version"), commit, [], [str(exc)], force, push, gates
        )
    except GitError as exc:
        raise git_problem(project, exc) from exc
    names = [t.name for t in made]
    return PromoteResult(model, stage, chosen.get("version"), commit, names, [], force, push, gates)


def retire(
    spec_path: Path | None,
    model: str,
    *,
    stage: str | None = None,
    version: str | None = None,
    reason: str,
    push: bool = False,
    remote: str = "origin",
) -> RetireResult:
    """Take a stage away from the version that holds it (`name#stage!#N`), or deregister a
    version (`name@v1.2.3!`), recording the reason in the tag."""
    project = model_project(spec_path, model)
    if (stage is None) == (version is None):
        msg = "retire needs exactly one of --stage and --version"
        raise SpecError([Problem.plain(project.spec_name, msg)])
    if not reason.strip():
        raise SpecError([Problem.plain(project.spec_name, "--reason must not be empty")])
    if stage is not None:
        check_stage(project, stage)
    wanted = normal_version(project, version) if version is not None else None
    try:
        by = evidence.who(project.root)
    except GitError as exc:
        raise git_problem(project, exc) from exc
    chosen: dict[str, str] = {}

    def plan(tags: ModelTags) -> list[NewTag]:
        facts: dict[str, Any] = {"model": model, "reason": reason.strip(), "by": by}
        if stage is not None:
            holder = tags.stage_holder(stage)
            if holder is None:
                raise Refused(f"no version of {model} is in {stage}")
            chosen["version"] = holder.version or holder.commit
            facts |= {"version": holder.version, "stage": stage, "commit": holder.commit}
            summary = f"Unassign {stage} from {model} {holder.version}"
            name = f"{model}#{stage}!#{tags.next_counter()}"
            return [NewTag(name, holder.commit, evidence.message(summary, facts))]
        assert wanted is not None
        commit = tags.commit_of(wanted)
        if commit is None:
            raise Refused(f"{model} has no version {wanted}")
        chosen["version"] = wanted
        if tags.deregistered(commit):
            return []
        facts |= {"version": wanted, "commit": commit}
        summary = f"Deregister {model} {wanted}"
        return [NewTag(f"{model}@{wanted}!", commit, evidence.message(summary, facts))]

    try:
        made = publish(project.root, model, plan, push=push, remote=remote)
    except Refused as exc:
        raise SpecError([Problem.plain(project.spec_name, str(exc))]) from exc
    except GitError as exc:
        raise git_problem(project, exc) from exc
    return RetireResult(model, chosen["version"], stage, [t.name for t in made], push)


def history(spec_path: Path | None, model: str | None = None) -> History:
    """Every registry event of the spec's models (or of `model`), newest first."""
    project = model_project(spec_path, model)
    try:
        found = read_tags(project.root, model)
    except GitError as exc:
        raise git_problem(project, exc) from exc
    names = [model] if model else list(project.spec.models)
    events = [e for name in names if name in found for e in found[name].events]
    events.sort(key=lambda e: (e.timestamp, e.counter or 0), reverse=True)
    stages = {
        name: {s: e.version or e.commit for s, e in found[name].stages().items()}
        for name in names
        if name in found
    }
    return History(events, stages)


def card(spec_path: Path | None, model: str) -> str:
    """A model card in Markdown: the spec's description, governance, and the evidence of the
    latest version and of each stage."""
    from specops.registry.card import render_card

    project = model_project(spec_path, model)
    try:
        tags = read_tags(project.root, model).get(model, ModelTags(model))
    except GitError as exc:
        raise git_problem(project, exc) from exc
    return render_card(project.spec, model, tags, project.model_path(model))
