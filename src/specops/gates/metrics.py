"""Metrics files read as DVC reads them, flattened to dotted keys.

DVC (`dvc/utils/serialize`) picks the parser by suffix: `.json` is JSON, `.toml` is TOML, and
every other suffix is YAML 1.2. It flattens nested mappings to `a.b.c` and drops lists, so a
key path has no list indexes. DVC has no CSV reader for metrics (a `.csv` metrics file is parsed
as YAML and yields no numbers); here CSV and TSV files are read as a header row of keys and the
last row of values, the shape of a per-step log whose last row is the final result.
"""

from __future__ import annotations

import csv
import io
import json
import math
import posixpath
import sys
from collections.abc import Iterator
from typing import Any

import yaml

from specops.spec import scalars


class MetricsError(Exception):
    """A metrics file that cannot be read as metrics; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


#: No metrics file has this many values; past it, a file is refused rather than flattened.
MAX_METRICS = 100_000


class _Yaml12Loader(yaml.SafeLoader):
    """PyYAML's safe loader with the scalar rules of DVC's own (ruamel.yaml's safe loader, YAML
    1.2): `1e-3` is a number, `on` a string and `010` is 10."""

    def resolve(self, kind: type[yaml.Node], value: Any, implicit: Any) -> Any:
        if kind is yaml.ScalarNode and implicit[0]:
            return scalars.resolve(value)
        return super().resolve(kind, value, implicit)  # type: ignore[no-untyped-call]


def _scalar(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    assert isinstance(node, yaml.ScalarNode)
    return scalars.construct(node.tag, loader.construct_scalar(node))


for _tag in (scalars.INT, scalars.FLOAT, scalars.BOOL, scalars.TIMESTAMP):
    _Yaml12Loader.add_constructor(_tag, _scalar)


def _toml(text: str, path: str) -> Any:
    if sys.version_info >= (3, 11):
        import tomllib

        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise MetricsError(f"cannot parse {path} as TOML: {exc}") from exc
    # DVC reads TOML with tomlkit and brings no tomli, the backport of tomllib.
    raise MetricsError(
        f"cannot read {path}: TOML needs Python 3.11 or later (tomllib); "
        "use JSON or YAML metrics on Python 3.10"
    )


def _table(text: str, path: str, delimiter: str) -> dict[str, Any]:
    try:
        rows = [row for row in csv.reader(io.StringIO(text), delimiter=delimiter) if row]
    except csv.Error as exc:
        raise MetricsError(f"cannot parse {path}: {exc}") from exc
    if len(rows) < 2:
        raise MetricsError(f"cannot parse {path}: needs a header row and at least one row")
    header, last = rows[0], rows[-1]
    if len(last) != len(header):
        raise MetricsError(
            f"cannot parse {path}: the last row has {len(last)} field(s), the header {len(header)}"
        )
    return {key: _cell(value) for key, value in zip(header, last, strict=True)}


def _cell(text: str) -> Any:
    """A CSV field as a number when it is one (`nan` included, so that it is reported as NaN)."""
    try:
        return float(text)
    except ValueError:
        return text


def parse(path: str, raw: bytes) -> dict[str, Any]:
    """The metrics of one file, flattened to dotted keys; MetricsError when it has none."""
    try:
        return _parse(path, raw)
    except RecursionError as exc:  # deeper than the parsers, or flatten, can go
        raise MetricsError(f"cannot parse {path}: nested too deeply") from exc


def _parse(path: str, raw: bytes) -> dict[str, Any]:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        msg = f"cannot parse {path}: not UTF-8 ({exc.reason} at byte {exc.start})"
        raise MetricsError(msg) from exc
    suffix = posixpath.splitext(path)[1].lower()
    data: Any
    if suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise MetricsError(f"cannot parse {path} as JSON: {exc}") from exc
    elif suffix == ".toml":
        data = _toml(text, path)
    elif suffix in (".csv", ".tsv"):
        data = _table(text, path, "\t" if suffix == ".tsv" else ",")
    else:
        try:
            data = yaml.load(text, Loader=_Yaml12Loader)
        except yaml.YAMLError as exc:
            raise MetricsError(f"cannot parse {path} as YAML: {_yaml_error(exc)}") from exc
        except ValueError as exc:  # a scalar that looks like a number and is not one
            raise MetricsError(f"cannot parse {path} as YAML: {exc}") from exc
    if not isinstance(data, dict):
        kind = "empty" if data is None else f"a {type(data).__name__}"
        raise MetricsError(f"cannot read {path}: expected a mapping of metrics, it is {kind}")
    flat: dict[str, Any] = {}
    for name, value in flatten(data):
        flat[name] = value
        if len(flat) > MAX_METRICS:  # aliases can make a small file name millions of keys
            raise MetricsError(f"cannot read {path}: more than {MAX_METRICS:,} metrics")
    return flat


def _yaml_error(exc: yaml.YAMLError) -> str:
    """What PyYAML found wrong and where, in one line."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None)
    if problem is None or mark is None:
        return " ".join(str(exc).split())
    return f"{problem} at line {mark.line + 1}, column {mark.column + 1}"


def flatten(data: dict[Any, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """`{"a": {"b": 1}}` -> `("a.b", 1)`, as DVC names nested metrics; every value that is not
    a mapping is kept, so that a key naming a list or a string can be reported as such."""
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            yield from flatten(value, f"{name}.")
        else:
            yield name, value


def number(value: Any) -> tuple[float | None, str]:
    """A metric value as a finite float, or None and what it is instead."""
    if isinstance(value, bool):
        return None, f"is {str(value).lower()}, not a number"
    if isinstance(value, (int, float)):
        try:
            number = float(value)
        except OverflowError:  # an integer beyond a float's range
            return None, "is too large for a number"
        if math.isnan(number):
            return None, "is NaN"
        if math.isinf(number):
            return None, "is infinite"
        return number, ""
    if isinstance(value, str):
        return None, f"is the string {value!r}, not a number"
    if value is None:
        return None, "is empty, not a number"
    if isinstance(value, list):
        return None, "is a list, not a number"
    if isinstance(value, dict):
        return None, "is an empty mapping, not a number"
    return None, f"is a {type(value).__name__}, not a number"
