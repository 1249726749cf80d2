"""User-facing problems: one line each, `PATH:LINE:COL: error: key.path: message`.

A problem that is about a whole file or folder, not a node in it, has no position and reads
`PATH: error: message`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

Key = str | int
KeyPath = tuple[Key, ...]

#: More problems than this are not listed: nobody reads them, and a hostile file could have
#: millions. The count of the rest is reported instead.
MAX_PROBLEMS = 100

_UNSAFE = re.compile(r"[^\x20-\x7e]")
_HIDDEN = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8 in a file name (surrogateescape)
        return f"\\x{code - 0xDC00:02x}"
    if unicodedata.category(char) in _HIDDEN:
        return char.encode("unicode_escape").decode("ascii")
    return char


def printable(text: str) -> str:
    """`text` on one line with nothing that moves the cursor or hides text: line breaks,
    control and format characters (bidi overrides) and undecodable bytes are escaped."""
    if text.isascii() and text.isprintable():
        return text
    return _UNSAFE.sub(_escape, text)


def format_keypath(path: Sequence[Key]) -> str:
    """`("stages", "train", "outs", 0)` -> `stages.train.outs[0]`; the root is `(root)`."""
    text = ""
    for key in path:
        if isinstance(key, int) and not isinstance(key, bool):
            text += f"[{key}]"
        else:  # YAML keys may be any scalar: null, true, 1.5, a date
            text += f".{key}" if text else str(key)
    return text or "(root)"


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with a user's file, at a 1-based line and column (0 when the problem
    is about the file as a whole)."""

    file: str
    line: int
    col: int
    keypath: str
    message: str

    @classmethod
    def plain(cls, file: str, message: str) -> Problem:
        """A problem with a file or folder as a whole, printed without a position."""
        return cls(file, 0, 0, "", message)

    def __str__(self) -> str:
        file, message = printable(self.file), printable(self.message)
        if not self.line:
            return f"{file}: error: {message}"
        return f"{file}:{self.line}:{self.col}: error: {printable(self.keypath)}: {message}"


class SpecError(Exception):
    """Raised with every problem found; the CLI prints them and exits 2."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    def lines(self) -> list[str]:
        """The problems as printed, at most MAX_PROBLEMS of them and a count of the rest."""
        shown = [str(p) for p in self.problems[:MAX_PROBLEMS]]
        rest = len(self.problems) - len(shown)
        if rest:
            shown.append(f"specops: error: {rest:,} more problem(s) not shown")
        return shown
