"""How long `specops import` takes on a large DVC project, anchored to `dvc stage list`.

Generates a 2000-stage dvc.yaml with matrices and `${...}` (the stages of bench/scale.py's
`--interpolated` spec, rendered by specops itself: a vars value in a dependency, a params.yaml
value in every command, every tenth stage a matrix over a list from `vars`), with a comment
above every tenth stage, plus its params.yaml, in a Git and DVC repository. Each round copies it
afresh and runs, as subprocesses, `specops import` (start-up included) and `dvc stage list` on
the same project (DVC reading and resolving it: the anchor); rounds alternate which runs first.
Prints the median, min and max of each, and the phases of one import in process.

    python bench/import.py                  # 2000 stages, 5 rounds
    python bench/import.py --stages 4000 --rounds 3

Target: `specops import` of the 2000-stage project within 2 s as a whole process. This is a
measurement, not a test: it prints a PASS/FAIL verdict and exits 0 unless a command fails.
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import scale  # bench/scale.py: the synthetic pipeline, the table printer

from specops.generators.dvc import render_dvc
from specops.spec import parse_spec

TARGET_S = 2.0
TARGET_STAGES = 2000
ENV = {**os.environ, "DVC_NO_ANALYTICS": "1"}


def dvc_yaml(n: int, folder: Path) -> tuple[str, str]:
    """The text of an n-stage dvc.yaml with matrices and `${...}`, and of its params.yaml."""
    scale.INTERPOLATED = True
    spec_text, params_text = scale.make_project(n)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "params.yaml").write_text(params_text)
    spec, _ = parse_spec("specops.yaml", spec_text.encode(), folder)
    spec = spec.model_copy(update={"models": {}})  # DVC artifacts: not what is measured here
    body = render_dvc(spec, "specops.yaml").split("\n", 2)[2]  # without specops's header
    lines = []
    for line in body.splitlines(keepends=True):
        stage = re.fullmatch(r"  s(\d+):\n", line)
        if stage and int(stage.group(1)) % 10 == 3:
            lines.append(f"  # Stage {stage.group(1)}, one in ten with a comment\n")
        lines.append(line)
    return "".join(lines), params_text


def project(base: Path, n: int) -> Path:
    """The generated project as a committed Git and DVC repository."""
    root = base / "template"
    text, _ = dvc_yaml(n, root)
    (root / "dvc.yaml").write_text(text)
    for args in (["git", "init", "-q"], ["dvc", "init", "-q"], ["git", "add", "-A"]):
        subprocess.run(args, cwd=root, check=True, env=ENV, capture_output=True)
    subprocess.run(
        ["git", "-c", "user.name=bench", "-c", "user.email=bench@invalid", "commit", "-qm", "x"],
        cwd=root,
        check=True,
        capture_output=True,
    )
    return root


def timed(argv: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, env=ENV, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"`{' '.join(argv)}` exited {proc.returncode}:\n{proc.stderr[-3000:]}")
    return elapsed


def phases(root: Path) -> list[list[str]]:
    """Where the time of one import goes, in this process (uses specops internals)."""
    from specops import writer
    from specops.generators import render
    from specops.importing import convert, find, plan, spectext
    from specops.spec.yamlfile import load_yaml

    state: dict[str, Any] = {}

    def read() -> None:
        state["source"] = convert.read_source(root, "dvc.yaml", "specops.yaml")
        state["sources"] = convert.Sources([state["source"]])

    def copy() -> None:
        data = convert.spec_data("x", 0, [state["source"]])
        head = {k: data[k] for k in ("version", "name", "maturity")}
        state["text"], state["data"] = spectext.copied(state["sources"], head), data

    def validate() -> None:
        state["spec"], state["doc"] = parse_spec("specops.yaml", state["text"].encode(), root)

    steps: list[tuple[str, Callable[[], Any]]] = [
        ("find the dvc.yaml files (git ls-files)", lambda: find.pipeline_files(root)),
        ("read dvc.yaml (YAML with positions)", read),
        ("check its keys", lambda: convert.key_problems(state["source"])),
        ("count its comments", lambda: spectext.counts(state["sources"])),
        ("the spec: its keys, then the dvc.yaml's own text", copy),
        ("validate the spec (parse_spec)", validate),
        (
            "check that it holds the dvc.yaml's data",
            lambda: plan._differs(state["data"], state["doc"].data, ()),
        ),
        ("render", lambda: state.update(files=render(state["spec"], "specops.yaml"))),
        (
            "read the rendered dvc.yaml back to compare",
            lambda: load_yaml("dvc.yaml", state["files"][0].text.encode()),
        ),
        ("plan the writes (no write)", lambda: writer.plan(root, [], "specops.yaml")),
    ]
    rows = []
    gc.disable()  # as the CLI runs: a short process builds no cyclic garbage worth collecting
    try:
        for label, fn in steps:
            start = time.perf_counter()
            fn()
            rows.append([label, f"{time.perf_counter() - start:.3f}"])
    finally:
        gc.enable()
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--stages", type=int, default=TARGET_STAGES, help="stage definitions (2000)")
    ap.add_argument("--rounds", type=int, default=5, help="timed rounds (5)")
    args = ap.parse_args(argv)
    specops = scale.specops_command()
    dvc = str(Path(sys.executable).parent / "dvc")
    with tempfile.TemporaryDirectory(prefix="specops-import-") as tmp:
        template = project(Path(tmp), args.stages)
        size = (template / "dvc.yaml").stat().st_size
        stage_list = timed([dvc, "stage", "list", "--name-only"], template)  # warm-up
        listed = subprocess.run(
            [dvc, "stage", "list", "--name-only"], cwd=template, env=ENV, capture_output=True
        ).stdout.count(b"\n")
        times: dict[str, list[float]] = {"specops import": [], "dvc stage list": []}
        for k in range(args.rounds):
            root = Path(tmp) / f"round{k}"
            shutil.copytree(template, root, symlinks=True)
            runs = [
                ("specops import", [*specops, "import"]),
                ("dvc stage list", [dvc, "stage", "list", "--name-only"]),
            ]
            for label, cmd in runs if k % 2 == 0 else runs[::-1]:
                times[label].append(timed(cmd, root))
            if not (root / "specops.yaml").is_file():
                sys.exit("specops import wrote no specops.yaml")
        del stage_list
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPU(s), {args.rounds} rounds")
        print(
            f"dvc.yaml: {args.stages} stage definitions, {listed} stages with matrices expanded,"
            f" {size / 1024:.0f} KiB\n"
        )
        anchor = statistics.median(times["dvc stage list"])
        rows = [
            [
                label,
                f"{statistics.median(t):.3f}",
                f"{min(t):.3f}",
                f"{max(t):.3f}",
                f"{statistics.median(t) / anchor:.2f}x",
            ]
            for label, t in times.items()
        ]
        print(scale.table(["command (subprocess)", "median s", "min s", "max s", "/ dvc"], rows))
        print(f"\nphases of one import in process ({args.stages} stages):")
        root = Path(tmp) / "phases"
        shutil.copytree(template, root, symlinks=True)
        print(scale.table(["phase", "s"], phases(root)))
        median = statistics.median(times["specops import"])
        if args.stages == TARGET_STAGES:
            print()
            print(
                scale.verdict(
                    median <= TARGET_S,
                    f"specops import of {args.stages} stages: median {median:.3f} s as a whole"
                    f" process (target <= {TARGET_S} s; dvc stage list {anchor:.3f} s)",
                )
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
