"""Shared fixtures: a builder for file trees, and the repository's root."""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Mapping
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

Tree = Callable[[Mapping[str, str | bytes]], Path]


def build_tree(root: Path, files: Mapping[str, str | bytes]) -> Path:
    """Write `files` (path -> text, dedented, or raw bytes) below `root`; return `root`."""
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(textwrap.dedent(content).lstrip("\n"), encoding="utf-8")
    return root


@pytest.fixture
def tree(tmp_path: Path) -> Tree:
    """`tree({"specops.yaml": "...", "params.yaml": "..."})` builds a project in tmp_path."""
    return lambda files: build_tree(tmp_path, files)
