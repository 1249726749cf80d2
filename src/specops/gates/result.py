"""The outcome of one gate, as every command and report shows it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

#: "no baseline": the comparison had nothing to compare with (nothing in that stage yet), and
#: the absolute thresholds, if any, passed. It passes unless a baseline is required.
Status = Literal["pass", "fail", "no baseline"]


@dataclass(frozen=True)
class GateResult:
    """One gate of the spec, evaluated."""

    metric: str  # as written in the spec: `key.path` or `file.json:key.path`
    file: str | None  # the metrics file it was read from, when one was found
    status: Status
    value: float | None  # the candidate's value, when it is a finite number
    baseline: float | None  # the baseline's value, when there is one
    baseline_ref: str | None  # what `vs` resolved to: a commit, with the tag or rev it came from
    threshold: str  # the condition in words, e.g. ">= 0.95", "<= 5", ">= baseline - 0.01"
    margin: float | None  # how far the value is from failing; negative when it fails
    reason: str  # why it failed, or "" when it passed

    def passed(self, *, require_baseline: bool = False) -> bool:
        """Whether the gate lets the model through."""
        if self.status == "no baseline":
            return not require_baseline
        return self.status == "pass"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
