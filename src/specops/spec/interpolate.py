"""`${...}` as DVC resolves it: the syntax, the lookup and the text a value becomes.

Matched to DVC 3's `dvc/parsing/interpolate.py` and `context.py` (tested against them):

- a reference is `${` up to the first `}`, unless the `$` follows a backslash; `\\${` becomes
  `${` in the result;
- inside, keys are joined by `.` or written as `[index]`; each key is stripped of spaces, and a
  list is indexed with Python's `int()` (so `[-1]` is the last item);
- a string that is exactly one reference takes the value with its type; otherwise each value is
  put into the text: booleans as `true`/`false`, a mapping in `cmd` as `--key value` flags (by
  the `parsing` settings of DVC's config), lists and mappings anywhere else are an error (except
  in a matrix, where DVC puts in `str()`).
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable, Collection, Iterator, Mapping
from typing import Any

from specops.spec.dvcconfig import DEFAULT, Parsing
from specops.spec.problems import KeyPath

#: DVC's KEYCRE.
REFERENCE = re.compile(r"(?<!\\)\$\{(?P<inner>.*?)\}")
_WORD = r"[^.\[\]]+"
# DVC parses the inside with pyparsing: a word, then `.word` or `[word]` parts; whitespace may
# come before `.` and `[` and at the end (words themselves keep theirs). Tabs count as spaces.
_EXPRESSION = re.compile(rf"({_WORD})((?:[ \n\r]*\.{_WORD}|[ \n\r]*\[{_WORD}\])*)[ \n\r]*")
_PART = re.compile(rf"\.({_WORD})|\[({_WORD})\]")

PRIMITIVES = (str, int, float, bool)
Suggest = Callable[[str, Collection[str]], str]


class Unresolved(Exception):
    """A reference DVC could not resolve; the message says why, as a user reads it."""


def has_reference(text: str) -> bool:
    return "${" in text and REFERENCE.search(text) is not None


def keys_of(inner: str) -> list[str] | None:
    """The keys of a reference's inside, stripped, or None when DVC cannot parse it."""
    match = _EXPRESSION.fullmatch(inner.expandtabs())
    if match is None:
        return None
    rest = [a or b for a, b in _PART.findall(match.group(2))]
    return [part.strip() for part in (match.group(1), *rest)]


def unreadable(ref: str) -> Unresolved:
    """The error for a reference whose inside DVC cannot parse."""
    msg = f"{ref!r} is not a reference DVC can read: use keys joined by '.' or '[index]'"
    return Unresolved(msg)


def kind(value: Any) -> str:
    """A value as a message names it."""
    if isinstance(value, bool):
        return f"the boolean {'true' if value else 'false'}"
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return f"the string {value[:60]!r}"
    return f"the number {value}"


def select(scope: Mapping[str, Any], keys: list[str], ref: str, suggest: Suggest) -> Any:
    """The value `keys` name in `scope`, walked one key at a time as DVC walks its context."""
    node: Any = scope
    for i, key in enumerate(keys):
        where = ".".join(keys[:i])
        if isinstance(node, Mapping):
            if key in node:
                node = node[key]
                continue
            names = [k for k in node if isinstance(k, str)]
            if i == 0:
                raise Unresolved(
                    f"cannot resolve {ref!r}: {key!r} is not defined{suggest(key, names)}"
                )
            raise Unresolved(
                f"cannot resolve {ref!r}: {where!r} has no key {key!r}{suggest(key, names)}"
            )
        if isinstance(node, list):
            try:
                node = node[int(key)]
                continue
            except (ValueError, IndexError):
                count = len(node)
                raise Unresolved(
                    f"cannot resolve {ref!r}: {where!r} is a list of {count} item(s), which"
                    f" has no item {key!r}"
                ) from None
        raise Unresolved(
            f"cannot resolve {ref!r}: {where!r} is {kind(node)}, which has no key {key!r}"
        )
    return node


def _flags(value: dict[str, Any], ref: str, parsing: Parsing) -> str:
    """A mapping in `cmd` as DVC writes it, by the `parsing` settings of its config: a false
    boolean left out (`store_true`) or `--no-KEY` (`boolean_optional`), a list as `--KEY a b`
    (`nargs`) or `--KEY a --KEY b` (`append`)."""
    out = ""
    append = parsing.list == "append"
    for key, item in _flatten(value):
        if isinstance(item, bool):
            if item:
                out += f"--{key} "
            elif parsing.bool == "boolean_optional":
                out += f"--no-{key} "
        elif isinstance(item, str):
            out += f"--{key} {shlex.quote(item)} "
        elif isinstance(item, list):
            for n, element in enumerate(item):
                if isinstance(element, (list, dict)):
                    raise Unresolved(
                        f"cannot resolve {ref!r}: DVC cannot put the nested list or mapping"
                        f" in {key!r} into a command"
                    )
                text = shlex.quote(element) if isinstance(element, str) else element
                out += f"{text} " if n and not append else f"--{key} {text} "
        else:
            out += f"--{key} {item} "
    return out.rstrip()


def _flatten(value: dict[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    for key, item in value.items():
        if isinstance(item, dict):
            yield from _flatten(item, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", item


def to_text(value: Any, ref: str, field: str | None, parsing: Parsing = DEFAULT) -> str:
    """A value put into a longer string, as DVC's `to_str` writes it; DVC applies its
    `parsing` settings to a stage's keys, not to a matrix (`field` None)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict) and field in (None, "cmd"):
        return _flags(value, ref, parsing if field is not None else DEFAULT)
    if isinstance(value, (list, dict)) and field is not None:
        what = "list" if isinstance(value, list) else "mapping"
        raise Unresolved(f"cannot resolve {ref!r}: it is a {what}, which DVC cannot put into text")
    return str(value)


def resolve(
    text: str,
    scope: Mapping[str, Any],
    field: str | None,
    suggest: Suggest,
    parsing: Parsing = DEFAULT,
) -> Any:
    """`text` with its references resolved in `scope`, as DVC resolves the value of the stage
    key `field` (None in a matrix) under its `parsing` settings; Unresolved says why not."""
    if "${" not in text:
        return text
    matches = list(REFERENCE.finditer(text))
    values = []
    for match in matches:
        ref = match.group(0)
        keys = keys_of(match.group("inner"))
        if keys is None:
            raise unreadable(ref)
        values.append(select(scope, keys, ref, suggest))
    if len(matches) == 1 and matches[0].group(0) == text:
        value = values[0]
        flags = isinstance(value, dict) and field == "cmd"  # a mapping is a command's flags
        if field is not None and not isinstance(value, (*PRIMITIVES, type(None))) and not flags:
            to_text(value, text, field)  # raises the error DVC raises
        return value
    out, start = "", 0
    for match, value in zip(matches, values, strict=True):
        out += text[start : match.start()] + to_text(value, match.group(0), field, parsing)
        start = match.end()
    return (out + text[start:]).replace("\\${", "${")


def leaves(value: Any, path: KeyPath = ()) -> Iterator[tuple[KeyPath, Any]]:
    """Every value below `value` that DVC's context holds, with its key path: mappings by their
    string keys (DVC skips the others, and what is under them), lists by index."""
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str):
                yield from leaves(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from leaves(item, (*path, i))
    else:
        yield path, value
