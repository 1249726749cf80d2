"""dvc.yaml files as the data of a spec, remembering where each part came from.

The spec's keys are dvc.yaml's, so a dvc.yaml's data is the spec's: the root one at the spec's
top level, one in a subfolder under `pipelines: {FOLDER: ...}`. What specops's schema has no key for
is refused here, at its position in the dvc.yaml; everything else is left to the spec's own
validation, whose problems are mapped back (`Sources.locate`).
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from specops.generators.header import ALSO, generated_from, is_generated
from specops.spec.checks import did_you_mean
from specops.spec.files import Unreadable, read_bytes, real_path_inside
from specops.spec.models import Spec
from specops.spec.problems import KeyPath, Problem, SpecError
from specops.spec.schema_errors import describe, fields_at
from specops.spec.yamlfile import YamlDoc, decode, load_yaml

#: Where the dvc.yaml of a subfolder goes in the spec.
PIPELINES = "pipelines"
#: The keys of DVC 3's dvc.yaml (dvc/schema.py: MULTI_STAGE_SCHEMA, STAGE_DEFINITION, FOREACH_IN).
DVC_KEYS = ("stages", "vars", "params", "metrics", "plots", "artifacts", "datasets")
DVC_STAGE_KEYS = (
    *("cmd", "wdir", "deps", "params", "outs", "metrics", "plots", "matrix", "vars"),
    *("frozen", "meta", "desc", "always_changed"),
)
FOREACH_KEYS = ("foreach", "do")


@dataclass(frozen=True)
class Source:
    """One dvc.yaml: its bytes as read, its data with positions, and where it sits in the spec."""

    path: str
    raw: bytes
    doc: YamlDoc
    prefix: KeyPath
    #: Its text, decoded; a header that specops wrote is blanked (the lines stay, for positions).
    text: str

    @property
    def folder(self) -> str:
        return posixpath.dirname(self.path)


def _plain(path: str, message: str) -> SpecError:
    return SpecError([Problem.plain(path, message)])


def read_source(root: Path, path: str, spec_name: str) -> Source:
    """Read and parse one dvc.yaml; SpecError when it cannot be, or is specops's already."""
    try:
        raw = read_bytes(real_path_inside(root, path))
    except Unreadable as exc:
        raise _plain(path, exc.reason) from exc
    if raw is None:
        raise _plain(path, "cannot read: No such file or directory")
    text = decode(path, raw)
    owner = generated_from(text) if is_generated(text) else None
    if owner is not None and os.path.lexists(root / owner):  # a spec that renders it is there
        msg = f"is generated from {owner!r} already; change that spec and run `specops render`"
        raise _plain(path, msg)
    if owner is not None:  # generated from a spec that is gone, as a stopped import leaves it
        text = _without_header(text)
    doc = load_yaml(path, raw)
    folder = posixpath.dirname(path)
    return Source(path, raw, doc, (PIPELINES, folder) if folder else (), text)


def _without_header(text: str) -> str:
    """`text` with the lines of its generated-file header empty: they tell to change a spec
    that is not there, and are no comment of the project."""
    lines = text.split("\n")
    count = 1
    for prefix in ("# change ", ALSO):
        if count < len(lines) - 1 and lines[count].startswith(prefix):
            count += 1
    return "\n" * count + "\n".join(lines[count:])


_UNSUPPORTED = "specops cannot express this dvc.yaml key yet, so the file cannot be imported"


def _check_keys(
    doc: YamlDoc, mapping: Any, at: KeyPath, dvc: tuple[str, ...], spec: KeyPath
) -> Iterator[Problem]:
    """Keys of `mapping` (at `at` in the dvc.yaml) that DVC refuses, or that the spec has no
    field for at `spec`."""
    if not isinstance(mapping, dict):
        return  # the spec's schema says what is wrong with it
    known = set(fields_at(Spec, spec))
    for key in mapping:
        if not isinstance(key, str):
            continue  # reported by the spec's loader
        if key not in dvc:
            msg = f"not a dvc.yaml key: DVC refuses it{did_you_mean(key, dvc)}"
            yield doc.problem((*at, key), msg, at_key=True)
        elif key not in known:
            yield doc.problem((*at, key), _UNSUPPORTED, at_key=True)


def key_problems(source: Source) -> list[Problem]:
    """The dvc.yaml keys of `source` that cannot be imported, at their positions."""
    doc, data = source.doc, source.doc.data
    if not isinstance(data, dict):
        msg = f"expected a mapping at the top level, got {describe(data)}"
        return [doc.problem((), msg)]
    base = source.prefix or ()
    problems = list(_check_keys(doc, data, (), DVC_KEYS, base))
    stages = data.get("stages")
    if not isinstance(stages, dict) or "stages" not in fields_at(Spec, base):
        return problems
    for name, stage in stages.items():
        if not isinstance(stage, dict):
            continue
        at, spec_at = ("stages", name), (*base, "stages", name)
        looped = any(k in stage for k in FOREACH_KEYS)
        keys = FOREACH_KEYS if looped else DVC_STAGE_KEYS
        checked = stage
        if "foreach" in stage and "foreach" not in fields_at(Spec, spec_at):
            checked = {"foreach": stage["foreach"]}  # one problem for the loop, not one a key
        problems += _check_keys(doc, checked, at, keys, spec_at)
        if looped and "do" in fields_at(Spec, spec_at):
            body, spec_body = (*at, "do"), (*spec_at, "do")
            problems += _check_keys(doc, stage.get("do"), body, DVC_STAGE_KEYS, spec_body)
    return problems


def spec_data(name: str, maturity: int, sources: list[Source]) -> dict[str, Any]:
    """The spec: its own three keys, then each dvc.yaml's data where it belongs."""
    data: dict[str, Any] = {"version": 1, "name": name, "maturity": maturity}
    for source in sources:
        if not source.prefix:
            data.update(source.doc.data)
        else:
            data.setdefault(PIPELINES, {})[source.folder] = source.doc.data
    return data


@dataclass(frozen=True)
class Sources:
    """The dvc.yaml files imported, and which of them each part of the spec came from."""

    files: list[Source]

    def locate(self, spec_path: KeyPath) -> tuple[Source, KeyPath] | None:
        """The dvc.yaml and key path that the spec's `spec_path` was copied from."""
        for source in self.files:
            prefix = source.prefix
            if prefix and spec_path[: len(prefix)] == prefix:
                return source, spec_path[len(prefix) :]
            if not prefix and spec_path[:1] and spec_path[0] in DVC_KEYS:
                return source, spec_path
        return None
