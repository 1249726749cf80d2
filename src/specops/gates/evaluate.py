"""Evaluate the gates of a spec from the bytes of the metrics files, candidate and baseline.

Fails closed: whatever keeps a gate from being checked (a missing file, a parse error, a value
that is not a finite number) fails it, with the reason.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from specops.gates.metrics import MetricsError, number, parse
from specops.gates.result import GateResult, Status
from specops.spec.models import Gate

#: The bytes of a repository file, None when it is not there; MetricsError when it is there
#: but cannot be read.
Reader = Callable[[str], "bytes | None"]


@dataclass(frozen=True)
class Baseline:
    """What a gate's `vs` resolved to."""

    ref: str  # the commit, with the tag or revision it came from; "" when unresolved
    read: Reader | None = None  # None: there is nothing to compare with
    missing: str = ""  # why there is nothing, e.g. "nothing in production yet"
    error: str = ""  # why it could not be resolved (an unknown revision): the gate fails


@dataclass
class Sources:
    """Where the metrics come from."""

    candidate: Reader
    baseline: Callable[[str], Baseline]  # `vs` -> Baseline
    default_file: str | None  # the model's metrics file, for bare keys
    files: list[str]  # every declared metrics file, for bare keys without a model file
    _cache: dict[tuple[str, str], dict[str, object] | str] = field(default_factory=dict)

    def metrics(self, read: Reader, path: str, where: str = "") -> dict[str, object] | str:
        """The flattened metrics of `path`, or why there are none; `where` names the baseline
        ("" for the candidate) and is added to the reason."""
        key = (where, path)
        if key not in self._cache:
            self._cache[key] = _load(read, path, where)
        return self._cache[key]


def _load(read: Reader, path: str, where: str) -> dict[str, object] | str:
    try:
        raw = read(path)
        if raw is None:
            return f"{path} does not exist{where}"
        return parse(path, raw)
    except MetricsError as exc:
        return exc.reason + where


def fmt(value: float) -> str:
    """A number as short as it can be written without changing it."""
    short = f"{value:g}"
    return short if float(short) == value else repr(value)


def _round(value: float) -> float:
    """Drop the noise that subtraction leaves in the last digits."""
    return float(f"{value:.12g}")


def _suggest(key: str, keys: Sequence[str]) -> str:
    close = difflib.get_close_matches(key, list(keys), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def lookup(metrics: dict[str, object], key: str, path: str) -> tuple[float | None, str]:
    """The value of `key` in the flattened metrics of `path`, or why there is none."""
    if key not in metrics:
        below = [k for k in metrics if k.startswith(f"{key}.")]
        if below:
            return None, f"{key} in {path} is a mapping, not a number"
        return None, f"{key} is not in {path}{_suggest(key, list(metrics))}"
    value, what = number(metrics[key])
    return value, "" if value is not None else f"{key} in {path} {what}"


def split_metric(metric: str) -> tuple[str | None, str]:
    """`file.json:key.path` -> (file, key); a bare key has no file."""
    if ":" in metric:
        file, key = metric.rsplit(":", 1)
        return file, key
    return None, metric


def _find_file(key: str, sources: Sources) -> tuple[str | None, str]:
    """The file a bare key is read from: the model's, else the only declared file holding it."""
    if sources.default_file is not None:
        return sources.default_file, ""
    holders, unreadable = [], []
    for path in sources.files:
        metrics = sources.metrics(sources.candidate, path)
        if isinstance(metrics, str):
            unreadable.append(metrics)
        elif key in metrics or any(k.startswith(f"{key}.") for k in metrics):
            holders.append(path)
    if len(holders) == 1:
        return holders[0], ""
    if holders:
        files = ", ".join(holders)
        return None, f"{key} is in several metrics files ({files}); name one as file:{key}"
    if unreadable:
        return None, f"{key} is in no readable metrics file; {'; '.join(unreadable)}"
    return None, f"{key} is not in any metrics file ({', '.join(sources.files)})"


@dataclass
class _Check:
    """The conditions of one gate as they are evaluated."""

    reasons: list[str] = field(default_factory=list)
    margins: list[float] = field(default_factory=list)

    def bound(self, ok: bool, margin: float, reason: str) -> None:
        self.margins.append(_round(margin))
        if not ok:
            self.reasons.append(reason)


def _allowance(gate: Gate, base: float) -> tuple[float, str]:
    """The worsening the tolerance allows against `base`, and the tolerance in words."""
    tolerance = gate.tolerance
    if tolerance is None:
        return 0.0, ""
    if isinstance(tolerance, str):
        allowed = float(tolerance.rstrip("%").strip()) / 100 * abs(base)
        return allowed, f"{tolerance} ({fmt(_round(allowed))})"
    return float(tolerance), fmt(float(tolerance))


def _compare(gate: Gate, value: float, base: float, ref: str, check: _Check) -> float:
    """Check `value` against the baseline; returns the bound it must meet."""
    allowed, tolerance = _allowance(gate, base)
    higher = gate.better == "higher"
    worsening = base - value if higher else value - base
    # At the bound exactly is within it, whatever subtraction left in the last bits.
    within = worsening <= allowed or math.isclose(worsening, allowed, rel_tol=1e-9, abs_tol=1e-12)
    margin = 0.0 if within and worsening > allowed else allowed - worsening
    reason = f"{fmt(value)} is worse than the baseline {fmt(base)} ({ref})"
    if tolerance:
        reason += f" by {fmt(_round(worsening))}, more than the tolerance {tolerance}"
    check.bound(within, margin, reason)
    return _round(base - allowed if higher else base + allowed)


def evaluate_gate(gate: Gate, sources: Sources, *, require_baseline: bool = False) -> GateResult:
    """One gate against the candidate's metrics and, with `vs`, its baseline's."""
    file, key = split_metric(gate.metric)
    reason = ""
    if file is None:
        file, reason = _find_file(key, sources)
    value = base = None
    metrics = sources.metrics(sources.candidate, file) if file is not None else reason
    if isinstance(metrics, str):
        reason = metrics
    else:
        value, reason = lookup(metrics, key, file or "")
    baseline = sources.baseline(gate.vs) if gate.vs is not None else None
    check = _Check()
    if baseline is not None and baseline.error:
        check.reasons.append(baseline.error)
    elif baseline is not None and baseline.read is not None and file is not None:
        base_metrics = sources.metrics(baseline.read, file, f" at the baseline ({baseline.ref})")
        if isinstance(base_metrics, str):
            check.reasons.append(base_metrics)
        else:
            base, why = lookup(base_metrics, key, file)
            if why:
                check.reasons.append(f"{why} at the baseline ({baseline.ref})")
    bound = None
    if value is not None:
        if gate.min is not None:
            msg = f"{fmt(value)} is below the minimum {fmt(gate.min)}"
            check.bound(value >= gate.min, value - gate.min, msg)
        if gate.max is not None:
            msg = f"{fmt(value)} is above the maximum {fmt(gate.max)}"
            check.bound(value <= gate.max, gate.max - value, msg)
        if base is not None and baseline is not None:
            bound = _compare(gate, value, base, baseline.ref, check)
    reasons = ([reason] if reason else []) + check.reasons
    status: Status = "fail" if reasons else "pass"
    if baseline is not None and baseline.read is None and not baseline.error:
        if require_baseline:
            status = "fail"
            reasons.append(f"{baseline.missing}, and a baseline is required")
        elif not reasons:
            status = "no baseline"
            reasons = [baseline.missing]
    return GateResult(
        metric=gate.metric,
        file=file,
        status=status,
        value=value,
        baseline=base,
        baseline_ref=(baseline.ref or None) if baseline is not None else None,
        threshold=threshold_words(gate, bound),
        margin=min(check.margins) if check.margins else None,
        reason="; ".join(reasons),
    )


def threshold_words(gate: Gate, bound: float | None = None) -> str:
    """The conditions in words, with the bound the baseline sets when there is one."""
    words = []
    if gate.min is not None:
        words.append(f">= {fmt(gate.min)}")
    if gate.max is not None:
        words.append(f"<= {fmt(gate.max)}")
    if gate.vs is not None:
        higher = gate.better == "higher"
        text = f"{'>=' if higher else '<='} {gate.vs}"
        if gate.tolerance is not None:
            tolerance = gate.tolerance
            text += f" {'-' if higher else '+'} "
            text += tolerance if isinstance(tolerance, str) else fmt(tolerance)
        if bound is not None:
            text += f" ({fmt(bound)})"
        words.append(text)
    return " and ".join(words)


def evaluate(
    gates: Sequence[Gate], sources: Sources, *, require_baseline: bool = False
) -> list[GateResult]:
    """Every gate, in spec order."""
    return [evaluate_gate(g, sources, require_baseline=require_baseline) for g in gates]
