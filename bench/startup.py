"""Start-up cost of the specops CLI on a real repository, anchored to `dvc status`.

Runs each command as a subprocess in the repository, N times, interleaved (round k runs every
command once, in an order rotated by k) so that drift on a shared machine hits them alike, and
prints the median, min and max wall time and the ratio of each median to that of `dvc status`.
Then splits the time of `render --check` into phases (imports, model building, the work itself,
interpreter exit) with an in-process probe, and runs `python -X importtime -m specops ...` for
`validate` and `render --check` to list the heavy modules they import (there should be none).

    python bench/startup.py                   # the repository that holds this script, 10 runs
    python bench/startup.py --repo PATH --runs 20

Targets: `specops render --check` takes at most half the wall time of `dvc status`, and neither
`specops validate` nor `specops render --check` imports pandas, sklearn, dvc, numpy, scipy, gto or
pyarrow. This is a measurement, not a test: it prints PASS/FAIL verdicts and exits 0 unless a
command fails to run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

HEAVY = ("pandas", "sklearn", "dvc", "numpy", "scipy", "gto", "pyarrow")
RATIO_TARGET = 0.5
ANCHOR = "dvc status"
TARGET = "specops render --check"
_IMPORT_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)\s*$")

#: Run with `python -c` in the repository: where the time of `specops render --check` goes after
#: the interpreter has started. Imports come in dependency order so each phase counts only
#: what it adds. Uses specops internals; a phase that fails is reported, not fatal.
PROBE = """
import json, sys, time
phases = []
def phase(label, code):
    start = time.perf_counter()
    try:
        exec(code, globals())
    except Exception as exc:
        label += f" (failed: {type(exc).__name__})"
    phases.append((label, time.perf_counter() - start))
phase("import specops.cli (argparse, json, pathlib)", "import specops.cli")
phase("import yaml (libyaml)", "import yaml")
phase("import pydantic (+ pydantic_core, importlib.metadata)", "import pydantic")
phase("import jinja2", "import jinja2")
phase("pydantic's lazily imported internals (BaseModel, Field, ...)",
      "from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict,"
      " Discriminator, Field, Tag; from pydantic.plugin._loader import get_plugins")
phase("pydantic plugin scan (entry points of every installed package)", "list(get_plugins())")
phase("import specops.spec.models (builds schemas and validators)", "import specops.spec.models")
phase("import the rest of specops.commands", "import specops.commands")
phase("load_spec (YAML with positions, schema, checks)",
      "from pathlib import Path; from specops.spec import load_spec;"
      " project = load_spec(Path('specops.yaml'))")
phase("render (templates from the user cache, compiled on a miss)",
      "from specops.generators import render; files = render(project.spec, project.spec_name)")
phase("plan (compare with the files on disk)",
      "from specops import writer; writer.plan(project.root, files, project.spec_name)")
print(json.dumps(phases))
"""


@dataclass
class Command:
    label: str
    argv: list[str]
    ok_codes: tuple[int, ...] = (0,)
    extra_env: dict[str, str] = field(default_factory=dict)
    times: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.times)


@dataclass
class Imports:
    """What one command imports, from `python -X importtime`."""

    modules: list[str]
    self_us: dict[str, int]  # own import time by top-level package, microseconds

    @property
    def total_ms(self) -> float:
        return sum(self.self_us.values()) / 1000

    def heavy(self) -> list[str]:
        roots = {m.split(".")[0] for m in self.modules}
        return [h for h in HEAVY if h in roots]


def default_repo() -> Path:
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"],
            cwd=here,
            capture_output=True,
            text=True,
            check=True,
        )
        return Path(out.stdout.strip())
    except (OSError, subprocess.CalledProcessError):
        return here.parent


def script(name: str) -> list[str]:
    """The console script `name` installed next to this interpreter, else on PATH, else -m."""
    suffix = ".exe" if os.name == "nt" else ""
    beside = Path(sys.executable).parent / f"{name}{suffix}"
    if beside.is_file():
        return [str(beside)]
    found = shutil.which(name)
    return [found] if found else [sys.executable, "-m", name]


def environment(pycache: str | None) -> dict[str, str]:
    env = dict(os.environ)
    # No usage report: it would spawn a daemon that tries the network after every dvc command.
    env["DVC_NO_ANALYTICS"] = "1"
    if pycache is not None:
        # Bytecode for every module, as a normal install has, even where the environment sets
        # PYTHONDONTWRITEBYTECODE or the source tree is read-only; the warm-up round fills it.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = pycache
    return env


def run_once(cmd: Command, repo: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run(
        cmd.argv,
        cwd=repo,
        env={**env, **cmd.extra_env},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - start
    if proc.returncode not in cmd.ok_codes:
        sys.exit(
            f"`{cmd.label}` exited {proc.returncode} in {repo}:\n"
            f"{(proc.stdout + proc.stderr)[-2000:]}"
        )
    if cmd.label.startswith(TARGET) and proc.returncode != 0:
        print(f"warning: `{TARGET}` reports stale files; timing the stale path", file=sys.stderr)
    return elapsed


def imports(args: list[str], repo: Path, env: dict[str, str]) -> Imports:
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "specops", *args],
        cwd=repo,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
    )
    if proc.returncode not in (0, 1):
        sys.exit(f"`python -m specops {' '.join(args)}` exited {proc.returncode}:\n{proc.stderr}")
    modules: list[str] = []
    self_us: dict[str, int] = defaultdict(int)
    for line in proc.stderr.splitlines():
        match = _IMPORT_LINE.match(line)
        if match:
            name = match.group(4)
            modules.append(name)
            self_us[name.split(".")[0]] += int(match.group(1))
    if not modules:
        sys.exit("no -X importtime output; is this CPython 3.7 or later?")
    return Imports(modules, dict(self_us))


def table(headers: list[str], rows: list[list[str]]) -> str:
    """A plain text table: the first column left-aligned, the others right-aligned."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        first, *rest = cells
        cols = [
            first.ljust(widths[0]),
            *(c.rjust(w) for c, w in zip(rest, widths[1:], strict=True)),
        ]
        return "  ".join(cols)

    return "\n".join([line(headers), line(["-" * w for w in widths]), *map(line, rows)])


def version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "?"


def probe(repo: Path, env: dict[str, str], runs: int) -> list[tuple[str, float]]:
    """Median seconds of each PROBE phase over `runs` fresh interpreters."""
    samples: dict[str, list[float]] = defaultdict(list)
    for _ in range(runs):
        proc = subprocess.run(
            [sys.executable, "-c", PROBE],
            cwd=repo,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            print(f"(phase probe failed: {proc.stderr.strip()[-500:]})")
            return []
        for label, seconds in json.loads(proc.stdout.splitlines()[-1]):
            samples[label].append(seconds)
    return [(label, statistics.median(values)) for label, values in samples.items()]


#: `specops render --check` through its own main(), optionally with gc.freeze() before exit.
_WRAPPER = (
    "import sys; from specops.cli import main; rc = main(['render', '--check']){}; sys.exit(rc)"
)


def what_if(repo: Path, env: dict[str, str], args: Any) -> list[list[str]]:
    """Time candidate start-up fixes from outside, without changing specops: a frozen garbage
    collector at exit (skips the collections of interpreter shutdown) and no pydantic plugin
    scan (PYDANTIC_DISABLE_PLUGINS=1)."""
    plain, frozen = _WRAPPER.format(""), _WRAPPER.format("; import gc; gc.freeze()")
    no_plugins = {"PYDANTIC_DISABLE_PLUGINS": "1"}
    variants = [
        Command(f"{TARGET} via main()", [sys.executable, "-c", plain], (0, 1)),
        Command("  + gc.freeze() before exit", [sys.executable, "-c", frozen], (0, 1)),
        Command(
            "  + PYDANTIC_DISABLE_PLUGINS=1", [sys.executable, "-c", plain], (0, 1), no_plugins
        ),
        Command("  + both", [sys.executable, "-c", frozen], (0, 1), no_plugins),
    ]
    timings(variants, repo, env, args)
    base = variants[0].median
    return [
        [
            v.label,
            f"{v.median * 1000:.0f}",
            f"{min(v.times) * 1000:.0f}",
            f"{(v.median - base) * 1000:+.0f}",
        ]
        for v in variants
    ]


def timings(commands: list[Command], repo: Path, env: dict[str, str], args: Any) -> None:
    """Warm-up rounds, then timed rounds, each round in an order rotated by its number."""
    for round_ in range(args.warmup + args.runs):
        shift = round_ % len(commands)
        for cmd in commands[shift:] + commands[:shift]:
            elapsed = run_once(cmd, repo, env)
            if round_ >= args.warmup:
                cmd.times.append(elapsed)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repo", type=Path, default=None, help="default: this script's repository")
    ap.add_argument("--runs", type=int, default=10, help="timed runs of each command")
    ap.add_argument("--warmup", type=int, default=1, help="untimed rounds first")
    ap.add_argument(
        "--what-if",
        action="store_true",
        help="also time candidate start-up fixes applied from outside specops",
    )
    ap.add_argument(
        "--bytecode",
        choices=["cached", "env"],
        default="cached",
        help="cached: every module's bytecode cached in a temporary PYTHONPYCACHEPREFIX (as in "
        "a normal install); env: as the environment has it (default: cached)",
    )
    args = ap.parse_args(argv)
    repo = (args.repo or default_repo()).resolve()
    if not (repo / "specops.yaml").is_file():
        sys.exit(f"{repo} has no specops.yaml")
    if args.runs < 1 or args.warmup < 0:
        sys.exit("--runs must be at least 1 and --warmup at least 0")

    with tempfile.TemporaryDirectory(prefix="specops-pycache-") as tmp:
        env = environment(tmp if args.bytecode == "cached" else None)
        if args.bytecode == "cached" and args.warmup < 1:
            args.warmup = 1  # the round that writes the bytecode must not be timed
        return report(repo, env, args)


def report(repo: Path, env: dict[str, str], args: Any) -> int:
    specops, dvc = script("specops"), script("dvc")
    commands = [
        Command("python -c pass", [sys.executable, "-c", "pass"]),
        Command("specops --help", [*specops, "--help"]),
        Command("specops validate", [*specops, "validate"]),
        Command(TARGET, [*specops, "render", "--check"], ok_codes=(0, 1)),
        Command(ANCHOR, [*dvc, "status"]),
    ]
    print(
        f"repo {repo}\npython {sys.version.split()[0]}, specops {version('specops')}, "
        f"dvc {version('dvc')}, {os.cpu_count()} CPU(s); {args.runs} interleaved runs after "
        f"{args.warmup} warm-up round(s); bytecode {args.bytecode}; DVC_NO_ANALYTICS=1"
    )
    timings(commands, repo, env, args)
    by_label = {c.label: c for c in commands}
    anchor, target, bare = by_label[ANCHOR], by_label[TARGET], by_label["python -c pass"]
    rows = [
        [
            c.label + (" (anchor)" if c is anchor else ""),
            f"{c.median * 1000:.0f}",
            f"{min(c.times) * 1000:.0f}",
            f"{max(c.times) * 1000:.0f}",
            f"{c.median / anchor.median:.2f}x",
        ]
        for c in commands
    ]
    print()
    print(table(["command", "median ms", "min ms", "max ms", "vs dvc status"], rows))

    phases = probe(repo, env, min(args.runs, 5))
    if phases:
        spent = bare.median + sum(seconds for _, seconds in phases)
        phases = [
            ("interpreter start-up (python -c pass)", bare.median),
            *phases,
            ("interpreter exit, and the rest", target.median - spent),
        ]
        phase_rows = [
            [label, f"{seconds * 1000:.0f}", f"{seconds / target.median:.0%}"]
            for label, seconds in phases
        ]
        print()
        print(f"where `{TARGET}` spends its {target.median * 1000:.0f} ms (in-process probe):")
        print(table(["phase", "median ms", "share"], phase_rows))

    print()
    found: dict[str, list[str]] = {}
    import_rows = []
    for label, cli_args in (("specops validate", ["validate"]), (TARGET, ["render", "--check"])):
        result = imports(cli_args, repo, env)
        found[label] = result.heavy()
        top = sorted(result.self_us.items(), key=lambda kv: -kv[1])[:5]
        import_rows.append(
            [
                label,
                str(len(result.modules)),
                f"{result.total_ms:.0f}",
                ", ".join(found[label]) or "none",
                ", ".join(f"{name} {us / 1000:.0f}" for name, us in top),
            ]
        )
    headers = ["command (-X importtime)", "modules", "import ms", "heavy", "largest own, ms"]
    print(table(headers, import_rows))

    if args.what_if:
        print()
        print(f"what-if ({args.runs} interleaved runs each; fixes applied from outside specops):")
        print(table(["variant", "median ms", "min ms", "vs first"], what_if(repo, env, args)))

    ratio = target.median / anchor.median
    print()
    print(
        f"{'PASS' if ratio <= RATIO_TARGET else 'FAIL'}: `{TARGET}` median "
        f"{target.median * 1000:.0f} ms = {ratio:.2f}x `{ANCHOR}` {anchor.median * 1000:.0f} ms "
        f"(target <= {RATIO_TARGET:.2f}x)"
    )
    heavy = sorted({m for mods in found.values() for m in mods})
    detail = "; ".join(f"{k}: {', '.join(v) or 'none'}" for k, v in found.items())
    print(f"{'FAIL' if heavy else 'PASS'}: heavy modules imported ({', '.join(HEAVY)}): {detail}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
