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


def _tree(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): "dir" if p.is_dir() else p.read_text()
        for p in sorted(root.rglob("*"))
    }


def test_a_replace_that_fails_puts_back_every_file_replaced_or_removed_before_it(
    tmp_path: Path,
) -> None:
    old = header("specops.yaml") + "stages: {}\n"
    (tmp_path / "dvc.yaml").write_text(old)
    (tmp_path / "gone.yml").write_text(old)
    # A folder that appeared where a file is to be created: only the replace itself fails.
    (tmp_path / "late.yml").mkdir()
    (tmp_path / "late.yml" / "keep").write_text("mine")
    before = _tree(tmp_path)
    changes = [
        Change("dvc.yaml", Action.UPDATE, old, "new\n"),
        Change("gone.yml", Action.DELETE, old, None),
        Change("made/deep/new.yml", Action.CREATE, None, "new\n"),
        Change("late.yml", Action.CREATE, None, "new\n"),
    ]
    with pytest.raises(SpecError) as caught:
        apply(tmp_path, changes)
    assert str(caught.value) == "late.yml: error: cannot write: Is a directory"
    assert _tree(tmp_path) == before


def test_a_render_leaves_no_copies_and_removes_what_it_set_aside(tmp_path: Path) -> None:
    old = header("specops.yaml") + "stages: {}\n"
    (tmp_path / "dvc.yaml").write_text(old)
    (tmp_path / "gone.yml").write_text(old)
    changes = [
        Change("dvc.yaml", Action.UPDATE, old, "new\n"),
        Change("same.yml", Action.UNCHANGED, "x\n", "x\n"),
        Change("gone.yml", Action.DELETE, old, None),
        Change("made/new.yml", Action.CREATE, None, "made\n"),
    ]
    apply(tmp_path, changes)
    assert _tree(tmp_path) == {"dvc.yaml": "new\n", "made": "dir", "made/new.yml": "made\n"}


def test_a_file_removed_before_its_removal_is_reported_and_nothing_changes(
    tmp_path: Path,
) -> None:
    old = header("specops.yaml") + "stages: {}\n"
    (tmp_path / "dvc.yaml").write_text(old)
    changes = [
        Change("dvc.yaml", Action.UPDATE, old, "new\n"),
        Change("gone.yml", Action.DELETE, old, None),  # removed by someone since the plan
    ]
    with pytest.raises(SpecError) as caught:
        apply(tmp_path, changes)
    assert str(caught.value) == "gone.yml: error: cannot remove: No such file or directory"
    assert _tree(tmp_path) == {"dvc.yaml": old}
