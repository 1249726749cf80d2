"""`specops drift` against Evidently 0.7's DataDriftPreset, as whole processes: wall time, peak
memory and every column's verdict, on generated Parquet files (nothing is committed).

Evidently needs pandas < 3, so it runs from its own virtual environment:

    python3 -m venv /work/evidently-venv
    /work/evidently-venv/bin/pip install 'evidently==0.7.*' 'pandas<3' pyarrow

Then `python bench/drift.py` prints the table for 10k, 100k and 1M rows (20 numeric and
5 categorical columns, some shifted), and `python bench/drift.py --big` the 10M x 100 case
(specops alone: 2 x 8 GB of Parquet, generated in a temporary folder and removed).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

EVIDENTLY = """
import json, sys
import pandas as pd
from evidently import Report
from evidently.presets import DataDriftPreset
ref, cur = pd.read_parquet(sys.argv[1]), pd.read_parquet(sys.argv[2])
snapshot = Report([DataDriftPreset()]).run(current_data=cur, reference_data=ref)
columns = {}
for metric in snapshot.dict()["metrics"]:
    config = metric["config"]
    if "column" in config:
        columns[config["column"]] = [config["method"], config["threshold"], metric["value"]]
print(json.dumps(columns))
"""
#: Evidently's display names of the methods, and which side of the threshold is drift.
NAMES = {
    "Wasserstein distance (normed)": "wasserstein",
    "Jensen-Shannon distance": "jensenshannon",
    "K-S p_value": "ks",
    "chi-square p_value": "chi2",
    "Z-test p_value": "z",
}
#: Time and memory targets of the 10M x 100 case.
BIG_SECONDS, BIG_BYTES = 120, 2 * 1024**3


def write(path: Path, rows: int, numeric: int, categorical: int, shift: bool, seed: int) -> None:
    """Numeric columns N(0, 1), every fourth shifted by 0.3 std in the current batch;
    categorical columns of 4 to 8 values, every second one reweighted."""
    rng = np.random.default_rng(seed)
    group = 500_000
    fields = [pa.field(f"num{i}", pa.float64()) for i in range(numeric)]
    strings = pa.dictionary(pa.int32(), pa.string())
    fields += [pa.field(f"cat{i}", strings) for i in range(categorical)]
    schema = pa.schema(fields)
    with pq.ParquetWriter(path, schema) as out:
        for start in range(0, rows, group):
            n = min(group, rows - start)
            columns: list[Any] = []
            for i in range(numeric):
                values = rng.standard_normal(n)
                columns.append(values + 0.3 if shift and i % 4 == 0 else values)
            for i in range(categorical):
                k = 4 + i % 5
                weights = np.arange(1, k + 1, dtype=np.float64)
                if shift and i % 2 == 0:
                    weights = weights[::-1]
                codes = rng.choice(k, n, p=weights / weights.sum()).astype(np.int32)
                names = pa.array([f"v{j}" for j in range(k)])
                columns.append(pa.DictionaryArray.from_arrays(codes, names))
            out.write_table(pa.Table.from_arrays(columns, schema=schema))


def measure(command: list[str]) -> tuple[float, int, str]:
    """Wall seconds, peak resident bytes and stdout of a whole process."""
    start = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(command, stdout=out, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode()
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{command[0]} {command[1]} failed with exit code {proc.returncode}")
    return seconds, usage.ru_maxrss * 1024, text


def specops(ref: Path, cur: Path) -> tuple[float, int, dict[str, tuple[str, bool]]]:
    command = [sys.executable, "-m", "specops", "drift", "--reference", str(ref)]
    seconds, peak, out = measure([*command, "--current", str(cur), "--format", "json"])
    found = json.loads(out)
    return seconds, peak, {c["column"]: (c["method"], c["drifted"]) for c in found["columns"]}


def evidently(python: str, ref: Path, cur: Path) -> tuple[float, int, dict[str, tuple[str, bool]]]:
    seconds, peak, out = measure([python, "-c", EVIDENTLY, str(ref), str(cur)])
    verdicts = {}
    for column, (name, threshold, value) in json.loads(out).items():
        method = NAMES.get(name, name)
        if method == "ks":
            drifted = value <= threshold
        elif method in ("chi2", "z"):
            drifted = value < threshold
        else:
            drifted = value >= threshold
        verdicts[column] = (method, bool(drifted))
    return seconds, peak, verdicts


def mb(size: int) -> str:
    return f"{size / 1024**2:,.0f} MB"


def table(rows: list[int], python: str, folder: Path) -> None:
    print(
        "rows/side  specops s  evidently s  speed-up  specops peak  evidently peak  memory"
        "  same verdicts"
    )
    for n in rows:
        ref, cur = folder / f"ref{n}.parquet", folder / f"cur{n}.parquet"
        write(ref, n, 20, 5, False, 1)
        write(cur, n, 20, 5, True, 2)
        s_time, s_peak, s_found = specops(ref, cur)
        e_time, e_peak, e_found = evidently(python, ref, cur)
        same = sum(s_found[c] == e_found.get(c) for c in s_found)
        print(
            f"{n:>9,}  {s_time:>9.2f}  {e_time:>11.2f}  {e_time / s_time:>7.1f}x"
            f"  {mb(s_peak):>12}  {mb(e_peak):>14}  {s_peak / e_peak:>6.2f}"
            f"  {same}/{len(s_found)}",
            flush=True,
        )
        for column in sorted(s_found):
            if s_found[column] != e_found.get(column):
                print(f"    {column}: specops {s_found[column]}, evidently {e_found.get(column)}")
    # The target, on the largest size: 20 times faster, half the memory, the same verdicts.
    ok = e_time / s_time >= 20 and s_peak <= e_peak / 2 and same == len(s_found)
    print(
        f"{'PASS' if ok else 'FAIL'}: {n:,} rows: {e_time / s_time:.1f}x faster (>= 20x),"
        f" {s_peak / e_peak:.2f}x the memory (<= 0.5x), {same}/{len(s_found)} same verdicts"
    )


def big(rows: int, columns: int, folder: Path) -> None:
    ref = folder / f"big_ref_{rows}x{columns}.parquet"
    cur = folder / f"big_cur_{rows}x{columns}.parquet"
    if not (ref.exists() and cur.exists()):
        start = time.perf_counter()
        categorical = columns // 10
        write(ref, rows, columns - categorical, categorical, False, 1)
        write(cur, rows, columns - categorical, categorical, True, 2)
        seconds = time.perf_counter() - start
        print(f"generated 2 x {rows:,} rows x {columns} columns in {seconds:.0f} s")
    seconds, peak, found = specops(ref, cur)
    drifted = sum(d for _, d in found.values())
    verdict = "PASS" if seconds < BIG_SECONDS and peak < BIG_BYTES else "FAIL"
    print(
        f"{verdict}: specops drift on {rows:,} x {columns} Parquet: {seconds:.1f} s"
        f" (< {BIG_SECONDS} s), peak {mb(peak)} (< {mb(BIG_BYTES)}); {drifted} column(s) drifted"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--evidently", default="/work/evidently-venv/bin/python")
    parser.add_argument("--big", action="store_true", help="the 10M x 100 case instead")
    parser.add_argument("--big-rows", type=int, default=10_000_000)
    parser.add_argument("--big-columns", type=int, default=100)
    parser.add_argument("--data", type=Path, help="keep the generated big files in this folder")
    args = parser.parse_args()
    if args.data is not None:  # generated files are kept there, and used again
        args.data.mkdir(parents=True, exist_ok=True)
        if args.big:
            big(args.big_rows, args.big_columns, args.data)
            return
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as folder:
        if args.big:
            big(args.big_rows, args.big_columns, Path(folder))
        else:
            table(args.rows, args.evidently, Path(folder))


if __name__ == "__main__":
    main()
