"""Cron schedules as GitHub Actions reads them: five fields, with names for months and days."""

from __future__ import annotations

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
#: The five fields as GitHub Actions reads a schedule: name, range, and names for the numbers.
_CRON_FIELDS: tuple[tuple[str, int, int, tuple[str, ...]], ...] = (
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, _MONTHS),
    ("day of week", 0, 6, _DAYS),
)
#: Extensions of other cron dialects (Quartz, croniter) that GitHub Actions refuses.
_UNSUPPORTED = ("L", "W", "#", "?")


def _cron_number(text: str, low: int, names: tuple[str, ...]) -> int | None:
    if text.isascii() and text.isdigit():
        return int(text)
    upper = text.upper()
    return names.index(upper) + low if upper in names else None


def _cron_field(text: str, name: str, low: int, high: int, names: tuple[str, ...]) -> str | None:
    """Why one field of a schedule is wrong, or None: lists of `*`, `n` or `a-b`, each with an
    optional `/step`."""
    what = f"the {name} field {text!r}"
    span = f"{low}-{high}" + (f" or {names[0]}-{names[-1]}" if names else "")
    for part in text.split(","):
        base, slash, step = part.partition("/")
        if slash and not (step.isascii() and step.isdigit() and int(step) >= 1):
            return f"{what} has the step {step!r}; a step must be a whole number of at least 1"
        if base == "*":
            continue
        first, dash, last = base.partition("-")
        last = last if dash else first
        start, end = _cron_number(first, low, names), _cron_number(last, low, names)
        for number, written in ((start, first), (end, last)):
            if number is None:
                # Checked only here: the letters are also in names such as JUL and WED.
                unsupported = [c for c in _UNSUPPORTED if c in written.upper()]
                if unsupported:
                    return f"{what} uses {unsupported[0]!r}, which GitHub Actions does not support"
            if number is None or not low <= number <= high:
                subject = what if written == text else f"{what} has {written!r}, which"
                return f"{subject} is not in {span}"
        if start is not None and end is not None and start > end:
            return f"{what} has the range {base!r}, whose start is after its end"
    return None


def cron(value: str) -> str:
    """`value` when it is a schedule GitHub Actions runs; ValueError says why not."""
    fields = value.split()
    if len(fields) != len(_CRON_FIELDS):
        raise ValueError("must be a cron expression of five fields, such as '0 6 * * 1'")
    for text, (name, low, high, names) in zip(fields, _CRON_FIELDS, strict=True):
        reason = _cron_field(text, name, low, high, names)
        if reason:
            raise ValueError(reason)
    return value
