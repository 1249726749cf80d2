"""Throughput and latency of the prediction service against its two anchors.

Runs, in one process and with one load generator (a keep-alive asyncio HTTP/1.1 client):
the model's own `predict_proba` in process (the limit), a bare echo server on the same HTTP
stack (uvicorn + Starlette, an app that returns the body), and `python -m pipeline.serve`,
at 1, 16 and 64 concurrent clients, with single-row and 100-row requests. Prints a table and
PASS/FAIL verdict lines; asserts nothing. Localhost only; about 70 s with the defaults.

    python bench/serve.py [--duration S] [--warmup S] [--repeat N] [--clients 1 16 64]
                          [--rows 1 100] [--model PATH]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


@dataclass
class Cell:
    target: str
    rows: int
    clients: int
    requests: int
    seconds: float
    latencies_ms: list[float]
    rows_per_call: float | None = None

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# --- the echo server: same stack, no model -------------------------------------------------


def echo_server(port: int) -> None:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    from pipeline.serve import fastest

    async def echo(request: Request) -> Response:
        return Response(await request.body(), media_type="application/json")

    async def health(request: Request) -> Response:
        return Response(b'{"status":"ok"}', media_type="application/json")

    app = Starlette(routes=[Route("/predict", echo, methods=["POST"]), Route("/health", health)])
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=port,
        loop=fastest("uvloop", "uvloop", "asyncio"),
        http=fastest("httptools", "httptools", "h11"),
        access_log=False,
        log_level="warning",
    )


# --- the load generator --------------------------------------------------------------------


def request_bytes(body: bytes) -> bytes:
    head = (
        "POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def client(
    port: int, payload: bytes, stop_at: float, measure_from: float, out: list[float]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while True:
            start = time.perf_counter()
            if start >= stop_at:
                return
            writer.write(payload)
            head = await reader.readuntil(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 200"):
                raise RuntimeError(f"unexpected answer: {head[:80]!r}")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            end = time.perf_counter()
            if start >= measure_from:
                out.append((end - start) * 1000)
    finally:
        writer.close()


async def load(port: int, body: bytes, clients: int, warmup: float, duration: float) -> Cell:
    payload = request_bytes(body)
    now = time.perf_counter()
    measure_from, stop_at = now + warmup, now + warmup + duration
    out: list[float] = []
    await asyncio.gather(
        *(client(port, payload, stop_at, measure_from, out) for _ in range(clients))
    )
    return Cell("", 0, clients, len(out), duration, out)


def run_load(port: int, body: bytes, clients: int, warmup: float, duration: float) -> Cell:
    try:
        import uvloop

        return uvloop.run(load(port, body, clients, warmup, duration))
    except ImportError:  # pragma: no cover - uvloop is in the pipeline extra
        return asyncio.run(load(port, body, clients, warmup, duration))


# --- processes -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(args: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(args, cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"bench: {args} exited with {process.returncode}")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1).read()
            return process
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise SystemExit(f"bench: {args} did not answer on port {port}")


def batch_stats(port: int) -> tuple[float, float]:
    """(rows, model calls) so far, from the service's /metrics."""
    text = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    values = {}
    for line in text.splitlines():
        if line.startswith("specops_batch_rows_"):
            name, _, value = line.rpartition(" ")
            values[name] = float(value)
    return values["specops_batch_rows_sum"], values["specops_batch_rows_count"]


def measure(
    name: str, port: int, body: bytes, rows: int, clients: int, args: argparse.Namespace
) -> Cell:
    before = batch_stats(port) if name == "service" else None
    cell = run_load(port, body, clients, args.warmup, args.duration)
    cell.target, cell.rows = name, rows
    if before is not None:
        after = batch_stats(port)
        calls = after[1] - before[1]
        cell.rows_per_call = (after[0] - before[0]) / calls if calls else None
    return cell


def merge(runs: list[Cell]) -> Cell:
    """The runs of one cell as one: all their requests and latencies over all their time."""
    first = runs[0]
    per_call = [c.rows_per_call for c in runs if c.rows_per_call]
    return Cell(
        first.target,
        first.rows,
        first.clients,
        sum(c.requests for c in runs),
        sum(c.seconds for c in runs),
        [ms for c in runs for ms in c.latencies_ms],
        sum(per_call) / len(per_call) if per_call else None,
    )


# --- in process ----------------------------------------------------------------------------


def in_process(model: Any, X: Any, rows: int, seconds: float) -> Cell:
    matrix = X[:rows]
    model.predict_proba(matrix)
    timings: list[float] = []
    started = time.perf_counter()
    while time.perf_counter() - started < seconds:
        t = time.perf_counter()
        model.predict_proba(matrix)
        timings.append((time.perf_counter() - t) * 1000)
    return Cell("predict_proba in process", rows, 1, len(timings), sum(timings) / 1000, timings)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=2.0, help="seconds measured per run")
    parser.add_argument("--repeat", type=int, default=2, help="runs per cell, order alternated")
    parser.add_argument("--warmup", type=float, default=0.5, help="seconds run before measuring")
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 16, 64])
    parser.add_argument("--rows", type=int, nargs="+", default=[1, 100])
    parser.add_argument("--model", type=Path, default=ROOT / "models/model.skops")
    parser.add_argument("--echo-server", type=int, metavar="PORT", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.echo_server:
        echo_server(args.echo_server)
        return

    import pandas as pd  # type: ignore[import-untyped]
    import sklearn  # type: ignore[import-untyped]

    from pipeline.evaluate import load_model
    from pipeline.service.app import quiet_warnings

    model = load_model(args.model)
    frame = pd.read_csv(ROOT / "data/prepared/test.csv").drop(columns="target")
    while len(frame) < max(args.rows):
        frame = pd.concat([frame, frame])
    X = frame.to_numpy()
    bodies = {n: json.dumps(frame.iloc[:n].to_dict(orient="records")).encode() for n in args.rows}

    print(
        f"python {platform.python_version()}, scikit-learn {sklearn.__version__}, "
        f"{os.cpu_count()} CPU(s); model {args.model.relative_to(ROOT)} "
        f"({type(model).__name__}); {args.repeat} x ({args.warmup:g} s warm-up + "
        f"{args.duration:g} s) per cell; "
        f"body {', '.join(f'{n} row(s) {len(b)} B' for n, b in bodies.items())}"
    )
    # The limit is the call as the service makes it: with its one warning filter (see
    # `quiet_warnings`). Python's, numpy's and scipy's default filters make it about twice as
    # slow; that row is shown for reference.
    warnings.filterwarnings("ignore", message="X does not have valid feature names")
    cells = []
    for n in args.rows:
        cell = in_process(model, X, n, args.duration)
        cell.target = "predict_proba, default filters"
        cells.append(cell)
    quiet_warnings()
    cells += [in_process(model, X, n, args.duration * args.repeat) for n in args.rows]

    with tempfile.TemporaryDirectory() as live:
        echo_port, service_port = free_port(), free_port()
        echo = start([sys.executable, __file__, "--echo-server", str(echo_port)], {}, echo_port)
        service = start(
            [sys.executable, "-m", "pipeline.serve"],
            {
                "SPECOPS_MODEL_PATH": str(args.model),
                "SPECOPS_PORT": str(service_port),
                "SPECOPS_LOG_DIR": live,
                "SPECOPS_VERSION": "bench",
            },
            service_port,
        )
        try:
            for rows in args.rows:
                for clients in args.clients:
                    runs: dict[str, list[Cell]] = {"echo server": [], "service": []}
                    targets = [("echo server", echo_port), ("service", service_port)]
                    for repeat in range(args.repeat):
                        # Alternate the order, so that drift on a shared machine hits both alike.
                        for name, port in targets if repeat % 2 == 0 else targets[::-1]:
                            runs[name].append(
                                measure(name, port, bodies[rows], rows, clients, args)
                            )
                    cells += [merge(runs[name]) for name, _ in targets]
        finally:
            for process in (service, echo):
                process.terminate()
                process.wait(timeout=30)

    print()
    header = ("target", "rows/req", "clients", "req/s", "rows/s", "p50 ms", "p99 ms", "rows/call")
    table = [header]
    for c in cells:
        table.append(
            (
                c.target,
                str(c.rows),
                str(c.clients),
                f"{c.rate:.0f}",
                f"{c.rate * c.rows:.0f}",
                f"{c.pct(0.5):.2f}",
                f"{c.pct(0.99):.2f}",
                f"{c.rows_per_call:.1f}" if c.rows_per_call else "",
            )
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for i, row in enumerate(table):
        print(
            "  ".join(
                v.ljust(w) if j == 0 else v.rjust(w)
                for j, (v, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if i == 0:
            print("  ".join("-" * w for w in widths))
    print()

    def find(target: str, rows: int, clients: int) -> Cell | None:
        for c in cells:
            if c.target == target and c.rows == rows and (clients == 0 or c.clients == clients):
                return c
        return None

    model_1 = find("predict_proba in process", 1, 0)
    echo_1, service_1 = find("echo server", 1, 1), find("service", 1, 1)
    if model_1 and echo_1 and service_1:
        limit = model_1.pct(0.5) + echo_1.pct(0.5) + 1
        verdict = "PASS" if service_1.pct(0.5) <= limit else "FAIL"
        print(
            f"{verdict}: 1 idle client, 1 row: service p50 {service_1.pct(0.5):.2f} ms <= "
            f"predict_proba {model_1.pct(0.5):.2f} + echo round trip {echo_1.pct(0.5):.2f} "
            f"+ 1 ms = {limit:.2f} ms"
        )
    echo_64, service_64 = find("echo server", 1, 64), find("service", 1, 64)
    if echo_64 and service_64:
        ratio = service_64.rate / echo_64.rate
        p99 = service_64.pct(0.99)
        verdict = "PASS" if ratio >= 0.5 and p99 < 50 else "FAIL"
        print(
            f"{verdict}: 64 clients, 1 row: service {service_64.rate:.0f} req/s = {ratio:.2f}x "
            f"the echo server's {echo_64.rate:.0f} (target >= 0.50x), p99 {p99:.1f} ms "
            "(target < 50 ms)"
        )


if __name__ == "__main__":
    main()
