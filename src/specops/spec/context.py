"""What `${...}` can name, loaded as DVC loads it for a dvc.yaml (`Context.load_from_vars`):
params.yaml next to it when it exists, then each `vars` entry in order, merged without
overwriting anything."""

from __future__ import annotations

import datetime
import json
import posixpath
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from specops.spec import pyfile
from specops.spec.dvcconfig import DEFAULT, Parsing, load_parsing
from specops.spec.files import Unreadable, read_bytes, real_path_inside
from specops.spec.interpolate import has_reference, leaves
from specops.spec.models import Stage
from specops.spec.pipeline import normalize, path_problem
from specops.spec.problems import KeyPath, Problem, SpecError
from specops.spec.pyfile import is_python, load_py
from specops.spec.yamlfile import YamlDoc, load_yaml

PARAMS_FILE = "params.yaml"


@dataclass
class Context:
    """The merged values, and params.yaml as read (None when there is none)."""

    data: dict[str, Any] = field(default_factory=dict)
    params: YamlDoc | None = None
    params_readable: bool = True
    problems: list[Problem] = field(default_factory=list)
    #: Where each key path was defined, for "already defined in ..." messages.
    sources: dict[tuple[str, ...], str] = field(default_factory=dict)
    #: Files loaded so far: None when whole, else the keys taken, as DVC's `imports`.
    imports: dict[str, list[str] | None] = field(default_factory=dict)
    #: The params.yaml next to the dvc.yaml, relative to the spec.
    params_path: str = PARAMS_FILE
    #: How DVC's config says a mapping in `cmd` becomes arguments.
    parsing: Parsing = DEFAULT


def _read(root: Path, name: str) -> YamlDoc | None:
    try:
        raw = read_bytes(real_path_inside(root, name))
    except Unreadable as exc:
        raise SpecError([Problem.plain(name, exc.reason)]) from exc
    return None if raw is None else load_yaml(name, raw)


def _unsupported(doc: YamlDoc, value: Any, path: KeyPath) -> Iterator[Problem]:
    """Values DVC's context refuses (it stops with a TypeError on a date in any file it loads)."""
    for where, leaf in leaves(value, path):
        if isinstance(leaf, (datetime.date, bytes)):
            what = "a date" if isinstance(leaf, datetime.date) else "binary data"
            yield doc.problem(
                where, f"DVC cannot load {what} into its values for `${{...}}`; quote it"
            )


def _has_reference(value: Any) -> bool:
    if isinstance(value, str):
        return has_reference(value)
    if isinstance(value, dict):
        return any(_has_reference(k) or _has_reference(v) for k, v in value.items())
    return isinstance(value, list) and any(_has_reference(v) for v in value)


def _strings_only(value: Any) -> Any:
    """The value as DVC's context holds it: mappings keep only their string keys."""
    if isinstance(value, dict):
        return {k: _strings_only(v) for k, v in value.items() if isinstance(k, str)}
    if isinstance(value, list):
        return [_strings_only(v) for v in value]
    return value


def _merge(ctx: Context, into: dict[str, Any], update: dict[str, Any], source: str) -> str | None:
    """Merge `update` into `into` as DVC does: mappings merge key by key, and anything else
    that is defined already is a conflict, returned as a message."""
    stack: list[tuple[dict[str, Any], dict[str, Any], tuple[str, ...]]] = [(into, update, ())]
    while stack:
        target, new, prefix = stack.pop()
        for key, value in new.items():
            path = (*prefix, key)
            if isinstance(target.get(key), dict) and isinstance(value, dict):
                # Copied before it changes: a stage's context shares the rest with the spec's.
                target[key] = dict(target[key])
                stack.append((target[key], value, path))
                continue
            if key in target:
                before = next(
                    (
                        ctx.sources[path[:n]]
                        for n in range(len(path), 0, -1)
                        if path[:n] in ctx.sources
                    ),
                    "?",
                )
                return f"cannot redefine {'.'.join(path)!r} from {source!r}: {before!r} defines it"
            target[key] = value
            ctx.sources[path] = source
    return None


def _file(ctx: Context, root: Path, entry: str) -> tuple[str, dict[str, Any] | None]:
    """Load the file a `vars` entry names (`path` or `path:key,key`): its normalized path and
    its values (None when it is loaded already, as a whole)."""
    name, _, keys_text = entry.partition(":")
    keys = [k for k in keys_text.split(",") if k] or None
    reason = path_problem(name)
    if reason:
        raise ValueError(reason)
    path = normalize(name)
    if path in ctx.imports:
        loaded = ctx.imports[path]
        if keys is None and loaded is None:
            return path, None
        if keys is None or loaded is None or set(keys) & set(loaded):
            how = "partially " if keys is not None and loaded is None else ""
            raise ValueError(f"cannot {how}load {entry!r}: {path!r} is loaded already")
    python = is_python(path)
    if path.endswith(".toml"):
        raise ValueError(f"{path!r}: specops reads vars from YAML, JSON and Python files only")
    try:
        if path.endswith(".json") or python:
            raw = read_bytes(real_path_inside(root, path))
            if raw is None:
                doc = None
            else:
                doc = load_py(path, raw) if python else YamlDoc(path, json.loads(raw))
        else:
            doc = _read(root, path)
    except (Unreadable, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read {path!r}: {getattr(exc, 'reason', exc)}") from exc
    if doc is None:
        raise ValueError(f"{path!r} does not exist")
    if not isinstance(doc.data, dict):
        raise ValueError(f"{path!r} must hold a mapping at the top level")
    data = _strings_only(doc.data)
    if keys is not None:
        missing = [k for k in keys if k not in data]
        if missing:
            raise ValueError(f"{missing[0]!r} is not a top-level key of {path!r}")
        data = {k: data[k] for k in keys}
    # DVC's context converts only the keys it takes: only their values must be loadable.
    taken = {k: doc.data[k] for k in data}
    ctx.problems += (pyfile.unsupported if python else _unsupported)(doc, taken, ())
    if path in ctx.imports:  # more keys of a file loaded in part before
        ctx.imports[path] = [*(ctx.imports[path] or []), *(keys or [])]
    else:
        ctx.imports[path] = keys
    return path, data


class Unparsable(Unreadable):
    """A params file that DVC could not read either, with the problems at their place in it."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__(str(problems[0]))
        self.problems = problems


def params_file(root: Path, name: str) -> Any:
    """The data of a params file other than params.yaml, as DVC reads it; None when specops
    cannot read its keys (TOML before Python 3.11); Unreadable when it cannot be a params file
    at all (Unparsable for a Python file that is not valid Python)."""
    reason = path_problem(name)
    if reason:
        return Unreadable(reason)
    path = normalize(name)
    try:
        raw = read_bytes(real_path_inside(root, path))
    except Unreadable as exc:
        return Unreadable(f"{path!r}: {exc.reason}")
    if raw is None:
        return Unreadable(f"{path!r} does not exist")
    try:
        if path.endswith(".json"):
            return json.loads(raw)
        if path.endswith(".toml"):
            if sys.version_info >= (3, 11):
                import tomllib

                return tomllib.loads(raw.decode("utf-8"))
            return None  # no tomllib to read it with
        if is_python(path):
            try:
                return load_py(path, raw).data
            except SpecError as exc:
                return Unparsable(exc.problems)
        return load_yaml(path, raw).data
    except SpecError as exc:
        return Unreadable(f"cannot read {path!r}: {exc.problems[0]}")
    except ValueError as exc:  # JSON, TOML and UTF-8 errors
        return Unreadable(f"cannot read {path!r}: {exc}")


def load_context(
    vars_: list[str | dict[str, Any]], doc: YamlDoc, root: Path, folder: str | None = None
) -> Context:
    """The context of the spec's dvc.yaml, or of the one in `folder`, whose params.yaml and vars
    files are in that folder (DVC loads a dvc.yaml's context from its own folder); problems are
    at the `vars` entry that caused them (or in the file they are in) and leave the entry
    out."""
    ctx = Context(params_path=posixpath.join(folder, PARAMS_FILE) if folder else PARAMS_FILE)
    ctx.parsing, config_problems = load_parsing(root)
    ctx.problems += config_problems
    try:
        ctx.params = _read(root, ctx.params_path)
    except SpecError as exc:
        ctx.problems += exc.problems
        ctx.params_readable = False
    if ctx.params is not None and isinstance(ctx.params.data, dict):
        ctx.problems += _unsupported(ctx.params, ctx.params.data, ())
        _merge(ctx, ctx.data, _strings_only(ctx.params.data), ctx.params_path)
        ctx.imports[ctx.params_path] = None
    _load_vars(ctx, vars_, doc, root, (), folder)
    return ctx


def _load_vars(
    ctx: Context,
    vars_: list[str | dict[str, Any]],
    doc: YamlDoc,
    root: Path,
    stage: KeyPath,
    wdir: str | None = None,
    reserved: tuple[str, ...] = (),
) -> None:
    """Merge `vars_` into `ctx`; `stage` is the stage's key path for a stage's own vars (whose
    files are relative to its `wdir`), () for the top level."""
    for i, entry in enumerate(vars_):
        loc: KeyPath = (*stage, "vars", i)
        if _has_reference(entry):
            ctx.problems.append(doc.problem(loc, "DVC does not resolve `${...}` in vars"))
            continue
        try:
            if isinstance(entry, str):
                source, data = _file(ctx, root, posixpath.join(wdir, entry) if wdir else entry)
            else:
                where = f"{stage[1]}." if stage else ""
                source, data = f"{where}vars[{i}]", _strings_only(entry)
        except ValueError as exc:
            ctx.problems.append(doc.problem(loc, str(exc)))
            continue
        except SpecError as exc:
            ctx.problems += exc.problems
            continue
        taken = [key for key in reserved if data and key in data]
        if taken:  # DVC's ReservedKeyError: a matrix stage's `item` and `key` are its own
            kind = "foreach" if stage[2:] == ("do",) else "matrix"
            msg = f"{taken[0]!r} is the {kind} item's; rename it"
            ctx.problems.append(doc.problem(loc, msg))
            continue
        if data is not None:
            conflict = _merge(ctx, ctx.data, data, source)
            if conflict:
                ctx.problems.append(doc.problem(loc, conflict))


def stage_context(
    ctx: Context,
    name: str,
    stage: Stage,
    doc: YamlDoc,
    root: Path,
    at: KeyPath | None = None,
    reserved: tuple[str, ...] | None = None,
    wdir: str | None = None,
) -> Context:
    """The context a stage with its own `vars` resolves in: the spec's, and then its vars
    (files relative to its wdir), as DVC clones and extends it per stage. `at` is where the
    stage's keys are (a foreach stage's under `do`), `reserved` what its vars may not define,
    `wdir` the stage's wdir resolved (else as written)."""
    own = Context(
        data=dict(ctx.data),  # _merge copies what it changes below the top
        params=ctx.params,
        params_readable=ctx.params_readable,
        params_path=ctx.params_path,
        sources=dict(ctx.sources),
        imports={path: None if keys is None else list(keys) for path, keys in ctx.imports.items()},
        parsing=ctx.parsing,
    )
    if reserved is None:
        reserved = ("item", "key") if stage.matrix is not None else ()
    wdir = wdir or stage.wdir
    _load_vars(own, stage.vars, doc, root, at or ("stages", name), wdir, reserved)
    return own
