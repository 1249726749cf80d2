"""The part of GitHub's expression language that specops' workflows use, for tests/actrun.py.

Operators `!`, `==`, `!=`, `&&`, `||` and parentheses; single-quoted strings, `true`, `false`,
`null`; property paths such as `needs.release.outputs.version-0`; the status functions
`success()`, `failure()`, `always()` and `cancelled()`, and `format()`. Anything else raises
Unsupported, so a workflow cannot pass here by an expression read differently than GitHub
reads it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

Value = str | bool | None

TOKEN = re.compile(
    r"\s*(?:(?P<str>'(?:[^']|'')*')|(?P<op>==|!=|&&|\|\||[!(),])"
    r"|(?P<call>[A-Za-z]+)\(\)|(?P<func>[A-Za-z]+)\((?!\))|(?P<path>[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*))"
)
STATUS_FUNCTIONS = ("success", "failure", "always", "cancelled")
EMBEDDED = re.compile(r"\$\{\{(.*?)\}\}", re.S)


class Unsupported(Exception):
    """The workflow uses something this runner does not emulate."""


def _tokens(text: str) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    while pos < len(text.rstrip()):
        match = TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise Unsupported(f"expression {text!r}: cannot read it from {text[pos:]!r}")
        kind = match.lastgroup
        assert kind is not None
        tokens.append((kind, match.group(kind)))
        pos = match.end()
    return tokens


def _string(value: Value) -> str:
    """A value as GitHub writes it into text."""
    if isinstance(value, bool):
        return str(value).lower()
    return "" if value is None else value


def truthy(value: Value) -> bool:
    return value not in (None, False, "")


def _equal(a: Value, b: Value) -> bool:
    # GitHub compares strings ignoring case; values of other types only when equal in type.
    if isinstance(a, str) and isinstance(b, str):
        return a.casefold() == b.casefold()
    return a == b


class _Parser:
    def __init__(
        self, text: str, context: Mapping[str, Any], status: Callable[[str], bool]
    ) -> None:
        self.text, self.tokens, self.context, self.status = text, _tokens(text), context, status

    def parse(self) -> Value:
        value = self._or()
        if self.tokens:
            raise Unsupported(f"expression {self.text!r}: unexpected {self.tokens[0][1]!r}")
        return value

    def _peek(self) -> str | None:
        return self.tokens[0][1] if self.tokens else None

    def _or(self) -> Value:
        value = self._and()
        while self._peek() == "||":
            self.tokens.pop(0)
            right = self._and()
            value = value if truthy(value) else right
        return value

    def _and(self) -> Value:
        value = self._compare()
        while self._peek() == "&&":
            self.tokens.pop(0)
            right = self._compare()
            value = right if truthy(value) else value
        return value

    def _compare(self) -> Value:
        value = self._unary()
        while self._peek() in ("==", "!="):
            op = self.tokens.pop(0)[1]
            equal = _equal(value, self._unary())
            value = equal if op == "==" else not equal
        return value

    def _unary(self) -> Value:
        if self._peek() == "!":
            self.tokens.pop(0)
            return not truthy(self._unary())
        return self._atom()

    def _atom(self) -> Value:
        if not self.tokens:
            raise Unsupported(f"expression {self.text!r} ends early")
        kind, text = self.tokens.pop(0)
        if text == "(":
            value = self._or()
            if not self.tokens or self.tokens.pop(0)[1] != ")":
                raise Unsupported(f"expression {self.text!r}: missing ')'")
            return value
        if kind == "str":
            return text[1:-1].replace("''", "'")
        if kind == "call":
            if text not in STATUS_FUNCTIONS:
                raise Unsupported(f"expression {self.text!r}: function {text}()")
            return self.status(text)
        if kind == "func":
            return self._function(text)
        if kind == "path":
            return self._lookup(text)
        raise Unsupported(f"expression {self.text!r}: unexpected {text!r}")

    def _function(self, name: str) -> Value:
        if name != "format":
            raise Unsupported(f"expression {self.text!r}: function {name}()")
        args = [self._or()]
        while self._peek() == ",":
            self.tokens.pop(0)
            args.append(self._or())
        if not self.tokens or self.tokens.pop(0)[1] != ")":
            raise Unsupported(f"expression {self.text!r}: missing ')'")
        template, values = args[0], [_string(v) for v in args[1:]]
        if not isinstance(template, str):
            raise Unsupported(f"expression {self.text!r}: format() needs a string first")

        def field(match: re.Match[str]) -> str:
            if match.group(0) in ("{{", "}}"):
                return match.group(0)[0]
            return values[int(match.group(1))]

        return re.sub(r"\{\{|\}\}|\{([0-9]+)\}", field, template)

    def _lookup(self, path: str) -> Value:
        literals: dict[str, Value] = {"true": True, "false": False, "null": None}
        if path in literals:
            return literals[path]
        first, *rest = path.split(".")
        if first not in self.context:
            raise Unsupported(f"expression {self.text!r}: context {first!r}")
        value: Any = self.context[first]
        if first in ("github", "runner") and rest and rest[0] not in value:
            raise Unsupported(f"expression {self.text!r}: {first}.{rest[0]}")
        for part in rest:  # GitHub gives null for a property that is not there
            value = value.get(part) if isinstance(value, Mapping) else None
        if isinstance(value, Mapping):
            raise Unsupported(f"expression {self.text!r}: {path} is an object")
        return None if value is None else value if isinstance(value, bool) else str(value)


def evaluate(text: str, context: Mapping[str, Any], status: Callable[[str], bool]) -> Value:
    """The value of one expression, without its `${{ }}`."""
    return _Parser(text, context, status).parse()


def _no_status(name: str) -> bool:
    raise Unsupported(f"{name}() is only for `if:`")


def interpolate(text: str, context: Mapping[str, Any]) -> str:
    """`text` with every `${{ expression }}` replaced by its value, as GitHub writes it."""

    def value(match: re.Match[str]) -> str:
        return _string(evaluate(match.group(1), context, _no_status))

    return EMBEDDED.sub(value, text)


def condition(text: str, context: Mapping[str, Any], status: Callable[[str], bool]) -> bool:
    """Whether an `if:` holds; as on GitHub, one without a status function also needs
    success()."""
    inner = text.strip()
    match = EMBEDDED.fullmatch(inner)
    if match:
        inner = match.group(1)
    elif "${{" in inner:
        raise Unsupported(f"if: {text!r} mixes text and expressions")
    if not any(f"{name}()" in inner for name in STATUS_FUNCTIONS):
        inner = f"success() && ({inner})"
    return truthy(evaluate(inner, context, status))
