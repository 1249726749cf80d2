"""Layers point one way, and the fast commands stay off the heavy imports."""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "specops"
HEAVY = {"pandas", "sklearn", "numpy", "scipy", "dvc", "gto", "pyarrow", "skops"}

#: Which specops modules each part may import; `spec` is the bottom layer.
ALLOWED = {
    "spec": {"spec"},
    "generators": {"generators", "spec"},
    "scaffold": {"scaffold", "generators", "__version__"},
    "writer": {"writer", "generators", "spec"},
    "layout": {"layout", "writer", "generators", "spec"},
    "gates": {"gates", "spec"},
    "registry": {"registry", "spec"},
    "gating": {"gating", "gates", "registry", "spec"},
    "importing": {"importing", "generators", "layout", "scaffold", "spec", "writer"},
    "releases": {"releases", "commands", "registry", "spec"},
    "deploy": {"deploy", "registry", "spec"},
    "deploying": {"deploying", "deploy", "registry", "gating", "gates", "releases", "spec"},
    "rollback": {"rollback", "registry", "gates", "releases", "spec"},
    "initializing": {"initializing", "scaffold", "layout", "writer", "generators", "spec"},
    "monitoring": {"monitoring", "gates", "spec"},
    "commands": {
        "commands",
        "importing",
        "initializing",
        "scaffold",
        "layout",
        "writer",
        "generators",
        "gating",
        "gates",
        "releases",
        "deploy",
        "deploying",
        "rollback",
        "monitoring",
        "spec",
    },
    "cli": {"cli", "commands", "spec", "__version__"},
}


def specops_imports(path: Path) -> set[str]:
    """The second part of every `specops.X` module that `path` imports."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
            if node.module == "specops":
                names = [f"specops.{alias.name}" for alias in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        found |= {n.split(".")[1] for n in names if n.startswith("specops.")}
    return found


@pytest.mark.parametrize("part", sorted(ALLOWED))
def test_layers(part: str) -> None:
    files = list((PACKAGE / part).rglob("*.py")) if (PACKAGE / part).is_dir() else []
    files += [PACKAGE / f"{part}.py"] if (PACKAGE / f"{part}.py").exists() else []
    assert files
    for file in files:
        extra = specops_imports(file) - ALLOWED[part]
        assert not extra, f"{file.relative_to(ROOT)} imports specops.{sorted(extra)}"


def test_nothing_imports_the_cli() -> None:
    for file in PACKAGE.rglob("*.py"):
        if file.name not in ("cli.py", "__main__.py"):
            assert "cli" not in specops_imports(file), file


#: Each fast command, the exit code it must end with, and text its output must hold: a command
#: that crashed before doing its job would import little, and must not pass for a light one.
FAST_COMMANDS = {
    "--help": (["--help"], 0, "usage: specops"),
    "drift --help": (["drift", "--help"], 0, "usage: specops drift"),
    "validate": (["validate"], 0, "specops.yaml: valid; maturity 4, 7 stage(s)"),
    "validate invalid": (["validate"], 2, "specops.yaml:2:10: error: version: must be 1, got 7\n"),
    "render": (["render"], 0, "dvc.yaml: create\n.github/workflows/specops-ci.yml: create\n"),
    "render --check": (["render", "--check"], 0, "6 generated file(s) up to date\n"),
    "schema": (["schema"], 0, '"title": "specops.yaml"'),
    "import": (["import"], 0, "dvc.yaml: imported, 7 stage(s); now rendered from specops.yaml\n"),
}
MODULES = "loaded modules: "

#: Runs the CLI as `specops` would, and on the way out, however it ends, reports on stderr
#: every top-level module that was imported.
PROBE = f"""\
import atexit, json, sys
def report():
    names = sorted({{name.split(".")[0] for name in sys.modules}})
    sys.__stderr__.write("\\n{MODULES}" + json.dumps(names) + "\\n")
atexit.register(report)
from specops.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("name", sorted(FAST_COMMANDS))
def test_fast_commands_import_nothing_heavy(name: str, tmp_path: Path) -> None:
    args, code, expected = FAST_COMMANDS[name]
    # The repository's own project, copied so that the run depends on nothing else there.
    for file in ("specops.yaml", "params.yaml"):
        shutil.copyfile(ROOT / file, tmp_path / file)
    if name == "validate invalid":
        spec = (tmp_path / "specops.yaml").read_text().replace("version: 1", "version: 7")
        (tmp_path / "specops.yaml").write_text(spec)
    if name == "render --check":
        subprocess.run([sys.executable, "-m", "specops", "render"], cwd=tmp_path, check=True)
    if name == "import":  # the repository's pipeline as a DVC project that specops does not know
        subprocess.run([sys.executable, "-m", "specops", "render"], cwd=tmp_path, check=True)
        dvc_yaml = (tmp_path / "dvc.yaml").read_text().split("\n", 2)[2]  # without the header
        (tmp_path / "dvc.yaml").write_text(dvc_yaml)
        (tmp_path / "specops.yaml").unlink()
        shutil.rmtree(tmp_path / ".github")
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    err, found, modules = result.stderr.rpartition(MODULES)
    assert found, result.stdout + result.stderr
    assert result.returncode == code, result.stdout + err
    assert expected in (result.stdout if code == 0 else err), result.stdout + err
    loaded = set(json.loads(modules))
    assert "specops" in loaded
    assert not loaded & HEAVY, f"specops {' '.join(args)} imported {sorted(loaded & HEAVY)}"
