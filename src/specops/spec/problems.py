"""User-facing problems: one line each, `PATH:LINE:COL: error: key.path: message`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

Key = str | int
KeyPath = tuple[Key, ...]


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
    """One thing wrong with a user's file, at a 1-based line and column."""

    file: str
    line: int
    col: int
    keypath: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}: error: {self.keypath}: {self.message}"


class SpecError(Exception):
    """Raised with every problem found; the CLI prints them and exits 2."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = sorted(problems)
        super().__init__("\n".join(str(p) for p in self.problems))
