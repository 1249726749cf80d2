"""DVC's `[parsing]` settings, read from `.dvc/config` and `.dvc/config.local` as DVC reads them.

They decide how a mapping put into a `cmd` (`${flags}`) becomes arguments: `bool` is
`store_true` (a false flag is left out) or `boolean_optional` (`--no-KEY`), `list` is `nargs`
(`--KEY a b`) or `append` (`--KEY a --KEY b`). DVC reads its config with configobj; this is a
small reader of the same syntax (sections, `key = value`, quotes, `#` comments, comma lists,
triple-quoted values), so that validating a spec needs no more than the standard library. The
local file overrides the repository's, key by key, and the merged value is the one checked.
"""

from __future__ import annotations

import difflib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from specops.spec.files import Unreadable, read_bytes
from specops.spec.problems import Problem

CHOICES = {"bool": ("store_true", "boolean_optional"), "list": ("nargs", "append")}


@dataclass(frozen=True)
class Parsing:
    """DVC's `[parsing]` section, its defaults when unset."""

    bool: str = "store_true"
    list: str = "nargs"


DEFAULT = Parsing()

# configobj's own expressions (configobj 5), for the lines and values it accepts.
_KEYWORD = re.compile(r"""^(\s*)((?:".*?")|(?:'.*?')|(?:[^'"=].*?))\s*=\s*(.*)$""")
_SECTION = re.compile(
    r"""^(\s*)((?:\[\s*)+)((?:"\s*\S.*?\s*")|(?:'\s*\S.*?\s*')|(?:[^'"\s].*?))((?:\s*\])+)"""
    r"""\s*(\#.*)?$"""
)
_VALUE = re.compile(
    r"""^(?:(?:((?:(?:(?:".*?")|(?:'.*?')|(?:[^'",\#][^,\#]*?))\s*,\s*)*)"""
    r"""((?:".*?")|(?:'.*?')|(?:[^'",\#\s][^,]*?)|(?:(?<!,)))?)|(,))\s*(\#.*)?$"""
)
_LIST_ITEM = re.compile(r"""((?:".*?")|(?:'.*?')|(?:[^'",\#]?.*?))\s*,\s*""")
_TRIPLE = {
    "'''": (re.compile(r"^'''(.*?)'''\s*(#.*)?$"), re.compile(r"^(.*?)'''\s*(#.*)?$")),
    '"""': (re.compile(r'^"""(.*?)"""\s*(#.*)?$'), re.compile(r'^(.*?)"""\s*(#.*)?$')),
}


class _Invalid(Exception):
    """A line configobj refuses; configobj goes on reading, and then DVC refuses the file."""


def _unquote(value: str) -> str:
    if not value:
        raise _Invalid
    if value[0] == value[-1] and value[0] in ("'", '"'):
        return value[1:-1]
    return value


def _value(text: str) -> str | list[str]:
    """A one-line value as configobj reads it: unquoted, its comment dropped, or a list."""
    match = _VALUE.match(text)
    if match is None:
        raise _Invalid
    items, single, empty_list, _comment = match.groups()
    if items == "" and single is None:
        raise _Invalid
    if empty_list is not None:
        return []
    if single is not None:
        single = None if items and not single else _unquote(single or '""')
    if items == "":
        assert single is not None
        return single
    found = [_unquote(item) for item in _LIST_ITEM.findall(items)]
    return [*found, single] if single is not None else found


@dataclass(frozen=True)
class _Setting:
    """A value, or a section's header, and where it is."""

    value: Any
    file: str
    line: int
    col: int
    key_col: int = 1


@dataclass
class _Section:
    depth: int
    parent: _Section | None
    entries: dict[str, Any]  # name -> _Setting, or _Section
    header: _Setting | None = None


class _Table(dict[str, Any]):
    """A section as a mapping, knowing where its header is."""

    header: _Setting | None = None


def _parse(file: str, text: str, problems: list[Problem]) -> dict[str, Any]:
    """The file's sections and values as configobj builds them (each value a _Setting), or
    problems for the lines configobj would refuse."""
    lines = [line.rstrip("\r\n") for line in text.splitlines(True)]
    top = _Section(0, None, {})
    section = top
    index = -1

    def refuse(message: str, at: int) -> None:
        problems.append(Problem(file, at + 1, 1, "(root)", f"DVC cannot read this line: {message}"))

    while index < len(lines) - 1:
        index += 1
        line = lines[index]
        bare = line.strip()
        if not bare or bare.startswith("#"):
            continue
        marker = _SECTION.match(line)
        if marker is not None:
            _indent, opening, name, closing, _comment = marker.groups()
            depth = opening.count("[")
            if depth != closing.count("]"):
                refuse("its section brackets do not match", index)
                continue
            parent: _Section | None
            if depth < section.depth:  # back to the level of one of its ancestors
                parent = section
                while parent.depth > depth and parent.parent is not None:
                    parent = parent.parent
                parent = parent.parent
            elif depth == section.depth:
                parent = section.parent
            elif depth == section.depth + 1:
                parent = section
            else:
                refuse("its section is nested deeper than the one before it", index)
                continue
            assert parent is not None
            name = _unquote(name)
            if name in parent.entries:
                refuse(f"section {name!r} is there twice", index)
                continue
            header = _Setting(None, file, index + 1, len(_indent) + 1)
            section = _Section(depth, parent, {}, header)
            parent.entries[name] = section
            continue
        keyword = _KEYWORD.match(line)
        if keyword is None:
            refuse("it is neither a `[section]` nor a `key = value`", index)
            continue
        start, key, raw = index, keyword.group(2), keyword.group(3)
        col = keyword.start(3) + 1
        try:
            if raw[:3] in _TRIPLE:
                value: Any
                value, index = _multiline(raw, lines, index)
            else:
                value = _value(raw)
            key = _unquote(key)
        except _Invalid:
            refuse("its value is not one configobj can read (check the quotes)", start)
            continue
        if key in section.entries:
            refuse(f"{key!r} is set twice in its section", start)
            continue
        section.entries[key] = _Setting(value, file, start + 1, col, len(keyword.group(1)) + 1)
    return _plain(top)


def parse_config(file: str, text: str, problems: list[Problem]) -> dict[str, Any]:
    """One config file's sections and values as configobj builds them: each value has its
    `value`, `file`, `line` and `col`, each section its `header`; lines configobj would
    refuse are added to `problems`."""
    return _parse(file, text, problems)


def _multiline(raw: str, lines: list[str], index: int) -> tuple[str, int]:
    quote = raw[:3]
    one_line, last_line = _TRIPLE[quote]
    match = one_line.match(raw)
    if match is not None:
        return match.group(1), index
    value = raw[3:]
    if quote in value:
        raise _Invalid
    while index < len(lines) - 1:
        index += 1
        value += "\n"
        line = lines[index]
        if quote in line:
            break
        value += line
    else:
        raise _Invalid
    end = last_line.match(line)
    if end is None:
        raise _Invalid
    return value + end.group(1), index


def _plain(section: _Section) -> _Table:
    """Sections as mappings, keys in lower case as DVC makes them (a later one wins)."""
    table = _Table(
        (key.lower(), _plain(value) if isinstance(value, _Section) else value)
        for key, value in section.entries.items()
    )
    table.header = section.header
    return table


def _merge(into: dict[str, Any], update: dict[str, Any]) -> None:
    for key, value in update.items():
        if isinstance(into.get(key), dict) and isinstance(value, dict):
            _merge(into[key], value)
        else:
            into[key] = value


def dvc_dir(root: Path) -> Path | None:
    """The `.dvc` folder DVC uses for a project in `root`: the nearest one in `root` or a
    folder above it, up to the mount point, as DVC looks for it."""
    folder = root
    while True:
        if (folder / ".dvc").is_dir():
            return folder / ".dvc"
        if os.path.ismount(folder) or folder.parent == folder:
            return None
        folder = folder.parent


def load_parsing(root: Path) -> tuple[Parsing, list[Problem]]:
    """DVC's `[parsing]` settings for a project in `root` (resolved), and the problems that
    would make DVC refuse them."""
    found = dvc_dir(root)
    if found is None:
        return DEFAULT, []
    problems: list[Problem] = []
    merged: dict[str, Any] = {}
    for name in ("config", "config.local"):
        path = found / name
        display = os.path.relpath(path, root)
        try:
            raw = read_bytes(path)
        except Unreadable as exc:
            problems.append(Problem.plain(display, exc.reason))
            continue
        try:
            text = "" if raw is None else raw.decode("utf-8")
        except UnicodeDecodeError:
            problems.append(Problem.plain(display, "DVC cannot read it: it is not UTF-8 text"))
            continue
        data = _parse(display, text, problems)
        # Each level DVC loads, even a missing file, has a section of its own: a value named
        # `parsing` in the repository's file is replaced by the local file's empty section.
        data.setdefault("parsing", _Table())
        _merge(merged, data)
    if problems:
        return DEFAULT, problems
    return _settings(merged.get("parsing"))


def _settings(section: Any) -> tuple[Parsing, list[Problem]]:
    if section is None:
        return DEFAULT, []
    if isinstance(section, _Setting):
        msg = "must be a section, `[parsing]`, not a value"
        return DEFAULT, [Problem(section.file, section.line, 1, "parsing", msg)]
    problems: list[Problem] = []
    values = dict(DEFAULT.__dict__)
    for key, setting in section.items():
        where = f"parsing.{key}"
        if isinstance(setting, _Table):  # a subsection
            header = setting.header
            assert header is not None
            msg = f"unknown section; DVC accepts only {' and '.join(CHOICES)} here"
            problems.append(Problem(header.file, header.line, header.col, where, msg))
            continue
        if key not in CHOICES:
            close = difflib.get_close_matches(key, list(CHOICES), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            msg = f"unknown key; DVC accepts {' and '.join(CHOICES)}{hint}"
            problems.append(Problem(setting.file, setting.line, setting.key_col, where, msg))
            continue
        choices = CHOICES[key]
        text = str(setting.value).lower()  # as DVC's schema does, to lists as well
        if text not in choices:
            close = difflib.get_close_matches(text, choices, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            msg = f"must be {' or '.join(choices)}, not {setting.value!r}{hint}"
            problems.append(Problem(setting.file, setting.line, setting.col, where, msg))
            continue
        values[key] = text
    return Parsing(**values), problems
