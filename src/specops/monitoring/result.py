"""What `specops drift` found: the contract's breaches, each column's verdict, the batch's."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from specops.monitoring.plots import Distribution

if TYPE_CHECKING:
    from specops.monitoring.performance import Quality


@dataclass(frozen=True)
class Breach:
    """A way the current batch breaks the reference's data contract."""

    column: str
    problem: str


@dataclass(frozen=True)
class ColumnDrift:
    """One column's verdict."""

    column: str
    type: str
    method: str
    statistic: float
    threshold: float
    drifted: bool
    reference_rows: int
    current_rows: int
    reference_dropped: int
    current_dropped: int
    #: How far the statistic may be from the exact one; the verdict is exact either way.
    error: float = 0.0
    #: Whether the statistic was computed from all values rather than bounded from a sketch.
    exact: bool = True
    #: Set when the verdict needs the rows and only summaries of partitions were combined:
    #: `drifted` is then False, and the statistic NaN unless bounds are known.
    undecided: bool = False
    #: Both sides' distributions, for the HTML report's plots.
    plot: Distribution | None = field(default=None, compare=False, repr=False)

    def as_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in self.__dict__.items() if k != "plot"}
        if data["statistic"] != data["statistic"]:  # NaN is not JSON
            data["statistic"] = None
        return data


@dataclass(frozen=True)
class DriftResult:
    """The contract's breaches, or every column's drift and the batch's verdict."""

    reference: str
    current: str
    reference_rows: int
    current_rows: int
    share: float
    breaches: list[Breach]
    columns: list[ColumnDrift]
    skipped: list[tuple[str, str]]
    #: The model's quality on the batch, when the spec names a target or a prediction.
    quality: Quality | None = None

    @property
    def drifted_columns(self) -> list[ColumnDrift]:
        return [c for c in self.columns if c.drifted]

    @property
    def drifted_share(self) -> float:
        return len(self.drifted_columns) / len(self.columns) if self.columns else 0.0

    @property
    def undecided_columns(self) -> list[ColumnDrift]:
        return [c for c in self.columns if c.undecided]

    @property
    def verdict(self) -> str:
        """drift, no drift, or undecided: when columns whose verdict needs the rows decide
        the batch's (they count as drifted for `drift` and as not for `no drift`)."""
        if not self.columns:
            return "no drift"
        if self.drifted_share >= self.share:
            return "drift"
        either = len(self.drifted_columns) + len(self.undecided_columns)
        return "undecided" if either / len(self.columns) >= self.share else "no drift"

    @property
    def drift(self) -> bool:
        return self.verdict == "drift"

    @property
    def ok(self) -> bool:
        good = self.quality is None or self.quality.ok
        return not self.breaches and self.verdict == "no drift" and good

    def text(self) -> str:
        from specops.monitoring.report import text

        return text(self)

    def markdown(self) -> str:
        from specops.monitoring.report import markdown

        return markdown(self)

    def html(self) -> str:
        from specops.monitoring.html import page

        return page(self)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "reference": {"path": self.reference, "rows": self.reference_rows},
            "current": {"path": self.current, "rows": self.current_rows},
            "contract": [b.__dict__ for b in self.breaches],
            "columns": [c.as_dict() for c in self.columns],
            "skipped": [{"column": c, "reason": r} for c, r in self.skipped],
            "drifted_columns": len(self.drifted_columns),
            "undecided_columns": len(self.undecided_columns),
            "drifted_share": self.drifted_share,
            "share": self.share,
            "drift": self.drift,
            "verdict": self.verdict,
            "quality": self.quality.as_dict() if self.quality is not None else None,
        }
