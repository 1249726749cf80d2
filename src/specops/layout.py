"""Where a project's generated files go in its Git repository.

GitHub reads workflows only from `.github/workflows` at the root of a repository. A project in a
folder of it (`ml/specops.yaml`) keeps its dvc.yaml files beside its spec and writes its
workflows at the Git root, named after the project (`specops-<name>-ci.yml`); their header names
the spec from the Git root (`ml/specops.yaml`), so that each spec only ever replaces or removes
its own. Every path this module returns is relative to the Git root, so that one call of
writer.apply writes it all or nothing.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from specops import writer
from specops.generators import Rendered
from specops.generators.github import GLOB_CHARACTERS, WORKFLOW_DIR
from specops.spec import Problem, SpecError
from specops.spec.load import Project


@dataclass(frozen=True)
class Layout:
    """A project root (resolved), the root of the Git repository it is in (the project root
    itself outside one), and the folder between them ("" when they are the same)."""

    root: Path
    top: Path
    folder: str

    def path(self, path: str) -> str:
        """A path relative to the project root, made relative to the Git root."""
        return f"{self.folder}/{path}" if self.folder else path

    def spec(self, spec_name: str) -> str:
        """The spec as the headers of the workflows name it."""
        return self.path(spec_name)


def git_root(start: Path) -> Path | None:
    """The nearest folder from `start` up that holds `.git` (a folder, or the file of a
    worktree or submodule), as Git finds it without GIT_DIR; None outside a repository."""
    return next((f for f in (start, *start.parents) if os.path.lexists(f / ".git")), None)


def layout(root: Path, display: str) -> Layout:
    """The layout of the project at `root` (resolved); `display` is the spec's path for
    messages. Refuses a folder whose name GitHub would read as a pattern or an expression."""
    top = git_root(root)
    if top is None or top == root:
        return Layout(root, root, "")
    folder = root.relative_to(top).as_posix()
    bad = sorted({c for c in folder if c in GLOB_CHARACTERS or not c.isprintable()})
    if bad:
        msg = (
            f"the project's folder {folder!r} in its Git repository holds {''.join(bad)!r},"
            " which GitHub's path filters read as patterns; rename the folder"
        )
        raise SpecError([Problem.plain(display, msg)])
    if "${{" in folder:
        msg = (
            f"the project's folder {folder!r} in its Git repository holds '${{{{', which GitHub"
            " Actions would evaluate where its workflows name the folder; rename the folder"
        )
        raise SpecError([Problem.plain(display, msg)])
    return Layout(root, top, folder)


def watched(where: Layout) -> list[str]:
    """Files outside the project's folder that its workflows read, relative to the Git root:
    the `.dvc/config` of a DVC repository whose root is above the folder, which names the
    remotes (and so the DVC extras CI installs). Its changes start CI as the folder's do."""
    from specops.spec.dvcconfig import dvc_dir

    found = dvc_dir(where.root) if where.folder else None
    if found is None or found.parent == where.root:
        return []
    try:
        return [(found / "config").relative_to(where.top).as_posix()]
    except ValueError:  # above the Git root: no file of the repository
        return []


def _same_folder(a: Path, b: Path) -> bool:
    """Whether two paths lead to the same folder once symlinks are resolved."""
    return os.path.realpath(a) == os.path.realpath(b)


def _is_workflow(file: Rendered) -> bool:
    return file.path.startswith(f"{WORKFLOW_DIR}/")


def moved(where: Layout, changes: Iterable[writer.Change]) -> list[writer.Change]:
    """Changes planned relative to the project root, made relative to the Git root."""
    return [dataclasses.replace(c, path=where.path(c.path)) for c in changes]


def plan(where: Layout, files: Iterable[Rendered], spec_name: str) -> list[writer.Change]:
    """writer.plan for a project anywhere in its repository: its own files beside the spec,
    its workflows at the Git root; and the removal of generated workflows whose spec is gone
    (a spec moved into a folder, or out of one). Paths relative to the Git root."""
    files = list(files)
    if not where.folder:
        at_root = writer.plan(where.root, files, spec_name)
        return at_root + writer.orphans(where.top, {c.path for c in at_root})
    # Also removes what a render before specops knew about the Git root left in the project's
    # own .github/workflows: those name the spec as `specops.yaml`. Unless that folder is the
    # Git root's, through a symlink: there, `specops.yaml` is the spec of the project at the
    # Git root, whose workflows are not this project's to remove.
    legacy = not _same_folder(where.root / WORKFLOW_DIR, where.top / WORKFLOW_DIR)
    changes = _plan_both(
        where,
        files,
        spec_name,
        lambda own: writer.plan(where.root, own, spec_name, workflows=legacy),
    )
    planned = {c.path for c in changes}
    # A removal is set aside at the Git root: what a killed run left there is found again.
    changes += [c for c in writer.leftovers(where.top, ["."]) if c.path not in planned]
    return changes + writer.orphans(where.top, planned)


def _plan_both(
    where: Layout,
    files: list[Rendered],
    spec_name: str,
    plan_own: Callable[[list[Rendered]], list[writer.Change]],
) -> list[writer.Change]:
    """The project's own files planned by `plan_own` beside the spec, its workflows at the Git
    root; every problem of both, positioned from the Git root."""
    problems: list[Problem] = []
    changes: list[writer.Change] = []
    try:
        changes += moved(where, plan_own([f for f in files if not _is_workflow(f)]))
    except SpecError as exc:
        problems += [dataclasses.replace(p, file=where.path(p.file)) for p in exc.problems]
    try:
        workflows = [f for f in files if _is_workflow(f)]
        changes += writer.plan(where.top, workflows, where.spec(spec_name))
    except SpecError as exc:
        problems += exc.problems
    if problems:
        raise SpecError(problems)
    return changes


def take_over(
    where: Layout,
    files: Iterable[Rendered],
    spec_name: str,
    read: Mapping[str, bytes],
) -> list[writer.Change]:
    """writer.take_over for a project in a folder of its repository (`files` holds the new
    spec): the workflows planned as render plans them, all applied at once, the spec last."""
    files = list(files)
    changes = _plan_both(
        where,
        files,
        spec_name,
        lambda own: writer.plan_take_over(where.root, own, spec_name, read),
    )
    changes += writer.orphans(where.top, {c.path for c in changes})
    spec = where.spec(spec_name)
    last = sorted(changes, key=lambda c: c.path == spec)  # stable: the rest keep their order
    writer.apply(where.top, last, expect={where.path(k): v for k, v in read.items()})
    return changes


def other_specs(where: Layout, spec_name: str) -> list[str]:
    """The specs in other folders of the repository that have generated workflows at its
    root, as their headers name them (relative to the Git root), when the spec is still there.
    (One in the same folder writes the same files: the writer refuses those.)"""
    here = PurePosixPath(where.spec(spec_name)).parent
    found = set()
    for source in writer.workflow_sources(where.top):
        inside = not PurePosixPath(source).is_absolute() and ".." not in PurePosixPath(source).parts
        elsewhere = PurePosixPath(source).parent != here
        if elsewhere and inside and (where.top / source).is_file():
            found.add(source)
    return sorted(found)


def _names(path: Path) -> tuple[object, set[str]]:
    """The project name and model names of another spec, read as plain YAML (it need not be
    valid): None and nothing when it cannot be read."""
    from specops.spec.files import Unreadable, read_bytes
    from specops.spec.yamlfile import load_yaml

    try:
        raw = read_bytes(path)
        data = load_yaml(str(path), raw).data if raw is not None else None
    except (Unreadable, SpecError):
        return None, set()
    if not isinstance(data, dict):
        return None, set()
    models = data.get("models")
    return data.get("name"), {str(n) for n in models} if isinstance(models, dict) else set()


def refuse_shared_names(where: Layout, project: Project) -> None:
    """Two specs of one repository must not share a project name: the workflows' file names
    (below the Git root) and concurrency groups hold it. Nor may they share a model name: tags
    (`model@v1.2.3`, `model#stage#1`) are repository wide, and each would read and move the
    other's versions. The other specs are those whose workflows are at the Git root (their
    headers name them): a cheap look, which misses a spec that was never rendered."""
    problems = []
    for other in other_specs(where, project.spec_name):
        name, models = _names(where.top / other)
        if name == project.spec.name:
            msg = (
                f"{other} in the same Git repository has this name too; the workflows at the"
                " Git root and their concurrency groups are named after it, so choose another"
            )
            problems.append(project.doc.problem(("name",), msg))
        for name in sorted(set(project.spec.models) & models):
            msg = (
                f"{other} in the same Git repository has a model of that name too; registry"
                " tags are repository wide, so rename one of them"
            )
            problems.append(project.doc.problem(("models", name), msg, at_key=True))
    if problems:
        raise SpecError(problems)


def paths(where: Layout, files: Iterable[Rendered]) -> list[str]:
    """The paths of rendered files relative to the Git root, as render reports them."""
    return [f.path if _is_workflow(f) else where.path(f.path) for f in files]
