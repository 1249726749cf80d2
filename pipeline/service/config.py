"""Service settings, read from the environment variables the deploy step sets."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

MIB = 1024 * 1024


@dataclass(frozen=True)
class Settings:
    """What one service process serves, where it listens and what it accepts."""

    model_path: Path = Path("models/model.skops")
    model_name: str = "breast-cancer-clf"
    version: str = "dev"
    host: str = "127.0.0.1"
    port: int = 8000
    log_dir: Path = Path("data/live")
    # The reference whose data contract (column names and types) requests must keep.
    contract_path: Path = Path("data/prepared/train.csv")
    # A request is refused (413) past these, before its body is read in full.
    max_body_bytes: int = MIB
    max_rows: int = 1000
    # A request's head, and then its body, must each arrive within this many seconds (408
    # otherwise): a client that trickles bytes cannot hold a connection and its buffer for ever.
    read_timeout_s: float = 10.0
    # A request head (request line and headers) over this many bytes is refused (431).
    max_head_bytes: int = 64 * 1024
    # Rows waiting for the model beyond this get 503 at once instead of queueing without bound.
    max_queued_rows: int = 20_000
    # The largest batch handed to the model in one call (one request always fits whole).
    max_batch_rows: int = 1024
    # Prediction log: rotate the batch file past either limit; flush at least this often.
    log_max_rows: int = 100_000
    log_max_bytes: int = 64 * MIB
    log_flush_s: float = 1.0
    # uvicorn answers 503 while this many connections are open (or requests running), so that
    # memory stays bounded: each may buffer up to max_body_bytes.
    max_connections: int = 256

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Settings from `SPECOPS_*` variables; defaults suit a local run from the repo root."""
        env = os.environ if env is None else env
        d = cls()

        def num(name: str, default: float, kind: type[float] = int) -> float:
            raw = env.get(name)
            if raw is None or raw == "":
                return default
            try:
                value: float = kind(raw)
            except ValueError:
                raise SystemExit(f"serve: {name}={raw!r} is not a number") from None
            if value <= 0:
                raise SystemExit(f"serve: {name}={raw!r} must be positive")
            return value

        def text(name: str, default: str) -> str:
            value = env.get(name) or default
            try:
                value.encode()  # it reaches JSON answers, metrics labels and the log
            except UnicodeEncodeError:
                raise SystemExit(f"serve: {name}={value!r} is not valid UTF-8") from None
            return value

        port = int(num("SPECOPS_PORT", d.port))
        if port > 65535:
            raise SystemExit(f"serve: SPECOPS_PORT={port} is not a port")
        return cls(
            model_path=Path(env.get("SPECOPS_MODEL_PATH") or d.model_path),
            model_name=text("SPECOPS_MODEL", d.model_name),
            version=text("SPECOPS_VERSION", d.version),
            host=env.get("SPECOPS_HOST") or d.host,
            port=port,
            log_dir=Path(env.get("SPECOPS_LOG_DIR") or d.log_dir),
            contract_path=Path(env.get("SPECOPS_CONTRACT") or d.contract_path),
            max_body_bytes=int(num("SPECOPS_MAX_BODY_BYTES", d.max_body_bytes)),
            max_rows=int(num("SPECOPS_MAX_ROWS", d.max_rows)),
            read_timeout_s=num("SPECOPS_READ_TIMEOUT_S", d.read_timeout_s, float),
            max_head_bytes=int(num("SPECOPS_MAX_HEAD_BYTES", d.max_head_bytes)),
            log_max_rows=int(num("SPECOPS_LOG_MAX_ROWS", d.log_max_rows)),
            log_max_bytes=int(num("SPECOPS_LOG_MAX_BYTES", d.log_max_bytes)),
            log_flush_s=num("SPECOPS_LOG_FLUSH_S", d.log_flush_s, float),
            max_connections=int(num("SPECOPS_MAX_CONNECTIONS", d.max_connections)),
        )
