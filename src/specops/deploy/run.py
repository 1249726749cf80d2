"""Run the team's deployment command with the facts of the version it deploys."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from specops.deploy import CheckFailed


def environment(
    base: Mapping[str, str],
    *,
    model: str,
    version: str,
    stage: str,
    commit: str,
    model_path: Path,
    model_hash: str,
    environment: str,
    url: str | None,
) -> dict[str, str]:
    """`base` plus the SPECOPS_* variables the command reads."""
    env = dict(base)
    env.pop("SPECOPS_URL", None)  # one inherited from the caller would name another service
    env |= {
        "SPECOPS_MODEL": model,
        "SPECOPS_VERSION": version,
        "SPECOPS_STAGE": stage,
        "SPECOPS_COMMIT": commit,
        "SPECOPS_MODEL_PATH": str(model_path.resolve()),
        "SPECOPS_MODEL_HASH": model_hash,
        "SPECOPS_ENVIRONMENT": environment,
    }
    if url is not None:
        env["SPECOPS_URL"] = url
    return env


def run_command(cmd: str, cwd: Path, env: Mapping[str, str], *, stdout_to_stderr: bool) -> int:
    """Run `bash -c cmd` in `cwd` with no input; its output goes straight through (to stderr
    when stdout must stay machine-readable). Returns its exit code."""
    sys.stdout.flush()
    sys.stderr.flush()
    try:
        proc = subprocess.run(
            ["bash", "-c", cmd],
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=2 if stdout_to_stderr else None,  # fd 2: our own stderr
            check=False,
        )
    except OSError as exc:
        raise CheckFailed(f"cannot run bash: {exc}") from exc
    return proc.returncode
