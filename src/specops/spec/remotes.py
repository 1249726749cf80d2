"""The DVC extras CI must install to reach the project's remotes, from `.dvc/config`.

Only the repository's own `.dvc/config` is read: CI checks out what is committed, so a remote
that only `.dvc/config.local` names is one CI never sees. Every remote counts, not only the
default one, since an output may name its own (`remote:`). A URL's scheme picks the extra as
DVC picks the filesystem (dvc.config_schema.ByUrl): a URL without a host is a local path, and
`remote://NAME/path` is a path in another remote.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from specops.spec.dvcconfig import dvc_dir, parse_config
from specops.spec.files import Unreadable, read_bytes
from specops.spec.problems import Problem, SpecError

#: Each scheme DVC supports and the extra of the `dvc` package that brings its filesystem
#: (None: DVC itself depends on it).
EXTRAS: dict[str, str | None] = {
    "azure": "azure",
    "gdrive": "gdrive",
    "gs": "gs",
    "hdfs": "hdfs",
    "http": None,
    "https": None,
    "oss": "oss",
    "s3": "s3",
    "ssh": "ssh",
    "webdav": "webdav",
    "webdavs": "webdav",
    "webhdfs": "webhdfs",
}

_REMOTE = re.compile(r'^\s*remote\s*"(.*)"\s*$')


def dvc_extras(root: Path) -> tuple[str, ...]:
    """The extras (`s3`, `gs`, ...) the remotes in the `.dvc/config` of a project in `root`
    need, sorted; SpecError for a remote DVC would refuse."""
    found = dvc_dir(root)
    if found is None:
        return ()
    path = found / "config"
    display = os.path.relpath(path, root)
    try:
        raw = read_bytes(path)
    except Unreadable as exc:
        raise SpecError([Problem.plain(display, exc.reason)]) from exc
    if raw is None:
        return ()
    problems: list[Problem] = []
    try:
        data = parse_config(display, raw.decode("utf-8"), problems)
    except UnicodeDecodeError:
        problems.append(Problem.plain(display, "DVC cannot read it: it is not UTF-8 text"))
        data = {}
    remotes = {
        match.group(1): section
        for key, section in data.items()
        if (match := _REMOTE.match(key)) is not None and isinstance(section, dict)
    }
    extras: set[str] = set()
    for name, section in remotes.items():
        extra, problem = _extra(name, section, remotes, display, set())
        if problem is not None:
            problems.append(problem)
        elif extra is not None:
            extras.add(extra)
    if problems:
        raise SpecError(problems)
    return tuple(sorted(extras))


def _extra(
    name: str, section: Any, remotes: dict[str, Any], display: str, seen: set[str]
) -> tuple[str | None, Problem | None]:
    where = f"remote.{name}"
    setting = section.get("url")
    if setting is None or not isinstance(setting.value, str):
        header = section.header
        line, col = (header.line, header.col) if header is not None else (1, 1)
        return None, Problem(display, line, col, where, "DVC needs a `url` for every remote")
    parsed = urlparse(setting.value)
    if not parsed.netloc:
        return None, None
    scheme = parsed.scheme
    if scheme == "remote":  # a path in another remote, which that remote's scheme reaches
        other = remotes.get(parsed.netloc)
        if other is None or parsed.netloc in seen:
            msg = f"{setting.value!r} names no remote DVC can resolve"
            return None, Problem(setting.file, setting.line, setting.col, f"{where}.url", msg)
        return _extra(parsed.netloc, other, remotes, display, seen | {name})
    if scheme not in EXTRAS:
        msg = f"DVC supports no remote of type {scheme + '://'!r}"
        return None, Problem(setting.file, setting.line, setting.col, f"{where}.url", msg)
    return EXTRAS[scheme], None
