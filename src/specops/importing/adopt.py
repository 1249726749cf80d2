"""`specops import` from start to end: where the spec goes, the plan, and the writes."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from specops import layout, writer
from specops.spec import SPEC_FILE, Problem, SpecError
from specops.spec.load import check_spec_name, spec_root

from .find import dvc_root
from .plan import Imported, prepare


@dataclass(frozen=True)
class ImportResult:
    """What import wrote: the new spec, and each dvc.yaml it now renders."""

    spec: str
    name: str
    maturity: int
    imported: list[Imported]
    changes: list[writer.Change]
    #: The spec holds the dvc.yaml files' own text (else their data, comments moved).
    as_written: bool

    @property
    def spec_name(self) -> str:
        """The spec's path relative to the project, as in `changes`."""
        return Path(self.spec).name

    def as_dict(self) -> dict[str, Any]:
        return {
            "spec": self.spec,
            "name": self.name,
            "maturity": self.maturity,
            "imported": [i.__dict__ for i in self.imported],
            "as_written": self.as_written,
            "files": [{"path": c.path, "action": c.action.value} for c in self.changes],
        }


def _at_the_root() -> Path:
    """specops.yaml here, when here is the root of the DVC repository it is in, if any: the
    dvc.yaml files of the folders above would otherwise be left out."""
    spec_path = Path(SPEC_FILE)
    here = spec_root(spec_path)
    found = dvc_root(here)
    if found is not None and found != here:
        msg = (
            f"is not the root of the DVC repository {str(found)!r}; run `specops import`"
            " there, or name the spec with --spec"
        )
        raise SpecError([Problem.plain(str(here), msg)])
    return spec_path


def adopt(spec_path: Path | None, *, maturity: int = 0, name: str | None = None) -> ImportResult:
    """Write a spec at `spec_path` (default: specops.yaml here, at the root of the DVC
    repository) that renders the dvc.yaml files below its folder the same, and take them over,
    all or nothing."""
    spec_path = spec_path if spec_path is not None else _at_the_root()
    check_spec_name(spec_path)
    if os.path.lexists(spec_path):
        msg = "already exists; specops import writes a new spec (change this one and render it)"
        raise SpecError([Problem.plain(str(spec_path), msg)])
    root = spec_root(spec_path)
    where = layout.layout(root, str(spec_path))
    plan = prepare(
        root,
        spec_path.name,
        str(spec_path),
        maturity=maturity,
        name=name,
        folder=where.folder,
        watched=layout.watched(where),
    )
    writer.refuse_clash(spec_path, spec_path.name, plan.rendered)
    files = [plan.spec, *plan.rendered]
    if where.folder:  # the workflows go to the Git root
        changes = layout.take_over(where, files, spec_path.name, plan.read)
    else:
        changes = writer.take_over(root, files, spec_path.name, plan.read)
    return ImportResult(
        str(spec_path), plan.name, plan.maturity, plan.imported, changes, plan.as_written
    )
