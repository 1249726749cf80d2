"""Create registry tags and push them all or none, renumbering when another push won a race.

Tag names are computed from the tags present (the next version, the next `#N`), so two people
promoting at once against one remote would compute the same names. `git push --atomic` lets
only one of them land; the other fetches the tags, plans again from what is there now, and
retries, a bounded number of times.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from specops.registry.git import GitError, git_ok, run_git
from specops.registry.tags import ModelTags, model_tags

#: How many times a promotion plans and pushes again after losing a race.
ATTEMPTS = 5


@dataclass(frozen=True)
class NewTag:
    """An annotated tag to create: its name, the commit it points at and its message."""

    name: str
    commit: str
    message: str


class Refused(Exception):
    """The registry change cannot be made as asked; the message says why."""


Plan = Callable[[ModelTags], list[NewTag]]


def fetch_tags(root: Path, remote: str) -> None:
    """Bring every tag of `remote` here; the remote's tag wins where a name differs, since a
    local tag of the same name is one that lost a race."""
    run_git(root, "fetch", "--quiet", "--no-tags", remote, "+refs/tags/*:refs/tags/*")


def create_tags(root: Path, tags: list[NewTag]) -> None:
    """Create annotated tags; on a failure, remove the ones made so far."""
    made: list[NewTag] = []
    try:
        for tag in tags:
            run_git(root, "tag", "-a", "-F", "-", tag.name, tag.commit, stdin=tag.message)
            made.append(tag)
    except GitError:
        delete_tags(root, made)
        raise


def delete_tags(root: Path, tags: list[NewTag]) -> None:
    if tags:
        run_git(root, "tag", "-d", *(t.name for t in tags))


def publish(
    root: Path, model: str, plan: Plan, *, push: bool, remote: str = "origin"
) -> list[NewTag]:
    """Create the tags `plan` asks for, given the model's tags; with `push`, push them to
    `remote` atomically, planning again after a lost race. Returns the tags made."""
    if push and remote.startswith("-"):  # git would read it as an option, and may run it
        raise GitError(f"--remote {remote!r} is no remote")
    if push:
        fetch_tags(root, remote)
    said = ""
    for _ in range(ATTEMPTS):
        tags = plan(model_tags(root, model))
        if not tags:
            return []
        create_tags(root, tags)
        if not push:
            return tags
        refs = [f"refs/tags/{t.name}" for t in tags]
        # A stage tag needs its commit's version tag on the remote too, even one made earlier
        # without --push: both go in the same atomic push.
        pushed = list(refs)
        for commit in {t.commit for t in tags}:
            listed = run_git(root, "tag", "--points-at", commit, "--list", f"{model}@v*")
            pushed += [f"refs/tags/{n}" for n in listed.split() if f"refs/tags/{n}" not in pushed]
        try:
            run_git(root, "push", "--quiet", "--atomic", remote, *pushed)
            return tags
        except GitError as exc:
            said = str(exc)
        delete_tags(root, tags)
        fetch_tags(root, remote)
        if not any(git_ok(root, "rev-parse", "--verify", "--quiet", ref) for ref in refs):
            raise GitError(said)  # none of the names was taken: not a race, a real failure
    raise Refused(f"another promotion took the same tags {ATTEMPTS} times; last: {said}")
