"""Scalars as DVC reads them.

DVC reads dvc.yaml and params files with ruamel.yaml's safe loader (`dvc.utils.serialize.
parse_yaml`), whose YAML 1.2 rules differ from PyYAML's YAML 1.1 ones: `on`, `yes` and `no` are
strings, `010` is 10, `0o17` is 15, `1e3` is a number and `12:30` a string. The patterns and the
conversions below are ruamel.yaml 0.18-0.19's (`resolver.implicit_resolvers` for version 1.2 and
`SafeConstructor`), so that a value means the same to specops as to DVC.
"""

from __future__ import annotations

import datetime
import re
from typing import Any

STR = "tag:yaml.org,2002:str"
INT = "tag:yaml.org,2002:int"
FLOAT = "tag:yaml.org,2002:float"
BOOL = "tag:yaml.org,2002:bool"
NULL = "tag:yaml.org,2002:null"
TIMESTAMP = "tag:yaml.org,2002:timestamp"
MERGE = "tag:yaml.org,2002:merge"
VALUE = "tag:yaml.org,2002:value"

_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_FLOAT = re.compile(
    r"""^(?:
     [-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
    |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
    |[-+]?\.[0-9_]+(?:[eE][-+][0-9]+)?
    |[-+]?\.(?:inf|Inf|INF)
    |\.(?:nan|NaN|NAN))$""",
    re.X,
)
_INT = re.compile(
    r"""^(?:[-+]?0b[0-1_]+
    |[-+]?0o?[0-7_]+
    |[-+]?[0-9_]+
    |[-+]?0x[0-9a-fA-F_]+)$""",
    re.X,
)
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
_TIMESTAMP = re.compile(
    r"""^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]
    |[0-9][0-9][0-9][0-9] -[0-9][0-9]? -[0-9][0-9]?
    (?:[Tt]|[ \t]+)[0-9][0-9]?
    :[0-9][0-9] :[0-9][0-9] (?:\.[0-9]*)?
    (?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$""",
    re.X,
)
_MERGE = re.compile(r"^(?:<<)$")
_VALUE = re.compile(r"^(?:=)$")

# ruamel tries the patterns registered for a scalar's first character, in this order.
_ORDER: tuple[tuple[str, re.Pattern[str], str], ...] = (
    (BOOL, _BOOL, "tTfF"),
    (FLOAT, _FLOAT, "-+0123456789."),
    (INT, _INT, "-+0123456789"),
    (MERGE, _MERGE, "<"),
    (NULL, _NULL, "~nN"),
    (TIMESTAMP, _TIMESTAMP, "0123456789"),
    (VALUE, _VALUE, "="),
)
_BY_FIRST: dict[str, list[tuple[str, re.Pattern[str]]]] = {}
for _tag, _pattern, _firsts in _ORDER:
    for _char in _firsts:
        _BY_FIRST.setdefault(_char, []).append((_tag, _pattern))


def resolve(value: str) -> str:
    """The tag DVC's loader gives the plain (unquoted, untagged) scalar `value`."""
    if not value:
        return NULL
    for tag, pattern in _BY_FIRST.get(value[0], ()):
        if pattern.match(value):
            return tag
    return STR


_BOOLS = {
    "yes": True,
    "no": False,
    "y": True,
    "n": False,
    "true": True,
    "false": False,
    "on": True,
    "off": False,
}


def _int(text: str) -> int:
    digits = text.replace("_", "")
    sign = -1 if digits[:1] == "-" else 1
    digits = digits[1:] if digits[:1] in ("+", "-") else digits
    for prefix, base in (("0b", 2), ("0x", 16), ("0o", 8)):
        if digits.startswith(prefix):
            return sign * int(digits[2:], base)
    return sign * int(digits)  # YAML 1.2: a leading 0 is not octal


def _float(text: str) -> float:
    digits = text.replace("_", "").lower()
    sign = -1 if digits[:1] == "-" else 1
    digits = digits[1:] if digits[:1] in ("+", "-") else digits
    if digits == ".inf":
        return sign * float("inf")
    if digits == ".nan":
        return float("nan")
    return sign * float(digits)


_TIMESTAMP_PARTS = re.compile(
    r"""^(?P<year>[0-9][0-9][0-9][0-9])
       -(?P<month>[0-9][0-9]?)
       -(?P<day>[0-9][0-9]?)
       (?:((?P<t>[Tt])|[ \t]+)
       (?P<hour>[0-9][0-9]?)
       :(?P<minute>[0-9][0-9])
       :(?P<second>[0-9][0-9])
       (?:\.(?P<fraction>[0-9]*))?
        (?:[ \t]*(?P<tz>Z|(?P<tz_sign>[-+])(?P<tz_hour>[0-9][0-9]?)
       (?::(?P<tz_minute>[0-9][0-9]))?))?)?$""",
    re.X,
)


def _timestamp(text: str) -> datetime.date:
    match = _TIMESTAMP_PARTS.match(text)
    if match is None:
        raise ValueError("not a date")
    part = match.groupdict()
    year, month, day = int(part["year"]), int(part["month"]), int(part["day"])
    if part["hour"] is None:
        return datetime.date(year, month, day)
    fraction = part["fraction"] or ""
    micro = int(fraction[:6].ljust(6, "0")) if fraction else 0
    if len(fraction) > 6 and int(fraction[6]) > 4:
        micro += 1  # ruamel rounds the seventh digit
    tzinfo = None
    if part["tz_sign"]:
        offset = datetime.timedelta(hours=int(part["tz_hour"]), minutes=int(part["tz_minute"] or 0))
        tzinfo = datetime.timezone(-offset if part["tz_sign"] == "-" else offset, part["tz"])
    elif part["tz"] == "Z":
        tzinfo = datetime.timezone(datetime.timedelta(0), "Z")
    stamp = datetime.datetime(
        year,
        month,
        day,
        int(part["hour"]),
        int(part["minute"]),
        int(part["second"]),
        0 if micro > 999_999 else micro,
        tzinfo,
    )
    return stamp + datetime.timedelta(seconds=1) if micro > 999_999 else stamp


_WHAT = {INT: "an integer", FLOAT: "a number", BOOL: "a boolean", TIMESTAMP: "a date"}

#: Python writes no integer of more decimal digits as text (`sys.get_int_max_str_digits`), so
#: DVC fails on one when it puts it into a string or writes dvc.lock. A decimal one fails to
#: load already; `0x`, `0o` and `0b` ones load.
MAX_INT_DIGITS = 4_300
_TOO_LONG = 10**MAX_INT_DIGITS


class TooLong(ValueError):
    """An integer DVC reads but cannot write out."""


def too_long(value: Any) -> str | None:
    """Why DVC cannot write out `value`, an integer of too many digits, or None."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= _TOO_LONG:
        return f"an integer of more than {MAX_INT_DIGITS:,} digits, which DVC cannot write out"
    return None


def construct(tag: str, text: str) -> Any:
    """The value of a scalar of `tag` written as `text`, as DVC's loader makes it; ValueError
    when that loader would fail on it (it raises, and DVC stops with a traceback)."""
    try:
        if tag == STR:
            return text
        if tag == NULL:
            return None
        if tag == BOOL:
            return _BOOLS[text.lower()]
        if tag == INT:
            value = _int(text)
            reason = too_long(value)
            if reason:
                raise TooLong(f"{text[:60]!r} is {reason}")
            return value
        if tag == FLOAT:
            return _float(text)
        if tag == TIMESTAMP:
            return _timestamp(text)
    except TooLong:
        raise
    except (KeyError, ValueError) as exc:
        raise ValueError(f"{text[:60]!r} is not {_WHAT[tag]}") from exc
    raise ValueError(f"unsupported YAML tag {tag!r}")
