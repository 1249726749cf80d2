"""A drift result as one self-contained HTML page: the verdict, the table, the model's quality
when the spec names a target or a prediction, and plots of each drifted column's distributions
as inline SVG.

The page loads nothing (its Content-Security-Policy forbids it) and runs no script; every text
that comes from the data or the command line (column names, categories, paths) is escaped.
"""

from __future__ import annotations

from html import escape

from specops.monitoring.plots import CURRENT_COLOUR, REFERENCE_COLOUR, svg
from specops.monitoring.report import HEADER, batch_verdict, notes, rows
from specops.monitoring.result import DriftResult
from specops.spec.problems import printable

STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; color: #222; margin: 24px; max-width: 1000px; }
h1 { font-size: 22px; margin: 0 0 8px; }
h2 { font-size: 17px; margin: 24px 0 8px; }
h3 { font-size: 15px; margin: 16px 0 4px; }
h1, h2, h3, td, li, p { overflow-wrap: anywhere; }
code { font: 13px ui-monospace, monospace; }
.verdict { padding: 8px 12px; border-radius: 4px; font-weight: 600; }
.verdict.drift, .verdict.undecided, .verdict.contract { background: #fde2e1; }
.verdict.ok { background: #dff3e3; }
table { border-collapse: collapse; margin: 8px 0; }
th, td { border-bottom: 1px solid #ddd; padding: 4px 10px; text-align: left; }
td.number { text-align: right; font-variant-numeric: tabular-nums; }
tr.drift td:last-child, tr.undecided td:last-child { color: #b00020; font-weight: 600; }
td.status-fail { color: #b00020; font-weight: 600; }
table.quality td.number, table.quality td:first-child {
  white-space: nowrap; overflow-wrap: normal;
}
table.quality tr.drift td.reason { color: inherit; font-weight: normal; }
svg.plot { display: block; max-width: 100%; height: auto; }
svg.plot text { font: 11px system-ui, sans-serif; fill: #333; }
.swatch { display: inline-block; width: 10px; height: 10px; margin: 0 4px 0 8px; }
"""

#: Nothing from the network, no script: styles inline only.
POLICY = "default-src 'none'; style-src 'unsafe-inline'"


def _e(text: str) -> str:
    return escape(printable(text))


def page(result: DriftResult) -> str:
    if result.breaches:
        state = "contract"
    else:
        state = {"drift": "drift", "undecided": "undecided"}.get(result.verdict, "ok")
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{POLICY}">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>Data drift</title>",
        f"<style>{STYLE}</style>",
        "</head>",
        "<body>",
        "<h1>Data drift</h1>",
        f'<p class="verdict {state}">{_e(batch_verdict(result))}</p>',
        f"<p>Reference <code>{_e(result.reference)}</code> ({result.reference_rows:,} rows),"
        f" current <code>{_e(result.current)}</code> ({result.current_rows:,} rows).</p>",
    ]
    if result.breaches:
        parts.append("<h2>Data contract</h2>")
        parts.append("<table><tr><th>column</th><th>problem</th></tr>")
        for breach in result.breaches:
            parts.append(f"<tr><td>{_e(breach.column)}</td><td>{_e(breach.problem)}</td></tr>")
        parts.append("</table>")
    if result.columns:
        parts += _table(result)
    found = notes(result)
    if found:
        parts.append("<ul>" + "".join(f"<li>{_e(note)}</li>" for note in found) + "</ul>")
    if result.quality is not None:
        from specops.monitoring.quality_html import section

        parts += section(result.quality)
    parts += _plots(result)
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)


def _table(result: DriftResult) -> list[str]:
    parts = ["<h2>Columns</h2>", "<table>"]
    parts.append("<tr>" + "".join(f"<th>{name}</th>" for name in HEADER) + "</tr>")
    for column, row in zip(result.columns, rows(result), strict=True):
        state = "undecided" if column.undecided else "drift" if column.drifted else "ok"
        cells = [f"<td>{_e(cell)}</td>" for cell in row[:3]]
        cells += [f'<td class="number">{_e(cell)}</td>' for cell in row[3:5]]
        cells.append(f"<td>{_e(row[5])}</td>")
        parts.append(f'<tr class="{state}">' + "".join(cells) + "</tr>")
    parts.append("</table>")
    return parts


def _plots(result: DriftResult) -> list[str]:
    drifted = result.drifted_columns
    if not drifted:
        return []
    parts = [
        "<h2>Distributions of the drifted columns</h2>",
        "<p>Share of each side's values"
        f'<span class="swatch" style="background:{REFERENCE_COLOUR}"></span>reference'
        f'<span class="swatch" style="background:{CURRENT_COLOUR}"></span>current.'
        " Numeric columns on the same bins, between the reference's 0.1% and 99.9% quantiles"
        " (widened to the current's, when its values lie beyond them), with a bin on each"
        " side for the values beyond.</p>",
    ]
    for column in drifted:
        parts.append(f"<section><h3>{_e(column.column)}</h3>")
        if column.plot is None:
            parts.append("<p>No plot: the summaries keep no distribution of it.</p>")
        else:
            title = f"{column.column}: reference and current distributions"
            parts.append(svg(column.plot, title))
        parts.append("</section>")
    return parts
