"""Reference deploy command: `python -m pipeline.deploy [--dry-run]`.

specops runs a stage's deploy command with SPECOPS_MODEL, SPECOPS_VERSION, SPECOPS_STAGE,
SPECOPS_COMMIT, SPECOPS_MODEL_PATH (the fetched, hash-verified model file) and
SPECOPS_MODEL_HASH (its md5 from dvc.lock); SPECOPS_CONTRACT names the data contract
(default data/prepared/train.csv). This one "builds" `deploy/<stage>/` (a copy of the
model and a manifest), stops the service that stage ran before, starts `python -m
pipeline.serve` in the background on the stage's port and waits until `/health` reports the new
version. `--dry-run` checks that the model loads and prints the plan, starting nothing;
`--stop` stops the stage's service.

Ports: SPECOPS_PORT when set; else staging 8101, production 8102, and any other stage
8200 + crc32(stage) % 800, so that a stage always gets the same port.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zlib
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from pipeline.evaluate import load_model
from pipeline.service.contract import request_columns

DEPLOY_ROOT = Path("deploy")
STAGE_PORTS = {"staging": 8101, "production": 8102}
# The spec's monitoring.current is data/live/batch.csv: production's log. Other stages log
# beside it, one folder each, so that two services never append to one file.
LIVE_DIR = Path("data/live")
MONITORED_STAGE = "production"
# The data contract requests must keep (pipeline/service/contract.py).
CONTRACT = Path("data/prepared/train.csv")


class DeployError(Exception):
    """A deploy that cannot go on; the message says why."""


@dataclass(frozen=True)
class Plan:
    model: str
    version: str
    stage: str
    commit: str
    source: Path
    model_hash: str
    folder: Path
    host: str
    port: int
    log_dir: Path
    timeout_s: float
    contract: Path

    @property
    def model_file(self) -> Path:
        return self.folder / "model.skops"

    @property
    def pid_file(self) -> Path:
        return self.folder / "service.pid"

    @property
    def service_log(self) -> Path:
        return self.folder / "service.log"

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"


def stage_port(stage: str) -> int:
    """The port a stage's service listens on when SPECOPS_PORT is not set."""
    return STAGE_PORTS.get(stage) or 8200 + zlib.crc32(stage.encode()) % 800


def plan_from_env(env: dict[str, str]) -> Plan:
    """What to deploy and where, from the SPECOPS_* variables."""
    stage = env.get("SPECOPS_STAGE") or "dev"
    if not (stage.isascii() and stage.replace("-", "").replace("_", "").isalnum()):
        raise DeployError(f"SPECOPS_STAGE={stage!r}: use letters, digits, '-' and '_' only")
    port_text = env.get("SPECOPS_PORT")
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise DeployError(f"SPECOPS_PORT={port_text!r} is not a port")
        port = int(port_text)
    else:
        port = stage_port(stage)
    timeout = env.get("SPECOPS_DEPLOY_TIMEOUT") or "60"
    try:
        timeout_s = float(timeout)
    except ValueError:
        raise DeployError(f"SPECOPS_DEPLOY_TIMEOUT={timeout!r} is not a number") from None
    default_log = LIVE_DIR if stage == MONITORED_STAGE else LIVE_DIR / stage
    return Plan(
        model=env.get("SPECOPS_MODEL") or "breast-cancer-clf",
        version=env.get("SPECOPS_VERSION") or "dev",
        stage=stage,
        commit=env.get("SPECOPS_COMMIT") or "",
        source=Path(env.get("SPECOPS_MODEL_PATH") or "models/model.skops"),
        model_hash=env.get("SPECOPS_MODEL_HASH") or "",
        folder=Path(env.get("SPECOPS_DEPLOY_DIR") or DEPLOY_ROOT) / stage,
        host=env.get("SPECOPS_HOST") or "127.0.0.1",
        port=port,
        log_dir=Path(env.get("SPECOPS_LOG_DIR") or default_log),
        timeout_s=timeout_s,
        # Absolute: the service reads it at start-up, from wherever it runs.
        contract=Path(env.get("SPECOPS_CONTRACT") or CONTRACT).absolute(),
    )


def md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def check_model(plan: Plan) -> str:
    """The model file's md5, after checking it against SPECOPS_MODEL_HASH and loading it."""
    if not plan.source.is_file():
        raise DeployError(f"no model file at {plan.source} (SPECOPS_MODEL_PATH)")
    digest = md5(plan.source)
    if plan.model_hash and digest != plan.model_hash:
        raise DeployError(
            f"{plan.source} has md5 {digest}, not {plan.model_hash} (SPECOPS_MODEL_HASH)"
        )
    try:
        model = load_model(plan.source)  # the same trusted-type check the service makes
        # and the same data contract: a model that breaks it is refused before anything stops.
        request_columns(plan.contract, [str(c) for c in getattr(model, "feature_names_in_", [])])
    except SystemExit as exc:
        raise DeployError(str(exc)) from None
    return digest


def started_at(pid: int) -> str:
    """When process `pid` started (clock ticks since boot), or "" where /proc has no answer."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    # Field 22; the command name (field 2) may hold spaces and parentheses, so split after it.
    return stat.rpartition(")")[2].split()[19]


def running_pid(pid_file: Path) -> int | None:
    """The pid in `pid_file` if that process is alive and is the service `start` recorded there.

    The file holds the pid and the process's start time: a pid reused by another process (after
    a reboot, or once the service died) has another start time and is never signalled."""
    try:
        pid_text, _, start_time = pid_file.read_text().strip().partition(" ")
        pid = int(pid_text)
    except (OSError, ValueError):
        return None
    if pid <= 0:
        return None
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, PermissionError):
        return None
    if started_at(pid) != start_time:
        return None
    return pid


def stop(pid_file: Path, timeout_s: float = 15.0) -> int | None:
    """Stop the service recorded in `pid_file` (SIGTERM flushes its log; SIGKILL if stuck)."""
    pid = running_pid(pid_file)
    if pid is not None:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
    pid_file.unlink(missing_ok=True)
    return pid


def _alive(pid: int) -> bool:
    try:
        # Reap it if it is our own child, so that it does not linger as a zombie.
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/status")
    try:
        return "\nState:\tZ" not in status.read_text()
    except OSError:
        return True


def write_new(path: Path, text: str) -> None:
    """Write `path` as a new file: a symlink or file already there is replaced, never followed."""
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.replace(partial, path)


def port_in_use(host: str, port: int) -> bool:
    """Whether something already listens on `host:port` (the new service could not bind)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn binds
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def build(plan: Plan, digest: str) -> None:
    """Copy the model into the stage's folder and write its manifest."""
    plan.folder.mkdir(parents=True, exist_ok=True)
    partial = plan.model_file.with_suffix(".skops.partial")
    partial.unlink(missing_ok=True)  # copyfile would write through a symlink left there
    shutil.copyfile(plan.source, partial)
    os.replace(partial, plan.model_file)  # the running service's file is never half written
    manifest = {
        **{
            k: str(v) if isinstance(v, Path) else v
            for k, v in asdict(plan).items()
            if k not in ("timeout_s", "folder")
        },
        "model_md5": digest,
        "model_file": str(plan.model_file),
        "deployed_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    write_new(plan.folder / "manifest.json", json.dumps(manifest, indent=2) + "\n")


def start(plan: Plan) -> subprocess.Popen[bytes]:
    """Start the service in the background, detached from this process's session."""
    env = {
        **os.environ,
        "SPECOPS_MODEL_PATH": str(plan.model_file),
        "SPECOPS_MODEL": plan.model,
        "SPECOPS_VERSION": plan.version,
        "SPECOPS_HOST": plan.host,
        "SPECOPS_PORT": str(plan.port),
        "SPECOPS_LOG_DIR": str(plan.log_dir),
        "SPECOPS_CONTRACT": str(plan.contract),
    }
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW  # a symlink is refused
    try:
        fd = os.open(plan.service_log, flags, 0o644)
    except OSError as exc:
        raise DeployError(f"cannot open {plan.service_log}: {exc.strerror}") from None
    with os.fdopen(fd, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "pipeline.serve"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # it outlives this command and its terminal
        )
    write_new(plan.pid_file, f"{process.pid} {started_at(process.pid)}\n")
    return process


def health_version(url: str) -> str | None:
    """The version `/health` reports, or None while nothing answers."""
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
            return str(json.load(response).get("version"))
    except (OSError, ValueError):
        return None


def wait_healthy(plan: Plan, process: subprocess.Popen[bytes]) -> None:
    """Wait until `/health` reports `plan.version`; stop the service and fail otherwise."""
    deadline = time.monotonic() + plan.timeout_s
    seen = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise DeployError(
                f"the service exited with code {process.returncode} before answering; "
                f"{plan.service_log} ends with:\n{_tail(plan.service_log)}"
            )
        seen = health_version(plan.url)
        if seen == plan.version:
            return
        time.sleep(0.1)
    stop(plan.pid_file)
    found = f"it reported version {seen!r}" if seen else "nothing answered"
    raise DeployError(
        f"{plan.url}/health did not report version {plan.version!r} within "
        f"{plan.timeout_s:g} s ({found}); stopped it. {plan.service_log} ends with:\n"
        f"{_tail(plan.service_log)}"
    )


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def deploy(plan: Plan, dry_run: bool) -> None:
    digest = check_model(plan)
    previous = running_pid(plan.pid_file)
    steps = [
        f"model {plan.model} {plan.version} ({plan.source}, md5 {digest}) loads and takes"
        f" the data contract of {plan.contract}",
        f"copy it to {plan.model_file} and write {plan.folder / 'manifest.json'}",
        f"stop the running {plan.stage} service (pid {previous})"
        if previous
        else f"no {plan.stage} service is running",
        f"start python -m pipeline.serve on {plan.url}, logging predictions to "
        f"{plan.log_dir / 'batch.csv'} (pid in {plan.pid_file}, output in {plan.service_log})",
        f"wait up to {plan.timeout_s:g} s for {plan.url}/health to report {plan.version!r}",
    ]
    if dry_run:
        print("deploy --dry-run: would")
        for step in steps:
            print(f"  - {step}")
        return
    build(plan, digest)
    stopped = stop(plan.pid_file)
    if stopped:
        print(f"deploy: stopped the previous {plan.stage} service (pid {stopped})")
    if port_in_use(plan.host, plan.port):
        # Whatever answers there, it is not the service this deploy is about to start.
        raise DeployError(
            f"port {plan.port} on {plan.host} is already in use by another process; "
            "stop it or set SPECOPS_PORT"
        )
    process = start(plan)
    wait_healthy(plan, process)
    print(
        f"deploy: {plan.model} {plan.version} serving {plan.stage} on {plan.url} "
        f"(pid {process.pid}); predictions logged to {plan.log_dir / 'batch.csv'}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--dry-run", action="store_true", help="check the model and print the plan only"
    )
    parser.add_argument("--stop", action="store_true", help="stop the stage's service only")
    args = parser.parse_args(argv)
    try:
        plan = plan_from_env(dict(os.environ))
        if args.stop:
            pid = stop(plan.pid_file)
            print(f"deploy: stopped {plan.stage} (pid {pid})" if pid else "deploy: nothing to stop")
            return 0
        deploy(plan, args.dry_run)
    except DeployError as exc:
        print(f"deploy: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
