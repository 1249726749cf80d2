"""The service's request contract: the data contract of `data/prepared/train.csv`.

specops's contract code (`specops.monitoring.contract.contract_of`, the names and types that
`specops drift` and the validate_data stage check batches against) reads the reference once, at
start-up. Its columns but the label are what a request's rows must hold, each a number: the
service refuses to start when they are not the model's own features, or when one is not a
number (the model computes on floats), so that no request passes a check the monitored batches
would fail.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

#: The label column of the reference: not part of a request.
TARGET = "target"


def request_columns(reference: Path, model_columns: Sequence[str]) -> list[str]:
    """The columns a request's rows must hold, in the model's order; SystemExit when the
    reference is missing or unreadable, or its contract and the model disagree."""
    from specops.monitoring.contract import contract_of
    from specops.spec.problems import SpecError

    if not reference.is_file():
        raise SystemExit(
            f"serve: no data contract at {reference} (SPECOPS_CONTRACT): run `dvc repro prepare`"
            " or `dvc pull` first"
        )
    try:
        contract = contract_of(reference)
    except SpecError as exc:
        raise SystemExit(f"serve: {exc}") from None
    finally:
        # A CSV's types come from reading it whole: give that memory back, or the service
        # keeps several times the file's size resident for as long as it runs.
        import pyarrow

        pyarrow.default_memory_pool().release_unused()
    features = {name: kind for name, kind in contract.items() if name != TARGET}
    missing = [c for c in features if c not in model_columns]
    extra = [c for c in model_columns if c not in features]
    if missing or extra:
        parts = [f"the model lacks {_names(missing)}"] if missing else []
        parts += [f"the contract lacks {_names(extra)}"] if extra else []
        raise SystemExit(
            f"serve: the model's features are not the data contract of {reference}: "
            + "; ".join(parts)
        )
    other = [(c, k) for c, k in features.items() if k != "number"]
    if other:
        column, kind = other[0]
        raise SystemExit(
            f"serve: column {column!r} of the data contract of {reference} holds {kind}s: the"
            " service takes numbers only"
        )
    return list(model_columns)


def _names(names: Sequence[str], limit: int = 5) -> str:
    shown = ", ".join(repr(n) for n in names[:limit])
    return f"{shown} and {len(names) - limit} more" if len(names) > limit else shown
