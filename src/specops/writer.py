"""All of specops' file writes: plan against what is on disk, then apply all or nothing.

A file is only ever replaced or removed when it is a regular file that starts with the
generated-file header, so nothing a user wrote by hand is lost, and every target must stay inside
the project once symlinks are resolved. Every new text goes to a temporary file next to its target
first; files to remove are first renamed aside. Only when all of that has worked does anything
replace a target, so a failed render changes nothing, and a killed one leaves each file whole.
Temporary files end in TEMP_SUFFIX: a later render removes any that a killed run left behind.
"""

from __future__ import annotations

import errno
import os
import re
import shutil
from collections.abc import Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from enum import Enum
from pathlib import Path, PurePosixPath

from specops.generators import Rendered
from specops.generators.header import also_generated, generated_from, header, is_generated
from specops.spec.files import MAX_FILE_BYTES, Unreadable, read_bytes, real_path_inside
from specops.spec.problems import Problem, SpecError, printable

#: Where generated workflows live; any `specops-*.yml` there with our header is ours.
WORKFLOW_DIR = ".github/workflows"
WORKFLOW_GLOB = "specops-*.yml"
#: The spec's own dvc.yaml, which lists the pipelines' dvc.yaml files rendered with it.
DVC_FILE = "dvc.yaml"
#: Temporary files are named `.<target>.<8 hex digits>.specops-tmp` (ignore them in Git).
TEMP_SUFFIX = ".specops-tmp"
_TEMP_NAME = re.compile(r"\..+\.[0-9a-f]{8}\.specops-tmp")


class Action(str, Enum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    UNCHANGED = "unchanged"


@dataclass(frozen=True)
class Change:
    """What rendering does to one file; `old` and `new` are None where there is no file (or,
    for a temporary file left behind by a killed run, no text worth showing)."""

    path: str
    action: Action
    old: str | None
    new: str | None

    def diff(self) -> str:
        """A unified diff of the change, empty when there is none."""
        if self.action is Action.UNCHANGED or (self.old is None and self.new is None):
            return ""
        import difflib  # only --diff needs it; kept off the start-up path

        lines = difflib.unified_diff(
            (self.old or "").splitlines(keepends=True),
            (self.new or "").splitlines(keepends=True),
            fromfile=f"a/{printable(self.path)}" if self.old is not None else "/dev/null",
            tofile=f"b/{printable(self.path)}" if self.new is not None else "/dev/null",
        )
        # Old texts may hold escape sequences: a diff shows them, it does not play them.
        return "".join(printable(line.rstrip("\n")) + "\n" for line in lines)


def _inside(root: Path, path: str) -> Path:
    """`root / path` after making sure that it stays inside the project, symlinks resolved."""
    try:
        real_path_inside(root, path)
    except Unreadable as exc:
        raise SpecError([Problem.plain(path, exc.reason)]) from exc
    return root / path


def _target(root: Path, path: str) -> Path:
    """A file to write: inside the project, and not a symlink (which would not be ours)."""
    target = _inside(root, path)
    try:
        link = target.is_symlink()
    except OSError as exc:  # a folder on the way that may not be searched
        raise SpecError([Problem.plain(path, f"cannot read: {exc.strerror or exc}")]) from exc
    if link:
        msg = "is a symbolic link; specops only replaces regular files it generated"
        raise SpecError([Problem.plain(path, msg)])
    return target


def _read(root: Path, path: str, spec_name: str, then: str = "render again") -> str | None:
    """The text of a target, None when it does not exist; SpecError when it is not a file
    specops generated from this spec (`then`: what to do once it is moved away)."""
    try:
        raw = read_bytes(_target(root, path))
    except Unreadable as exc:
        raise SpecError([Problem.plain(path, exc.reason)]) from exc
    if raw is None:
        return None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError([_foreign(path, "is not UTF-8 text", then)]) from exc
    if not is_generated(text):
        raise SpecError([_foreign(path, "exists", then)])
    if not text.startswith(header(spec_name)) and not _spec_gone(root, text):
        source = generated_from(text)
        msg = (
            f"was generated from {source!r}, not from {spec_name!r}; render it with"
            f" --spec {source}, or move it away"
        )
        raise SpecError([Problem.plain(path, msg)])
    return text


def _spec_gone(root: Path, text: str) -> bool:
    """Whether the spec that the header of generated `text` names (relative to `root`) is gone:
    a spec renamed or moved leaves such files, which nothing else could render again. A spec
    that a sparse checkout leaves out of the work tree is not gone."""
    spec = generated_from(text)
    return not os.path.lexists(root / spec) and not _sparse(root, spec)


def _sparse(root: Path, path: str) -> bool:
    """Whether Git keeps `path` (relative to `root`) out of a sparse checkout: the file is in
    the repository, only not in this work tree (`S`, skip-worktree, in `git ls-files -t`)."""
    import subprocess  # only a missing spec needs it; kept off the path of render --check

    try:
        proc = subprocess.run(
            ["git", "ls-files", "-t", "--", f":(literal){path}"],
            cwd=root,
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except OSError:  # no git: no sparse checkout either
        return False
    return proc.returncode == 0 and proc.stdout.startswith("S ")


def _foreign(path: str, what: str, then: str) -> Problem:
    return Problem.plain(
        path, f"{what} and was not generated by specops; move it away, then {then}"
    )


def _ours(path: Path, spec_name: str) -> str | None:
    """The text of a regular file that specops generated from this spec, else None (never an
    error: a file that merely matches the glob is somebody else's, and is left alone)."""
    if path.is_symlink():
        return None
    try:
        raw = read_bytes(path)
        text = None if raw is None else raw.decode("utf-8")
    except (Unreadable, UnicodeDecodeError):
        return None
    return text if text is not None and text.startswith(header(spec_name)) else None


def leftovers(root: Path, folders: Iterable[str]) -> list[Change]:
    """Temporary files that a killed render left in the folders specops writes to."""
    changes = []
    for folder in sorted(set(folders)):
        # glob finds nothing in a folder that is missing or is not a folder
        for temp in sorted((root / folder).glob(f".*{TEMP_SUFFIX}")):
            if _TEMP_NAME.fullmatch(temp.name) and temp.is_file() and not temp.is_symlink():
                path = temp.relative_to(root).as_posix()
                changes.append(Change(path, Action.DELETE, None, None))
    return changes


def _check_size(file: Rendered) -> None:
    size = len(file.text.encode("utf-8", "surrogateescape"))
    if size > MAX_FILE_BYTES:  # it could never be read back, so never checked or updated
        msg = (
            f"would be {size / 2**20:.1f} MiB, more than the {MAX_FILE_BYTES // 2**20} MiB"
            " specops reads; make the spec smaller (long values, lists or aliases)"
        )
        raise SpecError([Problem.plain(file.path, msg)])


def _change(file: Rendered, old: str | None) -> Change:
    if old is None:
        return Change(file.path, Action.CREATE, None, file.text)
    action = Action.UNCHANGED if old == file.text else Action.UPDATE
    return Change(file.path, action, old, file.text)


def plan(
    root: Path, files: Iterable[Rendered], spec_name: str, *, workflows: bool = True
) -> list[Change]:
    """Compare the files rendered from `spec_name` with the disk; raise SpecError for any file
    specops may not replace. `root` must be resolved. Without `workflows`, the workflows folder
    of `root` is not searched for generated workflows that the spec no longer asks for (nor
    for temporary files): it is another's to clean up."""
    changes: list[Change] = []
    problems: list[Problem] = []
    wanted = set()
    for file in files:
        wanted.add(file.path)
        try:
            _check_size(file)
            old = _read(root, file.path, spec_name)
        except SpecError as exc:
            problems += exc.problems
            continue
        changes.append(_change(file, old))
    if workflows:
        changes += _stale_workflows(root, wanted, spec_name, problems)
    changes += _dropped_pipelines(root, changes, wanted, spec_name)
    if problems:
        raise SpecError(problems)
    folders = {PurePosixPath(f).parent.as_posix() for f in wanted}
    return changes + leftovers(root, folders | ({WORKFLOW_DIR} if workflows else set()))


def _stale_workflows(
    root: Path, wanted: set[str], spec_name: str, problems: list[Problem]
) -> list[Change]:
    """The removal of the workflows generated from `spec_name` that it no longer asks for."""
    try:
        folder = _inside(root, WORKFLOW_DIR)
    except SpecError as exc:
        problems += exc.problems
        return []
    changes = []
    for stale in sorted(folder.glob(WORKFLOW_GLOB)):
        path = stale.relative_to(root).as_posix()
        old = _ours(stale, spec_name)
        if path not in wanted and old is not None:
            changes.append(Change(path, Action.DELETE, old, None))
    return changes


def _generated_workflows(root: Path) -> list[tuple[str, str]]:
    """(path, text) of every regular `specops-*.yml` in the workflows folder that starts with
    the header of some spec; nothing when the folder leads out of `root`."""
    try:
        folder = _inside(root, WORKFLOW_DIR)
    except SpecError:  # plan reports it
        return []
    found = []
    for file in sorted(folder.glob(WORKFLOW_GLOB)):
        if file.is_symlink():
            continue
        try:
            raw = read_bytes(file)
            text = None if raw is None else raw.decode("utf-8")
        except (Unreadable, UnicodeDecodeError):
            continue
        if text is not None and is_generated(text):
            found.append((file.relative_to(root).as_posix(), text))
    return found


def workflow_sources(root: Path) -> set[str]:
    """The specs that the generated workflows of `root` name in their headers."""
    return {generated_from(text) for _, text in _generated_workflows(root)}


def orphans(root: Path, wanted: Iterable[str]) -> list[Change]:
    """The removal of generated workflows, other than `wanted`, whose spec is gone (the header
    names it relative to `root`): what a spec moved to another folder, or renamed, left behind.
    Any spec's render removes them, as nothing could render them again."""
    wanted = set(wanted)
    return [
        Change(path, Action.DELETE, text, None)
        for path, text in _generated_workflows(root)
        if path not in wanted and _spec_gone(root, text)
    ]


def _dropped_pipelines(
    root: Path, changes: list[Change], wanted: set[str], spec_name: str
) -> list[Change]:
    """The pipelines' dvc.yaml files that the last render wrote (as its dvc.yaml lists them)
    and that the spec no longer asks for, when they are still as specops generated them."""
    before = next((c.old for c in changes if c.path == DVC_FILE and c.old is not None), "")
    dropped = []
    for path in also_generated(before):
        if path in wanted or PurePosixPath(path).name != DVC_FILE:
            continue
        try:
            old = _ours(_inside(root, path), spec_name)
        except SpecError:  # a path that leaves the project is nobody's to remove here
            continue
        if old is not None:
            dropped.append(Change(path, Action.DELETE, old, None))
    return dropped


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _temp_beside(target: Path) -> Path:
    import secrets  # only writes need it; kept off the path of render --check

    return target.with_name(f".{target.name}.{secrets.token_hex(4)}{TEMP_SUFFIX}")


def _write_temp(target: Path, text: str) -> Path:
    temp = _temp_beside(target)
    mode = target.stat().st_mode & 0o777 if target.exists() else 0o666 & ~_umask()
    # O_EXCL never follows a symbolic link: one at the temporary name makes this fail.
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, mode)  # open() applied the umask to a rewritten file's own mode
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return temp


class _Transaction:
    """Applying changes in two halves: staging, which can be undone, then the commit, which
    can be undone too as long as the old texts are kept aside."""

    def __init__(self, root: Path, expect: Mapping[str, bytes] | None = None) -> None:
        self.root = root
        self.expect = expect or {}  # files that must still hold these bytes when replaced
        self.made_dirs: list[Path] = []
        self.staged: list[tuple[Path, Path]] = []  # temporary file -> target
        self.kept: dict[Path, Path] = {}  # target -> a copy of its old text, until commit ends
        self.set_aside: list[tuple[Path, Path]] = []  # original -> where it waits for removal

    def mkdirs(self, folder: Path) -> None:
        missing = [p for p in (folder, *folder.parents) if not p.exists()]
        for path in reversed(missing):
            path.mkdir()
            self.made_dirs.append(path)

    def stage(self, change: Change) -> None:
        target = self.root / change.path
        if change.new is not None:
            self.mkdirs(target.parent)
            self.staged.append((_write_temp(target, change.new), target))
            if change.old is not None:  # a copy of the old text, to undo the replace
                kept = _temp_beside(target)
                # A copy, not a hard link: a link would share the owner of a file that may
                # not be ours to remove (a sticky folder), and the old text is small.
                shutil.copy2(target, kept)
                self.kept[target] = kept
        else:  # set aside, so that a later failure can put it back
            # Next to the spec's dvc.yaml, whose folder every render searches for what a
            # killed one left: the folder of a dropped pipeline is searched no more.
            aside = _temp_beside(self.root / target.name)
            try:
                os.rename(target, aside)
            except OSError as exc:
                if exc.errno != errno.EXDEV:
                    raise
                aside = _temp_beside(target)  # another file system: beside it, then
                os.rename(target, aside)
            self.set_aside.append((target, aside))

    def roll_back(self, replaced: Iterable[Path] = ()) -> None:
        # Best effort: the error that led here is the one worth reporting.
        for target in replaced:
            kept = self.kept.get(target)
            with suppress(OSError):
                if kept is None:  # this render created it
                    target.unlink()
                else:
                    os.replace(kept, target)
        for temp in (*(t for t, _ in self.staged), *self.kept.values()):
            with suppress(OSError):  # a staged file that replaced its target is gone already
                temp.unlink()
        for original, aside in reversed(self.set_aside):
            with suppress(OSError):
                os.rename(aside, original)
        for folder in reversed(self.made_dirs):
            with suppress(OSError):
                folder.rmdir()

    def changed(self) -> list[Problem]:
        """Every expected file whose bytes are no longer those the caller read."""
        problems = []
        for path, raw in self.expect.items():
            try:
                now = read_bytes(self.root / path)
            except Unreadable as exc:
                problems.append(Problem.plain(path, exc.reason))
                continue
            if now != raw:
                msg = "changed while specops was reading it; nothing was written, run it again"
                problems.append(Problem.plain(path, msg))
        return problems

    def commit(self) -> None:
        # Checked once everything is staged, right before the first replace: the window in
        # which another writer could slip in is as short as it can be.
        changed = self.changed()
        if changed:
            self.roll_back()
            raise SpecError(changed)
        replaced: list[Path] = []
        for temp, target in self.staged:
            try:
                os.replace(temp, target)
            except OSError as exc:
                self.roll_back(replaced)
                path = target.relative_to(self.root).as_posix()
                problem = Problem.plain(path, f"cannot write: {exc.strerror or exc}")
                raise SpecError([problem]) from exc
            replaced.append(target)
        for kept in (*self.kept.values(), *(aside for _, aside in self.set_aside)):
            kept.unlink(missing_ok=True)


def apply(root: Path, changes: Iterable[Change], expect: Mapping[str, bytes] | None = None) -> None:
    """Carry out the changes, all or none: every new text is staged in full, every old text
    kept under a second name and every removal set aside before any target is replaced; a
    replace that fails puts back those done before it. Each path in `expect` must still hold
    those bytes when the replacing starts, or nothing is replaced."""
    transaction = _Transaction(root, expect)
    try:
        for change in changes:
            if change.action is Action.UNCHANGED:
                continue
            try:
                transaction.stage(change)
            except OSError as exc:
                verb = "write" if change.new is not None else "remove"
                problem = Problem.plain(change.path, f"cannot {verb}: {exc.strerror or exc}")
                raise SpecError([problem]) from exc
    except BaseException:
        transaction.roll_back()
        raise
    transaction.commit()


def plan_new(root: Path, files: Iterable[Rendered]) -> list[Change]:
    """The creation of files that must not exist yet (scaffolding); SpecError if one does, or
    if one would land outside the project."""
    files = list(files)
    problems = []
    for file in files:
        try:
            target = _target(root, file.path)
        except SpecError as exc:
            problems += exc.problems
            continue
        if os.path.lexists(target):
            msg = "already exists; specops init does not replace it"
            problems.append(Problem.plain(file.path, msg))
    if problems:
        raise SpecError(problems)
    return [Change(f.path, Action.CREATE, None, f.text) for f in files]


def refuse_clash(spec_path: Path, spec_name: str, files: Iterable[Rendered]) -> None:
    """The spec may not be, nor stand where, a file or folder that specops writes."""
    files = list(files)
    taken = {f.path for f in files} | {str(p) for f in files for p in PurePosixPath(f.path).parents}
    if spec_name in taken:
        msg = (
            "specops writes a file or folder of that name itself; choose another name for the spec"
        )
        raise SpecError([Problem.plain(str(spec_path), msg)])


def take_over(
    root: Path, files: Iterable[Rendered], spec_name: str, read: Mapping[str, bytes]
) -> list[Change]:
    """Plan (see plan_take_over) and apply, the spec last; the changes."""
    changes = plan_take_over(root, files, spec_name, read)
    last = sorted(changes, key=lambda c: c.path == spec_name)  # stable: the rest keep their order
    apply(root, last, expect=read)
    return changes


def plan_take_over(
    root: Path, files: Iterable[Rendered], spec_name: str, read: Mapping[str, bytes]
) -> list[Change]:
    """Write a new spec and what it renders, all or nothing, replacing the files in `read`
    (path -> the bytes the caller read there), which need not have been generated: each must
    still hold exactly those bytes when it is replaced. The spec must not exist yet; every other
    file is written only where `plan` would write it (a missing file, or one generated from this
    spec). The spec is written last: a run stopped before it leaves no spec, and running it
    again finishes the job; temporary files that a stopped run left are removed."""
    changes: list[Change] = []
    problems: list[Problem] = []
    files = list(files)
    for file in files:
        try:
            _check_size(file)
            if file.path in read:
                _target(root, file.path)  # inside the project, and not a symlink
                old: str | None = read[file.path].decode("utf-8", "surrogateescape")
            elif file.path == spec_name:
                if os.path.lexists(_target(root, file.path)):
                    raise SpecError([Problem.plain(file.path, "already exists")])
                old = None
            else:
                old = _read(root, file.path, spec_name, "run specops import again")
        except SpecError as exc:
            problems += exc.problems
            continue
        changes.append(_change(file, old))
    if problems:
        raise SpecError(problems)
    changes += leftovers(root, {PurePosixPath(f.path).parent.as_posix() for f in files})
    return changes


def write_output(path: Path, text: str) -> None:
    """A report the user asked for by name (`--output FILE`): written whole or not at all,
    replacing a file there; a folder or a missing parent folder is an error (exit 2)."""
    if path.is_dir():
        raise SpecError([Problem.plain(str(path), "is a folder; --output names a file")])
    try:
        temp = _write_temp(path, text)
        os.replace(temp, path)
    except OSError as exc:
        raise SpecError(
            [Problem.plain(str(path), f"cannot write it: {exc.strerror or exc}")]
        ) from None
