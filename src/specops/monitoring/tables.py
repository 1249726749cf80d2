"""Reading a batch: CSV or Parquet, through pyarrow, column batch by column batch.

Parquet is streamed by row batches, so that memory follows the batch, not the file; a CSV is
read whole (a CSV of the size where that matters would be tens of gigabytes: use Parquet).
"""

from __future__ import annotations

import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from specops.spec.problems import Problem, SpecError

if TYPE_CHECKING:
    import pyarrow as pa

#: How many values (rows x columns) one batch holds, unless one row group of one column is more:
#: 8M float64 values, 64 MB.
BATCH_VALUES = 8_000_000


def error(path: str, message: str) -> SpecError:
    """An invalid input, reported against its file (exit 2)."""
    return SpecError([Problem.plain(path, message)])


def kind(arrow_type: pa.DataType) -> str:
    """What the data contract compares: number, boolean, string or the Arrow type's name."""
    import pyarrow as pa

    if pa.types.is_integer(arrow_type) or pa.types.is_floating(arrow_type):
        return "number"
    if pa.types.is_boolean(arrow_type):
        return "boolean"
    if pa.types.is_dictionary(arrow_type):
        return kind(arrow_type.value_type)
    if pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type):
        return "string"
    if pa.types.is_null(arrow_type):
        return "empty"
    return str(arrow_type)


@dataclass
class Table:
    """One side of the comparison: a file, its column names and their Arrow types."""

    path: str
    display: str
    types: dict[str, pa.DataType]
    rows: int
    _csv: pa.Table | None = field(default=None, repr=False)

    @classmethod
    def open(cls, path: Path, display: str) -> Table:
        import pyarrow as pa

        try:
            # A FIFO or a device would be waited on, or read without end.
            if not stat.S_ISREG(path.stat().st_mode):
                raise error(display, "is not a regular file")
            if path.suffix.lower() in (".parquet", ".pq"):
                import pyarrow.parquet as pq

                meta = pq.ParquetFile(path)
                schema = meta.schema_arrow
                _once(schema.names, display)
                return cls(
                    str(path),
                    display,
                    dict(zip(schema.names, schema.types, strict=True)),
                    meta.metadata.num_rows,
                )
            if path.suffix.lower() not in (".csv", ".tsv", ".txt"):
                raise error(display, "is neither CSV (.csv) nor Parquet (.parquet)")
            from pyarrow import csv

            options = csv.ParseOptions(delimiter="\t" if path.suffix.lower() == ".tsv" else ",")
            table = csv.read_csv(path, parse_options=options)
        except OSError as exc:
            reason = exc.strerror or str(exc)
            raise error(display, f"cannot read it: {reason}") from None
        except pa.ArrowException as exc:
            raise error(display, f"cannot read it: {exc}") from None
        try:
            names = table.column_names
        except UnicodeDecodeError:  # Arrow checks the values' encoding, not the header's
            raise error(display, "cannot read it: its column names are not UTF-8") from None
        _once(names, display)
        types = dict(zip(names, table.schema.types, strict=True))
        return cls(str(path), display, types, table.num_rows, table)

    def batches(
        self, columns: Sequence[str], *, first: bool = False
    ) -> Iterator[dict[str, pa.Array]]:
        """The columns, a group of columns and a batch of rows at a time, so that memory does
        not grow with the file; with `first`, only the first batch of each group."""
        import pyarrow as pa

        if not columns:
            return
        try:
            if self._csv is not None:
                rows = max(1024, BATCH_VALUES // len(columns))
                for batch in self._csv.select(list(columns)).to_batches(max_chunksize=rows):
                    yield {name: batch.column(name) for name in columns}
                    if first:
                        return
                return
            yield from self._parquet_batches(columns, first)
        except (OSError, pa.ArrowException) as exc:
            raise error(self.display, f"cannot read it: {exc}") from None

    def count_batches(self, columns: Sequence[str]) -> int:
        """How many batches `batches(columns)` yields."""
        if not columns:
            return 0
        if self._csv is not None:
            rows = max(1024, BATCH_VALUES // len(columns))
            return sum(-(-b.num_rows // rows) for b in self._csv.to_batches() if b.num_rows)
        import pyarrow.parquet as pq

        groups = self._groups(pq.ParquetFile(self.path).metadata)
        return len(groups) * -(-len(columns) // self._width(groups))

    @staticmethod
    def _groups(meta: Any) -> list[int]:
        return [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]

    @staticmethod
    def _width(groups: list[int]) -> int:
        # A row group is read whole: as many columns at once as keep it within the budget.
        return max(1, BATCH_VALUES // max([1, *groups]))

    def _parquet_batches(
        self, columns: Sequence[str], first: bool
    ) -> Iterator[dict[str, pa.Array]]:
        import pyarrow.parquet as pq

        # Strings stay dictionary-encoded, as Parquet usually stores them: counting codes is
        # far cheaper than hashing every string. Pre-buffering would keep the whole file.
        strings = [c for c in columns if kind(self.types[c]) == "string"]
        source = pq.ParquetFile(
            self.path, read_dictionary=strings, pre_buffer=False, buffer_size=1 << 22
        )
        groups = self._groups(source.metadata)
        width = self._width(groups)
        for index in range(len(groups))[:1] if first else range(len(groups)):
            for start in range(0, len(columns), width):
                group = list(columns[start : start + width])
                table = source.read_row_group(index, columns=group)
                yield {name: table.column(name) for name in group}

    def column(self, name: str) -> pa.ChunkedArray:
        """One whole column."""
        import pyarrow as pa

        if self._csv is not None:
            return self._csv.column(name)
        import pyarrow.parquet as pq

        try:
            return pq.read_table(self.path, columns=[name]).column(name)
        except (OSError, pa.ArrowException) as exc:
            raise error(self.display, f"cannot read it: {exc}") from None


def _once(names: list[str], display: str) -> None:
    if len(set(names)) != len(names):
        twice = sorted({n for n in names if names.count(n) > 1})
        raise error(display, f"column {twice[0]!r} appears twice")


def floats(array: Any) -> Any:
    """A numeric Arrow array as float64 NumPy values, nulls as NaN."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks() if array.num_chunks != 1 else array.chunk(0)
    if pa.types.is_dictionary(array.type):
        array = array.dictionary_decode()
    # Unsafe: an integer beyond 2**53 (an ID, a uint64) is rounded to the nearest float.
    values = pc.cast(array, pa.float64(), safe=False).to_numpy(zero_copy_only=False)
    return np.asarray(values, dtype=np.float64)
