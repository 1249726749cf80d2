"""Shared fixtures: a builder for file trees, the repository's root, and golden files."""

from __future__ import annotations

import os
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


def check_golden(path: Path, text: str) -> None:
    """Assert that `text` is the content of the golden file `path`.

    With SPECOPS_UPDATE_GOLDEN=1 the golden is rewritten instead and the test fails, so that a
    rewritten golden is never taken for a passing test: review it, then run the tests again.
    """
    data = text.encode("utf-8")
    old = path.read_bytes() if path.is_file() else None
    if os.environ.get("SPECOPS_UPDATE_GOLDEN") == "1":
        if old == data:
            pytest.skip(f"SPECOPS_UPDATE_GOLDEN=1: {path} already matches; nothing compared")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        pytest.fail(
            f"SPECOPS_UPDATE_GOLDEN=1: rewrote {path}; review the change (git diff), then run "
            "the tests again without SPECOPS_UPDATE_GOLDEN",
            pytrace=False,
        )
    assert old is not None, f"{path} is missing: run the tests with SPECOPS_UPDATE_GOLDEN=1"
    assert text == old.decode("utf-8"), (
        f"{path} differs: review the change, then rerun with SPECOPS_UPDATE_GOLDEN=1"
    )
