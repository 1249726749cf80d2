"""The hash of a model as a dvc.lock records it."""

from __future__ import annotations

import re
from dataclasses import dataclass

import yaml

from specops.deploy import CheckFailed

#: What DVC 3 records for a file (32 hex digits), or for a directory (with `.dir`).
_MD5 = re.compile(r"[0-9a-f]{32}(\.dir)?")


@dataclass(frozen=True)
class Locked:
    """A DVC output in dvc.lock: its path, md5, and the stage that writes it."""

    path: str
    md5: str
    stage: str

    @property
    def is_dir(self) -> bool:
        return self.md5.endswith(".dir")


def locked_out(lock_text: str, path: str, where: str) -> Locked:
    """The entry of `path` among the outs of the dvc.lock `lock_text`; `where` names that
    file in messages (e.g. `dvc.lock at 1a2b3c4d5e6f`)."""
    try:
        lock = yaml.safe_load(lock_text)
    except yaml.YAMLError as exc:
        raise CheckFailed(f"{where} is not valid YAML: {exc}") from exc
    except RecursionError as exc:
        raise CheckFailed(f"{where} is nested too deeply to read") from exc
    stages = lock.get("stages") if isinstance(lock, dict) else None
    for name, stage in (stages or {}).items() if isinstance(stages, dict) else ():
        outs = stage.get("outs") if isinstance(stage, dict) else None
        for entry in outs if isinstance(outs, list) else ():
            if isinstance(entry, dict) and entry.get("path") == path:
                digest = entry.get("md5")
                if not isinstance(digest, str) or not digest:
                    raise CheckFailed(f"{where} records no md5 for {path}")
                if entry.get("hash") != "md5":
                    # DVC 2 hashed text files after converting line endings, into another
                    # cache layout; nothing of that is read here.
                    raise CheckFailed(
                        f"{where} records {path} in DVC 2's format; reproduce and commit "
                        "dvc.lock with DVC 3"
                    )
                if not _MD5.fullmatch(digest):
                    # It names a file below the cache folder: it must not name any other.
                    raise CheckFailed(
                        f"{where} records {digest!r} as the md5 of {path}, which is not an md5"
                    )
                return Locked(path, digest, str(name))
    raise CheckFailed(f"{where} has no stage whose outs include {path}")
