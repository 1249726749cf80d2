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
