"""Combined equals one run: for random batches split at random points (empty and one-row
partitions, ties, NaN, targets not arrived, classes in one partition only), what `--combine`
decides is what one run over the whole batch gives, to the last bit; a column or a concept
drift the summaries leave undecided is the only way out, and is never a pass."""

from __future__ import annotations

import itertools
import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from specops.cli import main

KINDS: dict[str, list[Any]] = {
    "binary": [0, 1],
    "booleans": [False, True],
    "numbers": [0, 1, 2],
    "strings": ["a", "b", "c"],
}
#: A class the reference never holds, to turn up in some partitions only.
NEW: dict[str, Any] = {"binary": 1, "booleans": True, "numbers": 7, "strings": "zz"}


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["drift", *args])
    out, err = capsys.readouterr()
    return code, out, err


def side(rng: np.random.Generator, n: int, kind: str, new: bool) -> pa.Table:
    pool = KINDS[kind] + ([NEW[kind]] if new else [])
    target = [pool[i] for i in rng.integers(0, len(pool), n)]
    said = [pool[i] for i in rng.integers(0, len(pool), n)]
    x = np.round(rng.normal(0, 1, n), 1)  # ties
    x[rng.random(n) < 0.05] = np.nan
    return pa.table(
        {
            "x": x,
            "few": np.round(rng.random(n) * 3),
            "y": pa.array([None if rng.random() < 0.1 else t for t in target]),
            "said": pa.array(said),
            "score": np.round(rng.random(n), 2),
        }
    )


def comparable(report: dict[str, Any]) -> dict[str, Any]:
    """The report without what names the files or bounds a sketch's error."""
    report["current"] = None
    columns = report["columns"] + (report.get("quality") or {}).get("concept_drift", [])
    for column in columns:
        column.pop("error", None)
        column.pop("exact", None)
    return report


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    seed=st.integers(0, 2**32 - 1),
    kind=st.sampled_from(sorted(KINDS)),
    method=st.sampled_from(["auto", "ks", "chi2", "jensenshannon"]),
    n_ref=st.integers(5, 60),
    n_cur=st.integers(1, 60),
    cuts=st.lists(st.floats(0, 1), max_size=3),
)
# Counted in another order, values summed in another order: the last bit differed.
@example(seed=75, kind="binary", method="jensenshannon", n_ref=6, n_cur=18, cuts=[0.25])
def test_combined_equals_one_run(
    capsys: pytest.CaptureFixture[str],
    seed: int,
    kind: str,
    method: str,
    n_ref: int,
    n_cur: int,
    cuts: list[float],
) -> None:
    rng = np.random.default_rng(seed)
    reference, current = side(rng, n_ref, kind, False), side(rng, n_cur, kind, True)
    bounds = [0, *sorted(round(c * n_cur) for c in cuts), n_cur]
    roles = ["--target", "y", "--predicted-class", "said", "--prediction", "score"]
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        pq.write_table(reference, root / "ref.parquet")
        pq.write_table(current, root / "cur.parquet")
        ref = ["--reference", str(root / "ref.parquet"), "--method", method, *roles]
        whole = run(capsys, *ref, "--current", str(root / "cur.parquet"), "--format", "json")
        summaries = []
        for index, (start, end) in enumerate(itertools.pairwise(bounds)):
            part, summary = root / f"cur{index}.parquet", root / f"part{index}.json"
            pq.write_table(current.slice(start, end - start), part)
            code, _, err = run(capsys, *ref, "--current", str(part), "--partial", str(summary))
            assert (code, err) == (0, "")
            summaries.append(str(summary))
        combined = run(capsys, "--combine", *summaries, "--format", "json")
    if whole[0] == 2:  # the same error, named after the whole batch or the partitions
        assert combined[0] == 2
        assert combined[2].split(": error: ")[1] == whole[2].split(": error: ")[1]
        return
    one, parts = comparable(json.loads(whole[1])), comparable(json.loads(combined[1]))
    undecided = [c for c in parts["columns"] if c["undecided"]]
    quality = parts.get("quality") or {}
    undecided += [c for c in quality.get("concept_drift", []) if c["undecided"]]
    if undecided:
        assert combined[0] == 1  # undecided never passes
        return
    assert combined[0] == whole[0]
    assert parts == one
