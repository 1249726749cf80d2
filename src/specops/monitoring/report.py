"""A drift result as text for a terminal and as Markdown for a pull request or a job summary."""

from __future__ import annotations

from specops.monitoring.drift import ColumnDrift, DriftResult
from specops.spec.problems import printable


def _number(value: float) -> str:
    return f"{value:.4g}"


def _statistic(column: ColumnDrift) -> str:
    if column.exact:
        return _number(column.statistic)
    return f"{_number(column.statistic)}±{column.error:.2g}"


def _rows(result: DriftResult) -> list[list[str]]:
    return [
        [
            printable(c.column),
            c.type,
            c.method,
            _statistic(c),
            _number(c.threshold),
            "DRIFT" if c.drifted else "ok",
        ]
        for c in result.columns
    ]


def _verdict(result: DriftResult) -> str:
    if result.breaches:
        count = len(result.breaches)
        return f"the current batch breaks the reference's data contract in {count} way(s)"
    drifted, total = len(result.drifted_columns), len(result.columns)
    verdict = "drift" if result.drift else "no drift"
    return (
        f"{verdict}: {drifted} of {total} column(s) drifted ({result.drifted_share:.0%});"
        f" the batch drifts at {result.share:.0%}"
    )


def _notes(result: DriftResult) -> list[str]:
    notes = []
    for c in result.columns:
        for side, count in (("reference", c.reference_dropped), ("current", c.current_dropped)):
            if count:
                what = f"{count:,} empty, NaN or infinite value(s) dropped from the {side}"
                notes.append(f"{printable(c.column)}: {what}")
    for column, reason in result.skipped:
        notes.append(f"{printable(column)}: not compared, {reason}")
    if any(not c.exact for c in result.columns):
        notes.append("±: a sketch's bound on the statistic; the verdict is the exact one")
    return notes


HEADER = ["column", "type", "method", "statistic", "threshold", "verdict"]


def text(result: DriftResult) -> str:
    lines = [
        f"reference: {printable(result.reference)} ({result.reference_rows:,} rows)",
        f"current:   {printable(result.current)} ({result.current_rows:,} rows)",
    ]
    for breach in result.breaches:
        lines.append(f"contract: {printable(breach.column)}: {breach.problem}")
    if result.columns:
        table = [HEADER, *_rows(result)]
        widths = [max(len(row[i]) for row in table) for i in range(len(HEADER))]
        for row in table:
            cells = [cell.ljust(w) for cell, w in zip(row, widths, strict=True)]
            lines.append("  ".join(cells).rstrip())
    lines += _notes(result)
    lines.append(_verdict(result))
    if result.quality is not None:
        from specops.monitoring import quality_report

        lines.append(quality_report.text(result.quality).rstrip("\n"))
    return "\n".join(lines) + "\n"


def markdown(result: DriftResult) -> str:
    def cell(value: str) -> str:
        return value.replace("|", "\\|")

    lines = [
        "## Data drift",
        "",
        f"Reference `{printable(result.reference)}` ({result.reference_rows:,} rows),"
        f" current `{printable(result.current)}` ({result.current_rows:,} rows).",
        "",
    ]
    if result.breaches:
        lines += ["| column | data contract |", "| --- | --- |"]
        lines += [f"| {cell(printable(b.column))} | {b.problem} |" for b in result.breaches]
        lines.append("")
    if result.columns:
        lines.append("| " + " | ".join(HEADER) + " |")
        lines.append("|" + " --- |" * len(HEADER))
        for row in _rows(result):
            row[-1] = "**drift**" if row[-1] == "DRIFT" else row[-1]
            lines.append("| " + " | ".join(cell(v) for v in row) + " |")
        lines.append("")
    lines += [f"- {note}" for note in _notes(result)]
    lines.append(f"**{_verdict(result)}**")
    if result.quality is not None:
        from specops.monitoring import quality_report

        lines += ["", quality_report.markdown(result.quality).rstrip("\n")]
    return "\n".join(lines) + "\n"
