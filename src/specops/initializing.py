"""`specops init`: scaffold a project into a folder, empty or not.

Only what is missing is created; a file that is there already is kept, and the spec is made to
fit what is kept, or init refuses and says what to do. A DVC pipeline that specops did not
generate is for `specops import`. Everything is planned before anything is written, and the spec
is written last: a killed init leaves no spec, so running init again completes it.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from specops import layout, writer
from specops.generators import Rendered
from specops.generators import render as render_files
from specops.generators.header import is_generated
from specops.spec import SPEC_FILE, Problem, SpecError, parse_spec
from specops.spec.dvcconfig import dvc_dir, load_parsing
from specops.spec.files import Unreadable, read_bytes, real_path_inside
from specops.spec.load import check_spec_name, spec_root
from specops.spec.models import BRANCH, Spec
from specops.spec.remotes import dvc_extras
from specops.spec.yamlfile import load_yaml

PARAMS = "params.yaml"
REQUIREMENTS = "requirements.txt"
TRAIN = "src/train.py"
GITIGNORE = ".gitignore"
#: What the scaffold's stage writes: a file of the user's there would be replaced by `dvc repro`.
OUTS = ("models/model.json", "metrics/scores.json")
#: The scaffold's stage line that names its params, left out when they are not the scaffold's.
PARAMS_LINE = "    params: [train]\n"
_IMPORT = "run `specops import` to adopt it"
_FOLDER = "is a folder, but specops init writes a file of that name; move it away"
#: Folders DVC itself never looks into for pipelines.
_SKIPPED = {".git", ".hg", ".dvc"}
_NAME = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


@dataclass
class InitResult:
    """What init did to each file, what is left for the user to do by hand, and the commands
    that are left to run."""

    created: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    #: (path, what to do about it)
    todo: list[tuple[str, str]] = field(default_factory=list)
    next: list[str] = field(default_factory=list)
    #: Every file in order, with what happened to it, for the text output.
    files: list[tuple[str, str]] = field(default_factory=list)

    def note(self, action: str, path: str) -> None:
        getattr(self, action).append(path)
        self.files.append((action, path))

    def as_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "kept": self.kept,
            "updated": self.updated,
            "removed": self.removed,
            "todo": [{"path": path, "do": what} for path, what in self.todo],
            "next": self.next,
        }


def init(spec_path: Path | None) -> InitResult:
    """Scaffold a project around `spec_path` (default `specops.yaml` here)."""
    from specops import scaffold  # only init needs the scaffold's package data

    spec_path = spec_path if spec_path is not None else Path(SPEC_FILE)
    check_spec_name(spec_path)
    root = spec_root(spec_path)
    spec_name = spec_path.name
    if os.path.lexists(root / spec_name):
        msg = "already exists: this is a specops project; edit the spec, then run `specops render`"
        raise SpecError([Problem.plain(str(spec_path), msg)])
    problems = list(_pipelines(root))
    spec_file, *files = scaffold.files(root, spec_name, _current_branch(root))
    own = {f.path: f.text for f in files}
    kinds: dict[str, str] = {}  # path -> "create" or "keep"
    for file in files:
        kind = _kind(root, file.path, problems)
        if kind is not None:
            kinds[file.path] = kind
    problems += _outs_in_the_way(root)
    if problems:
        raise SpecError(problems)
    result = InitResult()
    ours_train = kinds[TRAIN] == "create" or _same(root, TRAIN, own[TRAIN])
    text = _fit_spec(root, spec_file, kinds, ours_train)
    # Our own template, so the schema is all there is to check; the rest is checked below.
    spec = Spec.model_validate(load_yaml(spec_file.path, text.encode()).data)
    # In a folder of a Git repository, the workflows go to the Git root, and every path
    # below is relative to it.
    where = layout.layout(root, str(spec_path))
    rendered = render_files(
        spec, spec_name, where.folder, dvc_extras=dvc_extras(root), watched=layout.watched(where)
    )
    writer.refuse_clash(spec_path, spec_name, [*files, *rendered])
    _check_fit(spec_path, root, text, kinds, ours_train)
    problems = [
        p
        for f, path in zip(rendered, layout.paths(where, rendered), strict=True)
        if (p := _foreign(where.top, path)) is not None
    ]
    if problems:
        raise SpecError(set(problems))
    creates = writer.plan_new(root, [f for f in files if kinds[f.path] == "create"])
    changes = [*layout.moved(where, creates), *layout.plan(where, rendered, spec_name)]
    folders = {PurePosixPath(f.path).parent.as_posix() for f in files}
    planned = {c.path for c in changes}  # render's plan takes those of its own folders
    changes += [
        c for c in layout.moved(where, writer.leftovers(root, folders)) if c.path not in planned
    ]
    # The spec last: while it is missing, init can run again and finish what a kill cut short.
    changes += layout.moved(where, writer.plan_new(root, [Rendered(spec_name, text)]))
    writer.apply(where.top, changes)
    actions = {c.path: c.action for c in changes}
    shown = layout.paths(where, [Rendered(spec_name, text), *files, *rendered])
    for path in shown:
        action = actions.get(path)
        result.note(_ACTIONS[action] if action is not None else "kept", path)
    for change in changes:
        if change.action is writer.Action.DELETE and change.old is not None:
            result.note("removed", change.path)
    # Relative to the Git root, as the lines above.
    result.todo = [(where.path(path), do) for path, do in _todo(root, kinds, own, ours_train)]
    if where.folder and not _ignores_temp(_read(where.top, GITIGNORE)):
        # The workflows, and their temporary files, are at the Git root.
        result.todo.append((GITIGNORE, _IGNORE_TEMP + " at the Git root, beside the workflows"))
    result.next = _next_steps(root)
    return result


_ACTIONS = {
    writer.Action.CREATE: "created",
    writer.Action.UPDATE: "updated",
    writer.Action.UNCHANGED: "kept",
    writer.Action.DELETE: "removed",
}


def _pipelines(root: Path) -> list[Problem]:
    """Every dvc.yaml that specops did not generate here, and any in a folder below: a DVC
    project of its own, for `specops import`."""
    problems = []
    top = root / "dvc.yaml"
    if top.is_dir() and not top.is_symlink():
        problems.append(Problem.plain("dvc.yaml", _FOLDER))
    elif os.path.lexists(top) and not _generated(top):
        msg = f"exists and was not generated by specops: this is a DVC project; {_IMPORT}"
        problems.append(Problem.plain("dvc.yaml", msg))
    ignored = _git_ignored(root)
    for folder, dirs, names in os.walk(root):  # symbolic links to folders are not followed
        here = Path(os.path.relpath(folder, root)).as_posix()
        below = "" if here == "." else f"{here}/"
        dirs[:] = sorted(d for d in dirs if d not in _SKIPPED and f"{below}{d}/" not in ignored)
        if "dvc.yaml" in names and below and f"{below}dvc.yaml" not in ignored:
            msg = f"is a DVC pipeline in a folder of this project; {_IMPORT}"
            problems.append(Problem.plain(f"{below}dvc.yaml", msg))
    return problems


def _current_branch(root: Path) -> str:
    """The branch checked out in `root` (even one with no commit yet), which CI is to run on;
    `main` outside a repository, on a detached HEAD, or for a name the spec would refuse."""
    import subprocess  # only init needs it

    try:
        proc = subprocess.run(
            ["git", "symbolic-ref", "--short", "-q", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except OSError:  # no git
        return "main"
    name = proc.stdout.strip()
    ok = proc.returncode == 0 and re.fullmatch(BRANCH, name) and "*" not in name
    return name if ok else "main"


def _git_ignored(root: Path) -> set[str]:
    """What Git ignores below `root` (folders end in `/`), which DVC skips when it collects
    pipelines: a dvc.yaml in an ignored `.venv` is no pipeline. Empty outside a repository."""
    import subprocess  # only init needs it

    try:
        proc = subprocess.run(
            ["git", "ls-files", "-z", "--others", "--ignored", "--exclude-standard", "--directory"],
            cwd=root,
            capture_output=True,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except OSError:  # no git: nothing is ignored
        return set()
    if proc.returncode != 0:
        return set()
    return {os.fsdecode(p) for p in proc.stdout.split(b"\0") if p}


def _generated(path: Path) -> bool:
    if path.is_symlink():
        return False
    try:
        raw = read_bytes(path)
    except Unreadable:
        return False
    return raw is not None and is_generated(raw.decode("utf-8", "replace"))


def _kind(root: Path, path: str, problems: list[Problem]) -> str | None:
    """Whether a scaffold file is to be created or kept; None, with a problem, when what is
    there is in its way."""
    problem = _not_a_folder(root, path)
    if problem is not None:
        problems.append(problem)
        return None
    target = root / path
    try:
        info = os.lstat(target)
    except FileNotFoundError:
        return "create"
    except OSError as exc:
        problems.append(Problem.plain(path, f"cannot read: {exc.strerror or exc}"))
        return None
    if stat.S_ISLNK(info.st_mode):
        try:
            real = real_path_inside(root, path)
        except Unreadable:  # outside the project: kept, and never read
            return "keep"
        if not real.exists():
            msg = "is a symbolic link to nothing; remove it, or point it at a file"
            problems.append(Problem.plain(path, msg))
            return None
        info = os.stat(real)
    if stat.S_ISDIR(info.st_mode):
        problems.append(Problem.plain(path, _FOLDER))
        return None
    if not stat.S_ISREG(info.st_mode):
        problems.append(Problem.plain(path, "is not a regular file; move it away"))
        return None
    return "keep"


def _not_a_folder(root: Path, path: str) -> Problem | None:
    """A file where `path` needs a folder (`src` for src/train.py)."""
    parts = PurePosixPath(path).parts
    for i in range(1, len(parts)):
        folder = "/".join(parts[:i])
        if os.path.lexists(root / folder) and not (root / folder).is_dir():
            msg = f"is not a folder, but specops init writes {path} in a folder of that name"
            return Problem.plain(folder, f"{msg}; move it away")
    return None


def _outs_in_the_way(root: Path) -> list[Problem]:
    msg = (
        "exists, and the stage of the spec specops init writes has it as an out, which"
        " `dvc repro` would replace; move it away"
    )
    return [Problem.plain(out, msg) for out in OUTS if os.path.lexists(root / out)]


def _read(root: Path, path: str) -> bytes | None:
    """A kept file's bytes, None when it cannot be read (or leads out of the project)."""
    try:
        return read_bytes(real_path_inside(root, path))
    except Unreadable:
        return None


def _same(root: Path, path: str, text: str) -> bool:
    """Whether a kept file is the scaffold's own (as a killed init leaves it)."""
    return _read(root, path) == text.encode("utf-8")


def _params(root: Path) -> Any:
    """The data of a kept params.yaml; SpecError when it cannot be read."""
    try:
        raw = read_bytes(real_path_inside(root, PARAMS))
    except Unreadable as exc:
        raise SpecError([Problem.plain(PARAMS, exc.reason)]) from exc
    return None if raw is None else load_yaml(PARAMS, raw).data


def _fit_spec(root: Path, spec_file: Rendered, kinds: dict[str, str], ours_train: bool) -> str:
    """The scaffold's spec, without the stage's params when they cannot be the scaffold's: a
    kept params.yaml without `train`, read by a kept src/train.py."""
    text = spec_file.text
    if kinds[PARAMS] == "keep" and not ours_train:
        data = _params(root)
        if not isinstance(data, dict) or "train" not in data:
            assert PARAMS_LINE in text
            text = text.replace(PARAMS_LINE, "")
    return text


def _check_fit(
    spec_path: Path, root: Path, text: str, kinds: dict[str, str], ours_train: bool
) -> None:
    """Refuse a spec that would not be valid with what is kept: the checks that read files
    other than the spec read a kept params.yaml and DVC's config."""
    if kinds[PARAMS] == "keep":
        if ours_train:
            missing = _missing_train_params(_params(root))
            if missing:
                msg = (
                    f"has no {' or '.join(missing)}, which the {TRAIN} that specops init writes"
                    " reads; add `train: {seed: 42, scale: 0.5}` to it, or put your own"
                    f" {TRAIN} in place first"
                )
                raise SpecError([Problem.plain(PARAMS, msg)])
        parse_spec(str(spec_path), text.encode(), root)  # SpecError with what does not fit
    else:
        _, problems = load_parsing(root)
        if problems:
            raise SpecError(problems)


def _missing_train_params(data: Any) -> list[str]:
    train = data.get("train") if isinstance(data, dict) else None
    if not isinstance(train, dict):
        return ["'train.seed'", "'train.scale'"]
    return [
        f"'train.{key}' (a number)"
        for key in ("seed", "scale")
        if isinstance(train.get(key), bool) or not isinstance(train.get(key), (int, float))
    ]


def _foreign(root: Path, path: str) -> Problem | None:
    """A file in the place of a generated one that specops did not generate (dvc.yaml is
    refused earlier, pointing to `specops import`), or a file where it needs a folder."""
    in_the_way = _not_a_folder(root, path)
    if in_the_way is not None:
        return in_the_way
    if not os.path.lexists(root / path) or _generated(root / path):
        return None
    msg = "exists and was not generated by specops; move it away, then run `specops init` again"
    return Problem.plain(path, msg)


def _requirement_names(text: str) -> set[str]:
    names = set()
    for line in text.splitlines():
        match = _NAME.match(line.split("#", 1)[0])
        if match:
            names.add(re.sub(r"[-_.]+", "-", match.group(1)).lower())
    return names


_IGNORE_TEMP = (
    f"add the line `*{writer.TEMP_SUFFIX}`: Git should ignore the temporary files a killed"
    " specops command leaves"
)


def _ignores_temp(raw: bytes | None) -> bool:
    """Whether a .gitignore (None: missing or unreadable) has the line for temporary files."""
    lines = (raw or b"").decode("utf-8", "replace").splitlines()
    return f"*{writer.TEMP_SUFFIX}" in {line.strip() for line in lines}


def _todo(
    root: Path, kinds: dict[str, str], own: dict[str, str], ours_train: bool
) -> list[tuple[str, str]]:
    """What is left to do by hand about the files that were kept."""
    todo = []
    if kinds[REQUIREMENTS] == "keep" and not _same(root, REQUIREMENTS, own[REQUIREMENTS]):
        needed = ["specops", "dvc", *(["PyYAML"] if ours_train else [])]
        raw = _read(root, REQUIREMENTS)  # None: out of the project or unreadable, unknown
        have = _requirement_names(raw.decode("utf-8", "replace")) if raw is not None else set()
        missing = [name for name in needed if name.lower() not in have]
        if missing and raw is not None:
            todo.append(
                (
                    REQUIREMENTS,
                    f"add {', '.join(missing)}: CI installs from it (`pip install -r"
                    f" {REQUIREMENTS}`), unless it installs them another way",
                )
            )
    if kinds[GITIGNORE] == "keep":
        raw = _read(root, GITIGNORE)
        if raw is not None and not _ignores_temp(raw):
            todo.append((GITIGNORE, _IGNORE_TEMP))
    if not ours_train:
        todo.append(
            (
                TRAIN,
                f"the stage `train` of the spec runs it and expects it to write {OUTS[0]} and"
                f" {OUTS[1]}: make the stage's deps, params, outs and metrics what it reads and"
                " writes, then run `specops render`",
            )
        )
    return todo


def _next_steps(root: Path) -> list[str]:
    """The commands left to run: only what the folder does not have yet."""
    chain = [root, *root.parents]
    git_root = next((f for f in chain if os.path.lexists(f / ".git")), None)
    steps = [] if git_root is not None else ["git init"]
    if dvc_dir(root) is None:
        # DVC refuses to start a repository below Git's own root unless told to.
        steps.append("dvc init --subdir" if git_root not in (None, root) else "dvc init")
    return [*steps, "dvc repro"]
