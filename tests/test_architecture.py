"""Layers point one way, and the fast commands stay off the heavy imports."""

from __future__ import annotations

import ast
import json
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
    "scaffold": {"scaffold", "generators"},
    "writer": {"writer", "generators", "spec"},
    "commands": {"commands", "scaffold", "writer", "generators", "spec"},
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


@pytest.mark.parametrize(
    "args", [["--help"], ["validate"], ["render", "--check"], ["schema"]], ids=" ".join
)
def test_fast_commands_import_nothing_heavy(args: list[str]) -> None:
    probe = (
        "import json, sys\n"
        "from specops.cli import main\n"
        "try:\n"
        f"    main({args!r})\n"
        "except SystemExit:\n"
        "    pass\n"
        "sys.stdout = sys.__stdout__\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True
    )
    loaded = set(json.loads(result.stdout.splitlines()[-1]))
    assert "specops" in loaded
    assert not loaded & HEAVY, f"specops {' '.join(args)} imported {sorted(loaded & HEAVY)}"
