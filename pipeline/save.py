"""Save a model as a skops file whose bytes depend only on the model.

skops names objects and array files by `id()` (memory addresses), names raw bytes by a random
UUID, and stamps every zip entry with the current time, so two saves of one model differ and
`dvc repro` would record a new hash each run. The archive is rewritten with those names replaced
by their order of first appearance and a fixed timestamp; skops loads it the same way.
"""

import io
import json
import zipfile
from pathlib import Path
from typing import Any

import skops.io as sio  # type: ignore[import-untyped]

SCHEMA = "schema.json"
# The earliest time a zip entry can hold.
EPOCH = (1980, 1, 1, 0, 0, 0)


class _Names:
    """Old object ids and file names -> small numbers, in order of first appearance."""

    def __init__(self) -> None:
        self.ids: dict[int, int] = {}
        self.files: dict[str, str] = {}

    def object_id(self, old: int) -> int:
        # From 1: skops ignores a falsy __id__.
        return self.ids.setdefault(old, len(self.ids) + 1)

    def file(self, old: str) -> str:
        if old not in self.files:
            stem, _, suffix = old.rpartition(".")
            # An array file is named by its array's id, which must stay the same number.
            new = f"{self.object_id(int(stem))}" if stem.isdigit() else f"b{len(self.files)}"
            self.files[old] = f"{new}.{suffix}"
        return self.files[old]


def _rename(node: Any, names: _Names) -> Any:
    if isinstance(node, dict):
        out: dict[str, Any] = {}
        for key, value in node.items():
            if key == "__id__" and isinstance(value, int):
                out[key] = names.object_id(value)
            elif key == "file" and isinstance(value, str):
                out[key] = names.file(value)
            else:
                out[key] = _rename(value, names)
        return out
    if isinstance(node, list):
        return [_rename(item, names) for item in node]
    return node


def stable_bytes(model: Any) -> bytes:
    """The skops archive of `model`, identical for identical models."""
    with zipfile.ZipFile(io.BytesIO(sio.dumps(model))) as archive:
        names = _Names()
        schema = _rename(json.loads(archive.read(SCHEMA)), names)
        unnamed = set(archive.namelist()) - set(names.files) - {SCHEMA}
        if unnamed:  # a skops version that stores files some other way: fail, never drop them
            raise ValueError(f"skops archive has files its schema does not name: {unnamed}")
        entries = [(new, archive.read(old)) for old, new in names.files.items()]
        entries.append((SCHEMA, json.dumps(schema, indent=2).encode()))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as out:
        for name, data in entries:
            info = zipfile.ZipInfo(name, date_time=EPOCH)
            info.external_attr = 0o644 << 16
            out.writestr(info, data)
    return buffer.getvalue()


def save_model(model: Any, path: Path) -> None:
    """Write `model` to `path` as a byte-stable skops file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(stable_bytes(model))
