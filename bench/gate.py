"""`specops gate` with a baseline read from Git, against `dvc metrics diff` of the same revisions.

Clones the reference project (the repository that holds this script, or --repo) into a
temporary folder, registers its HEAD~1 as `MODEL@v0.0.1` and assigns it to production with GTO's
annotated tags, so that the spec's `vs: production` gate reads its baseline at HEAD~1. Then runs,
as subprocesses, interleaved (round k runs every command once, in an order rotated by k):

- `specops gate`: every gate, the `vs: production` one reading metrics/scores.json at HEAD~1;
- `dvc metrics diff HEAD~1`: DVC comparing the same file between the same two revisions;
- `specops validate`: the floor, start-up and the spec without any Git.

    python bench/gate.py                      # 10 rounds after a warm-up round
    python bench/gate.py --repo PATH --runs 20

Target: the median of `specops gate` is no more than that of `dvc metrics diff`. A measurement,
not a test: it prints a PASS/FAIL verdict and exits 0 unless a command fails.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

ANCHOR = "dvc metrics diff HEAD~1"
TARGET = "specops gate"
BIN = Path(sys.executable).parent


def environment() -> dict[str, str]:
    """The venv first on PATH, a fixed Git identity, and DVC's usage reports off."""
    return {
        **os.environ,
        "PATH": os.pathsep.join([str(BIN), os.environ.get("PATH", "")]),
        "DVC_NO_ANALYTICS": "1",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "bench",
        "GIT_AUTHOR_EMAIL": "bench@specops.invalid",
        "GIT_COMMITTER_NAME": "bench",
        "GIT_COMMITTER_EMAIL": "bench@specops.invalid",
    }


def git(cwd: Path, *args: str) -> str:
    proc = subprocess.run(
        ["git", *args], cwd=cwd, env=environment(), capture_output=True, text=True, check=True
    )
    return proc.stdout.strip()


def prepare(repo: Path, folder: Path) -> tuple[Path, str]:
    """A clone of `repo` with HEAD~1 in production; returns it and the model's name."""
    clone = folder / "repo"
    git(folder, "clone", "--quiet", "--no-hardlinks", str(repo), str(clone))
    sys.path.insert(0, str(repo / "src"))
    from specops.spec import load_spec

    model = next(iter(load_spec(clone / "specops.yaml").spec.models))
    git(clone, "tag", "-a", f"{model}@v0.0.1", "-m", "bench baseline", "HEAD~1")
    git(clone, "tag", "-a", f"{model}#production#1", "-m", "bench baseline", "HEAD~1")
    return clone, model


def timed(argv: list[str], cwd: Path, ok: tuple[int, ...]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, env=environment(), capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    if proc.returncode not in ok:
        sys.exit(f"`{' '.join(argv)}` exited {proc.returncode}: {proc.stderr.decode()[-2000:]}")
    return elapsed


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(r[i]) for r in [headers, *rows]) for i in range(len(headers))]

    def line(cells: list[str]) -> str:
        first = cells[0].ljust(widths[0])
        rest = [c.rjust(w) for c, w in zip(cells[1:], widths[1:], strict=True)]
        return "  ".join([first, *rest])

    return "\n".join([line(headers), line(["-" * w for w in widths]), *map(line, rows)])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--repo", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--runs", type=int, default=10, help="timed rounds (10)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed rounds first (1)")
    args = parser.parse_args(argv)
    specops, dvc = str(BIN / "specops"), str(BIN / "dvc")
    commands = {
        "specops validate": ([specops, "validate"], (0,)),
        TARGET: ([specops, "gate"], (0, 1)),  # a failing gate is still a measured gate
        ANCHOR: ([dvc, "metrics", "diff", "HEAD~1"], (0,)),
    }
    with tempfile.TemporaryDirectory() as folder:
        clone, model = prepare(args.repo.resolve(), Path(folder))
        gate_text = subprocess.run(
            [specops, "gate"], cwd=clone, env=environment(), capture_output=True, text=True
        ).stdout
        names = list(commands)
        times: dict[str, list[float]] = {name: [] for name in names}
        for k in range(args.warmup + args.runs):
            for name in names[k % len(names) :] + names[: k % len(names)]:
                argv, ok = commands[name]
                elapsed = timed(argv, clone, ok)
                if k >= args.warmup:
                    times[name].append(elapsed)
        head = git(clone, "rev-parse", "--short", "HEAD")
    anchor = statistics.median(times[ANCHOR])
    rows = [
        [
            name,
            f"{statistics.median(t) * 1000:.0f}",
            f"{min(t) * 1000:.0f}",
            f"{max(t) * 1000:.0f}",
            f"{statistics.median(t) / anchor:.2f}x",
        ]
        for name, t in times.items()
    ]
    versions = ", ".join(f"{d} {metadata.version(d)}" for d in ("specops", "dvc"))
    print(
        f"repo {args.repo} at {head}, baseline HEAD~1 as {model}@v0.0.1 in production\n"
        f"python {sys.version.split()[0]}, {versions}, {os.cpu_count()} CPU(s); "
        f"{args.runs} interleaved runs after {args.warmup} warm-up round(s)\n"
    )
    print(table(["command", "median ms", "min ms", "max ms", "vs dvc metrics diff"], rows))
    print(f"\n`specops gate` printed:\n{gate_text}")
    target = statistics.median(times[TARGET])
    verdict = "PASS" if target <= anchor else "FAIL"
    print(
        f"{verdict}: `{TARGET}` median {target * 1000:.0f} ms = {target / anchor:.2f}x "
        f"`{ANCHOR}` {anchor * 1000:.0f} ms (target <= 1.00x)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
