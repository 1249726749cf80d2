"""Applying changes is all or nothing: a failure puts back every file it had touched."""

from __future__ import annotations

from pathlib import Path

import pytest

from specops.generators.header import header
from specops.spec.problems import SpecError
from specops.writer import Action, Change, apply


def test_a_removal_set_aside_is_put_back_when_a_later_write_fails(tmp_path: Path) -> None:
    old = header("specops.yaml") + "name: stale\n"
    stale = tmp_path / ".github/workflows/specops-old.yml"
    stale.parent.mkdir(parents=True)
    stale.write_text(old)
    (tmp_path / "blocker").write_text("a file where a folder should be\n")
    changes = [
        Change(".github/workflows/specops-old.yml", Action.DELETE, old, None),
        Change("blocker/dvc.yaml", Action.CREATE, None, "stages: {}\n"),
    ]
    with pytest.raises(SpecError) as caught:
        apply(tmp_path, changes)
    assert str(caught.value) == "blocker/dvc.yaml: error: cannot write: Not a directory"
    assert stale.read_text() == old
    assert sorted(p.name for p in stale.parent.iterdir()) == ["specops-old.yml"]


def test_folders_made_for_a_failed_render_are_removed(tmp_path: Path) -> None:
    (tmp_path / "blocker").write_text("a file where a folder should be\n")
    changes = [
        Change("new/deep/dvc.yaml", Action.CREATE, None, "stages: {}\n"),
        Change("blocker/dvc.yaml", Action.CREATE, None, "stages: {}\n"),
    ]
    with pytest.raises(SpecError) as caught:
        apply(tmp_path, changes)
    assert str(caught.value) == "blocker/dvc.yaml: error: cannot write: Not a directory"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocker"]
