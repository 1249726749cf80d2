"""The Markdown of `specops report`: gates, metrics and params against a base, the pipeline."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from specops.gates.evaluate import fmt
from specops.gates.run import GateRun, cell, markdown_table


@dataclass(frozen=True)
class Section:
    """The output of one DVC command: its JSON or Markdown, or why it failed."""

    data: Any
    error: str = ""


def _value(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return fmt(value)
    return str(value)


def _change(entry: dict[str, Any]) -> str:
    diff = entry.get("diff")
    if isinstance(diff, (int, float)) and not isinstance(diff, bool):
        return f"{diff:+.6g}" if diff else "0"
    old, new = entry.get("old"), entry.get("new")
    if old is None:
        return "new"
    if new is None:
        return "removed"
    return "changed" if old != new else "0"


def _diff_rows(data: dict[str, Any], *, change: bool) -> list[list[str]]:
    rows = []
    for file, entries in sorted(data.items()):
        for key, entry in sorted(entries.items()):
            row = [file, key, _value(entry.get("new")), _value(entry.get("old"))]
            rows.append([*row, _change(entry)] if change else row)
    return rows


def _diff(title: str, section: Section, *, change: bool) -> str:
    if section.error:
        return f"{title}\n\n{cell(section.error)}\n"
    if not section.data:
        return f"{title}\n\nNo changes.\n"
    header = ["file", "name", "value", "base"] + (["change"] if change else [])
    return f"{title}\n\n" + markdown_table(header, _diff_rows(section.data, change=change))


def markdown(
    name: str, base: str, gates: GateRun, metrics: Section, params: Section, dag: Section
) -> str:
    """The whole report."""
    shown = cell(base)
    parts = [
        f"## specops report: {cell(name)}\n",
        "### Gates\n\n" + (gates.markdown() if gates.results else "No gates.\n"),
        _diff(f"### Metrics against {shown}", metrics, change=True),
        _diff(f"### Params against {shown}", params, change=False),
        "### Pipeline\n\n" + (cell(dag.error) + "\n" if dag.error else str(dag.data)),
    ]
    return "\n".join(parts)
