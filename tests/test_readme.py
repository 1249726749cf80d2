"""The README's two set-up commands are the ones CI and users run."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def setup_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Set up", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```sh\n(.*?)\n```", section, re.S)


def test_exactly_two_setup_commands() -> None:
    main_job, tests = setup_commands()
    assert "specops validate" in main_job
    assert "dvc repro" in main_job
    assert tests.endswith("&& pytest")


def test_ci_runs_the_readme_test_command() -> None:
    _, tests = setup_commands()
    assert tests in (ROOT / ".ci" / "run").read_text().splitlines()


def test_the_pre_commit_hook_runs_a_real_check() -> None:
    import shlex

    import yaml

    from specops.cli import main

    (hook,) = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    program, *args = shlex.split(hook["entry"])
    assert program == "specops"
    assert main([*args, "--spec", str(ROOT / "specops.yaml")]) == 0
