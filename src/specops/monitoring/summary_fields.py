"""The pieces every check of a partition's summary is made of: where it is damaged, and what a
field of each kind must be (specops.monitoring.summary_check)."""

from __future__ import annotations

import math
from typing import Any

#: The largest count: what a 64-bit integer holds.
MAX_COUNT = 2**63 - 1


class Damaged(Exception):
    """Where a summary is broken (`key`, its path in the JSON), and how."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key, self.message = key, message

    def under(self, prefix: str) -> Damaged:
        """The same damage, at its key inside the field `prefix`."""
        return Damaged(f"{prefix}.{self.key}", self.message)


def field(data: dict[str, Any], where: str, name: str) -> Any:
    if name not in data:
        raise Damaged(f"{where}.{name}" if where else name, "missing")
    return data[name]


def obj(data: dict[str, Any], name: str, where: str = "") -> dict[str, Any]:
    value = field(data, where, name)
    if not isinstance(value, dict):
        raise Damaged(f"{where}.{name}" if where else name, "must be an object")
    return value


def count(value: Any, key: str) -> int:
    if not integer(value) or not 0 <= value <= MAX_COUNT:
        raise Damaged(key, "must be a count (0 or more)")
    return int(value)


def counts(value: Any, key: str, most: int) -> list[int]:
    """A list of counts, each at most `most`."""
    if not isinstance(value, list) or not all(integer(c) and 0 <= c <= most for c in value):
        raise Damaged(key, f"must be a list of counts from 0 to {most:,}")
    return value


def integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def number(value: Any, key: str) -> float:
    if not finite(value):
        raise Damaged(key, "must be a finite number")
    return float(value)


def unique_strings(values: list[Any], *, once: bool = True) -> bool:
    strings = all(isinstance(v, str) for v in values)
    return strings and (not once or len(set(values)) == len(values))


def pairs(value: Any, key: str, *, numbers: bool, keys: type | tuple[type, ...] = ()) -> list[int]:
    """The counts of a list of [value, count] pairs, each value once (`keys`: the values' types,
    else numbers or scalars as `numbers` says)."""
    scalars = keys or ((int, float) if numbers else (str, int, float, bool))
    good = isinstance(value, list) and all(
        isinstance(p, list)
        and len(p) == 2
        and isinstance(p[0], scalars)
        and (not numbers or finite(p[0]))
        and (keys is not int or integer(p[0]))
        and integer(p[1])
        and 1 <= p[1] <= MAX_COUNT
        for p in value
    )
    if not good or len({p[0] for p in value}) != len(value):
        raise Damaged(key, "must be pairs of a value and a count (1 or more)")
    return [p[1] for p in value]


def adds_up(key: str, n: int, found: list[int], what: str, of: str = "n") -> None:
    """That the counts `found` of `what` add up to `n` (named `of`)."""
    if sum(found) != n:
        raise Damaged(key, f"{of} is {n:,}, but its {what} add up to {sum(found):,}")
