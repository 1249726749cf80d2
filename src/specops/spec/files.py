"""Reading the files a project holds, safely: regular files only, and only so many bytes.

A committed symlink can point at /dev/zero or a named pipe, and a file can be any size; reading
either naively hangs or exhausts memory, so every file specops reads goes through here.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

#: No spec, params file or generated file comes near this; a file larger than this is refused.
MAX_FILE_BYTES = 10 * 1024 * 1024

_KINDS = {
    stat.S_IFDIR: "a folder",
    stat.S_IFIFO: "a named pipe",
    stat.S_IFCHR: "a device",
    stat.S_IFBLK: "a device",
    stat.S_IFSOCK: "a socket",
}


class Unreadable(Exception):
    """A file that exists but cannot be read as a project file; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def read_bytes(path: Path, limit: int = MAX_FILE_BYTES) -> bytes | None:
    """The bytes of the regular file at `path`, or None when there is no file there.

    Raises Unreadable for anything else that is there: a folder, a pipe, a device, a file larger
    than `limit`, or one that cannot be opened.
    """
    try:
        # O_NONBLOCK: opening a named pipe must not wait for a writer; fstat then refuses it.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        raise Unreadable(f"cannot read: {exc.strerror or exc}") from exc
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = _KINDS.get(stat.S_IFMT(mode), "not a regular file")
            raise Unreadable(f"cannot read: it is {kind}, not a regular file")
        chunks = []
        size = 0
        while size <= limit:  # st_size can lie (procfs) or change: count what is really read
            chunk = os.read(fd, min(1 << 20, limit + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise Unreadable(f"cannot read: larger than {limit // (1024 * 1024)} MiB")
        return b"".join(chunks)
    except OSError as exc:
        raise Unreadable(f"cannot read: {exc.strerror or exc}") from exc
    finally:
        os.close(fd)


def real_path_inside(root: Path, relative: str) -> Path:
    """`root / relative` with every symlink resolved; Unreadable when that leaves `root`.

    `root` must be resolved already. Parts that do not exist yet are kept as written, so this
    also vets a file that is about to be created, and every folder on the way to it.
    """
    try:
        real = (root / relative).resolve()
    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop, before Python 3.13
        raise Unreadable(f"cannot resolve: {exc}") from exc
    if real != root and root not in real.parents:
        raise Unreadable(f"its real path {str(real)!r} is outside the project {str(root)!r}")
    return real
