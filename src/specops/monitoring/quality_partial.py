"""Model quality over a batch split into partitions: what each partition's summary holds, and
how the summaries combine.

Exact: the classes (sorted over every partition, and those new to the reference's target);
the confusion matrix of classes 0 and 1, and each class's rows in the target, predicted and
predicted right, so accuracy, precision, recall and f1, plain or averaged; the target's and the
score's drift, summed up as columns are (specops.monitoring.partial); ROC AUC while both
classes' scores take at most SCORE_VALUES distinct values (counted value by value). Bounded:
ROC AUC beyond that, from both classes' counts on a grid of [0, 1] (a pair of scores in one bin
may be in either order), and the latency's p50 and p95, from a histogram whose bins grow by
1%. A gate on a bounded metric has a verdict only when both bounds give it; else it fails, as
undecided.

Whether the classes are 0 and 1 (binary) depends on every partition's, so a partition whose
classes are among 0 and 1 sums up both readings (binary: the rows with a score too, and the
score checked from 0 to 1; multiclass: the score left out), and the combination takes the one
that holds for the whole batch. A reading's errors are kept, and raised only if it is taken.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any, TypeVar

from specops.gates.evaluate import fmt
from specops.gates.result import GateResult
from specops.monitoring import partial, performance, quality
from specops.monitoring.performance import Labels, Quality, Roles, Side
from specops.monitoring.quality_sums import Latency, Scores
from specops.monitoring.result import ColumnDrift
from specops.monitoring.settings import Settings
from specops.monitoring.tables import Table, error
from specops.spec.models import Gate
from specops.spec.problems import Problem, SpecError

T = TypeVar("T")


def summarize(
    reference: Table, current: Table, roles: Roles, gates: Sequence[Gate], settings: Settings
) -> dict[str, Any] | None:
    """One partition's part of the model's quality: what adds up across partitions."""
    if not roles.names():
        return None
    performance.check_roles(current, roles)
    now: dict[str, Any] = {"family": None, "classes": [], "batch": [], "latency": None}
    ref: dict[str, Any] = {"known": None, "binary": None, "multiclass": None}
    if roles.target is not None:
        labels = performance.read_labels(reference, current, roles)
        now.update(family=labels.family, classes=labels.classes, batch=labels.batch)
        ref["known"] = labels.known
        if roles.prediction or roles.predicted_class:
            readings = [False]
            if labels.family in (None, "numbers") and labels.among_0_and_1:
                readings.append(True)
            for binary in readings:
                reading = "binary" if binary else "multiclass"
                now[reading] = _caught(_counts, current, roles, labels, binary)
                ref[reading] = _caught(_reference, reference, roles, labels, binary)
    if roles.latency is not None:
        now["latency"] = Latency.of(performance.latency_values(current, roles)).dump()
    notes: list[str] = []
    concept = [
        [role, partial.summarize(reference, current, one)]
        for role, _, one in performance.concept_settings(reference, roles, settings, notes)
    ]
    ref["notes"] = notes
    return {
        "roles": roles.__dict__,
        "gates": [gate.model_dump(mode="json") for gate in gates],
        "reference": ref,
        "current": now,
        "concept": concept,
    }


def _caught(
    compute: Callable[[Table, Roles, Labels, bool], dict[str, Any]],
    table: Table,
    roles: Roles,
    labels: Labels,
    binary: bool,
) -> dict[str, Any]:
    """What `compute` sums up under one reading, or the problems it raised, for the
    combination to raise if it takes that reading."""
    try:
        return compute(table, roles, labels, binary)
    except SpecError as exc:
        return {"problems": [[p.file, p.message] for p in exc.problems]}


def _counts(current: Table, roles: Roles, labels: Labels, binary: bool) -> dict[str, Any]:
    """The partition's counts under one reading of its classes."""
    import numpy as np

    rows, target, label, score = performance.scored(current, roles, labels, 1, binary=binary)
    found: dict[str, Any] = {"rows": rows, "kept": int(target.size)}
    if binary:
        one = labels.classes.index(1) if 1 in labels.classes else -2
        truth = target == one
        if label is not None:
            said = label == one
        else:
            assert score is not None
            said = score >= quality.THRESHOLD
        counts = quality.confusion(np.asarray(truth), np.asarray(said))
        found["confusion"] = [counts.tp, counts.fp, counts.fn, counts.tn]
        found["scores"] = None if score is None else Scores.of(truth, score).dump()
    elif label is not None:
        each = quality.ClassCounts.of(target, label, len(labels.classes))
        per_class = zip(
            labels.classes,
            each.support.tolist(),
            each.predicted.tolist(),
            each.hits.tolist(),
            strict=True,
        )
        found["counts"] = [list(c) for c in per_class if any(c[1:])]
    else:
        found["counts"] = None
    return found


def _reference(reference: Table, roles: Roles, labels: Labels, binary: bool) -> dict[str, Any]:
    """The reference's metrics under one reading of the classes, and the note that says why
    there are none: the same in every partition, for the reference's classes alone decide
    them."""
    notes: list[str] = []
    side = performance.reference_metrics(reference, roles, labels, notes, binary=binary)
    return {"side": None if side is None else _dump_side(side), "notes": notes}


def combine(summaries: list[tuple[str, dict[str, Any]]], display: str) -> Quality | None:
    """The batch's quality from its partitions' summaries."""
    first_path, first = summaries[0]
    saved = first.get("quality")
    for path, summary in summaries[1:]:
        other = summary.get("quality")
        if other is None or saved is None:
            if other is not saved:
                raise error(path, f"was made with other model-quality columns than {first_path}")
            continue
        if (other["roles"], other["gates"]) != (saved["roles"], saved["gates"]):
            raise error(
                path, f"was made with other model-quality columns or gates than {first_path}"
            )
        if not _same_reference(other["reference"], saved["reference"]):
            raise error(path, f"summarizes another reference than {first_path}")
    if saved is None:
        return None
    try:
        return _combine(summaries, saved, display)
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise error(first_path, f"is damaged: {type(exc).__name__}: {exc}") from None


def _same_reference(one: dict[str, Any], other: dict[str, Any]) -> bool:
    """Whether two partitions summarize the same reference: its binary reading is only in
    those whose own classes are among 0 and 1."""
    if {k: v for k, v in one.items() if k != "binary"} != {
        k: v for k, v in other.items() if k != "binary"
    }:
        return False
    return one["binary"] is None or other["binary"] is None or one["binary"] == other["binary"]


def _combine(
    summaries: list[tuple[str, dict[str, Any]]], saved: dict[str, Any], display: str
) -> Quality:
    roles = Roles(**saved["roles"])
    gates = [Gate.model_validate(g) for g in saved["gates"]]
    parts = [s["quality"]["current"] for _, s in summaries]
    refs = [s["quality"]["reference"] for _, s in summaries]
    family, classes = _classes(summaries)
    binary = family == "numbers" and all(c in (0, 1) for c in classes)
    reading = "binary" if binary else "multiclass"
    current = reference = None
    notes = []
    if roles.target is not None and (roles.prediction or roles.predicted_class):
        current = _current([p[reading] for p in parts], roles, classes, binary, display)
        # Every partition that has this reading of the reference has the same.
        ref = _raise(next(p[reading] for p in refs if p[reading] is not None))
        reference = _load_side(ref["side"])
        notes += ref["notes"]
    notes += saved["reference"]["notes"]
    concept: list[tuple[str, ColumnDrift]] = []
    for index, (role, _) in enumerate(saved["concept"]):
        drift = partial.combine_loaded(
            [(p, s["quality"]["concept"][index][1]) for p, s in summaries]
        )
        if drift.breaches:
            name = drift.breaches[0].column
            raise error(display, f"column {name!r}: {drift.breaches[0].problem}")
        concept += [(role, c) for c in drift.columns]
    results = []
    if current is not None:
        results = [_gate(gate, display, current, reference) for gate in gates]
    latency, latency_rows = None, 0
    if saved["current"]["latency"] is not None:
        total = Latency.load(parts[0]["latency"])
        for part in parts[1:]:
            total.add(Latency.load(part["latency"]))
        if not total.n:
            raise error(display, f"column {roles.latency!r} has no latency value")
        latency, latency_rows = total.percentiles(), total.n
    known = saved["reference"]["known"]
    new: list[Any] = []
    if known is not None:
        batch = {c for p in parts for c in p["batch"]}
        held = set(known)  # once: a batch may have a million classes
        new = [c for c in classes if c in batch and c not in held]
    return Quality(
        roles,
        current,
        reference,
        results,
        concept,
        latency,
        latency_rows,
        notes,
        "binary" if roles.target is None or binary else "multiclass",
        classes,
        new,
    )


def _classes(summaries: list[tuple[str, dict[str, Any]]]) -> tuple[str | None, list[Any]]:
    """What the classes are over every partition (numbers or strings), and all of them in
    order."""
    family, source, found = None, "", set()
    for path, summary in summaries:
        part = summary["quality"]["current"]
        if part["family"] is not None:
            if family is None:
                family, source = part["family"], path
            elif part["family"] != family:
                raise error(
                    path,
                    f"summarizes classes that are {part['family']}, but {source} summarizes"
                    f" {family}: the classes must be of one type",
                )
        found.update(part["classes"])
    return family, sorted(found)


def _raise(found: T) -> T:
    """A reading's summary, or the problems it met."""
    if isinstance(found, dict) and "problems" in found:
        raise SpecError([Problem.plain(f, m) for f, m in found["problems"]])
    return found


def _current(
    parts: list[dict[str, Any]], roles: Roles, classes: list[Any], binary: bool, display: str
) -> Side:
    import numpy as np

    for part in parts:
        _raise(part)
    rows, kept = sum(p["rows"] for p in parts), sum(p["kept"] for p in parts)
    if not kept:
        raise error(
            display,
            f"no row has both a target ({roles.target!r}) and a prediction: the {rows:,}"
            " row(s) have empty, NaN or infinite values",
        )
    errors: dict[str, float] = {}
    if binary:
        counts = [sum(p["confusion"][i] for p in parts) for i in range(4)]
        auc = math.nan
        if parts[0]["scores"] is not None:
            scores = Scores.load(parts[0]["scores"])
            for part in parts[1:]:
                scores.add(Scores.load(part["scores"]))
            low, high = scores.auc()
            auc = (low + high) / 2
            if high > low:
                errors["roc_auc"] = (high - low) / 2
        scored = parts[0]["scores"] is not None
        metrics = quality.of_counts(quality.Confusion(*counts), auc, scored=scored)
    elif parts[0]["counts"] is None:
        metrics = quality.multiclass(None, classes, kept)
    else:
        index = {c: i for i, c in enumerate(classes)}
        each = np.zeros((3, len(classes)), dtype=np.int64)
        for part in parts:
            for name, *found in part["counts"]:
                each[:, index[name]] += found
        metrics = quality.multiclass(quality.ClassCounts(*each), classes, kept)
    return Side(kept, rows - kept, metrics, errors)


def _gate(gate: Gate, display: str, current: Side, reference: Side | None) -> GateResult:
    """A gate on a bounded metric: its verdict when both bounds give it, else it fails."""
    spread = current.errors.get(gate.metric)
    if spread is None:
        return performance.evaluate(gate, display, current, reference)
    middle = current.metrics.values[gate.metric]
    # A hair wider than the bounds, for the rounding of their middle and half-width.
    low, high = middle - spread * (1 + 1e-9), middle + spread * (1 + 1e-9)
    ends = []
    for value in (low, high):
        values = {**current.metrics.values, gate.metric: value}
        side = replace(current, metrics=replace(current.metrics, values=values))
        ends.append(performance.evaluate(gate, display, side, reference))
    worse = min(ends, key=lambda r: (r.status != "fail", r.margin if r.margin is not None else 0))
    if ends[0].status == ends[1].status:
        return worse
    reason = (
        f"undecided: {gate.metric} lies between {fmt(round(low, 4))} and {fmt(round(high, 4))}"
        " over the partitions, which this gate tells apart; run specops drift over the whole"
        " batch to decide"
    )
    return GateResult(**{**worse.as_dict(), "status": "fail", "reason": reason})


def _dump_side(side: Side) -> dict[str, Any]:
    values = {k: None if math.isnan(v) else v for k, v in side.metrics.values.items()}
    return {
        "rows": side.rows,
        "left_out": side.left_out,
        "values": values,
        "undefined": side.metrics.undefined,
        "remarks": side.metrics.remarks,
    }


def _load_side(data: dict[str, Any] | None) -> Side | None:
    if data is None:
        return None
    values = {k: math.nan if v is None else float(v) for k, v in data["values"].items()}
    metrics = quality.Metrics(data["rows"], values, dict(data["undefined"]), dict(data["remarks"]))
    return Side(data["rows"], data["left_out"], metrics)
