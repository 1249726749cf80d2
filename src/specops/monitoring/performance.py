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
from specops.monitoring.classes import Classes, present, renumber
from specops.monitoring.drift import compare
from specops.monitoring.methods import NUMERIC_ONLY
from specops.monitoring.result import ColumnDrift
from specops.monitoring.settings import Settings
from specops.monitoring.tables import Table, error, floats, kind
from specops.spec.models import Gate
from specops.spec.monitoring import VS_REFERENCE

if TYPE_CHECKING:
    from specops.monitoring.classes import Codes
    from specops.monitoring.quality import Floats, Metrics


#: Classes listed in JSON at most; a column of many more is hardly a target.
MAX_CLASSES = 1000


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
    #: binary (classes 0 and 1) or multiclass (any other classes).
    task: str = "binary"
    #: The classes of the target and the predicted class, on both sides, in order.
    classes: list[Any] = field(default_factory=list)
    #: Those of the batch (target or predicted) that the reference's target does not hold.
    new_classes: list[Any] = field(default_factory=list)

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
                "remarks": found.metrics.remarks,
                "errors": found.errors,
            }

        return {
            "ok": self.ok,
            "columns": self.roles.__dict__,
            "performance": {"current": side(self.current), "reference": side(self.reference)},
            "gates": [g.as_dict() for g in self.gates],
            "task": self.task,
            "classes": self.classes[:MAX_CLASSES],
            "new_classes": self.new_classes[:MAX_CLASSES],
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
    labels = read_labels(reference, current, roles) if roles.target is not None else None
    if labels is not None and (roles.prediction or roles.predicted_class):
        current_side = side(current, roles, labels, 1, binary=labels.binary)
        reference_side = reference_metrics(reference, roles, labels, notes, binary=labels.binary)
    concept = _concept(reference, current, roles, settings, notes)
    results = []
    if gates and labels is None:  # `--target ''`: the labels have not arrived
        notes.append(f"{len(gates)} performance gate(s) not evaluated: no target column")
    if current_side is not None:
        results = [evaluate(gate, current.display, current_side, reference_side) for gate in gates]
    latency, latency_rows = None, 0
    if roles.latency is not None:
        values = latency_values(current, roles)
        if not values.size:
            raise error(current.display, f"column {roles.latency!r} has no latency value")
        latency, latency_rows = quality.percentiles(values), int(values.size)
    return Quality(
        roles,
        current_side,
        reference_side,
        results,
        concept,
        latency,
        latency_rows,
        notes,
        "binary" if labels is None or labels.binary else "multiclass",
        labels.classes if labels is not None else [],
        labels.new if labels is not None else [],
    )


def check_roles(current: Table, roles: Roles) -> None:
    """Every role's column is in the current batch (what the classes are is read with them)."""
    for name in roles.names():
        if name not in current.types:
            raise error(current.display, f"has no column {name!r} ({_role(roles, name)})")


def reference_metrics(
    reference: Table, roles: Roles, labels: Labels, notes: list[str], *, binary: bool
) -> Side | None:
    """The reference's metrics, when it has the columns they are computed from (the score
    only where the classes are 0 and 1)."""
    used = _scored(roles) if binary else [roles.target, roles.predicted_class]
    missing = [c for c in used if c is not None and c not in reference.types]
    if missing:
        notes.append(f"the reference has no column {missing[0]!r}: its metrics are not computed")
        return None
    return side(reference, roles, labels, 0, binary=binary)


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


def _numbers(table: Table, name: str, role: str) -> Floats:
    """A numeric column as floats."""
    found = kind(table.types[name])
    if found == "empty":  # no value at all
        import numpy as np

        return np.full(table.rows, np.nan)
    if found != "number":
        raise error(table.display, f"column {name!r} of {role} holds {found}s, not numbers")
    values: Floats = floats(table.column(name))
    return values


def _finite(values: Floats) -> Any:
    import numpy as np

    return np.isfinite(values)


@dataclass(frozen=True)
class Labels:
    """Both sides' target and predicted class as codes into the sorted classes (reference
    first; None where a side has no such column), what the classes are (numbers or strings;
    None while no column holds one), those of the batch (target or predicted), and those of
    the reference's target (None without that column)."""

    classes: list[Any]
    family: str | None
    target: tuple[Codes | None, Codes]
    predicted: tuple[Codes | None, Codes | None]
    batch: list[Any]
    known: list[Any] | None

    @property
    def binary(self) -> bool:
        """Whether the classes are numbers among 0 and 1: class 1 is then the positive one."""
        return self.family == "numbers" and self.among_0_and_1

    @property
    def among_0_and_1(self) -> bool:
        return all(c in (0, 1) for c in self.classes)

    @property
    def new(self) -> list[Any]:
        """The batch's classes that the reference's target does not hold."""
        if self.known is None:
            return []
        known = set(self.known)
        return [c for c in self.batch if c not in known]


def read_labels(reference: Table, current: Table, roles: Roles) -> Labels:
    """The classes of the target and the predicted class, on both sides."""
    assert roles.target is not None
    seen = Classes()
    target_role, predicted_role = "`monitoring.target`", "`monitoring.predicted_class`"
    cur_target = seen.read(current, roles.target, target_role)
    cur_predicted = ref_target = ref_predicted = None
    if roles.predicted_class is not None:
        cur_predicted = seen.read(current, roles.predicted_class, predicted_role)
    if roles.target in reference.types:
        ref_target = seen.read(reference, roles.target, target_role)
        if roles.predicted_class is not None and roles.predicted_class in reference.types:
            ref_predicted = seen.read(reference, roles.predicted_class, predicted_role)
    classes, order = seen.sorted()
    for codes in (cur_target, cur_predicted, ref_target, ref_predicted):
        if codes is not None:
            renumber(codes, order)
    now = present(cur_target, len(classes))
    if cur_predicted is not None:
        now |= present(cur_predicted, len(classes))
    known = None
    if ref_target is not None:
        known = [
            c for c, then in zip(classes, present(ref_target, len(classes)), strict=True) if then
        ]
    return Labels(
        classes,
        seen.family,
        (ref_target, cur_target),
        (ref_predicted, cur_predicted),
        [c for c, found in zip(classes, now, strict=True) if found],
        known,
    )


def side(table: Table, roles: Roles, labels: Labels, index: int, *, binary: bool) -> Side:
    """One side's metrics (`index` 0 the reference, 1 the batch), the classes taken as 0 and 1
    or not as `binary` says."""
    rows, target, label, score = scored(table, roles, labels, index, binary=binary)
    if not target.size:
        raise error(
            table.display,
            f"no row has both a target ({roles.target!r}) and a prediction: the {rows:,}"
            " row(s) have empty, NaN or infinite values",
        )
    found = quality.classification(target, label, score, labels.classes, binary=binary)
    return Side(int(target.size), rows - int(target.size), found)


def scored(
    table: Table, roles: Roles, labels: Labels, index: int, *, binary: bool
) -> tuple[int, Codes, Codes | None, Floats | None]:
    """The side's rows, and the target, predicted class and score of those that have a target
    and every prediction column used (the score only where the classes are 0 and 1, checked
    from 0 to 1)."""
    assert roles.target is not None
    target = labels.target[index]
    assert target is not None
    label = labels.predicted[index]
    keep = target >= 0
    if label is not None:
        keep &= label >= 0
    score = None
    if roles.prediction is not None and binary:
        score = _numbers(table, roles.prediction, "`monitoring.prediction`")
        keep &= _finite(score)
    rows = int(target.size)
    kept = int(keep.sum())
    if score is not None:
        score = score[keep] if kept < rows else score
        outside = score[(score < 0) | (score > 1)]
        if outside.size:
            raise error(
                table.display,
                f"column {roles.prediction!r} of `monitoring.prediction` holds"
                f" {float(outside[0]):g}: the score is the probability of class 1, from 0 to 1",
            )
    if kept < rows:  # else the columns as they are, with no copy
        target = target[keep]
        label = None if label is None else label[keep]
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
