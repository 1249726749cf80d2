"""Serve the promoted model over HTTP: `python -m pipeline.serve`.

Configured by environment variables (the deploy step sets them; see "Serving the reference
model" in the README): SPECOPS_MODEL_PATH, SPECOPS_MODEL, SPECOPS_VERSION, SPECOPS_HOST,
SPECOPS_PORT, SPECOPS_LOG_DIR and the limits in `pipeline.service.config`.
"""

from __future__ import annotations

import asyncio
import gc
import importlib.util

import uvicorn

from pipeline.service.app import create_app
from pipeline.service.config import Settings


def fastest(preferred: str, module: str, fallback: str) -> str:
    """`preferred` when its module is installed (uvloop, httptools are C), else `fallback`."""
    return preferred if importlib.util.find_spec(module) else fallback


def run(settings: Settings) -> None:
    """Load the model, then serve until SIGINT or SIGTERM (which flush the prediction log)."""
    app = create_app(settings)
    # sklearn, scipy and pandas leave ~150,000 long-lived objects that a full collection walks
    # for ~150 ms, a stall every request waits out. Frozen, the collector skips them.
    gc.collect()
    gc.freeze()
    http: type[asyncio.Protocol] | str = "h11"  # its own 16 KiB cap on heads, no deadline
    if importlib.util.find_spec("httptools"):
        from pipeline.service.protocol import guarded_protocol

        http = guarded_protocol(
            settings.max_head_bytes,
            settings.read_timeout_s,
            lambda kind: app.metrics.errors.labels(kind).inc(),
        )
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        loop=fastest("uvloop", "uvloop", "asyncio"),
        http=http,
        limit_concurrency=settings.max_connections,
        # An idle keep-alive connection is closed after this many seconds.
        timeout_keep_alive=5,
        access_log=False,
        log_level="warning",
        server_header=False,
    )


def main() -> None:
    settings = Settings.from_env()
    print(
        f"serve: {settings.model_name} {settings.version} from {settings.model_path} on "
        f"http://{settings.host}:{settings.port}, logging to {settings.log_dir}",
        flush=True,
    )
    run(settings)


if __name__ == "__main__":
    main()
