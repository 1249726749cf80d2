"""Prometheus metrics: traffic, latency, errors by kind, batching and the process's resources."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    gc_collector,
    generate_latest,
    platform_collector,
    process_collector,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Fixed labels only: a label per raw path would let any client grow the registry without bound.
ENDPOINTS = frozenset({"/predict", "/health", "/metrics"})
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)


class ServiceMetrics:
    """The service's own registry (so tests and several apps in one process do not collide)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        # process_resident_memory_bytes, process_cpu_seconds_total, open fds, ... (Linux)
        process_collector.ProcessCollector(registry=self.registry)
        platform_collector.PlatformCollector(registry=self.registry)
        gc_collector.GCCollector(registry=self.registry)
        r = self.registry
        self.requests = Counter(
            "specops_requests", "HTTP requests answered", ["endpoint", "status"], registry=r
        )
        self.latency = Histogram(
            "specops_request_duration_seconds",
            "Time from the request's arrival to the end of its response",
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.errors = Counter(
            "specops_request_errors", "Requests refused or failed, by kind", ["kind"], registry=r
        )
        self.rows = Counter("specops_predicted_rows", "Rows predicted", registry=r)
        self.batch_rows = Histogram(
            "specops_batch_rows", "Rows per model call", buckets=BATCH_BUCKETS, registry=r
        )
        self.batch_requests = Histogram(
            "specops_batch_requests", "Requests per model call", buckets=BATCH_BUCKETS, registry=r
        )
        self.model_info = Gauge(
            "specops_model_info", "The model served (always 1)", ["model", "version"], registry=r
        )
        self.log_rows = Gauge(
            "specops_prediction_log_rows", "Rows written to the prediction log", registry=r
        )

        # Labelled children by label values: `labels()` costs more than the increment itself.
        self._requests: dict[tuple[str, int], Any] = {}
        self._latency: dict[str, Any] = {}

    def count(self, endpoint: str, status: int, seconds: float) -> None:
        """Count one answered request and its duration."""
        key = (endpoint, status)
        counter = self._requests.get(key)
        if counter is None:
            counter = self._requests[key] = self.requests.labels(endpoint, str(status))
        counter.inc()
        histogram = self._latency.get(endpoint)
        if histogram is None:
            histogram = self._latency[endpoint] = self.latency.labels(endpoint)
        histogram.observe(seconds)

    def on_batch(self, requests: int, rows: int) -> None:
        self.batch_requests.observe(requests)
        self.batch_rows.observe(rows)
        self.rows.inc(rows)

    def exposition(self) -> tuple[bytes, str]:
        return generate_latest(self.registry), CONTENT_TYPE_LATEST

    def watch(self, name: str, read: Callable[[], float]) -> None:
        """Report `read()` at every scrape in the gauge `name`."""
        getattr(self, name).set_function(read)


class MetricsMiddleware:
    """Counts and times every response, whatever route or error produced it."""

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_and_record(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_and_record)
        finally:
            path = scope["path"]
            endpoint = path if path in ENDPOINTS else "other"
            self.metrics.count(endpoint, status, time.perf_counter() - start)
