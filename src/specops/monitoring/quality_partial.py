"""Model quality over a batch split into partitions: what each partition's summary holds, and
how the summaries combine.

Exact: the confusion matrix, so accuracy, precision, recall and f1; the target's and the
score's drift, summed up as columns are (specops.monitoring.partial); ROC AUC while both
classes' scores take at most SCORE_VALUES distinct values (counted value by value). Bounded:
ROC AUC beyond that, from both classes' counts on a grid of [0, 1] (a pair of scores in one bin
may be in either order), and the latency's p50 and p95, from a histogram whose bins grow by
1%. A gate on a bounded metric has a verdict only when both bounds give it; else it fails, as
undecided.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from specops.gates.evaluate import fmt
from specops.gates.result import GateResult
from specops.monitoring import partial, performance, quality
from specops.monitoring.drift import Settings
from specops.monitoring.performance import Quality, Roles, Side
from specops.monitoring.result import ColumnDrift
from specops.monitoring.tables import Table, error
from specops.spec.models import Gate

if TYPE_CHECKING:
    from specops.monitoring.quality import Floats

#: The score's grid for ROC AUC's bounds: this many bins between 0 and 1.
SCORE_BINS = 1 << 16
#: Distinct scores counted exactly, over both classes and every partition, up to this many.
SCORE_VALUES = 20_000
#: Each bin of the latency's histogram is this much wider than the one before.
GROWTH = 1.01


def summarize(
    reference: Table, current: Table, roles: Roles, gates: Sequence[Gate], settings: Settings
) -> dict[str, Any] | None:
    """One partition's part of the model's quality: what adds up across partitions."""
    if not roles.names():
        return None
    performance.check_roles(current, roles)
    notes: list[str] = []
    side: dict[str, Any] | None = None
    now: dict[str, Any] = {"confusion": None, "scores": None, "latency": None}
    if roles.target is not None and (roles.prediction or roles.predicted_class):
        rows, target, label, score = performance.scored(current, roles)
        truth, said = target == 1, label == 1
        tp, fp = int((truth & said).sum()), int((~truth & said).sum())
        fn = int((truth & ~said).sum())
        now["rows"], now["kept"] = rows, int(target.size)
        now["confusion"] = [tp, fp, fn, int(target.size) - tp - fp - fn]
        if score is not None:
            now["scores"] = Scores.of(target, score).dump()
        found = performance.reference_metrics(reference, roles, notes)
        side = None if found is None else _dump_side(found)
    if roles.latency is not None:
        now["latency"] = Latency.of(performance.latency_values(current, roles)).dump()
    concept = [
        [role, partial.summarize(reference, current, one)]
        for role, _, one in performance.concept_settings(reference, roles, settings, notes)
    ]
    return {
        "roles": roles.__dict__,
        "gates": [gate.model_dump(mode="json") for gate in gates],
        "reference": {"side": side, "notes": notes},
        "current": now,
        "concept": concept,
    }


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
        if other["reference"] != saved["reference"]:
            raise error(path, f"summarizes another reference than {first_path}")
    if saved is None:
        return None
    try:
        return _combine(summaries, saved, display)
    except (KeyError, TypeError, ValueError, IndexError) as exc:
        raise error(first_path, f"is damaged: {type(exc).__name__}: {exc}") from None


def _combine(
    summaries: list[tuple[str, dict[str, Any]]], saved: dict[str, Any], display: str
) -> Quality:
    roles = Roles(**saved["roles"])
    gates = [Gate.model_validate(g) for g in saved["gates"]]
    notes = list(saved["reference"]["notes"])
    parts = [s["quality"]["current"] for _, s in summaries]
    reference = _load_side(saved["reference"]["side"])
    current = None
    if saved["current"]["confusion"] is not None:
        current = _current(parts, roles, display)
    concept: list[tuple[str, ColumnDrift]] = []
    for index, (role, _) in enumerate(saved["concept"]):
        found = partial.combine_loaded(
            [(p, s["quality"]["concept"][index][1]) for p, s in summaries]
        )
        if found.breaches:
            name = found.breaches[0].column
            raise error(display, f"column {name!r}: {found.breaches[0].problem}")
        concept += [(role, c) for c in found.columns]
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
    return Quality(roles, current, reference, results, concept, latency, latency_rows, notes)


def _current(parts: list[dict[str, Any]], roles: Roles, display: str) -> Side:
    rows, kept = sum(p["rows"] for p in parts), sum(p["kept"] for p in parts)
    if not kept:
        raise error(
            display,
            f"no row has both a target ({roles.target!r}) and a prediction: the {rows:,}"
            " row(s) have empty, NaN or infinite values",
        )
    counts = [sum(p["confusion"][i] for p in parts) for i in range(4)]
    auc, errors = math.nan, {}
    if parts[0]["scores"] is not None:
        scores = Scores.load(parts[0]["scores"])
        for part in parts[1:]:
            scores.add(Scores.load(part["scores"]))
        low, high = scores.auc()
        auc = (low + high) / 2
        if high > low:
            errors["roc_auc"] = (high - low) / 2
    metrics = quality.of_counts(
        quality.Confusion(*counts), auc, scored=parts[0]["scores"] is not None
    )
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
    }


def _load_side(data: dict[str, Any] | None) -> Side | None:
    if data is None:
        return None
    values = {k: math.nan if v is None else float(v) for k, v in data["values"].items()}
    metrics = quality.Metrics(data["rows"], values, dict(data["undefined"]))
    return Side(data["rows"], data["left_out"], metrics)


@dataclass
class Scores:
    """Each class's scores counted on a grid of [0, 1], and value by value while they are few:
    {score: [positives, negatives]}, None once there are more than SCORE_VALUES."""

    positive: dict[int, int]
    negative: dict[int, int]
    values: dict[float, list[int]] | None

    @classmethod
    def of(cls, target: Floats, score: Floats) -> Scores:
        import numpy as np

        truth = target == 1
        bins = np.minimum((score * SCORE_BINS).astype(np.int64), SCORE_BINS - 1)
        grid = []
        for mask in (truth, ~truth):
            keys, counts = np.unique(bins[mask], return_counts=True)
            grid.append(dict(zip(keys.tolist(), counts.tolist(), strict=True)))
        values: dict[float, list[int]] | None = {}
        distinct = np.unique(score)
        if distinct.size > SCORE_VALUES:
            values = None
        else:
            assert values is not None
            for at, m in ((0, truth), (1, ~truth)):
                keys, counts = np.unique(score[m], return_counts=True)
                for key, count in zip(keys.tolist(), counts.tolist(), strict=True):
                    values.setdefault(key, [0, 0])[at] += count
        return cls(grid[0], grid[1], values)

    def add(self, other: Scores) -> None:
        for mine, theirs in ((self.positive, other.positive), (self.negative, other.negative)):
            for key, count in theirs.items():
                mine[key] = mine.get(key, 0) + count
        if self.values is None or other.values is None:
            self.values = None
            return
        for score, (pos, neg) in other.values.items():
            both = self.values.setdefault(score, [0, 0])
            both[0] += pos
            both[1] += neg
        if len(self.values) > SCORE_VALUES:
            self.values = None

    def auc(self) -> tuple[float, float]:
        """ROC AUC's bounds: equal, and scikit-learn's, when the scores were counted value by
        value; else from the grid, where a positive and a negative in one bin count 0 or 1."""
        if self.values is not None:
            keys = sorted(self.values)
            pos = [self.values[k][0] for k in keys]
            neg = [self.values[k][1] for k in keys]
            twice, below = 0, 0
            for p, n in zip(pos, neg, strict=True):
                twice += p * (2 * below + n)  # lower negatives count 1, equal ones 1/2
                below += n
            both = sum(pos) * sum(neg)
            return (twice / (2 * both),) * 2 if both else (math.nan, math.nan)
        cells = sorted(self.positive.keys() | self.negative.keys())
        low = same = below = 0
        for cell in cells:
            p, n = self.positive.get(cell, 0), self.negative.get(cell, 0)
            low += p * below
            same += p * n
            below += n
        both = sum(self.positive.values()) * below
        if not both:
            return math.nan, math.nan
        return low / both, (low + same) / both

    def dump(self) -> dict[str, Any]:
        return {
            "positive": [[k, c] for k, c in self.positive.items()],
            "negative": [[k, c] for k, c in self.negative.items()],
            "values": None
            if self.values is None
            else [[k, p, n] for k, (p, n) in self.values.items()],
        }

    @classmethod
    def load(cls, data: dict[str, Any]) -> Scores:
        values = None
        if data["values"] is not None:
            values = {float(k): [int(p), int(n)] for k, p, n in data["values"]}
        return cls(
            {int(k): int(c) for k, c in data["positive"]},
            {int(k): int(c) for k, c in data["negative"]},
            values,
        )


@dataclass
class Latency:
    """Latency values counted in bins that grow by GROWTH (those at or below 0 in one bin),
    with their number, smallest and largest."""

    n: int
    low: float
    high: float
    bins: dict[int, int]
    #: The bin of the values at or below 0: below every other.
    NONPOSITIVE = -(1 << 62)

    @classmethod
    def of(cls, values: Floats) -> Latency:
        import numpy as np

        if not values.size:
            return cls(0, math.inf, -math.inf, {})
        keys = np.full(values.size, cls.NONPOSITIVE, dtype=np.int64)
        positive = values > 0
        keys[positive] = np.floor(np.log(values[positive]) / math.log(GROWTH)).astype(np.int64)
        found, counts = np.unique(keys, return_counts=True)
        bins = dict(zip(found.tolist(), counts.tolist(), strict=True))
        return cls(int(values.size), float(values.min()), float(values.max()), bins)

    def add(self, other: Latency) -> None:
        self.n += other.n
        self.low, self.high = min(self.low, other.low), max(self.high, other.high)
        for key, count in other.bins.items():
            self.bins[key] = self.bins.get(key, 0) + count

    def _edges(self, key: int) -> tuple[float, float]:
        if key == self.NONPOSITIVE:
            return self.low, min(0.0, self.high)
        # A hair wider than the bin, for the rounding of the logarithm that placed a value.
        low, high = GROWTH**key * (1 - 1e-9), GROWTH ** (key + 1) * (1 + 1e-9)
        return max(low, self.low), min(high, self.high)

    def percentiles(self) -> dict[str, float]:
        """p50 and p95 as the middle of their bounds, and each bound's half-width: NumPy's
        percentile lies between the values of two neighbouring ranks, each in a known bin."""
        keys = sorted(self.bins)
        ends, total = [], 0
        for key in keys:
            total += self.bins[key]
            ends.append(total)  # the ranks below `total` are in this bin or before
        found: dict[str, float] = {}
        for name, q in (("p50", 0.5), ("p95", 0.95)):
            rank = (self.n - 1) * q
            first, second = math.floor(rank), min(math.floor(rank) + 1, self.n - 1)
            low = self._edges(keys[_bin(ends, first)])[0]
            high = self._edges(keys[_bin(ends, second)])[1]
            found[name], found[f"{name}_error"] = (low + high) / 2, (high - low) / 2
        return found

    def dump(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "low": None if not self.n else self.low,
            "high": None if not self.n else self.high,
            "bins": [[k, c] for k, c in self.bins.items()],
        }

    @classmethod
    def load(cls, data: dict[str, Any]) -> Latency:
        n = int(data["n"])
        low = math.inf if not n else float(data["low"])
        high = -math.inf if not n else float(data["high"])
        return cls(n, low, high, {int(k): int(c) for k, c in data["bins"]})


def _bin(ends: list[int], rank: int) -> int:
    """The index of the bin that holds the value of this rank (from 0)."""
    import bisect

    return bisect.bisect_right(ends, rank)
