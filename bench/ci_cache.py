"""What the DVC remote saves a pull request's CI: stages run and seconds, against no cache.

Builds a project of four stages in a temporary folder (prepare -> train -> evaluate, and report
beside them; each stage's command sleeps --seconds, standing in for work, and appends its name
to a log outside its outputs), with a local-directory DVC remote, and pushes it to a bare
`origin`. Then, each in a fresh clone, as the rendered `specops-ci.yml` does it (the scripts of
its `Pull DVC data`, `Reproduce the pipeline` and `Push DVC data` steps, read from the rendered
file and run with bash):

- main's CI on the push that made it: pull (the remote is empty), repro, push;
- (a) a pull request that changes train's params: pull, repro;
- (b) a pull request that changes only the README: pull, repro;
- the anchor, "no cache": each pull request again without the remote (as a fork's runs), where
  `dvc repro` runs every stage.

    python bench/ci_cache.py                 # ~80 s
    python bench/ci_cache.py --seconds 1

Expected: (a) runs train and evaluate only, (b) runs no stage, and the anchor runs all four.
A measurement, not a test: it prints a PASS/FAIL verdict and exits 0 unless a command fails.
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

import yaml

BIN = Path(sys.executable).parent
STAGES = ["prepare", "train", "evaluate", "report"]
SPEC = """\
version: 1
name: bench
maturity: 2
stages:
  prepare:
    cmd: python stage.py prepare
    deps: [stage.py]
    params: [prepare]
    outs: [data/prepared.txt]
  train:
    cmd: python stage.py train data/prepared.txt
    deps: [stage.py, data/prepared.txt]
    params: [train]
    outs: [models/model.txt]
  evaluate:
    cmd: python stage.py evaluate models/model.txt
    deps: [stage.py, models/model.txt]
    outs: [eval/scores.txt]
    metrics: [{eval/metrics.json: {cache: false}}]
  report:
    cmd: python stage.py report
    deps: [stage.py]
    params: [report]
    outs: [reports/report.txt]
ci:
  install: pip install -e .
"""
STAGE_PY = """\
import json, pathlib, sys, time
name, inputs = sys.argv[1], sys.argv[2:]
params = json.loads(pathlib.Path("params.yaml").read_text())
time.sleep(float(params["seconds"]))
outs = {"prepare": "data/prepared.txt", "train": "models/model.txt",
        "evaluate": "eval/scores.txt", "report": "reports/report.txt"}
text = name + repr(params.get(name)) + "".join(pathlib.Path(i).read_text() for i in inputs)
pathlib.Path(outs[name]).parent.mkdir(parents=True, exist_ok=True)
pathlib.Path(outs[name]).write_text(text)
if name == "evaluate":
    pathlib.Path("eval/metrics.json").write_text(json.dumps({"length": len(text)}))
with open("runs.log", "a") as log:
    log.write(name + "\\n")
"""


def environment() -> dict[str, str]:
    """The venv first on PATH, a fixed Git identity, and DVC's usage reports off."""
    return {
        **os.environ,
        "PATH": os.pathsep.join([str(BIN), os.environ.get("PATH", "")]),
        "DVC_NO_ANALYTICS": "1",
        "GIT_CONFIG_GLOBAL": os.devnull,
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_AUTHOR_NAME": "bench",
        "GIT_AUTHOR_EMAIL": "bench@specops.invalid",
        "GIT_COMMITTER_NAME": "bench",
        "GIT_COMMITTER_EMAIL": "bench@specops.invalid",
    }


def sh(cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    proc = subprocess.run(
        args, cwd=cwd, env={**environment(), **(env or {})}, capture_output=True, text=True
    )
    if proc.returncode != 0:
        sys.exit(
            f"`{' '.join(args)}` in {cwd} exited {proc.returncode}\n{proc.stdout}{proc.stderr}"
        )
    return proc.stdout


def params(seconds: float, train: int = 1) -> str:
    # JSON is YAML too, and the stages read it with the standard library.
    values = {"seconds": seconds, "prepare": {"n": 1}, "train": {"lr": train}, "report": {"k": 1}}
    return json.dumps(values) + "\n"


def make_origin(base: Path, seconds: float) -> Path:
    dev = base / "dev"
    dev.mkdir()
    for name, text in {
        "specops.yaml": SPEC,
        "params.yaml": params(seconds),
        "stage.py": STAGE_PY,
        "README.md": "# bench\n",
        ".gitignore": "runs.log\n",
    }.items():
        (dev / name).write_text(text)
    sh(dev, "git", "init", "-q", "-b", "main")
    sh(dev, "dvc", "init", "-q")
    sh(dev, "specops", "render")
    sh(dev, "dvc", "repro")
    sh(dev, "dvc", "remote", "add", "-d", "storage", str(base / "remote"))
    sh(dev, "git", "add", "-A")
    sh(dev, "git", "commit", "-q", "-m", "Start")
    sh(base, "git", "init", "-q", "--bare", "-b", "main", "origin.git")
    sh(dev, "git", "push", "-q", str(base / "origin.git"), "main")
    return base / "origin.git"


def branch(base: Path, origin: Path, name: str, files: dict[str, str]) -> None:
    work = base / f"work-{name}"
    sh(base, "git", "clone", "-q", str(origin), work.name)
    sh(work, "git", "checkout", "-q", "-b", name)
    for path, text in files.items():
        (work / path).write_text(text)
    sh(work, "git", "commit", "-q", "-am", f"Change {', '.join(files)}")
    sh(work, "git", "push", "-q", "origin", name)


def ci(
    base: Path, origin: Path, ref: str, label: str, remote: bool, push: bool
) -> tuple[list[str], list[float]]:
    """The pipeline job's data steps on `ref` in a fresh clone: the stages run, and the seconds
    that pull, repro (and push) took."""
    clone = base / f"ci-{label}"
    sh(base, "git", "clone", "-q", "--branch", ref, str(origin), clone.name)
    steps = yaml.safe_load((clone / ".github/workflows/specops-ci.yml").read_text())
    scripts = {s["name"]: s.get("run", "") for s in steps["jobs"]["pipeline"]["steps"]}
    summary = clone.parent / f"summary-{label}.md"
    env = {
        "GITHUB_REPOSITORY": "bench/project",
        # A fork's pull request: the step runs without the remote, as with no cache at all.
        "SPECOPS_HEAD_REPOSITORY": "" if remote else "someone/fork",
        "GITHUB_STEP_SUMMARY": str(summary),
    }
    names = ["Pull DVC data", "Reproduce the pipeline"] + (["Push DVC data"] if push else [])
    seconds = []
    for name in names:
        start = time.perf_counter()
        sh(clone, "bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", scripts[name], env=env)
        seconds.append(time.perf_counter() - start)
    log = clone / "runs.log"
    return (log.read_text().split() if log.exists() else []), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="each stage's work (3)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="specops-ci-cache-") as folder:
        base = Path(folder)
        origin = make_origin(base, args.seconds)
        branch(base, origin, "train-params", {"params.yaml": params(args.seconds, train=2)})
        branch(base, origin, "readme", {"README.md": "# bench, documented\n"})
        rows = [("main: push (fills the remote)", *ci(base, origin, "main", "main", True, True))]
        for label, ref in [("(a) train's params", "train-params"), ("(b) README only", "readme")]:
            rows.append((f"{label}: with the remote", *ci(base, origin, ref, ref, True, False)))
            rows.append((f"{label}: no cache", *ci(base, origin, ref, ref + "-0", False, False)))
    width = max(len(r[0]) for r in rows)
    print(f"{'run':<{width}}  {'stages run':<34}  {'pull s':>6}  {'repro s':>7}  {'total s':>7}")
    for label, ran, times in rows:
        print(
            f"{label:<{width}}  {', '.join(ran) or '-':<34}  {times[0]:6.2f}  {times[1]:7.2f}"
            f"  {sum(times):7.2f}"
        )
    expected = [["evaluate", "train"], sorted(STAGES), [], sorted(STAGES)]
    ok = all(sorted(row[1]) == want for row, want in zip(rows[1:], expected, strict=True))
    a, a0, b, b0 = (sum(row[2]) for row in rows[1:])
    print(
        f"{'PASS' if ok else 'FAIL'}: (a) ran {', '.join(rows[1][1])} in {a:.1f} s against"
        f" {a0:.1f} s without the remote; (b) ran {len(rows[3][1])} stages in {b:.1f} s"
        f" against {b0:.1f} s (stages of {args.seconds:g} s each)"
    )


if __name__ == "__main__":
    main()
