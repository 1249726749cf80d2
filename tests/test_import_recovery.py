"""`specops import` on odd projects and after an interrupted run: refused clearly or finished
by running it again, never a crash nor a spec that blocks both import and render."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from specops import commands, importing, writer
from specops.spec import SpecError
from tests.test_import import problems, project, untouched

ROOT = "stages:\n  a:\n    cmd: x # the root\n    outs: [a.bin]\n"
NLP = "stages:\n  b:\n    cmd: y # the pipeline\n    outs: [b.bin]\n"


def test_a_dvc_yaml_in_an_out_of_a_stage_is_refused_at_its_file(tmp_path: Path) -> None:
    """An out that is not cached is not ignored by Git, so its folder's dvc.yaml is found; DVC
    does not read it, and the spec may not have a pipeline there."""
    files = {
        "dvc.yaml": "stages:\n  a:\n    cmd: x\n    outs:\n    - build:\n        cache: false\n",
        "build/dvc.yaml": "stages:\n  b:\n    cmd: y\n",
    }
    root = project(tmp_path, files)
    with pytest.raises(SpecError) as exc:
        commands.import_(root / "specops.yaml")
    assert problems(exc) == [
        "build/dvc.yaml: error: pipelines.build: 'build' is an out of stage 'a'; DVC does not"
        " look for a dvc.yaml in an output"
    ]
    untouched(root, files)


def _die_after(replaces: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """os.replace stops the process (as a kill would) after `replaces` calls."""
    real = os.replace
    done: list[object] = []

    def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        if len(done) == replaces:
            raise SystemExit("killed")
        done.append(dst)
        real(src, dst)

    monkeypatch.setattr(os, "replace", replace)


def test_a_run_stopped_while_replacing_files_leaves_no_spec(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The spec is written last: a run stopped before it leaves dvc.yaml files, each whole, and
    running import again finishes the job; a spec written first would block both import (it
    exists) and render (the dvc.yaml files next to it are not generated)."""
    root = project(tmp_path / "p", {"dvc.yaml": ROOT, "nlp/dvc.yaml": NLP})
    plan = importing.prepare(root, "specops.yaml", "specops.yaml")
    _die_after(1, monkeypatch)
    with pytest.raises(SystemExit):
        writer.take_over(root, [plan.spec, *plan.rendered], "specops.yaml", plan.read)
    monkeypatch.undo()
    assert not (root / "specops.yaml").exists()
    commands.import_(root / "specops.yaml")
    assert commands.render(root / "specops.yaml", check=True).stale == []


def test_a_generated_dvc_yaml_whose_spec_is_gone_is_imported_without_its_header(
    tmp_path: Path,
) -> None:
    """What a stopped import leaves: some dvc.yaml files generated from a spec that was never
    written. Their header says to change that spec; it is not a comment of the project."""
    root = project(tmp_path / "p", {"dvc.yaml": ROOT, "nlp/dvc.yaml": NLP})
    commands.import_(root / "specops.yaml")
    (root / "specops.yaml").unlink()
    (root / "dvc.yaml").write_text(ROOT)  # the root's was not replaced yet
    result = commands.import_(root / "specops.yaml")
    assert (root / "specops.yaml").read_text() == (
        "version: 1\nname: p\nmaturity: 0\n\n"
        + ROOT
        + "\npipelines:\n  nlp:\n    stages:\n      b:\n        cmd: y\n        outs:\n"
        "        - b.bin\n"
    )
    assert [(i.path, i.comments) for i in result.imported] == [
        ("dvc.yaml", 1),
        ("nlp/dvc.yaml", 0),
    ]


def test_temporary_files_of_a_stopped_run_are_removed_by_the_next(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = project(tmp_path / "p", {"dvc.yaml": ROOT, "nlp/dvc.yaml": NLP})
    plan = importing.prepare(root, "specops.yaml", "specops.yaml")
    real = writer._write_temp
    written: list[Path] = []

    def write_temp(target: Path, text: str) -> Path:
        if written:
            raise SystemExit("killed")  # no roll-back: the first one stays
        written.append(real(target, text))
        return written[-1]

    monkeypatch.setattr(writer, "_write_temp", write_temp)
    monkeypatch.setattr(writer._Transaction, "roll_back", lambda *_: None)  # a kill: no undo
    with pytest.raises(SystemExit):
        writer.take_over(root, [plan.spec, *plan.rendered], "specops.yaml", plan.read)
    monkeypatch.undo()
    assert written[0].exists()
    result = commands.import_(root / "specops.yaml")
    assert not list(root.rglob("*.specops-tmp"))
    assert written[0].relative_to(root).as_posix() in [c.path for c in result.changes]
    assert commands.render(root / "specops.yaml", check=True).stale == []
