"""A project file is read whole up to the size limit, and refused past it, byte-exactly."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterator
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


@contextlib.contextmanager
def _failing_after(seconds: float) -> Iterator[None]:
    """A read that waits fails the test instead of hanging it."""

    def give_up(signum: int, frame: object) -> None:
        raise TimeoutError(f"still waiting after {seconds} s")

    previous = signal.signal(signal.SIGALRM, give_up)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def test_only_regular_files_are_read_and_nothing_waits(tmp_path: Path) -> None:
    import socket

    os.mkfifo(tmp_path / "fifo")  # opening it for reading would wait for a writer
    (tmp_path / "folder").mkdir()
    with socket.socket(socket.AF_UNIX) as sock, _failing_after(5):
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


def test_an_error_while_reading_is_reported() -> None:
    # Opens as a regular file; reading at offset 0 fails, as a bad disk does.
    with pytest.raises(Unreadable) as caught:
        read_bytes(Path("/proc/self/mem"))
    assert caught.value.reason == "cannot read: Input/output error"


def test_a_terminal_is_refused_without_becoming_the_controlling_one() -> None:
    # A process without a terminal (CI, a hook) that opened one would take it as its own, and
    # be sent the terminal's signals. Only a session leader can: check in a forked one.
    parent, child = os.openpty()
    terminal = Path(os.ttyname(child))
    with pytest.raises(Unreadable) as caught:
        read_bytes(terminal)
    assert caught.value.reason == "cannot read: it is a device, not a regular file"
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child reports through its exit status
        refused = has_terminal = False
        try:
            os.setsid()
            try:
                read_bytes(terminal)
            except Unreadable as exc:
                refused = exc.reason == "cannot read: it is a device, not a regular file"
            with contextlib.suppress(OSError):  # ENXIO: no controlling terminal
                os.close(os.open("/dev/tty", os.O_RDONLY))
                has_terminal = True
        finally:
            os._exit(0 if refused and not has_terminal else 1)
    os.close(parent)
    os.close(child)
    assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 0
