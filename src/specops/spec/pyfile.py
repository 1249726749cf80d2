"""Python params files read as DVC reads them (`dvc/utils/serialize/_py.py`), without DVC.

DVC parses the file with `ast` and keeps, in order, later ones replacing earlier ones: top-level
assignments to one name (`x = ...`, `x: int = ...`), classes as mappings of their own
assignments, and in a function named `__init__` the assignments to `self.NAME`. A value is what
`ast.literal_eval` makes of it (a dict's keys and values and a list's items one by one);
assignments it cannot evaluate are left out. The data comes with the position of every value,
so that a problem with one points into the .py file.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import Any

from specops.spec.interpolate import leaves
from specops.spec.problems import KeyPath, Problem, SpecError
from specops.spec.scalars import too_long
from specops.spec.yamlfile import YamlDoc


def is_python(path: str) -> bool:
    """Whether DVC reads `path` as Python. It picks a reader by all that follows the first dot
    of the file name, in any case: `conf.py` and `CONF.PY` are Python, `my.conf.py` is YAML."""
    return path.rsplit("/", 1)[-1].partition(".")[2].lower() == "py"


def load_py(file: str, raw: bytes) -> YamlDoc:
    """The data DVC reads from the Python file `file`, with positions; SpecError when DVC
    could not read it."""
    try:
        text = raw.decode("utf-8")  # DVC reads UTF-8 and, unlike for YAML, keeps a BOM
    except UnicodeDecodeError as exc:
        before = raw[: exc.start].decode("utf-8")
        line = before.count("\n") + 1
        col = len(before) - (before.rfind("\n") + 1) + 1
        msg = f"not valid UTF-8 (byte 0x{raw[exc.start]:02x})"
        raise SpecError([Problem(file, line, col, "(root)", msg)]) from exc
    try:
        tree = ast.parse(text, filename=file)
    except SyntaxError as exc:
        raise SpecError([_syntax_problem(file, text, exc)]) from exc
    except (RecursionError, MemoryError) as exc:  # nesting that Python's parser gives up on
        msg = "invalid Python: nested too deeply for Python to parse"
        raise SpecError([Problem(file, 1, 1, "(root)", msg)]) from exc
    doc = YamlDoc(file, None, interpolated=False)
    reader = _Reader(doc, text.splitlines())
    try:
        doc.data = reader.body(tree.body, (), only_self=False)
    except TypeError as exc:  # DVC stops with it too: an unhashable key or set member
        assert reader.at is not None
        line, col = reader.mark(reader.at)
        msg = f"DVC cannot read this value: {exc}"
        raise SpecError([Problem(file, line, col, "(root)", msg)]) from exc
    return doc


def _syntax_problem(file: str, text: str, exc: SyntaxError) -> Problem:
    line = exc.lineno or 1
    if exc.lineno is None and "\0" in text:  # "cannot contain null bytes", with no position
        before = text[: text.index("\0")]
        line = before.count("\n") + 1
        col = len(before) - (before.rfind("\n") + 1) + 1
    else:
        lines = text.splitlines() or [""]
        width = len(lines[min(line, len(lines)) - 1])
        col = min(max(exc.offset or 1, 1), width + 1)  # Python may point past the line's end
    return Problem(file, line, col, "(root)", f"invalid Python: {exc.msg}")


class _Reader:
    """DVC's `_ast_tree_to_dict`, statement for statement, noting where each value stands."""

    def __init__(self, doc: YamlDoc, lines: list[str]) -> None:
        self.doc = doc
        self.lines = lines
        self.at: ast.AST | None = None  # the statement being read, for a TypeError's position

    def mark(self, node: ast.AST) -> tuple[int, int]:
        """The 1-based line and column of `node` (ast counts columns in UTF-8 bytes)."""
        line = getattr(node, "lineno", 1)
        offset = getattr(node, "col_offset", 0)
        text = self.lines[line - 1] if line <= len(self.lines) else ""
        col = len(text.encode("utf-8")[:offset].decode("utf-8", "ignore"))
        return line, col + 1

    def body(self, statements: list[ast.stmt], path: KeyPath, only_self: bool) -> dict[Any, Any]:
        result: dict[Any, Any] = {}
        for statement in statements:
            self.at = statement
            try:
                if isinstance(statement, (ast.Assign, ast.AnnAssign)):
                    result.update(self.assign(statement, path, only_self))
                elif isinstance(statement, ast.ClassDef):
                    where = (*path, statement.name)
                    self.doc.values[where] = self.mark(statement)
                    result.update({statement.name: self.body(statement.body, where, False)})
                elif isinstance(statement, ast.FunctionDef) and statement.name == "__init__":
                    result.update(self.body(statement.body, path, True))
            except (ValueError, AttributeError):  # what DVC skips
                continue
        return result

    def assign(
        self, node: ast.Assign | ast.AnnAssign, path: KeyPath, only_self: bool
    ) -> dict[str, Any]:
        if isinstance(node, ast.AnnAssign):
            name = _name(node.target, only_self)
        elif len(node.targets) == 1:
            name = _name(node.targets[0], only_self)
        else:
            raise AttributeError
        source = node.value
        value: Any
        if isinstance(source, ast.Dict):
            value = {}
            for key, item in zip(source.keys, source.values, strict=True):
                found = ast.literal_eval(item)
                value[ast.literal_eval(key)] = found  # type: ignore[arg-type]
        elif isinstance(source, ast.List):
            value = [ast.literal_eval(item) for item in source.elts]
        elif isinstance(source, ast.Set):
            value = {ast.literal_eval(item) for item in source.elts}
        elif isinstance(source, ast.Tuple):
            value = tuple(ast.literal_eval(item) for item in source.elts)
        else:
            value = ast.literal_eval(source)  # type: ignore[arg-type]
        assert source is not None  # literal_eval(None) raised ValueError
        self._place(source, (*path, name))
        return {name: value}

    def _place(self, node: ast.expr, path: KeyPath) -> None:
        """Note where the value at `path` and those inside it stand."""
        self.doc.values[path] = self.mark(node)
        if isinstance(node, ast.Dict):
            for key, item in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and isinstance(key.value, str):
                    self._place(item, (*path, key.value))
        elif isinstance(node, ast.List):
            for i, item in enumerate(node.elts):
                self._place(item, (*path, i))


def _name(target: Any, only_self: bool) -> str:
    """DVC's `_get_ast_name`: a plain name, or `self.NAME` (anywhere, not only in __init__)."""
    if hasattr(target, "id") and not only_self:
        return str(target.id)
    if hasattr(target, "attr") and target.value.id == "self":
        return str(target.attr)
    raise AttributeError


#: What DVC's context holds as values (`PRIMITIVES`, None, lists and mappings).
_LOADABLE = (int, float, str, bytes, bool, type(None), list, dict)
_KINDS = {tuple: "a tuple", set: "a set", complex: "a complex number"}


def unsupported(doc: YamlDoc, value: Any, path: KeyPath) -> Iterator[Problem]:
    """Values DVC's context cannot hold (it stops with a TypeError when a vars file has one)."""
    for where, leaf in leaves(value, path):
        if too_long(leaf):
            yield doc.problem(where, str(too_long(leaf)))
        elif not isinstance(leaf, _LOADABLE):
            what = _KINDS.get(type(leaf), f"a value of type {type(leaf).__name__!r}")
            hint = "; write a list" if isinstance(leaf, (tuple, set)) else ""
            yield doc.problem(where, f"DVC cannot load {what} into its values for `${{...}}`{hint}")
