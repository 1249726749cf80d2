"""Turn a request body into the model's feature matrix, or say exactly what is wrong with it."""

from __future__ import annotations

from collections.abc import Sequence
from operator import itemgetter
from typing import Any

import numpy as np
import orjson

_NUMBER_TYPES = frozenset({int, float})
# Tree models compute in float32: a larger value makes the model call fail, and with it every
# request batched with this one.
FLOAT32_MAX = float(np.finfo(np.float32).max)


class RequestError(Exception):
    """A request the service refuses: an HTTP status, a metrics label and a message."""

    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.message = message


class RowParser:
    """Parses `[{column: number, ...}, ...]` into a float64 array in the model's column order.

    `columns` are those of the data contract (pipeline/service/contract.py), checked against the
    model's at start-up: a row with other keys, or a value that is not a number, is a 422 that
    names the row and the column."""

    def __init__(self, columns: Sequence[str], max_rows: int) -> None:
        self.columns = tuple(columns)
        self._column_set = frozenset(self.columns)
        self._get = itemgetter(*self.columns)
        self.max_rows = max_rows

    def parse(self, body: bytes) -> np.ndarray:
        """The rows of `body` as an (n, len(columns)) array; `RequestError` when invalid."""
        try:
            rows = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise RequestError(
                400, "malformed_json", f"body is not valid JSON (NaN and Infinity are not): {exc}"
            ) from None
        if not isinstance(rows, list):
            raise RequestError(
                422, "bad_shape", f"body must be a JSON list of rows, got {_json_type(rows)}"
            )
        if not rows:
            raise RequestError(422, "bad_shape", "body holds no rows")
        if len(rows) > self.max_rows:
            raise RequestError(
                413, "too_many_rows", f"{len(rows)} rows; at most {self.max_rows} per request"
            )
        # The common case stays in C: key views compared with a set, itemgetter, set(map(type)).
        values: list[Any] = []
        extend = values.extend
        for i, row in enumerate(rows):
            if type(row) is not dict or row.keys() != self._column_set:
                raise self._row_error(i, row)
            extend(self._get(row))
        if not _NUMBER_TYPES.issuperset(set(map(type, values))):
            raise self._value_error(values)
        matrix = np.array(values, dtype=np.float64).reshape(len(rows), len(self.columns))
        # orjson refuses NaN and 1e400; NaN fails the comparison too.
        if not (np.abs(matrix) <= FLOAT32_MAX).all():
            raise RequestError(
                422,
                "bad_value",
                f"feature values must be finite numbers within ±{FLOAT32_MAX:.4g}",
            )
        return matrix

    def _row_error(self, index: int, row: Any) -> RequestError:
        if not isinstance(row, dict):
            return RequestError(
                422, "bad_shape", f"row {index}: must be an object, got {_json_type(row)}"
            )
        missing = [c for c in self.columns if c not in row]
        extra = sorted(set(row) - self._column_set)
        parts = []
        if missing:
            parts.append(f"missing columns {_names(missing)}")
        if extra:
            parts.append(f"unknown columns {_names(extra)}")
        return RequestError(422, "bad_columns", f"row {index}: {'; '.join(parts)}")

    def _value_error(self, values: list[Any]) -> RequestError:
        width = len(self.columns)
        for position, value in enumerate(values):
            if type(value) not in _NUMBER_TYPES:
                row, column = divmod(position, width)
                return RequestError(
                    422,
                    "bad_value",
                    f"row {row}: column {self.columns[column]!r} must be a number, "
                    f"got {_json_type(value)}",
                )
        raise AssertionError("no bad value found")  # pragma: no cover - called only with one


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _names(names: Sequence[str], limit: int = 5) -> str:
    shown = ", ".join(repr(n[:64]) for n in names[:limit])
    return f"{shown} and {len(names) - limit} more" if len(names) > limit else shown
