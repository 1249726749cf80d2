"""The writer on its own: what a plan refuses, and what a diff shows."""

from __future__ import annotations

from pathlib import Path

import pytest

from specops.generators import Rendered
from specops.generators.header import header
from specops.spec.files import MAX_FILE_BYTES
from specops.spec.problems import SpecError
from specops.writer import Action, Change, apply, plan

HEADER = header("specops.yaml")


def sized(path: str, size: int) -> Rendered:
    return Rendered(path, HEADER + "x" * (size - len(HEADER)))


def test_a_file_of_exactly_the_read_limit_is_written_and_read_back(tmp_path: Path) -> None:
    wanted = [sized("dvc.yaml", MAX_FILE_BYTES)]
    apply(tmp_path, plan(tmp_path, wanted, "specops.yaml"))
    assert (tmp_path / "dvc.yaml").stat().st_size == MAX_FILE_BYTES
    assert plan(tmp_path, wanted, "specops.yaml") == [
        Change("dvc.yaml", Action.UNCHANGED, wanted[0].text, wanted[0].text)
    ]


def test_every_file_too_large_to_read_back_is_reported(tmp_path: Path) -> None:
    wanted = [sized("a.yaml", MAX_FILE_BYTES + 1), sized("b.yaml", 11 * 2**20)]
    with pytest.raises(SpecError) as caught:
        plan(tmp_path, wanted, "specops.yaml")
    assert str(caught.value).splitlines() == [
        "a.yaml: error: would be 10.0 MiB, more than the 10 MiB specops reads; make the spec"
        " smaller (long values, lists or aliases)",
        "b.yaml: error: would be 11.0 MiB, more than the 10 MiB specops reads; make the spec"
        " smaller (long values, lists or aliases)",
    ]
    assert list(tmp_path.iterdir()) == []


def test_a_diff_shows_trailing_spaces_and_keeps_the_end_of_each_line() -> None:
    change = Change("dvc.yaml", Action.UPDATE, "keep\nTAX \n", "keep\nTAX\n")
    assert change.diff() == (
        "--- a/dvc.yaml\n+++ b/dvc.yaml\n@@ -1,2 +1,2 @@\n keep\n-TAX \n+TAX\n"
    )


def test_files_are_written_as_utf8_whatever_the_locale(tmp_path: Path) -> None:
    import locale

    previous = locale.setlocale(locale.LC_CTYPE)
    locale.setlocale(locale.LC_CTYPE, "C")  # ASCII, unless Python runs in UTF-8 mode
    try:
        apply(tmp_path, [Change("dvc.yaml", Action.CREATE, None, "desc: café\n")])
    finally:
        locale.setlocale(locale.LC_CTYPE, previous)
    assert (tmp_path / "dvc.yaml").read_bytes() == "desc: café\n".encode()
