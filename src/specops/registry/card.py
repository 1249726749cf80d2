"""A model card in Markdown: what the spec says about a model, and what its tags prove."""

from __future__ import annotations

from typing import Any

from specops.registry.tags import ModelTags, TagEvent, version_key
from specops.spec.models import Spec
from specops.spec.problems import printable


def _cell(value: Any) -> str:
    """A value for a Markdown table cell: on one line, with `|` escaped."""
    text = "" if value is None else str(value)
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _table(head: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    lines += ["| " + " | ".join(_cell(v) for v in row) + " |" for row in rows]
    return [*lines, ""]


def _flatten(data: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """`{"a": {"b": 1}}` -> `[("a.b", 1)]`."""
    if isinstance(data, dict):
        return [pair for k, v in data.items() for pair in _flatten(v, f"{prefix}{k}.")]
    return [(prefix.rstrip("."), data)]


def _governance(spec: Spec) -> list[str]:
    lines = ["## Governance", ""]
    gov = spec.governance
    if gov is None:
        return [*lines, "The spec has no `governance` section.", ""]
    lines.append(f"- Owners: {', '.join(gov.owners) if gov.owners else 'not stated'}")
    lines.append(f"- Risk: {gov.risk or 'not stated'}")
    lines.append(f"- Intended use: {gov.intended_use or 'not stated'}")
    lines.append(f"- Limitations: {gov.limitations or 'not stated'}")
    return [*lines, ""]


def _stages(spec: Spec, tags: ModelTags) -> list[str]:
    lines = ["## Stages", ""]
    held = tags.stages()
    names = list(spec.promotion.stages) if spec.promotion else []
    names += [s for s in held if s not in names]
    rows = [
        [s, e.version, e.commit[:12], e.created_at, printable(e.tagger), e.tag]
        for s in names
        if (e := held.get(s)) is not None
    ]
    if not rows:
        return [*lines, "No stage is assigned.", ""]
    return lines + _table(["stage", "version", "commit", "assigned", "by", "tag"], rows)


def _clean(value: Any) -> Any:
    """Evidence as read from a tag message, which anybody can write: every string on one line
    with nothing hidden, so that it cannot add lines or headings to the card."""
    if isinstance(value, str):
        return printable(value)
    if isinstance(value, dict):
        return {printable(str(k)): _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _by_file(value: Any) -> list[list[Any]]:
    """`{file: {a: {b: 1}}}` as rows `[file, "a.b", 1]`."""
    return [[file, key, v] for file, data in _dict(value).items() for key, v in _flatten(data)]


def _section(title: str, headers: list[str], rows: list[list[Any]]) -> list[str]:
    return [f"### {title}", "", *(_table(headers, rows) if rows else ["None recorded.", ""])]


def _evidence(event: TagEvent) -> list[str]:
    facts = _dict(_clean(event.evidence))
    lines = [
        f"- Commit: `{event.commit}`",
        f"- Registered: {event.created_at} by {printable(event.tagger)}",
    ]
    if not facts:
        return [*lines, "- Evidence: none in the tag message", ""]
    verdict = "passed" if facts.get("gates_passed") else "failed"
    if facts.get("forced"):
        verdict += f"; promoted with --force: {facts.get('reason')}"
    lines += [f"- Gates: {verdict}", ""]
    gates = [
        [g.get("metric"), g.get("status"), g.get("value"), g.get("threshold"), g.get("baseline")]
        for g in _list(facts.get("gates"))
        if isinstance(g, dict)
    ]
    lines += _section("Metrics", ["file", "metric", "value"], _by_file(facts.get("metrics")))
    lines += _section("Gates", ["metric", "status", "value", "threshold", "baseline"], gates)
    lines += _section("Params", ["file", "param", "value"], _by_file(facts.get("params")))
    lineage = _dict(facts.get("lineage"))
    spec = _dict(facts.get("spec"))
    model = _dict(lineage.get("model"))
    lines += [
        "### Lineage",
        "",
        f"- Spec: `{spec.get('path')}` sha256 `{spec.get('sha256')}`",
        f"- Model: `{model.get('path')}` md5 `{model.get('md5')}`"
        f" from stage `{model.get('stage')}`",
        "",
    ]
    hashes = [[path, digest] for path, digest in _dict(lineage.get("hashes")).items()]
    if hashes:
        lines += _table(["path", "md5"], hashes)
    return lines


def render_card(spec: Spec, model: str, tags: ModelTags, path: str) -> str:
    """The card of `model` of `spec` (at `path`, resolved), with the evidence in its registry
    tags."""
    entry = spec.models[model]
    lines = [f"# Model card: {model}", ""]
    if entry.desc:
        lines += [entry.desc, ""]
    lines += [
        f"- Project: `{spec.name}`",
        f"- Artifact: `{path}` ({entry.type})",
        f"- Labels: {', '.join(entry.labels) if entry.labels else 'none'}",
        "",
    ]
    lines += _governance(spec)
    lines += _stages(spec, tags)
    live = [e for e in tags.registrations if not tags.deregistered(e.commit) and e.version]
    if not live:
        return "\n".join([*lines, "## Latest version", "", "No version is registered yet.", ""])
    latest = max(live, key=lambda e: version_key(e.version or ""))
    lines += [f"## Latest version: {latest.version}", ""]
    return "\n".join(lines + _evidence(latest))
