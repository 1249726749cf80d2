"""Progress of a long `specops drift` on a terminal's stderr, and nowhere else."""

from __future__ import annotations

import os
import pty
import subprocess
import sys

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

GROUPS = 40


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """Two Parquet files of GROUPS row groups each: GROUPS batches a side."""
    root = tmp_path_factory.mktemp("progress")
    rng = np.random.default_rng(1)
    for name in ("ref", "cur"):
        rows = GROUPS * 50
        table = pa.table({"x": rng.normal(0, 1, rows), "c": rng.choice(["a", "b"], rows)})
        pq.write_table(table, root / f"{name}.parquet", row_group_size=50)
    return ["--reference", str(root / "ref.parquet"), "--current", str(root / "cur.parquet")]


def on_a_terminal(args: list[str], **env: str) -> tuple[int, str, str]:
    """Run specops with stderr on a pseudo-terminal; its exit code, stdout and the terminal's
    text."""
    primary, secondary = pty.openpty()
    environ = {k: v for k, v in os.environ.items() if k != "CI"} | env
    process = subprocess.Popen(
        [sys.executable, "-m", "specops", "drift", *args],
        stdout=subprocess.PIPE,
        stderr=secondary,
        env=environ,
    )
    os.close(secondary)
    shown = b""
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # the terminal is gone once the process has closed it
            break
        if not chunk:
            break
        shown += chunk
    os.close(primary)
    assert process.stdout is not None
    out = process.stdout.read().decode()
    code = process.wait(timeout=60)
    return code, out, shown.decode()


def test_progress_on_a_terminal(files: list[str]) -> None:
    code, out, shown = on_a_terminal(files)
    assert code == 0 and out.startswith("reference: ")
    assert f"\rreading the reference: batch 1 of {GROUPS} (2%)\x1b[K" in shown
    assert f"\rreading the reference: batch {GROUPS} of {GROUPS} (100%)\x1b[K" in shown
    assert f"\rreading the current: batch {GROUPS} of {GROUPS} (100%)\x1b[K" in shown
    assert shown.endswith("\r\x1b[K")  # the line is gone before the report prints
    assert "\n" not in shown


@pytest.mark.parametrize(
    "args, env",
    [(["--format", "json"], {}), ([], {"CI": "true"}), (["--format", "md"], {"CI": "1"})],
)
def test_no_progress_in_json_or_ci(files: list[str], args: list[str], env: dict[str, str]) -> None:
    code, out, shown = on_a_terminal([*files, *args], **env)
    assert (code, shown) == (0, "")
    assert out


def test_no_progress_in_a_pipe(files: list[str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "specops", "drift", *files],
        capture_output=True,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "CI"},
        check=False,
    )
    assert (done.returncode, done.stderr) == (0, "")
