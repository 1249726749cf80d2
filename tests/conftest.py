"""Shared fixtures: a builder for file trees, the repository's root, golden files, and a
project where the reference pipeline has run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
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


#: The reference pipeline and this tree's specops (which the pipeline uses), importable.
IMPORT_PATH = os.pathsep.join([str(REPO), str(REPO / "src")])


def run_stage(
    cwd: Path, stage: str, *args: str, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m pipeline.<stage>`` in ``cwd`` with the repo importable."""
    env = {**os.environ, "PYTHONPATH": IMPORT_PATH}
    result = subprocess.run(
        [sys.executable, "-m", f"pipeline.{stage}", *args],
        check=False,  # asserted below instead, so a failure shows the stage's stderr
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


def new_workdir(path: Path) -> Path:
    """Make a scratch directory holding a copy of ``params.yaml``."""
    path.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "params.yaml", path / "params.yaml")
    return path


@pytest.fixture(scope="session")
def pipeline_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scratch project where prepare, validate_data, train and evaluate ran once with the
    default params: `models/model.skops`, `data/prepared/{train,test,live}.csv`,
    `data/validated/train.csv` and the metrics."""
    path = new_workdir(tmp_path_factory.mktemp("pipeline"))
    for stage in ("prepare", "validate_data", "train", "evaluate"):
        run_stage(path, stage)
    return path
