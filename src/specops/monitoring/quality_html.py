"""The model-quality part of the HTML drift report: the verdict, concept drift, the metrics of
the batch against the reference's, the performance gates with their verdicts, and the notes
(latency among them). Every text is escaped; the tables are the text report's."""

from __future__ import annotations

from collections.abc import Container
from html import escape

from specops.gates.run import COLUMNS, row
from specops.monitoring.performance import Quality
from specops.monitoring.quality_report import (
    CONCEPT,
    PERFORMANCE,
    computed,
    concept_rows,
    notes,
    performance_rows,
    verdict,
)
from specops.spec.problems import printable


def _e(text: str) -> str:
    return escape(printable(text))


def _table(
    header: list[str], rows: list[list[str]], numbers: Container[int], state: int | None
) -> str:
    """A table; the cells at `numbers` right-aligned, and each row's class from its cell at
    `state` (`drift` for DRIFT and fail, else `ok`)."""
    parts = [
        '<table class="quality">',
        "<tr>" + "".join(f"<th>{_e(h)}</th>" for h in header) + "</tr>",
    ]
    for cells in rows:
        bad = state is not None and cells[state] in ("DRIFT", "fail")
        shown = [
            f'<td class="number">{_e(c)}</td>'
            if i in numbers
            else f'<td class="status-fail">{_e(c)}</td>'
            if bad and i == state
            else f'<td class="reason">{_e(c)}</td>'
            if header[i] == "reason"
            else f"<td>{_e(c)}</td>"
            for i, c in enumerate(cells)
        ]
        parts.append(f'<tr class="{"drift" if bad else "ok"}">' + "".join(shown) + "</tr>")
    parts.append("</table>")
    return "".join(parts)


def section(found: Quality) -> list[str]:
    """The section, as lines of HTML."""
    state = "ok" if found.ok else "drift"
    parts = [
        "<h2>Model quality</h2>",
        f'<p class="verdict {state}">{_e(verdict(found))}</p>',
    ]
    if found.concept:
        parts += ["<h3>Concept drift</h3>", _table(CONCEPT, concept_rows(found), (4, 5), 6)]
    if computed(found):
        assert found.current is not None
        parts.append(f"<h3>Performance on {found.current.rows:,} row(s) of the batch</h3>")
        parts.append(_table(PERFORMANCE, performance_rows(found), (1, 2, 3), None))
    if found.gates:
        gates = [row(g) for g in found.gates]
        parts += ["<h3>Performance gates</h3>", _table(list(COLUMNS), gates, (1, 4), 5)]
    lines = notes(found)
    if lines:
        parts.append("<ul>" + "".join(f"<li>{_e(line)}</li>" for line in lines) + "</ul>")
    return parts
