"""Every gate of a spec evaluated, and that outcome as a text table or GitHub Markdown."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from specops.gates.evaluate import fmt
from specops.gates.result import GateResult
from specops.spec.problems import printable

COLUMNS = ("metric", "value", "baseline", "threshold", "margin", "status", "reason")


def _number(value: float | None) -> str:
    return "-" if value is None else fmt(value)


def _baseline(result: GateResult) -> str:
    if result.baseline is not None:
        return f"{fmt(result.baseline)} ({result.baseline_ref})"
    return "-"


def row(result: GateResult) -> list[str]:
    """One gate as the cells of a table row."""
    return [
        result.metric,
        _number(result.value),
        _baseline(result),
        result.threshold,
        _number(result.margin),
        result.status,
        result.reason,
    ]


def cell(text: str) -> str:
    """Text that stays inside one cell of a GitHub Markdown table and renders as written."""
    for char, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("|", "&#124;")):
        text = text.replace(char, entity)
    return " ".join(text.split()) or " "


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(cell(h) for h in header) + " |"]
    lines.append("|" + "|".join(" --- " for _ in header) + "|")
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def text_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [header, ["-" * w for w in widths], *rows]
    return "".join(
        "  ".join(c.ljust(w) for c, w in zip(line, widths, strict=True)).rstrip() + "\n"
        for line in lines
    )


@dataclass(frozen=True)
class GateRun:
    """The gates of a spec, evaluated for one model (or for the spec as a whole)."""

    model: str | None
    results: list[GateResult]

    @property
    def ok(self) -> bool:
        """Whether every gate lets the model through."""
        return all(r.status != "fail" for r in self.results)

    def verdict(self) -> str:
        failed = sum(r.status == "fail" for r in self.results)
        missing = sum(r.status == "no baseline" for r in self.results)
        total = len(self.results)
        if not total:
            return "the spec has no gates: nothing to check"
        if failed:
            return f"{failed} of {total} gate(s) failed"
        if missing:
            return (
                f"{total - missing} of {total} gate(s) passed; {missing} had no baseline to "
                "compare with, and met their other thresholds"
            )
        return f"all {total} gate(s) passed"

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "model": self.model,
            "results": [r.as_dict() for r in self.results],
        }

    def text(self) -> str:
        rows = [[printable(c) for c in row(r)] for r in self.results]
        return text_table(COLUMNS, rows) + f"\n{'PASS' if self.ok else 'FAIL'}: {self.verdict()}\n"

    def markdown(self) -> str:
        mark = ":white_check_mark:" if self.ok else ":x:"
        verdict = f"{mark} **{'PASS' if self.ok else 'FAIL'}**: {self.verdict()}\n\n"
        return verdict + markdown_table(COLUMNS, [row(r) for r in self.results])
