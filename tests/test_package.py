"""specops as users get it: the sdist and the wheel that the publish workflow uploads."""

from __future__ import annotations

import email
import os
import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

import specops

ROOT = Path(__file__).resolve().parent.parent
LINT = ROOT.parent / "shared" / "tools" / "lint-workflows"
PYPROJECT = (ROOT / "pyproject.toml").read_text()
VERSION = re.findall(r'^version = "([^"]+)"$', PYPROJECT, re.MULTILINE)[0]


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        text=True,
    )
    return out


def test_sdist_and_wheel_pass_twine_check(dist: Path) -> None:
    files = sorted(p.name for p in dist.iterdir())
    assert files == [f"specops-{VERSION}-py3-none-any.whl", f"specops-{VERSION}.tar.gz"]
    checked = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", *map(str, dist.iterdir())],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert checked.stdout.count("PASSED") == 2


def test_the_wheel_carries_the_templates_the_license_and_its_metadata(dist: Path) -> None:
    with zipfile.ZipFile(dist / f"specops-{VERSION}-py3-none-any.whl") as wheel:
        names = set(wheel.namelist())
        info = f"specops-{VERSION}.dist-info"
        metadata = email.message_from_bytes(wheel.read(f"{info}/METADATA"))
        license_text = wheel.read(f"{info}/licenses/LICENSE").decode()
    templates = {p.name for p in (ROOT / "src/specops/generators/templates").iterdir()}
    assert templates and {f"specops/generators/templates/{t}" for t in templates} <= names
    scaffold = {p.name for p in (ROOT / "src/specops/scaffold").iterdir() if p.suffix != ".py"}
    assert {f"specops/scaffold/{s}" for s in scaffold if s != "__pycache__"} <= names
    assert "specops/py.typed" in names
    assert not any(n.startswith(("tests/", "pipeline/", "bench/")) for n in names)
    assert (metadata["Name"], metadata["Version"]) == ("specops", VERSION)
    assert metadata["License-Expression"] == "Apache-2.0"
    assert metadata.get_all("License-File") == ["LICENSE"]
    assert license_text == (ROOT / "LICENSE").read_text()
    assert "Apache License" in license_text and "Version 2.0, January 2004" in license_text


def test_the_sdist_carries_the_license_and_the_changelog(dist: Path) -> None:
    with tarfile.open(dist / f"specops-{VERSION}.tar.gz") as sdist:
        names = {n.split("/", 1)[1] for n in sdist.getnames() if "/" in n}
    assert {"LICENSE", "CHANGELOG.md", "README.md", "pyproject.toml"} <= names


def test_the_version_is_one_and_the_changelog_has_it() -> None:
    assert specops.__version__ == VERSION
    headings = re.findall(r"^## (\S+)", (ROOT / "CHANGELOG.md").read_text(), re.MULTILINE)
    assert headings[0] == VERSION


def test_the_publish_workflow_passes_the_linters() -> None:
    if not LINT.is_file():
        reason = f"workflow linters not found at {LINT}"
        if os.environ.get("SPECOPS_REQUIRE_LINT") == "1":
            pytest.fail(f"{reason}, and SPECOPS_REQUIRE_LINT=1 requires them")
        pytest.skip(f"{reason}; set SPECOPS_REQUIRE_LINT=1 to make this a failure")
    workflow = ROOT / ".github/workflows/publish.yml"
    result = subprocess.run(
        ["bash", str(LINT), str(workflow)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    text = workflow.read_text()
    # Only the upload job may ask for an OIDC token, and nothing stores a PyPI token.
    assert text.count("id-token: write") == 1
    assert "password" not in text and "secrets." not in text
