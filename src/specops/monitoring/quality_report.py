"""The model-quality part of a drift report, as text and as Markdown rows and lines."""

from __future__ import annotations

import math

from specops.gates.evaluate import fmt
from specops.gates.run import GateRun, cell, markdown_table
from specops.monitoring.performance import Quality
from specops.monitoring.quality import shown_class
from specops.spec.monitoring import BINARY_METRICS, METRICS, MULTICLASS_METRICS
from specops.spec.problems import printable

CONCEPT = ["of", "column", "type", "method", "statistic", "threshold", "verdict"]
PERFORMANCE = ["metric", "batch", "reference", "change"]
#: How the text calls each role of the spec.
WORDS = {"target": "target", "prediction": "score"}


def _number(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else f"{value:.4g}"


def concept_rows(found: Quality) -> list[list[str]]:
    return [
        [
            WORDS[role],
            printable(c.column),
            c.type,
            c.method,
            _number(c.statistic)
            if c.exact or math.isnan(c.statistic)
            else f"{_number(c.statistic)}±{c.error:.2g}",
            _number(c.threshold),
            "UNDECIDED" if c.undecided else "DRIFT" if c.drifted else "ok",
        ]
        for role, c in found.concept
    ]


def shown(found: Quality) -> list[str]:
    """The metrics of the task (binary or multiclass), and any other a gate names."""
    task = BINARY_METRICS if found.task == "binary" else MULTICLASS_METRICS
    gated = {g.metric for g in found.gates}
    return [*task, *(m for m in METRICS if m in gated and m not in task)]


def performance_rows(found: Quality) -> list[list[str]]:
    assert found.current is not None
    rows = []
    for metric in shown(found):
        now = found.current.metrics.values[metric]
        then = found.reference.metrics.values[metric] if found.reference else math.nan
        change = "-" if math.isnan(now) or math.isnan(then) else f"{now - then:+.4g}"
        spread = found.current.errors.get(metric)
        value = _number(now) if spread is None else f"{_number(now)}±{spread:.2g}"
        rows.append([metric, value, _number(then), change])
    return rows


def _undefined(found: Quality) -> list[str]:
    """Why a metric of the table is undefined, or what its average leaves out; metrics with
    the same reason in one line."""
    lines = []
    metrics = shown(found)
    for side, name in ((found.current, "batch"), (found.reference, "reference")):
        if side is None:
            continue
        for found_on, verb in ((side.metrics.undefined, "undefined"), (side.metrics.remarks, "")):
            reasons: dict[str, list[str]] = {}
            for metric in metrics:
                if metric in found_on:
                    reasons.setdefault(found_on[metric], []).append(metric)
            for why, names in reasons.items():
                listed = " and ".join([", ".join(names[:-1]), names[-1]] if names[1:] else names)
                if verb:
                    are = "is" if len(names) == 1 else "are"
                    lines.append(f"{listed} {are} {verb} on the {name}: {why}")
                else:
                    lines.append(f"{listed} on the {name}: {why}")
    return lines


def _classes(found: Quality) -> list[str]:
    lines = []
    if found.task == "multiclass":
        count = len(found.classes)
        names = ", ".join(shown_class(c) for c in found.classes[:10])
        more = f" and {count - 10:,} more" if count > 10 else ""
        line = (
            f"classes: {names}{more}: precision, recall and f1 are averaged over the classes of"
            " each side (macro: each class alike; weighted: by its rows in the target)"
            if found.roles.predicted_class is not None
            else f"classes: {names}{more}: no column names the model's class"
        )
        if found.roles.prediction is not None:
            line += f"; the score {printable(found.roles.prediction)!r} is compared for drift only"
        lines.append(line)
    if found.new_classes:
        count = len(found.new_classes)
        names = ", ".join(shown_class(c) for c in found.new_classes[:10])
        more = f" and {count - 10:,} more" if count > 10 else ""
        lines.append(f"the batch has class(es) the reference's target does not: {names}{more}")
    return lines


def notes(found: Quality) -> list[str]:
    lines = [*found.notes, *_classes(found)]
    current = found.current
    if current is not None and current.left_out:
        lines.append(
            f"performance: {current.left_out:,} row(s) of the batch without a target or a"
            " prediction left out"
        )
    lines += _undefined(found)
    if found.latency is not None:
        p50, p95 = (_latency(found.latency, p) for p in ("p50", "p95"))
        lines.append(
            f"latency: p50 {p50} ms, p95 {p95} ms over {found.latency_rows:,} prediction(s)"
        )
    bounded = current is not None and current.errors
    if bounded or (found.latency is not None and "p50_error" in found.latency):
        lines.append(
            "±: bounds from the partitions' summaries (a gate is undecided, and fails, when"
            " they hold its threshold)"
        )
    if found.undecided:
        names = " and the ".join(WORDS[r] for r in found.undecided)
        lines.append(
            f"undecided: the {names}: the partitions' summaries do not decide its drift; run"
            " specops drift over the whole batch to decide"
        )
    return lines


def _latency(latency: dict[str, float], which: str) -> str:
    value = fmt(round(latency[which], 3))
    spread = latency.get(f"{which}_error")
    return value if spread is None else f"{value}±{spread:.2g}"


def verdict(found: Quality) -> str:
    failed, total = len(found.failed_gates), len(found.gates)
    parts = []
    if total:
        parts.append(
            f"{failed} of {total} performance gate(s) failed"
            if failed
            else f"all {total} performance gate(s) passed"
        )
    drifted = [WORDS[role] for role, c in found.concept if c.drifted]
    undecided = [WORDS[role] for role in found.undecided]
    if drifted:
        parts.append(f"the {' and the '.join(drifted)} drifted")
    if undecided:
        parts.append(f"the {' and the '.join(undecided)} undecided")
    if found.concept and not drifted and not undecided:
        parts.append("no concept drift")
    if not parts:
        parts.append("nothing to check")
    return f"model quality: {'; '.join(parts)}"


def computed(found: Quality) -> bool:
    """Whether the batch has any metric of the table (a score alone names no class of
    several: then the notes say why, without a table of dashes)."""
    if found.current is None:
        return False
    values = found.current.metrics.values
    return any(not math.isnan(values[m]) for m in shown(found))


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    table = [header, *rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in table]


def text(found: Quality) -> str:
    lines = []
    if found.concept:
        lines += ["concept drift:", *_table(CONCEPT, concept_rows(found))]
    if computed(found):
        assert found.current is not None
        lines.append(f"performance on {found.current.rows:,} row(s) of the batch:")
        lines += _table(PERFORMANCE, performance_rows(found))
    if found.gates:
        # The table `specops gate` prints, without its verdict: the last line says it.
        table = GateRun(None, found.gates).text().split("\n\n")[0]
        lines += ["performance gates:", *table.splitlines()]
    lines += notes(found)
    lines.append(verdict(found))
    return "\n".join(lines) + "\n"


def markdown(found: Quality) -> str:
    parts = ["## Model quality\n"]
    if found.concept:
        bold = {"DRIFT": "**drift**", "UNDECIDED": "**undecided**"}
        rows = [[*r[:-1], bold.get(r[-1], r[-1])] for r in concept_rows(found)]
        parts.append("### Concept drift\n\n" + markdown_table(CONCEPT, rows))
    if computed(found):
        assert found.current is not None
        title = f"### Performance on {found.current.rows:,} row(s) of the batch\n\n"
        parts.append(title + markdown_table(PERFORMANCE, performance_rows(found)))
    if found.gates:
        parts.append("### Performance gates\n\n" + GateRun(None, found.gates).markdown())
    lines = [f"- {cell(note)}" for note in notes(found)]  # class names come from the data
    if lines:
        parts.append("\n".join(lines) + "\n")
    parts.append(f"**{verdict(found)}**\n")
    return "\n".join(parts)
