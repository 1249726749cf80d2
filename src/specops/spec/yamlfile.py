"""Load YAML into plain data while remembering where every node stood.

PyYAML composes the node graph (libyaml when available); this module builds Python values from
it itself so that it can report duplicate keys, refuse unknown tags, bound alias expansion and
record the 1-based line and column of every key and value for error messages. Plain scalars are
read by DVC's YAML 1.2 rules (`specops.spec.scalars`), not PyYAML's YAML 1.1 ones.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from specops.spec import scalars
from specops.spec.files import MAX_FILE_BYTES
from specops.spec.problems import Key, KeyPath, Problem, SpecError, format_keypath

try:  # libyaml is several times faster; pure Python is the fallback where it is not built.
    from yaml import CSafeLoader as _BaseLoader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _BaseLoader  # type: ignore[assignment]


class _Loader(_BaseLoader):
    """PyYAML's composer with DVC's rules for the tags of plain scalars."""

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: Any) -> str:
        if kind is yaml.ScalarNode:
            return scalars.resolve(value) if implicit[0] else scalars.STR
        return _SEQ if kind is yaml.SequenceNode else _MAP


#: How many nodes a document may hold once aliases are expanded ("billion laughs" guard).
MAX_NODES = 1_000_000
#: How many characters its scalars may hold once aliases are expanded: no more than a file
#: specops would read, so that aliases cannot make a small spec render a huge dvc.yaml.
MAX_CHARS = MAX_FILE_BYTES
#: How deep values may nest; far beyond any spec, and well within Python's recursion limit.
MAX_DEPTH = 100

Mark = tuple[int, int]
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
_COLLECTION_TAGS = {_SEQ, _MAP}
_SCALAR_TAGS = {
    scalars.STR,
    scalars.INT,
    scalars.FLOAT,
    scalars.BOOL,
    scalars.NULL,
    scalars.TIMESTAMP,
}


@dataclass
class YamlDoc:
    """A loaded YAML file: its data and the position of each value and key, by key path."""

    file: str
    data: Any
    values: dict[KeyPath, Mark] = field(default_factory=dict)
    keys: dict[KeyPath, Mark] = field(default_factory=dict)
    #: The source text of each number, as written: `3.10` loads as 3.1, but messages quote it.
    numbers: dict[KeyPath, str] = field(default_factory=dict)
    #: Whether the text holds `${` anywhere: most files do not, and need no interpolation.
    interpolated: bool = True

    def locate(self, loc: Sequence[Any]) -> KeyPath:
        """The longest prefix of `loc` that names a node, skipping parts that name none.

        pydantic error locations hold extra parts (union tags such as `str`) between keys.
        """
        path: KeyPath = ()
        for part in loc:
            candidate = (*path, part)
            if candidate in self.values:
                path = candidate
        return path

    def problem(self, path: Sequence[Key], message: str, *, at_key: bool = False) -> Problem:
        """A problem at the node of `path`; `at_key` points at the mapping key instead."""
        node_path = self.locate(path)
        marks = self.keys if at_key and node_path in self.keys else self.values
        line, col = marks.get(node_path, (1, 1))
        return Problem(self.file, line, col, format_keypath(path), message)


def _flat(pairs: list[tuple[yaml.Node, yaml.Node]]) -> Iterator[yaml.Node]:
    for key, value in pairs:
        yield key
        yield value


def _mark(node: yaml.Node) -> Mark:
    return node.start_mark.line + 1, node.start_mark.column + 1


def _error_at(file: str, line: int, col: int, message: str) -> SpecError:
    return SpecError([Problem(file, line, col, "(root)", message)])


#: What YAML counts as a line break, for positions that libyaml does not give.
_BREAK = re.compile("\r\n|[\n\r\x85\u2028\u2029]")


def position(text: str, index: int) -> Mark:
    """The 1-based line and column of `text[index]`, counting lines as YAML does."""
    line, start = 1, 0
    for match in _BREAK.finditer(text, 0, index):
        line, start = line + 1, match.end()
    return line, index - start + 1


def _at_end(file: str, text: str, line: int, col: int, message: str) -> SpecError:
    """A problem at `line:col`, moved back to just after the last character when a parser
    reports it past the end of the text (libyaml moves to a new line at the end of input)."""
    end = position(text, len(text.rstrip("\r\n\x85\u2028\u2029")))
    return _error_at(file, *min((line, col), end), message)


def decode(file: str, raw: bytes) -> str:
    """UTF-8 text (a leading BOM is dropped), or a problem at the first bad byte."""
    body = raw[3:] if raw.startswith(codecs.BOM_UTF8) else raw
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        before = body[: exc.start].decode("utf-8")
        line, col = position(before, len(before))
        byte = body[exc.start]
        raise _error_at(file, line, col, f"not valid UTF-8 (byte 0x{byte:02x})") from exc


def _compose(file: str, text: str) -> yaml.Node | None:
    try:
        return yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        detail = exc.problem or exc.context or "syntax error"
        if exc.context and detail.startswith("but "):
            detail = f"{exc.context}, {detail}"
        raise _at_end(file, text, line, col, f"invalid YAML: {detail}") from exc
    except yaml.reader.ReaderError as exc:
        # A character YAML does not allow. libyaml reads the text as UTF-8 and counts bytes.
        index = exc.position
        if _BaseLoader.__name__ == "CSafeLoader":
            index = len(text.encode("utf-8", "surrogatepass")[:index].decode("utf-8", "ignore"))
        line, col = position(text, index)
        char = exc.character if isinstance(exc.character, int) else ord(exc.character)
        raise _error_at(file, line, col, f"invalid YAML: {exc.reason} (U+{char:04X})") from exc
    except RecursionError as exc:
        raise _error_at(file, 1, 1, "invalid YAML: nested too deeply") from exc


class _Builder:
    """Turns a node graph into dicts, lists and scalars, recording positions."""

    def __init__(self, doc: YamlDoc, end: Mark) -> None:
        self.doc = doc
        self.end = end
        self.problems: list[Problem] = []
        self.sizes: dict[int, tuple[int, int]] = {}

    def mark(self, node: yaml.Node) -> Mark:
        """Where `node` starts; libyaml places empty nodes at the end of input, which can be a
        line after the last one, so a mark is never later than the end of the text."""
        return min(_mark(node), self.end)

    def size(self, node: yaml.Node, depth: int = 0) -> tuple[int, int]:
        """Nodes under `node` and characters in their scalars, with aliases expanded; memoised
        per node so that a bomb costs no more than its text."""
        known = self.sizes.get(id(node))
        if known is not None:
            if known[0] < 0:
                line, col = self.mark(node)
                msg = "an alias refers to a node that contains it (recursive alias)"
                raise _error_at(self.doc.file, line, col, msg)
            return known
        if depth > MAX_DEPTH:
            line, col = self.mark(node)
            raise _error_at(self.doc.file, line, col, f"nested more than {MAX_DEPTH} levels deep")
        self.sizes[id(node)] = (-1, -1)
        nodes, chars = 1, 0
        if isinstance(node, yaml.ScalarNode):
            chars = len(node.value)
        else:
            children = node.value if isinstance(node, yaml.SequenceNode) else _flat(node.value)
            for child in children:
                sub_nodes, sub_chars = self.size(child, depth + 1)
                nodes += sub_nodes
                chars += sub_chars
        self.sizes[id(node)] = (nodes, chars)
        return nodes, chars

    def build(self, node: yaml.Node, path: KeyPath) -> Any:
        self.doc.values[path] = self.mark(node)
        if len(path) > MAX_DEPTH:
            raise SpecError([self.doc.problem(path, f"nested more than {MAX_DEPTH} levels deep")])
        if isinstance(node, yaml.ScalarNode):
            value = self.scalar(node, path)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                self.doc.numbers[path] = node.value
            return value
        if node.tag not in _COLLECTION_TAGS:
            self.problems.append(self.doc.problem(path, f"unsupported YAML tag {node.tag!r}"))
            return None
        if isinstance(node, yaml.SequenceNode):
            return [self.build(child, (*path, i)) for i, child in enumerate(node.value)]
        if isinstance(node, yaml.MappingNode):
            return self.mapping(node, path)
        raise TypeError(f"unknown YAML node {node!r}")

    def scalar(self, node: yaml.ScalarNode, path: KeyPath) -> Any:
        if node.tag not in _SCALAR_TAGS:
            self.problems.append(self.doc.problem(path, f"unsupported YAML tag {node.tag!r}"))
            return None
        try:
            return scalars.construct(node.tag, node.value)
        except ValueError as exc:
            implicit = not node.style and scalars.resolve(node.value) == node.tag
            fits = not isinstance(exc, scalars.TooLong)
            hint = "; quote it if it is text" if implicit and fits else ""
            self.problems.append(self.doc.problem(path, f"invalid value: {exc}{hint}"))
            return None

    def mapping(self, node: yaml.MappingNode, path: KeyPath) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        merged: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == scalars.MERGE:
                merged.update(self.merge(value_node, path))
                continue
            if not isinstance(key_node, yaml.ScalarNode):
                line, col = self.mark(key_node)
                msg = "a mapping key must be a plain value, not a list or mapping"
                self.problems.append(Problem(self.doc.file, line, col, format_keypath(path), msg))
                continue
            key = self.scalar(key_node, path)
            key_path = (*path, key)
            if key in result:
                first_line = self.doc.keys[key_path][0]
                line, col = self.mark(key_node)
                msg = f"duplicate key {key!r} (first defined on line {first_line})"
                self.problems.append(
                    Problem(self.doc.file, line, col, format_keypath(key_path), msg)
                )
                continue
            self.doc.keys[key_path] = self.mark(key_node)
            result[key] = self.build(value_node, key_path)
        # Explicit keys win over merged ones, as YAML's merge key specifies.
        return {**{k: v for k, v in merged.items() if k not in result}, **result}

    def merge(self, node: yaml.Node, path: KeyPath) -> dict[Any, Any]:
        sources = node.value if isinstance(node, yaml.SequenceNode) else [node]
        merged: dict[Any, Any] = {}
        for source in reversed(sources):  # earlier sources take precedence
            if not isinstance(source, yaml.MappingNode):
                self.problems.append(self.doc.problem(path, "a merge key (<<) needs a mapping"))
                continue
            merged.update(self.mapping(source, path))
        return merged


def _version_directive(file: str, text: str) -> None:
    """Refuse `%YAML 1.1`: DVC's loader then reads `on` as true and `010` as 8. Looked for in
    the parser's events only when the text could hold one (libyaml refuses other versions)."""
    if "%YAML" not in text:
        return
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.DocumentStartEvent) and event.version not in (None, (1, 2)):
            mark = event.start_mark
            line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
            major, minor = event.version
            msg = (
                f"a %YAML {major}.{minor} directive changes how DVC reads values"
                " (`on` becomes true, `010` becomes 8); remove it: specops reads YAML 1.2"
            )
            raise _error_at(file, line, col, msg)
        if isinstance(event, yaml.DocumentStartEvent):
            return


def load_yaml(file: str, raw: bytes) -> YamlDoc:
    """Parse `raw` (the bytes of `file`) into a YamlDoc or raise SpecError with every problem."""
    text = decode(file, raw)
    root = _compose(file, text)
    _version_directive(file, text)
    doc = YamlDoc(file, None, interpolated="${" in text)
    if root is None:
        raise _error_at(file, 1, 1, "the file is empty; expected a mapping")
    builder = _Builder(doc, position(text, len(text.rstrip("\r\n\x85\u2028\u2029"))))
    # Only an alias can make a document larger than its text; without an anchor there is none.
    if "&" in text:
        nodes, chars = builder.size(root)
        if nodes > MAX_NODES or chars > MAX_CHARS:
            what = f"{MAX_NODES:,} nodes" if nodes > MAX_NODES else f"{MAX_CHARS:,} characters"
            line, col = builder.mark(root)
            raise _error_at(
                file, line, col, f"the document expands to more than {what} through aliases"
            )
    doc.data = builder.build(root, ())
    if builder.problems:
        raise SpecError(builder.problems)
    return doc
