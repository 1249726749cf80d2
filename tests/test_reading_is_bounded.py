"""A project file is read whole up to the size limit, and refused past it, byte-exactly."""

from __future__ import annotations

from pathlib import Path

import pytest

from specops.spec.files import Unreadable, read_bytes

MiB = 1024 * 1024


def test_a_file_of_exactly_the_limit_is_read_whole(tmp_path: Path) -> None:
    data = bytes(range(256)) * (3 * MiB // 256)
    (tmp_path / "big").write_bytes(data)
    assert read_bytes(tmp_path / "big", limit=3 * MiB) == data


def test_one_byte_past_the_limit_is_refused(tmp_path: Path) -> None:
    (tmp_path / "big").write_bytes(b"x" * (3 * MiB + 1))
    with pytest.raises(Unreadable) as caught:
        read_bytes(tmp_path / "big", limit=3 * MiB)
    assert caught.value.reason == "cannot read: larger than 3 MiB"


def test_only_regular_files_are_read_and_nothing_waits(tmp_path: Path) -> None:
    import os
    import socket

    os.mkfifo(tmp_path / "fifo")  # opening it for reading would wait for a writer
    (tmp_path / "folder").mkdir()
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(tmp_path / "sock"))
        kinds = {"fifo": "a named pipe", "folder": "a folder", "/dev/null": "a device"}
        for name, kind in kinds.items():
            with pytest.raises(Unreadable) as caught:
                read_bytes(tmp_path / name)
            assert caught.value.reason == f"cannot read: it is {kind}, not a regular file"
        with pytest.raises(Unreadable) as caught:  # a socket cannot even be opened
            read_bytes(tmp_path / "sock")
        assert caught.value.reason == "cannot read: No such device or address"
    assert read_bytes(tmp_path / "missing") is None
    assert read_bytes(tmp_path / "missing" / "below") is None
    (tmp_path / "file").write_bytes(b"")
    assert read_bytes(tmp_path / "file") == b""
    assert read_bytes(tmp_path / "file" / "below") is None  # a file on the way: nothing there
