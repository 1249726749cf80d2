"""The spec's `${...}` resolved as DVC will resolve the dvc.yaml rendered from it: matrices
first, then every reference of every stage checked once per value it can take, and the paths of
each matrix item built for the checks that follow."""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from specops.spec import interpolate
from specops.spec.context import Context, load_context, stage_context
from specops.spec.foreach import Loop, LoopError, empty_name, is_reference, resolve_loop
from specops.spec.interpolate import Suggest, Unresolved
from specops.spec.models import Foreach, Spec
from specops.spec.pipeline import (
    MAX_PATH_CHARS,
    Bindings,
    Instance,
    Labels,
    Matrix,
    bodies,
    fragment,
    instances,
    items,
    labels_of,
    matrix_size,
)
from specops.spec.problems import KeyPath, Problem
from specops.spec.yamlfile import YamlDoc

#: Stage keys whose strings are repository paths, whose length is bounded before they are built.
_PATH_FIELDS = ("deps", "outs", "metrics", "plots", "wdir")
#: References checked in all (each reference once per value it can take); beyond this a spec
#: is refused rather than checked for minutes.
MAX_REFERENCE_CHECKS = 2_000_000
#: Characters of values put into longer strings, in all: a list of a million numbers in
#: params.yaml, put into a top-level path thousands of times, would cost minutes to write out.
MAX_INTERPOLATED_CHARS = 20_000_000


class Resolver:
    """The context, the resolved matrices and foreach items, and the problems found on the
    way."""

    def __init__(
        self, spec: Spec, doc: YamlDoc, root: Path, ctx: Context, suggest: Suggest
    ) -> None:
        self.spec, self.doc, self.ctx, self.suggest = spec, doc, ctx, suggest
        self.problems: list[Problem] = []
        self.checks = 0
        self.chars = 0
        #: Whether a bound on the work stopped the checks.
        self.exhausted = False
        #: How DVC names the values of each matrix, filled in by _matrix.
        self.labels: dict[str, dict[str, list[str]]] = {}
        self.matrices: dict[str, Matrix | None] = {
            name: self._matrix(name, stage.matrix)
            for name, stage in spec.stages.items()
            if not isinstance(stage, Foreach)
        }
        #: The items of each foreach stage whose items resolved.
        self.loops: dict[str, Loop] = {}
        for name, entry in spec.stages.items():
            if isinstance(entry, Foreach):
                try:
                    self.loops[name] = resolve_loop(entry.foreach, ctx.data, suggest)
                except LoopError as exc:
                    at = ("stages", name, "foreach", *exc.at)
                    self.problems.append(doc.problem(at, str(exc), at_key=exc.at_key))
        #: What each stage with its own vars resolves in (DVC resolves matrices before them).
        self.stage_data: dict[str, dict[str, Any]] = {}
        for name, stage, base in bodies(spec):
            if stage.vars:
                loop = self.loops.get(name)
                reserved: tuple[str, ...] = ("item", "key") if stage.matrix is not None else ()
                if len(base) > 2:  # DVC reserves what it defines: `key` only over a mapping
                    reserved = ("item", "key") if loop is None or loop.keyed else ("item",)
                wdir = self._wdir(stage.wdir)
                own = stage_context(ctx, name, stage, doc, root, base, reserved, wdir)
                self.problems += own.problems
                self.stage_data[name] = own.data

    def _wdir(self, wdir: str | None) -> str | None:
        """A stage's wdir resolved in the spec's values, as DVC resolves it before it loads the
        stage's vars files from there; as written when it cannot be (its reference is checked
        on its own)."""
        if wdir is None or "${" not in wdir:
            return wdir
        try:
            found = interpolate.resolve(wdir, self.ctx.data, "wdir", self.suggest)
        except Unresolved:
            return wdir
        return found if isinstance(found, str) else wdir

    @property
    def sizes(self) -> dict[str, int]:
        """How many stages DVC generates from each stage of the spec that iterates."""
        sizes = {name: matrix_size(m) for name, m in self.matrices.items() if m}
        return sizes | {name: loop.size for name, loop in self.loops.items()}

    def generate(self, name: str) -> Iterator[tuple[str, Bindings]]:
        """The name and the bindings of each stage DVC generates from the stage `name`."""
        loop = self.loops.get(name)
        if loop is not None:
            for label, item in loop.generated():
                yield f"{name}@{label}", loop.bindings(label, item)
            return
        for label, item in items(self.matrices.get(name), self.labels.get(name)):
            if item is None:
                yield name, None
            else:
                yield f"{name}@{label}", {"item": item, "key": label}

    def _matrix(self, name: str, matrix: Mapping[str, Any] | None) -> Matrix | None:
        """The matrix with its `${...}` resolved; a key whose values cannot be is dropped, with
        a problem."""
        if matrix is None:
            return None
        resolved: dict[str, list[Any]] = {}
        labels = self.labels.setdefault(name, {})
        for key, values in matrix.items():
            loc: KeyPath = ("stages", name, "matrix", key)
            try:
                if isinstance(values, str):
                    found = interpolate.resolve(values, self.ctx.data, None, self.suggest)
                    if not isinstance(found, list):
                        what = "text" if isinstance(found, str) else interpolate.kind(found)
                        raise Unresolved(f"must be a list of values; {values!r} is {what}")
                    resolved[key] = found
                    labels[key] = [fragment(key, i, v, True) for i, v in enumerate(found)]
                else:
                    resolved[key], labels[key] = [], []
                    for i, value in enumerate(values):
                        loc = (*loc[:4], i)
                        exact = isinstance(value, str) and is_reference(value)
                        if isinstance(value, str):
                            value = interpolate.resolve(value, self.ctx.data, None, self.suggest)
                        resolved[key].append(value)
                        labels[key].append(fragment(key, i, value, exact))
            except Unresolved as exc:
                labels.pop(key, None)
                self.problems.append(self.doc.problem(loc, str(exc)))
        return resolved

    def scope(self, stage: str, bindings: Bindings) -> Mapping[str, Any]:
        """What a reference can name: `item` and `key` of a generated stage before the
        context."""
        data = self.stage_data.get(stage, self.ctx.data)
        if bindings is None:
            return data
        return ChainMap(dict(bindings), data)

    def text(self, stage: str, text: str, field: str, bindings: Bindings) -> Any:
        """`text` of the stage key `field` resolved for one generated stage; as written when it
        does not resolve (`check` reported why: GitHub's `${{` is the one case left to it)."""
        try:
            scope = self.scope(stage, bindings)
            return interpolate.resolve(text, scope, field, self.suggest, self.ctx.parsing)
        except Unresolved:
            return text

    def check(self) -> list[Problem]:
        """Every reference of every stage, and the top-level sections DVC resolves."""
        if not self.doc.interpolated:
            return self.problems
        stages = self.doc.data.get("stages") if isinstance(self.doc.data, dict) else None
        for name, raw in (stages or {}).items():
            matrix = self.matrices.get(name)
            loop = self.loops.get(name)
            scope = self.stage_data.get(name, self.ctx.data)
            base: KeyPath = ("stages", name)
            if isinstance(self.spec.stages[name], Foreach):  # foreach itself is resolved
                raw, base = raw["do"], (*base, "do")
            for path, text, is_key in _strings(raw, base, skip="matrix"):
                field = str(path[len(base)])
                # DVC resolves wdir before it loads the stage's own vars
                within = self.ctx.data if field == "wdir" else scope
                if field != "vars":  # DVC refuses `${` there, as the context reported
                    self._check_text(text, path, is_key, field, matrix, within, loop)
        for section in ("metrics", "params", "plots", "datasets", "models", "artifacts"):
            data = self.doc.data.get(section) if isinstance(self.doc.data, dict) else None
            for path, text, is_key in _strings(data, (section,), skip=None):
                if path[:1] + path[2:3] != ("models", "metrics"):  # not in dvc.yaml
                    self._check_text(text, path, is_key, None, None, self.ctx.data)
        return self.problems

    def _problem(self, path: KeyPath, is_key: bool, message: str) -> None:
        self.problems.append(self.doc.problem(path, message, at_key=is_key))

    def _check_text(
        self,
        text: str,
        path: KeyPath,
        is_key: bool,
        field: str | None,
        matrix: Matrix | None,
        data: Mapping[str, Any],
        loop: Loop | None = None,
    ) -> None:
        matches = list(interpolate.REFERENCE.finditer(text))
        if not matches or "${{" in text:  # GitHub's syntax has a problem of its own
            return
        exact = len(matches) == 1 and matches[0].group(0) == text
        longest = len(text)
        for match in matches:
            ref = match.group(0)
            keys = interpolate.keys_of(match.group("inner"))
            try:
                if keys is None:
                    raise interpolate.unreadable(ref)
                lengths = [
                    self._value_text(value, ref, exact, field)
                    for value in self._values(keys, ref, matrix, data, loop)
                ]
            except Unresolved as exc:
                self._problem(path, is_key, str(exc))
                return
            longest += max(lengths, default=0) - len(ref)
        if field in _PATH_FIELDS and longest > MAX_PATH_CHARS:
            what = "matrix values" if matrix else "foreach items" if loop else "values"
            self._problem(
                path,
                is_key,
                f"can be {longest:,} characters long with the {what} put in;"
                f" a path may have at most {MAX_PATH_CHARS:,}",
            )

    def _values(
        self,
        keys: list[str],
        ref: str,
        matrix: Matrix | None,
        data: Mapping[str, Any],
        loop: Loop | None,
    ) -> Iterator[Any]:
        """Every value a reference takes across the items of the stage's matrix or foreach."""
        if loop is not None:
            yield from self._loop_values(keys, ref, loop, data)
            return
        if matrix and keys[0] == "key":
            if len(keys) > 1:
                raise Unresolved(
                    f"cannot resolve {ref!r}: 'key' is the name of the matrix item, which has no"
                    " keys"
                )
            # Its length is bounded by the longest name of each part, joined with '-'.
            # (`True` and `true`, the names of a boolean from vars and as written, are as long)
            longest = [max(map(len, vs), default=0) for vs in labels_of(matrix).values()]
            yield "x" * (sum(longest) + len(longest) - 1)
            return
        if matrix and keys[0] == "item" and len(keys) > 1:
            if keys[1] not in matrix:
                interpolate.select({"item": dict(matrix)}, keys[:2], ref, self.suggest)
            for value in matrix[keys[1]]:
                self._count()
                yield interpolate.select({"item": {keys[1]: value}}, keys, ref, self.suggest)
            return
        if matrix and keys == ["item"]:
            yield dict.fromkeys(matrix, "")  # a mapping: only its kind matters here
            return
        if not matrix and keys[0] in ("item", "key") and keys[0] not in data:
            raise Unresolved(
                f"cannot resolve {ref!r}: {keys[0]!r} is defined only in a stage with a matrix"
                " or foreach"
            )
        self._count()
        yield interpolate.select(data, keys, ref, self.suggest)

    def _loop_values(
        self, keys: list[str], ref: str, loop: Loop, data: Mapping[str, Any]
    ) -> Iterator[Any]:
        """Every value a reference takes across the items of a foreach."""
        if keys[0] == "item":
            for _, item in loop.generated():
                self._count()
                yield interpolate.select({"item": item}, keys, ref, self.suggest)
            return
        if keys[0] == "key" and loop.keyed:
            if len(keys) > 1:
                raise Unresolved(
                    f"cannot resolve {ref!r}: 'key' is the name of the foreach item, which has"
                    " no keys"
                )
            yield from loop.names
            return
        if keys[0] == "key" and "key" not in data:
            raise Unresolved(
                f"cannot resolve {ref!r}: 'key' is defined only when foreach is a mapping,"
                " not a list"
            )
        self._count()
        yield interpolate.select(data, keys, ref, self.suggest)

    def _count(self) -> None:
        self.checks += 1
        if self.checks > MAX_REFERENCE_CHECKS:
            self.exhausted = True
            raise Unresolved(
                f"the spec's references take more than {MAX_REFERENCE_CHECKS:,} values in all"
                " with the matrices expanded; that is too many to check"
            )

    def _value_text(self, value: Any, ref: str, exact: bool, field: str | None) -> int:
        """The length of `value` put into the text; the checks DVC makes on the way."""
        if exact:
            if field is not None and not isinstance(value, str):
                raise Unresolved(f"{ref!r} is {interpolate.kind(value)}; text is needed here")
            return len(value) if isinstance(value, str) else 0
        # Past the bound nothing more is written out, not even to be counted.
        text = "" if self.exhausted else interpolate.to_text(value, ref, field, self.ctx.parsing)
        length = len(text)
        self.chars += length
        if self.chars > MAX_INTERPOLATED_CHARS:
            self.exhausted = True
            raise Unresolved(
                f"the spec's references put more than {MAX_INTERPOLATED_CHARS:,} characters of"
                " values into text in all; that is too many to check"
            )
        return length


def _strings(data: Any, path: KeyPath, skip: str | None) -> Iterator[tuple[KeyPath, str, bool]]:
    """Every string in `data` with `${` in it, keys included (DVC resolves both), with where
    it is; `skip` names a top-level key that is resolved on its own."""
    if isinstance(data, str):
        if "${" in data:
            yield path, data, False
    elif isinstance(data, dict):
        for key, value in data.items():
            if len(path) == 2 and key == skip:
                continue
            if isinstance(key, str) and "${" in key:
                yield (*path, key), key, True
            yield from _strings(value, (*path, key), skip)
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from _strings(value, (*path, i), skip)


def name_problems(
    matrices: Mapping[str, Matrix | None], labels: Mapping[str, Labels], doc: YamlDoc
) -> Iterator[Problem]:
    """Matrix items DVC could not tell apart: a value whose name is empty in a matrix of one
    key, or holds `@` (DVC splits a stage's name from its item's at the last `@`), or two
    items whose names, joined with `-`, are the same (DVC keeps only the last). Call only on
    bounded matrices."""
    for name, matrix in matrices.items():
        if not matrix:
            continue
        clean = True
        names = labels.get(name) or labels_of(matrix)
        for key, fragments in names.items():
            if len(set(fragments)) < len(fragments):
                clean = False  # reported as a value listed twice
            for i, text in enumerate(fragments):
                if not text and len(matrix) == 1:  # with more keys, '-' joins the parts
                    clean = False
                    yield doc.problem(("stages", name, "matrix", key, i), empty_name(name))
                if "@" in text:
                    clean = False
                    msg = (
                        f"{text!r} contains '@', which DVC reads as the start of the item's name"
                        f" in {name + '@' + text!r}"
                    )
                    yield doc.problem(("stages", name, "matrix", key, i), msg)
        if not clean:
            continue
        seen: set[str] = set()
        for label, _ in items(matrix, names):
            if label in seen:
                msg = (
                    f"two items are both named {name + '@' + label!r} once their values are"
                    " joined with '-', and DVC keeps only one of them"
                )
                yield doc.problem(("stages", name, "matrix"), msg)
                break
            seen.add(label)


def expand(spec: Spec, doc: YamlDoc, root: Path, folder: str | None = None) -> list[Instance]:
    """The concrete stages of a valid spec, as DVC will list them, with their paths resolved;
    `folder` is the pipeline's, whose context is loaded from there."""
    ctx = load_context(spec.vars, doc, root, folder)
    resolver = Resolver(spec, doc, root, ctx, lambda _w, _c: "")
    return list(instances(spec, resolver.generate, resolver.text))
