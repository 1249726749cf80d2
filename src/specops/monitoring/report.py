"""A drift result as text for a terminal and as Markdown for a pull request or a job summary."""

from __future__ import annotations

import re
from collections.abc import Callable

from specops.gates.run import cell
from specops.monitoring.result import ColumnDrift, DriftResult
from specops.spec.problems import printable


def _number(value: float) -> str:
    return f"{value:.4g}"


def _statistic(column: ColumnDrift) -> str:
    if column.statistic != column.statistic:  # NaN: undecided, with no bounds
        return "-"
    if column.exact:
        return _number(column.statistic)
    return f"{_number(column.statistic)}±{column.error:.2g}"


def rows(result: DriftResult) -> list[list[str]]:
    return [
        [
            printable(c.column),
            c.type,
            c.method,
            _statistic(c),
            _number(c.threshold),
            verdict(c),
        ]
        for c in result.columns
    ]


def verdict(column: ColumnDrift) -> str:
    return "UNDECIDED" if column.undecided else "DRIFT" if column.drifted else "ok"


def batch_verdict(result: DriftResult) -> str:
    if result.breaches:
        count = len(result.breaches)
        return f"the current batch breaks the reference's data contract in {count} way(s)"
    drifted, total = len(result.drifted_columns), len(result.columns)
    undecided = len(result.undecided_columns)
    either = f" and {undecided} undecided" if undecided else ""
    return (
        f"{result.verdict}: {drifted} of {total} column(s) drifted"
        f" ({result.drifted_share:.0%}){either}; the batch drifts at {result.share:.0%}"
    )


def notes(result: DriftResult, name: Callable[[str], str] = printable) -> list[str]:
    """The notes below the table, with each column's `name` as the format shows it."""
    notes = []
    for c in result.columns:
        for side, count in (("reference", c.reference_dropped), ("current", c.current_dropped)):
            if count:
                what = f"{count:,} empty, NaN or infinite value(s) dropped from the {side}"
                notes.append(f"{name(c.column)}: {what}")
    for column, reason in result.skipped:
        notes.append(f"{name(column)}: not compared, {name(reason)}")
    if any(not c.exact and not c.undecided for c in result.columns):
        notes.append("±: a sketch's bound on the statistic; the verdict is the exact one")
    if result.undecided_columns:
        names = ", ".join(name(c.column) for c in result.undecided_columns)
        notes.append(
            f"undecided: {names}: the partitions' summaries do not decide the verdict (a"
            " bound holds the threshold, or the method needs the rows); run specops drift over"
            " the whole batch to decide"
        )
    return notes


HEADER = ["column", "type", "method", "statistic", "threshold", "verdict"]


def text(result: DriftResult) -> str:
    lines = [
        f"reference: {printable(result.reference)} ({result.reference_rows:,} rows)",
        f"current:   {printable(result.current)} ({result.current_rows:,} rows)",
    ]
    for breach in result.breaches:
        lines.append(f"contract: {printable(breach.column)}: {printable(breach.problem)}")
    if result.columns:
        table = [HEADER, *rows(result)]
        widths = [max(len(row[i]) for row in table) for i in range(len(HEADER))]
        for row in table:
            cells = [cell.ljust(w) for cell, w in zip(row, widths, strict=True)]
            lines.append("  ".join(cells).rstrip())
    lines += notes(result)
    lines.append(batch_verdict(result))
    if result.quality is not None:
        from specops.monitoring import quality_report

        lines.append(quality_report.text(result.quality).rstrip("\n"))
    return _shown("\n".join(lines))


def plain(text: str) -> str:
    """Text from the data (names, categories, types) that Markdown and GitHub's HTML show as
    written: no image, link, tag or emphasis, and, as in the gates' tables, no `|` that ends a
    table's cell."""
    return _MARKDOWN.sub(r"\\\g<0>", cell(printable(text)).replace('"', "&quot;"))


def code(text: str) -> str:
    """A code span around `text` that no backtick in it can close."""
    text = printable(text)
    ticks = "`" * (1 + max((len(run) for run in re.findall("`+", text)), default=0))
    pad = " " if "`" in text else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


_MARKDOWN = re.compile(r"[\\`*_\[\]~]")


def markdown(result: DriftResult) -> str:
    # Column names come from production data: each is shown as written, never as Markdown or
    # HTML that could hide the verdict from whoever reads the summary or the pull request.
    lines = [
        "## Data drift",
        "",
        f"Reference {code(result.reference)} ({result.reference_rows:,} rows),"
        f" current {code(result.current)} ({result.current_rows:,} rows).",
        "",
    ]
    if result.breaches:
        lines += ["| column | data contract |", "| --- | --- |"]
        lines += [f"| {plain(b.column)} | {plain(b.problem)} |" for b in result.breaches]
        lines.append("")
    if result.columns:
        lines.append("| " + " | ".join(HEADER) + " |")
        lines.append("|" + " --- |" * len(HEADER))
        for row in rows(result):
            row = [plain(row[0]), *row[1:]]
            row[-1] = {"DRIFT": "**drift**", "UNDECIDED": "**undecided**"}.get(row[-1], row[-1])
            lines.append("| " + " | ".join(row) + " |")
        lines.append("")
    lines += [f"- {note}" for note in notes(result, plain)]
    lines.append(f"**{batch_verdict(result)}**")
    if result.quality is not None:
        from specops.monitoring import quality_report

        lines += ["", quality_report.markdown(result.quality).rstrip("\n")]
    return _shown("\n".join(lines))


def _shown(report: str) -> str:
    """The report with each line made printable: what a partition's summary says (a breach, a
    note) is text anyone could have written, and must not move a terminal's cursor."""
    return "\n".join(printable(line) for line in report.split("\n")) + "\n"
