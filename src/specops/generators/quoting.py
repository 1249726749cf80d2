"""Quote arbitrary text as a YAML scalar that every YAML 1.1 and 1.2 parser reads back exactly."""

from __future__ import annotations

import re

# Everything outside YAML's printable set must be escaped, and so must the line breaks a parser
# would fold or normalize (\n, \r, \x85, \u2028, \u2029); \t and \ufeff are escaped because
# some parsers trim or drop them.
_NEEDS_ESCAPE = re.compile(
    '[\\\\"]|[^\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]'
)
_NAMED = {"\\": "\\\\", '"': '\\"', "\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def yaml_quote(text: str) -> str:
    """A one-line double-quoted YAML scalar whose value is exactly `text`."""
    return '"' + _NEEDS_ESCAPE.sub(_escape, text) + '"'


_ESCAPED = re.compile(r"\\(x[0-9a-f]{2}|u[0-9a-f]{4}|U[0-9a-f]{8}|.)", re.DOTALL)
_UNNAMED = {v[1]: k for k, v in _NAMED.items()}


def _unescape(match: re.Match[str]) -> str:
    code = match.group(1)
    return _UNNAMED.get(code) or (chr(int(code[1:], 16)) if len(code) > 1 else code)


def yaml_unquote(inner: str) -> str:
    """The text whose yaml_quote is `inner` between its quotes."""
    return _ESCAPED.sub(_unescape, inner)
