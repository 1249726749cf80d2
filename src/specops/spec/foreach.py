"""`foreach` stages as DVC expands them (`ForeachDefinition` in dvc/parsing/__init__.py): the
items resolved and named, and what DVC would silently get wrong about them."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from specops.spec import interpolate
from specops.spec.interpolate import Suggest, Unresolved
from specops.spec.models import Foreach, Spec
from specops.spec.pipeline import MAX_MATRIX
from specops.spec.problems import KeyPath, Problem
from specops.spec.yamlfile import YamlDoc


@dataclass(frozen=True)
class Loop:
    """A resolved `foreach`: each item's name and value, in order, with every name that DVC
    would make of them (repeated ones too, which DVC collapses into one stage). `keyed` when
    foreach is a mapping, the only form in which DVC defines `${key}`."""

    names: list[str]
    items: list[Any]
    keyed: bool
    #: Where each item was written, for messages: its index, or its key in a mapping.
    where: list[str | int]

    def generated(self) -> Iterator[tuple[str, Any]]:
        """`(name, item)` of each stage DVC generates: the last of a repeated name wins."""
        last = dict(zip(self.names, self.items, strict=True))
        seen: set[str] = set()
        for name in self.names:
            if name not in seen:
                seen.add(name)
                yield name, last[name]

    @property
    def size(self) -> int:
        return len(set(self.names))

    def bindings(self, name: str, item: Any) -> dict[str, Any]:
        """What `${item}` and `${key}` are in the stage generated for one item."""
        return {"item": item, "key": name} if self.keyed else {"item": item}


def _name(value: Any, from_context: bool) -> str:
    """DVC's `to_str` of a list item. A value taken from `vars` or params.yaml reaches it as
    one of DVC's context nodes, whose `str()` is Python's: `True`, where a written `true` gives
    `true`."""
    if isinstance(value, bool) and not from_context:
        return "true" if value else "false"
    return str(value)


class LoopError(Exception):
    """Why foreach cannot be resolved, and where below it: `at` is a key path from `foreach`,
    `at_key` when the problem is a mapping key."""

    def __init__(self, message: str, at: KeyPath = (), at_key: bool = False) -> None:
        super().__init__(message)
        self.at, self.at_key = at, at_key


def _deep(value: Any, scope: Mapping[str, Any], suggest: Suggest, at: KeyPath) -> Any:
    """`value` with every string in it resolved, keys included, as DVC's `Context.resolve`."""
    if isinstance(value, str):
        try:
            return interpolate.resolve(value, scope, None, suggest)
        except Unresolved as exc:
            raise LoopError(str(exc), at) from exc
    if isinstance(value, dict):
        resolved = {}
        for k, v in value.items():
            try:
                key = interpolate.resolve(k, scope, None, suggest)
            except Unresolved as exc:
                raise LoopError(str(exc), (*at, k), at_key=True) from exc
            resolved[key] = _deep(v, scope, suggest, (*at, k))
        return resolved
    if isinstance(value, list):
        return [_deep(v, scope, suggest, (*at, i)) for i, v in enumerate(value)]
    return value


def is_reference(text: str) -> bool:
    """Whether `text` is exactly one `${...}`, which DVC resolves to the value itself."""
    matches = list(interpolate.REFERENCE.finditer(text))
    return len(matches) == 1 and matches[0].group(0) == text


def resolve_loop(written: Any, scope: Mapping[str, Any], suggest: Suggest) -> Loop:
    """The items of `foreach` as written, resolved in the spec's context (not the stage's own
    vars: DVC resolves foreach before them); LoopError says why they cannot be."""
    found = _deep(written, scope, suggest, ())
    if not isinstance(found, (list, dict)):
        what = "text" if isinstance(found, str) else interpolate.kind(found)
        raise LoopError(f"must be a list or a mapping; {written!r} is {what}")
    if isinstance(found, dict):
        names = [_name(k, False) for k in found]
        return Loop(names, list(found.values()), True, list(found))
    # A whole `${list}`, or an item that is exactly one reference, comes from the context.
    if isinstance(written, str):
        exact = [True] * len(found)
    else:
        exact = [isinstance(w, str) and is_reference(w) for w in written]
    if any(isinstance(v, (list, dict)) for v in found):  # composite items are named by index
        names = [str(i) for i in range(len(found))]
    else:
        names = [_name(v, ctx) for v, ctx in zip(found, exact, strict=True)]
    return Loop(names, found, False, list(range(len(found))))


def loop_problems(name: str, loop: Loop, doc: YamlDoc) -> Iterator[Problem]:
    """Items DVC could not tell apart: an empty name or one holding `@` (DVC splits a stage's
    name from its item's at the last `@`, so it cannot find the stage), or two items of one
    name (DVC keeps only the last)."""
    base: KeyPath = ("stages", name, "foreach")
    first: dict[str, int] = {}
    for i, (label, where) in enumerate(zip(loop.names, loop.where, strict=True)):
        at = (*base, where)
        if not label:
            yield doc.problem(at, empty_name(name), at_key=loop.keyed)
        if "@" in label:
            msg = (
                f"{label!r} contains '@', which DVC reads as the start of the item's name"
                f" in {name + '@' + label!r}"
            )
            yield doc.problem(at, msg, at_key=loop.keyed)
        before = first.setdefault(label, i)
        if before != i:
            msg = (
                f"items {before} and {i} are both named {name + '@' + label!r};"
                " DVC keeps only the last of them"
            )
            yield doc.problem(at, msg)


def empty_name(stage: str) -> str:
    """DVC splits `stage@` into the stage and an empty item name, and asserts it has one."""
    return f"an item named '' makes a stage named {stage + '@'!r}, which DVC cannot load"


def foreach_problems(spec: Spec, loops: Mapping[str, Loop], doc: YamlDoc) -> Iterator[Problem]:
    """A foreach that is empty or too large, and a matrix inside `do`, which DVC ignores."""
    for name, loop in loops.items():
        problem = size_problem(name, loop, doc)
        if problem is not None:
            yield problem
    for name, entry in spec.stages.items():
        if isinstance(entry, Foreach) and entry.do.matrix is not None:
            msg = "DVC does not expand a matrix inside `do`; a stage takes foreach or matrix"
            yield doc.problem(("stages", name, "do", "matrix"), msg, at_key=True)


def size_problem(name: str, loop: Loop, doc: YamlDoc) -> Problem | None:
    """An empty foreach (DVC generates nothing from it, silently) or one too large."""
    at: KeyPath = ("stages", name, "foreach")
    if not loop.names:
        return doc.problem(at, "must list at least one item")
    if loop.size > MAX_MATRIX:
        return doc.problem(
            at, f"expands to {loop.size:,} stages; at most {MAX_MATRIX:,} are allowed"
        )
    return None
