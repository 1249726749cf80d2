"""The prediction log: every predicted row, appended to the batch file monitoring reads.

`log_dir/batch.csv` holds the model's feature columns (the names of `data/prepared/train.csv`)
then `prediction`, `score`, `latency_ms`, `version` and `time` (UTC, ISO 8601). `latency_ms` is
the request's time in the service, in milliseconds to the microsecond: from the moment its head
has been read to the moment its batch's predictions are back on the event loop (reading the body,
parsing, waiting for the model and the model call; not encoding and sending the answer), the
same for every row of one request. The event loop only puts
batches on a queue; one writer thread formats them and appends whole lines with a single
`os.write` per flush, so the file only ever holds complete rows (the part of a flush that a full
disk or a kill cut short is truncated, at once or at the next start). It flushes every `flush_s`
seconds, when 256 KiB are pending, and on close. When the next row would take the file past
`max_rows` rows or `max_bytes` bytes, it is renamed to `batch-<UTC time>.csv` in the same folder
and a new `batch.csv` is started, so no file grows without bound.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import queue
import threading
import time
from collections.abc import Sequence
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import orjson

BATCH_FILE = "batch.csv"
LOG_COLUMNS = ("prediction", "score", "latency_ms", "version", "time")
_FLUSH_BYTES = 256 * 1024
# Features, predictions, scores, version, (rows, latency in ms) per request, time.
_Item = tuple[np.ndarray, np.ndarray, np.ndarray, str, Sequence[tuple[int, float]], float]


class PredictionLog:
    """Appends predictions to `log_dir/batch.csv` from a background thread."""

    def __init__(
        self,
        log_dir: Path,
        features: Sequence[str],
        *,
        max_rows: int,
        max_bytes: int,
        flush_s: float,
    ) -> None:
        self.path = log_dir / BATCH_FILE
        self.header = _line([*features, *LOG_COLUMNS])
        self.max_rows = max_rows
        self.max_bytes = max_bytes
        self.flush_s = flush_s
        self.rows_written = 0
        self.rotations = 0
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        log_dir.mkdir(parents=True, exist_ok=True)
        self._fd = -1
        self._rows = 0
        self._bytes = 0
        self._open()
        self._thread = threading.Thread(target=self._run, name="prediction-log", daemon=True)
        self._thread.start()

    def write(
        self,
        features: np.ndarray,
        predictions: np.ndarray,
        scores: np.ndarray,
        version: str,
        latencies: Sequence[tuple[int, float]],
    ) -> None:
        """Queue one model call's rows, with each of its requests' rows and latency in
        milliseconds, in order; never blocks (the writer thread formats them)."""
        self._queue.put((features, predictions, scores, version, latencies, time.time()))

    def close(self) -> None:
        """Write everything queued, flush, and stop the thread."""
        self._queue.put(None)
        self._thread.join()

    def _open(self) -> None:
        """Open `batch.csv` to append; set aside one written with other columns."""
        if self.path.exists():
            with self.path.open("rb") as f:
                first = f.readline()
            if first != self.header:
                self._rotate_existing()
        self._fd = os.open(self.path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
        size = os.fstat(self._fd).st_size
        if size == 0:
            _write_all(self._fd, self.header)
            size = len(self.header)
            self._rows = 0
        else:
            size = _drop_cut_row(self._fd, size)
            self._rows = _count_lines(self.path) - 1
        self._bytes = size

    def _rotate_existing(self) -> None:
        stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
        target = self.path.with_name(f"batch-{stamp}.csv")
        n = 1
        while target.exists():  # two rotations in one microsecond: keep both
            target = self.path.with_name(f"batch-{stamp}-{n}.csv")
            n += 1
        os.replace(self.path, target)
        self.rotations += 1

    def _rotate(self) -> None:
        os.close(self._fd)
        self._rotate_existing()
        self._open()

    def _flush(self, lines: list[bytes]) -> None:
        chunk: list[bytes] = []
        size = 0
        for line in lines:
            full_rows = self._rows + len(chunk) >= self.max_rows
            full_bytes = self._bytes + size + len(line) > self.max_bytes
            if (full_rows or full_bytes) and (self._rows or chunk):
                _write_all(self._fd, b"".join(chunk))
                self._rows += len(chunk)
                self._bytes += size
                self.rows_written += len(chunk)
                chunk, size = [], 0
                self._rotate()
            chunk.append(line)
            size += len(line)
        if chunk:
            _write_all(self._fd, b"".join(chunk))
            self._rows += len(chunk)
            self._bytes += size
            self.rows_written += len(chunk)

    def _run(self) -> None:
        pending: list[bytes] = []
        pending_bytes = 0
        deadline = time.monotonic() + self.flush_s
        closing = False
        while not closing:
            timeout = max(0.0, deadline - time.monotonic())
            try:
                item = self._queue.get(timeout=timeout)
            except queue.Empty:
                pass
            else:
                if item is None:
                    closing = True
                else:
                    lines = _format(*item)
                    pending.extend(lines)
                    pending_bytes += sum(map(len, lines))
            if closing or pending_bytes >= _FLUSH_BYTES or time.monotonic() >= deadline:
                if pending:
                    try:
                        self._flush(pending)
                    except OSError as exc:  # a full disk must not stop predictions
                        print(f"serve: prediction log: {exc}; {len(pending)} rows dropped")
                        with contextlib.suppress(OSError):  # nor leave half a row
                            os.ftruncate(self._fd, self._bytes)
                pending, pending_bytes = [], 0
                deadline = time.monotonic() + self.flush_s
        os.close(self._fd)


def _format(
    features: np.ndarray,
    predictions: np.ndarray,
    scores: np.ndarray,
    version: str,
    latencies: Sequence[tuple[int, float]],
    at: float,
) -> list[bytes]:
    """One CSV line per row. Numbers are written by orjson: the shortest text that reads back
    as the same double, as repr gives, at a tenth of the cost of csv's repr per value (this
    thread shares the interpreter lock with the event loop and the model)."""
    stamp = datetime.fromtimestamp(at, timezone.utc).isoformat(timespec="milliseconds")
    # A version holding a line break must not split a row.
    tail = b"," + _line([" ".join(version.splitlines()), stamp])
    if len(features) == 0:
        return []
    rows = _numbers(np.ascontiguousarray(features, dtype=np.float64))[2:-2].split(b"],[")
    scores_text = _numbers(np.ascontiguousarray(scores, dtype=np.float64))[1:-1].split(b",")
    # One value per request, repeated over its rows; microseconds are enough.
    latency_text: list[bytes] = []
    for count, ms in latencies:
        latency_text += [orjson.dumps(round(ms, 3))] * count
    if predictions.dtype.kind in "iu":
        labels = _numbers(np.ascontiguousarray(predictions))[1:-1].split(b",")
    else:  # class labels that are strings may need quoting
        labels = [_line([str(p)])[:-1] for p in predictions.tolist()]
    join = b",".join  # one join per line: fewer copies than chained `+`
    return [
        join(fields) + tail for fields in zip(rows, labels, scores_text, latency_text, strict=True)
    ]


def _numbers(array: np.ndarray) -> bytes:
    return orjson.dumps(array, option=orjson.OPT_SERIALIZE_NUMPY)


def _line(fields: Sequence[str]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(fields)
    return buffer.getvalue().encode()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _drop_cut_row(fd: int, size: int) -> int:
    """Truncate a last row that lacks its line end (a write cut short by a kill), so that the
    next row does not continue it; the file's new size."""
    end = size
    while end > 0:
        start = max(0, end - (1 << 16))
        cut = os.pread(fd, end - start, start).rfind(b"\n")
        if cut >= 0:
            end = start + cut + 1
            break
        end = start
    if end != size:
        os.ftruncate(fd, end)
    return end


def _count_lines(path: Path) -> int:
    count = 0
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            count += block.count(b"\n")
    return count
