"""Adaptive batching: requests that arrive while the model is busy share its next call.

A lone request goes to the model at once (no fixed delay); while a call runs in the worker
thread, new requests queue up and the next call takes them all, up to `max_rows`. Under load
the batch grows by itself, which is what BentoML's and MLServer's adaptive batching do, without
their maximum-latency knobs: nothing ever waits for a batch to fill.
"""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from pipeline.service.rows import RequestError

# (predictions, scores) for a feature matrix.
Result = tuple[np.ndarray, np.ndarray]
Predict = Callable[[np.ndarray], Result]
# Each request of a model call, in its rows' order: its number of rows and its latency (ms).
Latencies = Sequence[tuple[int, float]]


class AdaptiveBatcher:
    """Groups concurrent `predict` calls into one model call run off the event loop."""

    def __init__(
        self,
        predict: Predict,
        max_rows: int,
        max_queued_rows: int,
    ) -> None:
        self._predict = predict

        self._max_rows = max_rows
        self._max_queued_rows = max_queued_rows
        self._queue: collections.deque[tuple[np.ndarray, asyncio.Future[Result], float]]
        self._queue = collections.deque()
        self._queued_rows = 0
        self._wake = asyncio.Event()
        # One thread: the model is called by one batch at a time, and the loop never waits.
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="model")
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.on_batch: Callable[[int, int], None] = lambda requests, rows: None
        # Called on the loop with each batch's rows, predictions, scores and the latency of each
        # of its requests (the log's input).
        self.on_result: Callable[[np.ndarray, np.ndarray, np.ndarray, Latencies], None]
        self.on_result = lambda matrix, predictions, scores, latencies: None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="batcher")

    async def stop(self) -> None:
        """Finish what is queued, then stop the worker."""
        self._closing = True
        self._wake.set()
        if self._task is not None:
            await self._task
        self._executor.shutdown(wait=True)

    async def predict(self, matrix: np.ndarray, arrival: float | None = None) -> Result:
        """Predictions and scores for the rows of `matrix`, computed in some batch. `arrival`
        is when its request arrived (`time.perf_counter()`; default now): its latency runs
        from there to the moment its batch's predictions are back on the loop."""
        if self._closing:
            raise RequestError(503, "shutting_down", "the service is shutting down")
        if self._queued_rows + len(matrix) > self._max_queued_rows:
            raise RequestError(503, "overloaded", "too many rows waiting for the model; retry")
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._queue.append((matrix, future, time.perf_counter() if arrival is None else arrival))
        self._queued_rows += len(matrix)
        self._wake.set()
        return await future

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            if not self._queue:
                if self._closing:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            batch = [self._queue.popleft()]
            rows = len(batch[0][0])
            while self._queue and rows + len(self._queue[0][0]) <= self._max_rows:
                item = self._queue.popleft()
                batch.append(item)
                rows += len(item[0])
            self._queued_rows -= rows
            matrices = [m for m, _, _ in batch]
            matrix = matrices[0] if len(matrices) == 1 else np.concatenate(matrices)
            self.on_batch(len(batch), rows)
            try:
                predictions, scores = await loop.run_in_executor(
                    self._executor, self._predict, matrix
                )
            except Exception as exc:  # every waiting request learns of it; the loop goes on
                for _, future, _ in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            ready = time.perf_counter()
            self.on_result(
                matrix, predictions, scores, [(len(m), (ready - at) * 1000) for m, _, at in batch]
            )
            start = 0
            for m, future, _ in batch:
                end = start + len(m)
                if not future.done():  # a client that went away cancelled its future
                    future.set_result((predictions[start:end], scores[start:end]))
                start = end
