"""The data contract: the reference's column names and types, which a current batch, a
pipeline's incoming data and a prediction service's requests must keep."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from specops.monitoring.result import Breach
from specops.monitoring.settings import Settings
from specops.monitoring.tables import Table, error, kind

#: The contract's types whose drift can be compared.
SUPPORTED = ("number", "boolean", "string")


def contract(
    reference: Table, current: Table, settings: Settings
) -> tuple[list[str], list[Breach]]:
    """The columns to watch, and how the current batch breaks the reference's contract."""
    chosen = _columns(reference, settings)
    return chosen, _contract(reference, current, chosen, settings)


def watch(
    reference: Table, chosen: Sequence[str], settings: Settings
) -> tuple[list[str], list[tuple[str, str]]]:
    """The columns of a type that can be compared, and the others with the reason."""
    skipped = [(c, f"its type is {kind(reference.types[c])}") for c in chosen]
    skipped = [s for s in skipped if kind(reference.types[s[0]]) not in SUPPORTED]
    watched = [c for c in chosen if kind(reference.types[c]) in SUPPORTED]
    if settings.columns is not None and skipped:
        column, reason = skipped[0]
        raise error(reference.display, f"column {column!r} cannot be compared: {reason}")
    return watched, skipped


def contract_of(reference: Path) -> dict[str, str]:
    """The data contract of the file `reference`: its column names, in order, each with the type
    the contract compares (`number`, `boolean`, `string`, or Arrow's name for another): what a
    prediction service checks requests against."""
    table = Table.open(reference, str(reference))
    return {name: kind(arrow_type) for name, arrow_type in table.types.items()}


def contract_breaches(reference: Path, current: Path, ignore: Iterable[str] = ()) -> list[Breach]:
    """How the file `current` breaks the data contract of `reference` (its column names and
    types), apart from the columns in `ignore`: what a pipeline's data validation reuses."""
    ref, cur = Table.open(reference, str(reference)), Table.open(current, str(current))
    skip = frozenset(ignore)
    chosen = [c for c in ref.types if c not in skip]
    return _contract(ref, cur, chosen, Settings(exclude=skip))


def _columns(reference: Table, settings: Settings) -> list[str]:
    for name in settings.types:
        if name not in reference.types:
            raise error(reference.display, f"--column-type names {name!r}, which is no column")
    if settings.columns is None:
        return [c for c in reference.types if c not in settings.exclude]
    for name in settings.columns:
        if name not in reference.types:
            raise error(reference.display, f"has no column {name!r} of `monitoring.columns`")
    return list(settings.columns)


def _contract(
    reference: Table, current: Table, chosen: Sequence[str], settings: Settings
) -> list[Breach]:
    """The reference's names and types are the contract of the columns watched; extra
    columns break it too unless `columns` names what to watch."""
    breaches = []
    for name in chosen:
        if name not in current.types:
            breaches.append(Breach(name, "missing from the current batch"))
            continue
        was, now = kind(reference.types[name]), kind(current.types[name])
        if was != now and "empty" not in (was, now):
            breaches.append(Breach(name, f"its type changed from {was} to {now}"))
    if settings.columns is None:
        for name in current.types:
            if name not in reference.types and name not in settings.exclude:
                breaches.append(Breach(name, "not in the reference"))
    return breaches
