"""A dvc.yaml's comments, moved into the spec above the key or list item they were next to.

YAML loaders drop comments, so they are found between the scanner's tokens: outside every token
a `#` can only start a comment (inside a quoted or block scalar it is text, and such a scalar is
one token). A comment on a line of its own belongs to the key or item that follows it; one at the
end of a line, to the first key or item on that line. In the spec, each goes on a line of its own
above where that key or item now starts. The regenerated dvc.yaml has none.
"""

from __future__ import annotations

import bisect
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import yaml

from specops.spec.problems import KeyPath
from specops.spec.yamlfile import YamlDoc

try:  # libyaml's scanner is several times faster
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]

#: What YAML counts as a line break (libyaml too).
_BREAK = re.compile("\r\n|[\n\r\x85\u2028\u2029]")
_COMMENT = re.compile("#[^\r\n\x85\u2028\u2029]*")

#: Where a comment goes: above a mapping key (True) or a list item (False) at a key path.
Anchor = tuple[KeyPath, bool]


@dataclass(frozen=True)
class Comment:
    line: int  # 0-based, as the scanner counts
    col: int
    text: str  # from `#` to the end of its line, without trailing blanks
    own_line: bool


def _line_starts(text: str) -> list[int]:
    return [0, *(m.end() for m in _BREAK.finditer(text))]


def _holds_hash(data: Any) -> bool:
    """Whether any key or value in `data` holds `#`."""
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if "#" in value:
                return True
        elif isinstance(value, dict):
            stack += value
            stack += value.values()
        elif isinstance(value, list):
            stack += value
    return False


def find(text: str, data: Any) -> list[Comment]:
    """Every comment in the YAML `text` (which must parse into `data`), in order."""
    if "#" not in text:
        return []
    if not _holds_hash(data):  # then every `#` is in a comment: no need to scan the YAML
        return _first_on_each_line(text)
    return _between_tokens(text)


def _first_on_each_line(text: str) -> list[Comment]:
    starts = _line_starts(text)
    found = []
    for line, start in enumerate(starts):
        end = starts[line + 1] if line + 1 < len(starts) else len(text)
        at = text.find("#", start, end)
        if at >= 0:
            comment = _COMMENT.match(text, at)
            assert comment is not None
            own_line = not text[start:at].strip()
            found.append(Comment(line, at - start, comment.group().rstrip(), own_line))
    return found


def _between_tokens(text: str) -> list[Comment]:
    starts = _line_starts(text)
    found: list[Comment] = []
    cursor = 0

    def gap(end: int) -> None:
        for match in _COMMENT.finditer(text, cursor, end):
            offset = match.start()
            line = bisect.bisect_right(starts, offset) - 1
            own_line = not text[starts[line] : offset].strip()
            found.append(Comment(line, offset - starts[line], match.group().rstrip(), own_line))

    for token in yaml.scan(text, Loader=_Loader):
        start = starts[token.start_mark.line] + token.start_mark.column
        if start > cursor:
            gap(start)
        cursor = max(cursor, starts[token.end_mark.line] + token.end_mark.column)
    gap(len(text))
    return found


def _anchors(doc: YamlDoc) -> tuple[list[tuple[int, int]], list[Anchor]]:
    """Every key and list item of `doc` by position (0-based), in file order."""
    marks = [((line - 1, col - 1), (path, True)) for path, (line, col) in doc.keys.items()]
    marks += [
        ((line - 1, col - 1), (path, False))
        for path, (line, col) in doc.values.items()
        if path and isinstance(path[-1], int) and not isinstance(path[-1], bool)
    ]
    marks.sort(key=lambda m: m[0])  # stable: an aliased copy stays after its anchor
    return [m[0] for m in marks], [m[1] for m in marks]


def attach(doc: YamlDoc, comments: Iterable[Comment]) -> dict[Anchor | None, list[str]]:
    """Each comment's text under the key or item it belongs to; None: after the last one."""
    positions, anchors = _anchors(doc)
    attached: dict[Anchor | None, list[str]] = defaultdict(list)
    for comment in comments:
        at = (comment.line, comment.col)
        if comment.own_line:
            index = bisect.bisect_right(positions, at)
        else:  # the first key or item on its line, else the last one before it
            index = bisect.bisect_left(positions, (comment.line, 0))
            if index == len(positions) or positions[index] >= at:
                index -= 1
        anchor = anchors[index] if 0 <= index < len(anchors) else None
        attached[anchor].append(comment.text)
    return attached


def _line_of(doc: YamlDoc, anchor: Anchor) -> int | None:
    """The 0-based line where `anchor` starts in `doc`, or where its nearest enclosing node
    does."""
    path, is_key = anchor
    while path:
        mark = (doc.keys if is_key else doc.values).get(path)
        if mark is not None:
            return mark[0] - 1
        path = path[:-1]
        is_key = not path or not isinstance(path[-1], int)
    return None


def place(text: str, doc: YamlDoc, attached: dict[Anchor | None, list[str]]) -> str:
    """`text` (the YAML of `doc`) with each comment on a line of its own above its anchor,
    indented as that line is; comments after the last node go at the end."""
    lines = text.splitlines(keepends=True)
    above: dict[int, list[str]] = defaultdict(list)
    for anchor, texts in attached.items():
        line = None if anchor is None else _line_of(doc, anchor)
        if line is None:
            line = len(lines)
        above[line] += texts
    out = []
    for i, line_text in enumerate([*lines, ""]):
        if i in above:
            indent = line_text[: len(line_text) - len(line_text.lstrip(" "))]
            out += [f"{indent}{t}\n" for t in above[i]]
        out.append(line_text)
    return "".join(out)
