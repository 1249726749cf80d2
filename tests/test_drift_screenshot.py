"""The HTML report as a browser shows it: headless Chromium's screenshot has the plots' bars.

Chromium is Debian's (`apt-get install -y chromium`); .ci/run installs it. The test fails, and
says how to install it, when it is missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from specops.cli import main
from specops.monitoring.plots import CURRENT_COLOUR, REFERENCE_COLOUR
from tests.driftspec import WATCHED
from tests.pngread import read_png

WIDTH, HEIGHT = 1000, 2000
BANNER = (0xFD, 0xE2, 0xE1)  # the drift verdict's background
FAIL = (0xB0, 0x00, 0x20)  # a failed gate's status
SPEC = (
    WATCHED
    + """\
  reference: ref.parquet
  current: cur.parquet
  columns: [income, city]
  target: y
  predicted_class: pred
  performance:
    - metric: f1_macro
      min: 0.8
"""
)


def chromium() -> str:
    found = os.environ.get("SPECOPS_CHROMIUM") or shutil.which("chromium")
    if not found:
        pytest.fail(
            "chromium is missing: install Debian's with `apt-get install -y chromium` (as"
            " the README's test command does), or set SPECOPS_CHROMIUM to a Chromium binary",
            pytrace=False,
        )
    return found


def rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def screenshot(page: Path, folder: Path) -> npt.NDArray[np.uint8]:
    shot = folder / "shot.png"
    result = subprocess.run(
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--hide-scrollbars",
            f"--user-data-dir={folder / 'profile'}",
            f"--screenshot={shot}",
            f"--window-size={WIDTH},{HEIGHT}",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0 and shot.is_file(), result.stderr
    return read_png(shot)


def bands(mask: npt.NDArray[np.bool_], gap: int = 30) -> list[tuple[int, int]]:
    """The runs of rows holding some of `mask`, split where `gap` rows hold none."""
    rows = np.flatnonzero(mask.any(axis=1))
    found: list[tuple[int, int]] = []
    for row in rows.tolist():
        if found and row - found[-1][1] <= gap:
            found[-1] = (found[-1][0], row)
        else:
            found.append((row, row))
    return found


def test_the_report_shows_the_plots(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(7)
    ref = pa.table(
        {
            "income": rng.normal(0, 1, 3000),
            "city": rng.choice(["paris", "rome", "oslo"], 3000),
            "y": np.arange(3000) % 3,
            "pred": np.arange(3000) % 3,
        }
    )
    cur = pa.table(
        {
            "income": rng.normal(2.0, 1, 2000),  # shifted to the right
            "city": rng.choice(["paris", "rome", "oslo", "kyiv"], 2000, p=[0.1, 0.2, 0.3, 0.4]),
            "y": np.arange(2000) % 3,
            "pred": rng.integers(0, 3, 2000),  # the model now guesses
        }
    )
    pq.write_table(ref, tmp_path / "ref.parquet")
    pq.write_table(cur, tmp_path / "cur.parquet")
    (tmp_path / "specops.yaml").write_text(SPEC)
    page = tmp_path / "drift.html"
    code = main(
        [
            "drift",
            "--spec",
            str(tmp_path / "specops.yaml"),
            "--format",
            "html",
            "--output",
            str(page),
        ]
    )
    assert code == 1 and capsys.readouterr() == ("", "")
    image = screenshot(page, tmp_path)
    assert image.shape == (HEIGHT, WIDTH, 3)
    assert (image != 255).any(axis=2).mean() > 0.03, "the page is blank"
    banner = (image == BANNER).all(axis=2)
    assert banner.sum() > 5000, "no drift verdict"
    # The data's verdict and the model quality's, each on its banner, apart.
    assert len(bands(banner, gap=5)) == 2, bands(banner, gap=5)
    # The failed gate's status in red.
    assert (image == FAIL).all(axis=2).sum() > 20, "no failed gate shown"
    blue = (image == rgb(REFERENCE_COLOUR)).all(axis=2)
    orange = (image == rgb(CURRENT_COLOUR)).all(axis=2)
    bars = bands(blue | orange)
    # The legend's swatches, then the two plots, each its legend above its bars.
    plots = [(a, b) for a, b in bars if b - a > 100]
    assert len(plots) == 2, bars
    assert np.flatnonzero(banner.any(axis=1)).max() < plots[0][0]
    for top, bottom in plots:
        assert blue[top:bottom].sum() > 2000 and orange[top:bottom].sum() > 2000
    # The bars of `income` (the legend left out): the current's mass lies right of the
    # reference's, by about 2 of the plot's 7 standard deviations.
    top, bottom = plots[0]
    columns = np.arange(WIDTH)
    weights = [side[top + 24 : bottom + 1].sum(axis=0) for side in (blue, orange)]
    centres = [float((columns * w).sum() / w.sum()) for w in weights]
    assert centres[1] - centres[0] > 80, centres
    # `city`: kyiv, the last bar, is the current's alone; a column with the current's
    # colour and none of the reference's lies right of every reference bar.
    top, bottom = plots[1]
    ref_x = np.flatnonzero(blue[top + 24 : bottom + 1].any(axis=0))
    cur_x = np.flatnonzero(orange[top + 24 : bottom + 1].any(axis=0))
    assert cur_x.max() > ref_x.max() + 40
