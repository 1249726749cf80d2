"""The ASGI application: `POST /predict`, `GET /health`, `GET /metrics`."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
import warnings
from collections.abc import AsyncIterator
from typing import Any

import numpy as np
import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from pipeline.evaluate import load_model
from pipeline.service.batcher import AdaptiveBatcher
from pipeline.service.config import Settings
from pipeline.service.contract import request_columns
from pipeline.service.forest import proba_function
from pipeline.service.metrics import MetricsMiddleware, ServiceMetrics
from pipeline.service.predlog import PredictionLog
from pipeline.service.rows import RequestError, RowParser

JSON = "application/json"

if sys.version_info >= (3, 11):
    _timeout = asyncio.timeout
else:  # pragma: no cover - 3.10

    @contextlib.asynccontextmanager
    async def _timeout(delay: float) -> AsyncIterator[None]:
        task = asyncio.current_task()
        assert task is not None
        handle = asyncio.get_running_loop().call_later(delay, task.cancel)
        try:
            yield
        except asyncio.CancelledError:
            raise TimeoutError from None
        finally:
            handle.cancel()


class Model:
    """The loaded model and how to call it on a float matrix in its own column order."""

    def __init__(self, estimator: Any) -> None:
        names = getattr(estimator, "feature_names_in_", None)
        if names is None:
            raise SystemExit(
                "serve: the model does not record its feature names; refit it on a DataFrame"
            )
        self.estimator = estimator
        self.predict_proba = proba_function(estimator)
        self.columns = [str(n) for n in names]
        classes = list(estimator.classes_)
        # The score is the probability of the positive class: 1 when it is a class, else the last.
        self.positive = classes.index(1) if 1 in classes else len(classes) - 1
        self.classes = np.asarray(estimator.classes_)

    def predict(self, matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Predictions and positive-class scores; one `predict_proba` call gives both."""
        proba = self.predict_proba(matrix)
        # What RandomForestClassifier.predict does with the same probabilities.
        return self.classes.take(proba.argmax(axis=1)), proba[:, self.positive]


class AsgiEndpoint:
    """A bare ASGI function as a route's endpoint (Starlette wraps plain functions as handlers
    of a `Request`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


def quiet_warnings() -> None:
    """Replace every warning filter with one that ignores all warnings (call after loading).

    sklearn's parallel helper re-installs each warning filter around every tree of every call:
    with the dozen filters Python, numpy and scipy set, that is 1,200 installs per call of a
    100-tree forest, half of `predict_proba`'s time on small batches. With one filter the call
    takes about half as long. Warnings raised per request would only flood the service's log;
    those of loading the model (a version mismatch, say) have been shown by then. sklearn's
    warning that a plain array has no column names is among them: the service checks the names
    itself and builds the array in the model's order, as pandas per request would cost more
    than the model call on small batches.
    """
    warnings.resetwarnings()
    warnings.simplefilter("ignore")


def json_response(payload: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(payload), status_code=status, media_type=JSON)


def error_response(error: RequestError, metrics: ServiceMetrics) -> Response:
    metrics.errors.labels(error.kind).inc()
    return json_response({"error": error.kind, "detail": error.message}, error.status)


def create_app(settings: Settings) -> MetricsMiddleware:
    """Load the model (trusted types only) and build the service around it."""
    if not settings.model_path.is_file():
        raise SystemExit(f"serve: no model at {settings.model_path}")
    model = Model(load_model(settings.model_path))
    # Requests keep the data contract that monitoring checks batches against.
    parser = RowParser(request_columns(settings.contract_path, model.columns), settings.max_rows)
    quiet_warnings()
    metrics = ServiceMetrics()
    metrics.model_info.labels(settings.model_name, settings.version).set(1)
    health = orjson.dumps(
        {"status": "ok", "model": settings.model_name, "version": settings.version}
    )
    state: dict[str, Any] = {}

    too_large = f"body over {settings.max_body_bytes} bytes"

    async def read_body(scope: Scope, receive: Receive) -> bytes:
        content_type = length = b""
        for name, value in scope["headers"]:
            if name == b"content-type":
                content_type = value
            elif name == b"content-length":
                length = value
        if content_type.split(b";", 1)[0].strip().lower() != b"application/json":
            shown = content_type.decode("latin-1")
            raise RequestError(415, "content_type", f"Content-Type must be {JSON}, got {shown!r}")
        if length.isdigit() and int(length) > settings.max_body_bytes:
            # Refused on the header alone: the body is never read.
            raise RequestError(413, "body_too_large", too_large)
        chunks: list[bytes] = []
        size = 0
        try:
            async with _timeout(settings.read_timeout_s):
                while True:
                    message = await receive()
                    if message["type"] != "http.request":  # the client went away
                        raise RequestError(400, "disconnected", "the client disconnected")
                    chunk = message.get("body", b"")
                    size += len(chunk)
                    if size > settings.max_body_bytes:  # chunked bodies have no length up front
                        raise RequestError(413, "body_too_large", too_large)
                    chunks.append(chunk)
                    if not message.get("more_body", False):
                        break
        except TimeoutError:
            raise RequestError(
                408, "body_timeout", f"body not received within {settings.read_timeout_s:g} s"
            ) from None
        return chunks[0] if len(chunks) == 1 else b"".join(chunks)

    async def predict(scope: Scope, receive: Receive, send: Send) -> None:
        """POST /predict as a bare ASGI app: no Request object or router on the hot path."""
        status = 200
        arrival = time.perf_counter()  # the head has been read: the log's latency starts here
        try:
            matrix = parser.parse(await read_body(scope, receive))
            batcher: AdaptiveBatcher = state["batcher"]
            predictions, scores = await batcher.predict(matrix, arrival)
            body = orjson.dumps(
                {
                    "predictions": predictions.tolist(),
                    "scores": scores.tolist(),
                    "model": settings.model_name,
                    "version": settings.version,
                }
            )
        except Exception as exc:
            # A refused request, or a model call that failed (a 500; the service goes on).
            if isinstance(exc, RequestError):
                error = exc
            else:
                error = RequestError(500, "internal", f"{type(exc).__name__}: {exc}")
            metrics.errors.labels(error.kind).inc()
            status = error.status
            body = orjson.dumps({"error": error.kind, "detail": error.message})
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def health_endpoint(request: Request) -> Response:
        return Response(health, media_type=JSON)

    async def metrics_endpoint(request: Request) -> Response:
        body, content_type = metrics.exposition()
        return Response(body, media_type=content_type)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        kind = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http")
        error = RequestError(
            exc.status_code, kind, f"{request.method} {request.url.path}: {exc.detail}"
        )
        response = error_response(error, metrics)
        if exc.headers:
            response.headers.update(exc.headers)  # Allow: on 405
        return response

    async def server_error(request: Request, exc: Exception) -> Response:
        error = RequestError(500, "internal", f"{type(exc).__name__}: {exc}")
        return error_response(error, metrics)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        batcher = AdaptiveBatcher(model.predict, settings.max_batch_rows, settings.max_queued_rows)
        log = PredictionLog(
            settings.log_dir,
            model.columns,
            max_rows=settings.log_max_rows,
            max_bytes=settings.log_max_bytes,
            flush_s=settings.log_flush_s,
        )
        metrics.watch("log_rows", lambda: log.rows_written)
        batcher.on_batch = metrics.on_batch
        # Logged once per model call, not per request: one queue item per batch for the writer.
        batcher.on_result = lambda matrix, predictions, scores, latencies: log.write(
            matrix, predictions, scores, settings.version, latencies
        )
        batcher.start()
        state.update(batcher=batcher, log=log)
        try:
            yield
        finally:
            await batcher.stop()
            log.close()

    app = Starlette(
        routes=[
            # POST is answered before the router (below); the route gives other methods a 405.
            Route("/predict", AsgiEndpoint(predict), methods=["POST"]),
            Route("/health", health_endpoint, methods=["GET"]),
            Route("/metrics", metrics_endpoint, methods=["GET"]),
        ],
        exception_handlers={HTTPException: http_error, Exception: server_error},
        lifespan=lifespan,
    )

    async def service(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/predict" and scope["method"] == "POST":
            await predict(scope, receive, send)
        else:
            await app(scope, receive, send)

    return MetricsMiddleware(service, metrics)
