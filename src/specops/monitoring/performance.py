"""Model quality on a batch: its metrics against the `performance` gates and the reference's,
concept drift (the target's and the score's distributions), and prediction latency.

The gates are evaluated by specops.gates, as `specops gate` does: the same syntax, failing
closed on a missing or NaN metric; `vs: reference` compares with the reference's metrics.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from specops.gates.evaluate import Baseline, Reader, Sources, evaluate_gate
from specops.gates.result import GateResult
from specops.monitoring import quality
from specops.monitoring.drift import Settings, compare
from specops.monitoring.methods import NUMERIC_ONLY
from specops.monitoring.result import ColumnDrift
from specops.monitoring.tables import Table, error, floats, kind
from specops.spec.models import Gate
from specops.spec.monitoring import VS_REFERENCE

if TYPE_CHECKING:
    from specops.monitoring.quality import Floats, Metrics


@dataclass(frozen=True)
class Roles:
    """The columns that are not features: None where the spec names none."""

    target: str | None = None
    prediction: str | None = None
    predicted_class: str | None = None
    latency: str | None = None

    def names(self) -> list[str]:
        return [c for c in (self.target, self.prediction, self.predicted_class, self.latency) if c]


@dataclass(frozen=True)
class Side:
    """One side's metrics, and how many rows were left out for want of a target or score."""

    rows: int
    left_out: int
    metrics: Metrics
    #: How far a metric may be from the exact one, where it was bounded rather than computed
    #: (ROC AUC over partitions).
    errors: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Quality:
    """Everything beyond the features' drift."""

    roles: Roles
    current: Side | None = None
    reference: Side | None = None
    gates: list[GateResult] = field(default_factory=list)
    #: The target's and the score's drift, each tagged with its role.
    concept: list[tuple[str, ColumnDrift]] = field(default_factory=list)
    latency: dict[str, float] | None = None
    latency_rows: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def failed_gates(self) -> list[GateResult]:
        return [g for g in self.gates if g.status == "fail"]

    @property
    def drift(self) -> bool:
        return any(c.drifted for _, c in self.concept)

    @property
    def undecided(self) -> list[str]:
        """The roles whose drift the partitions' summaries do not decide."""
        return [r for r, c in self.concept if c.undecided]

    @property
    def ok(self) -> bool:
        return not self.failed_gates and not self.drift and not self.undecided

    def as_dict(self) -> dict[str, Any]:
        def side(found: Side | None) -> dict[str, Any] | None:
            if found is None:
                return None
            return {
                "rows": found.rows,
                "left_out": found.left_out,
                "metrics": {k: _json(v) for k, v in found.metrics.values.items()},
                "undefined": found.metrics.undefined,
                "errors": found.errors,
            }

        return {
            "ok": self.ok,
            "columns": self.roles.__dict__,
            "performance": {"current": side(self.current), "reference": side(self.reference)},
            "gates": [g.as_dict() for g in self.gates],
            "concept_drift": [{"role": r, **c.as_dict()} for r, c in self.concept],
            "latency_ms": None
            if self.latency is None
            else {"rows": self.latency_rows, **self.latency},
            "notes": self.notes,
        }


def _json(value: float) -> float | None:
    return None if math.isnan(value) else value


def assess(
    reference: Table,
    current: Table,
    roles: Roles,
    gates: Sequence[Gate],
    settings: Settings,
) -> Quality | None:
    """The batch's quality, or None when the spec names no column beyond the features."""
    if not roles.names():
        return None
    check_roles(current, roles)
    notes: list[str] = []
    current_side = reference_side = None
    if roles.target is not None and (roles.prediction or roles.predicted_class):
        current_side = _side(current, roles)
        reference_side = reference_metrics(reference, roles, notes)
    concept = _concept(reference, current, roles, settings, notes)
    results = []
    if current_side is not None:
        results = [evaluate(gate, current.display, current_side, reference_side) for gate in gates]
    latency, latency_rows = None, 0
    if roles.latency is not None:
        values = latency_values(current, roles)
        if not values.size:
            raise error(current.display, f"column {roles.latency!r} has no latency value")
        latency, latency_rows = quality.percentiles(values), int(values.size)
    return Quality(
        roles, current_side, reference_side, results, concept, latency, latency_rows, notes
    )


def check_roles(current: Table, roles: Roles) -> None:
    """Every role's column is in the current batch; the target holds classes."""
    for name in roles.names():
        if name not in current.types:
            raise error(current.display, f"has no column {name!r} ({_role(roles, name)})")
    if roles.target is not None:
        _numbers(current, roles.target, "`monitoring.target`", classes=True)


def reference_metrics(reference: Table, roles: Roles, notes: list[str]) -> Side | None:
    """The reference's metrics, when it has the columns they are computed from."""
    missing = [c for c in roles.names() if c in _scored(roles) and c not in reference.types]
    if missing:
        notes.append(f"the reference has no column {missing[0]!r}: its metrics are not computed")
        return None
    return _side(reference, roles)


def latency_values(current: Table, roles: Roles) -> Floats:
    """The finite values of the latency column."""
    assert roles.latency is not None
    values = _numbers(current, roles.latency, "`monitoring.latency`")
    found: Floats = values[_finite(values)]
    return found


def _role(roles: Roles, name: str) -> str:
    role = next(r for r, c in roles.__dict__.items() if c == name)
    return f"`monitoring.{role}`"


def _scored(roles: Roles) -> list[str]:
    """The columns the metrics are computed from."""
    return [c for c in (roles.target, roles.prediction, roles.predicted_class) if c]


def _numbers(table: Table, name: str, role: str, *, classes: bool = False) -> Floats:
    """A column as floats; with `classes`, booleans too (false 0, true 1)."""
    found = kind(table.types[name])
    if found == "empty":  # no value at all, e.g. labels that have not arrived yet
        import numpy as np

        return np.full(table.rows, np.nan)
    if found != "number" and not (classes and found == "boolean"):
        expected = "0 or 1 (or false and true)" if classes else "numbers"
        raise error(table.display, f"column {name!r} of {role} holds {found}s, not {expected}")
    values: Floats = floats(table.column(name))
    return values


def _finite(values: Floats) -> Any:
    import numpy as np

    return np.isfinite(values)


def _binary(table: Table, name: str, values: Floats, role: str) -> None:
    wrong = values[(values != 0) & (values != 1)]
    if wrong.size:
        raise error(
            table.display,
            f"column {name!r} of {role} holds {float(wrong[0]):g}: binary classification"
            " needs 0 or 1",
        )


def _side(table: Table, roles: Roles) -> Side:
    """One side's metrics, from the rows that have a target and every prediction column."""
    rows, target, label, score = scored(table, roles)
    if not target.size:
        raise error(
            table.display,
            f"no row has both a target ({roles.target!r}) and a prediction: the {rows:,}"
            " row(s) have empty, NaN or infinite values",
        )
    return Side(
        int(target.size), rows - int(target.size), quality.classification(target, label, score)
    )


def scored(table: Table, roles: Roles) -> tuple[int, Floats, Floats, Floats | None]:
    """The side's rows, and the target, predicted class and score of those that have a target
    and every prediction column (checked: 0 or 1, scores from 0 to 1)."""
    assert roles.target is not None
    target = _numbers(table, roles.target, "`monitoring.target`", classes=True)
    keep = _finite(target)
    score = label = None
    if roles.prediction is not None:
        score = _numbers(table, roles.prediction, "`monitoring.prediction`")
        keep &= _finite(score)
    if roles.predicted_class is not None:
        label = _numbers(table, roles.predicted_class, "`monitoring.predicted_class`", classes=True)
        keep &= _finite(label)
    rows = int(target.size)
    target = target[keep]
    _binary(table, roles.target, target, "`monitoring.target`")
    if score is not None:
        score = score[keep]
        outside = score[(score < 0) | (score > 1)]
        if outside.size:
            raise error(
                table.display,
                f"column {roles.prediction!r} of `monitoring.prediction` holds"
                f" {float(outside[0]):g}: the score is the probability of class 1, from 0 to 1",
            )
    if label is not None:
        label = label[keep]
        _binary(table, str(roles.predicted_class), label, "`monitoring.predicted_class`")
    else:
        assert score is not None
        label = quality.labels(score)
    return rows, target, label, score


@dataclass
class _Computed(Sources):
    """Metrics computed here rather than read from a file: the batch's, and with `where`
    set (a baseline), the reference's."""

    current: dict[str, object] = field(default_factory=dict)
    reference: dict[str, object] = field(default_factory=dict)

    def metrics(self, read: Reader, path: str, where: str = "") -> dict[str, object] | str:
        return self.reference if where else self.current


#: Gates see the metrics to this many decimals, as the reference pipeline writes its own.
DECIMALS = 4


def _rounded(values: dict[str, float]) -> dict[str, object]:
    return {k: v if math.isnan(v) else round(v, DECIMALS) for k, v in values.items()}


def _nothing(_path: str) -> bytes | None:
    return None


def evaluate(gate: Gate, path: str, current: Side, reference: Side | None) -> GateResult:
    """One `performance` gate, evaluated by the gates' own code on the batch's metrics."""

    def baseline(_vs: str) -> Baseline:
        if reference is None:
            return Baseline("", missing="the reference has no target and predictions")
        value = reference.metrics.values.get(gate.metric, math.nan)
        if math.isnan(value):
            why = reference.metrics.undefined.get(gate.metric, "")
            return Baseline("", error=f"{gate.metric} is undefined on the reference: {why}")
        return Baseline(VS_REFERENCE, _nothing)

    sources = _Computed(
        _nothing,
        baseline,
        path,
        [path],
        current=_rounded(current.metrics.values),
        reference=_rounded(reference.metrics.values) if reference else {},
    )
    result = evaluate_gate(gate, sources)
    why = current.metrics.undefined.get(gate.metric)
    if why is not None and result.value is None:
        # The gates' words say the value is NaN; say why it is.
        result = GateResult(**{**result.as_dict(), "reason": f"{result.reason} ({why})"})
    return result


def _concept(
    reference: Table, current: Table, roles: Roles, settings: Settings, notes: list[str]
) -> list[tuple[str, ColumnDrift]]:
    """The target's and the score's drift, by the columns' method: the target as categorical
    (a method for numbers gives way to `auto` there), the score as numeric."""
    found = []
    for role, name, one in concept_settings(reference, roles, settings, notes):
        result = compare(reference, current, one)
        if result.breaches:
            raise error(current.display, f"column {name!r}: {result.breaches[0].problem}")
        found += [(role, c) for c in result.columns]
    return found


def concept_settings(
    reference: Table, roles: Roles, settings: Settings, notes: list[str]
) -> list[tuple[str, str, Settings]]:
    """Each role whose drift is compared, its column, and the settings of that comparison."""
    found = []
    for role, name, kind_ in (
        ("target", roles.target, "categorical"),
        ("prediction", roles.prediction, "numeric"),
    ):
        if name is None:
            continue
        if name not in reference.types:
            notes.append(f"the reference has no column {name!r}: its drift is not computed")
            continue
        method, threshold = settings.method, settings.threshold
        if kind_ == "categorical" and method in NUMERIC_ONLY:
            method, threshold = "auto", None
        one = Settings(
            method=method,
            threshold=threshold,
            share=1.0,
            columns=[name],
            types={name: kind_},
            exact_rows=settings.exact_rows,
        )
        found.append((role, name, one))
    return found
