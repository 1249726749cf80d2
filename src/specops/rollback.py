"""rollback: give a promotion stage back to an earlier version, as registry tags.

The deployment that follows is `specops deploy`'s, which checks the version again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from specops.gates.evaluate import threshold_words
from specops.registry import evidence
from specops.registry.git import GitError, git_ok
from specops.registry.publish import NewTag, Refused, publish
from specops.registry.tags import ModelTags, TagEvent
from specops.releases import check_stage, git_problem, model_project, normal_version
from specops.spec import Problem, SpecError
from specops.spec.models import Gate


@dataclass(frozen=True)
class RollbackResult:
    model: str
    stage: str
    version: str | None  # the version the stage goes back to
    replaces: str | None
    commit: str | None
    tags: list[str]
    refused: list[str]
    pushed: bool

    @property
    def ok(self) -> bool:
        return not self.refused

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, "ok": self.ok}


def _relative(entry: dict[str, Any], relative: list[Gate]) -> bool:
    """Whether a gate recorded in evidence is one of the spec's `vs` gates."""
    threshold = str(entry.get("threshold", ""))
    return any(
        entry.get("metric") == g.metric and threshold.startswith(threshold_words(g))
        for g in relative
    )


def _passed_then(event: TagEvent, relative: list[Gate]) -> str | None:
    """Why the registration of a version does not show its gates (other than `vs` ones)
    passed, or None when it does."""
    facts = event.evidence
    why = evidence.unusable(event.tag, facts, event.commit)
    if why is not None:
        return why
    assert facts is not None
    if facts.get("forced"):
        return None
    gates = [g for g in facts.get("gates") or [] if isinstance(g, dict)]
    if not gates:
        return None if facts.get("gates_passed") else f"{event.tag} records failed gates"
    for entry in gates:
        if not _relative(entry, relative) and entry.get("status") != "pass":
            return f"{event.tag} records gate {entry.get('metric')} as {entry.get('status')}"
    return None


def _earlier(tags: ModelTags, stage: str, current: str) -> TagEvent | None:
    """The newest assignment of `stage` to a live version other than the one at `current`."""
    for event in reversed([e for e in tags.events if e.stage == stage]):
        if event.kind != "assign" or event.commit == current:
            continue
        if tags.version_at(event.commit) is not None:
            return event
    return None


def rollback(
    spec_path: Path | None,
    model: str,
    stage: str,
    *,
    to: str | None = None,
    reason: str,
    push: bool = False,
    remote: str = "origin",
) -> RollbackResult:
    """Give `stage` back to the version that held it before the current one (or to `to`).

    Two tags: the current version is unassigned (so that GTO, which by default reads the
    highest version holding a stage, agrees), and the earlier one assigned again; both carry
    `rollback: true`, the version replaced, the reason and who."""
    project = model_project(spec_path, model)
    check_stage(project, stage)
    if not reason.strip():
        raise SpecError([Problem.plain(project.spec_name, "--reason must not be empty")])
    wanted = normal_version(project, to) if to is not None else None
    relative = [g for g in project.spec.gates if g.vs is not None]
    try:
        by = evidence.who(project.root)
    except GitError as exc:
        raise git_problem(project, exc) from exc
    chosen: dict[str, str] = {}

    def plan(tags: ModelTags) -> list[NewTag]:
        holder = tags.stage_holder(stage)
        if holder is None:
            raise Refused(f"no version of {model} is in {stage}; there is nothing to roll back")
        current = holder.version or holder.commit
        chosen["replaces"] = current
        if wanted is not None:
            commit = tags.commit_of(wanted)
            if commit is None:
                raise Refused(f"{model} has no version {wanted}")
            if tags.deregistered(commit):
                raise Refused(f"{model} {wanted} is deregistered")
            if commit == holder.commit:
                raise Refused(f"{model} {wanted} is in {stage} already")
        else:
            earlier = _earlier(tags, stage, holder.commit)
            if earlier is None:
                msg = f"no earlier version of {model} held {stage}: nothing to roll back to"
                raise Refused(msg)
            commit = earlier.commit
        target = tags.version_at(commit) or commit
        chosen.update(version=target, commit=commit)
        # `specops deploy` refuses a commit off the branch: assigning one would leave the
        # stage with a version that can never be deployed.
        if not git_ok(project.root, "merge-base", "--is-ancestor", commit, "HEAD"):
            raise Refused(
                f"{model} {target} is at commit {commit[:12]}, which is not on the checked-out"
                " branch: deploy would refuse it"
            )
        registration = next(e for e in tags.registrations if e.commit == commit)
        why = _passed_then(registration, relative)
        if why is not None:
            raise Refused(why)
        facts = {
            "specops_evidence": evidence.EVIDENCE_VERSION,
            "model": model,
            "stage": stage,
            "version": target,
            "commit": commit,
            "rollback": True,
            "replaces": current,
            "reason": reason.strip(),
            "by": by,
        }
        counter = tags.next_counter()
        off = f"Unassign {stage} from {model} {current}: rollback to {target}"
        on = f"Roll back {stage} of {model} to {target}, replacing {current}"
        return [
            NewTag(f"{model}#{stage}!#{counter}", holder.commit, evidence.message(off, facts)),
            NewTag(f"{model}#{stage}#{counter + 1}", commit, evidence.message(on, facts)),
        ]

    def refused(why: str) -> RollbackResult:
        return RollbackResult(
            model,
            stage,
            chosen.get("version"),
            chosen.get("replaces"),
            chosen.get("commit"),
            [],
            [why],
            push,
        )

    try:
        made = publish(project.root, model, plan, push=push, remote=remote)
    except Refused as exc:
        return refused(str(exc))
    except GitError as exc:
        raise git_problem(project, exc) from exc
    return RollbackResult(
        model,
        stage,
        chosen["version"],
        chosen["replaces"],
        chosen["commit"],
        [t.name for t in made],
        [],
        push,
    )
