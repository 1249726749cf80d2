"""A classification's labels as integer codes into one sorted list of classes, shared by the
target and the predicted class of both sides: four bytes a row, whatever the labels are.

Classes are whole numbers (booleans are 0 and 1) or strings; an empty string, like an empty
cell, NaN or null, is a row without a class (code -1). Each column is read a batch at a time;
a batch's distinct values (Parquet's dictionary, for strings) get codes in the order they are
first seen, and the codes are renumbered in the classes' order at the end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from specops.monitoring.tables import Table, error, floats, kind

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Codes = npt.NDArray[np.int32]

#: What each column type's classes are, as the errors name them.
FAMILY = {"number": "numbers", "boolean": "numbers", "string": "strings"}


@dataclass
class Classes:
    """The classes seen so far, each with its code, and the first column that gave their type."""

    codes: dict[Any, int] = field(default_factory=dict)
    family: str | None = None
    source: str = ""

    def read(self, table: Table, name: str, role: str) -> Codes:
        """One column's codes (-1 where it has no class)."""
        import numpy as np

        found = kind(table.types[name])
        if found == "empty":  # no value at all, e.g. labels that have not arrived yet
            return np.full(table.rows, -1, dtype=np.int32)
        family = FAMILY.get(found)
        if family is None:
            raise error(
                table.display,
                f"column {name!r} of {role} holds {found}s, not classes (numbers, booleans or"
                " strings)",
            )
        if self.family is None:
            self.family, self.source = family, f"column {name!r} of {table.display}"
        elif family != self.family:
            raise error(
                table.display,
                f"column {name!r} of {role} holds {family}, but {self.source} holds {self.family}:"
                " the classes must be of one type",
            )
        out = np.empty(table.rows, dtype=np.int32)  # filled in place: no list of parts
        done = 0
        for batch in table.batches([name]):
            array = batch[name]
            chunks = array.chunks if hasattr(array, "chunks") else [array]
            for chunk in chunks:
                if family == "strings":
                    codes = self._strings(chunk)
                else:
                    codes = self._numbers(chunk, table, name, role)
                out[done : done + codes.size] = codes
                done += codes.size
        return out

    def _numbers(self, chunk: Any, table: Table, name: str, role: str) -> Codes:
        import numpy as np

        values = floats(chunk)
        finite = np.isfinite(values)
        keys, inverse = np.unique(values[finite], return_inverse=True)
        fractional = keys[keys != np.floor(keys)]
        if fractional.size:
            raise error(
                table.display,
                f"column {name!r} of {role} holds {float(fractional[0]):g}: a class is a whole"
                " number or a string",
            )
        out = np.full(values.size, -1, dtype=np.int32)
        out[finite] = self._lookup(keys.tolist())[inverse]
        return out

    def _strings(self, chunk: Any) -> Codes:
        import numpy as np
        import pyarrow as pa
        import pyarrow.compute as pc

        if not pa.types.is_dictionary(chunk.type):
            chunk = pc.dictionary_encode(chunk)
        words = chunk.dictionary.to_pylist()
        mapped = self._lookup(words)
        # An empty label is no label; the extra last code stands for a null.
        mapped[[i for i, w in enumerate(words) if w == ""]] = -1
        mapped = np.append(mapped, np.int32(-1))
        indices = pc.fill_null(chunk.indices, len(words)).to_numpy(zero_copy_only=False)
        out: Codes = mapped[indices]
        return out

    def _lookup(self, keys: list[Any]) -> Codes:
        import numpy as np

        codes = self.codes
        for key in keys:
            if key not in codes:
                codes[key] = len(codes)
        return np.array([codes[key] for key in keys], dtype=np.int32)

    def sorted(self) -> tuple[list[Any], Codes]:
        """The classes in order (empty strings left out), and each first-seen code's index
        among them."""
        import numpy as np

        names = sorted(k for k in self.codes if k != "")
        order = np.full(len(self.codes) + 1, -1, dtype=np.int32)  # last: -1 stays -1
        for index, key in enumerate(names):
            order[self.codes[key]] = index
        # Whole numbers as integers, as they are shown and written to JSON.
        return [int(k) if isinstance(k, float) else k for k in names], order

    @property
    def binary(self) -> bool:
        """Whether the classes are numbers among 0 and 1: class 1 is then the positive one."""
        return self.family == "numbers" and set(self.codes) <= {0.0, 1.0}


#: Codes renumbered at a time, in place: no second array of a column's size.
CHUNK = 1 << 20


def renumber(codes: Codes, order: Codes) -> Codes:
    """First-seen codes as indexes in the sorted classes (-1 stays -1), in place."""
    for start in range(0, codes.size, CHUNK):
        part = codes[start : start + CHUNK]
        part[...] = order[part]
    return codes


def present(codes: Codes, classes: int) -> Any:
    """Which of the classes the codes hold."""
    import numpy as np

    found = np.zeros(classes + 1, dtype=np.int64)
    for start in range(0, codes.size, CHUNK):
        found += np.bincount(codes[start : start + CHUNK] + 1, minlength=classes + 1)
    return found[1:] > 0
