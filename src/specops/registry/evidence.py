"""The evidence a registry tag carries: what was checked, on what, by whom.

Tag messages are a one-line summary, a blank line, then this evidence as JSON, which
`TagEvent.evidence` reads back.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any

import yaml

from specops.registry.git import run_git

#: The version of the evidence document, for readers of old tags.
EVIDENCE_VERSION = 1


def message(summary: str, evidence: dict[str, Any]) -> str:
    """A tag message: the summary line, then the evidence as JSON."""
    return f"{summary}\n\n{json.dumps(evidence, indent=2, sort_keys=True)}\n"


def unusable(tag: str, facts: dict[str, Any] | None, commit: str) -> str | None:
    """Why `facts`, the evidence in the message of `tag` on `commit`, is no record of that
    commit's promotion by specops; None when it is one."""
    if facts is None or "specops_evidence" not in facts:
        return f"{tag} carries no specops evidence in its message"
    gates = facts.get("gates") or []
    if not isinstance(gates, list) or not all(
        isinstance(g, dict) and isinstance(g.get("metric"), str) for g in gates
    ):
        why = "its `gates` is not a list of gate results"
        return f"{tag} carries evidence that specops cannot read: {why}"
    if facts.get("commit") != commit:
        recorded = str(facts.get("commit"))[:12]
        return f"{tag} carries the evidence of commit {recorded}, not of {commit[:12]}"
    return None


def who(root: Path) -> dict[str, str]:
    """The identity Git puts on the tag, and the CI run when there is one."""
    ident = run_git(root, "var", "GIT_COMMITTER_IDENT").strip()
    match = re.match(r"^(?P<name>.*?) <(?P<email>[^>]*)>", ident)
    found = {"name": match["name"], "email": match["email"]} if match else {"name": ident}
    for variable in ("GITHUB_ACTOR", "GITHUB_RUN_ID", "GITHUB_REPOSITORY"):
        if os.environ.get(variable):
            found[variable.lower()] = os.environ[variable]
    return found


def _load(path: Path) -> Any:
    """A JSON or YAML file's data, or None when it is missing or not readable as either."""
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError, RecursionError):
        return None


#: A path as a dvc.lock records it, and the prefix of its stages' addresses.
Where = tuple[str, str]


def lineage(
    root: Path, model_path: str, lock_file: str = "dvc.lock", recorded: Where | None = None
) -> dict[str, Any]:
    """From dvc.lock (or the `lock_file` of the pipeline whose stage writes the model): the
    stage that writes the model, its hash, every path's hash, and the params each stage ran
    with; `recorded` is the model's path as that file records it, and its stages' prefix."""
    path_there, prefix = recorded or (model_path, "")
    lock = _load(root / lock_file)
    stages = lock.get("stages", {}) if isinstance(lock, dict) else {}
    hashes: dict[str, str] = {}
    params: dict[str, Any] = {}
    model: dict[str, Any] = {"path": model_path, "md5": None, "stage": None}
    for name, stage in stages.items():
        if not isinstance(stage, dict):
            continue
        for kind in ("deps", "outs"):
            for entry in stage.get(kind) or []:
                if isinstance(entry, dict) and "path" in entry:
                    digest = entry.get("md5") or entry.get("etag") or entry.get("checksum")
                    hashes[str(entry["path"])] = str(digest)
                    if kind == "outs" and entry["path"] == path_there:
                        model = {"path": model_path, "md5": digest, "stage": f"{prefix}{name}"}
        for file, values in (stage.get("params") or {}).items():
            if isinstance(values, dict):
                params.setdefault(file, {}).update(values)
    return {"model": model, "hashes": dict(sorted(hashes.items())), "params": params}


def collect(
    root: Path,
    *,
    spec_file: str,
    model: str,
    model_path: str,
    commit: str,
    metrics_files: list[str],
    gates: list[dict[str, Any]],
    gates_passed: bool,
    reason: str | None,
    lock_file: str = "dvc.lock",
    recorded: Where | None = None,
) -> dict[str, Any]:
    """The evidence of one promotion of `model` at `commit` (see lineage for `lock_file` and
    `recorded`)."""
    spec_bytes = (root / spec_file).read_bytes()
    found = lineage(root, model_path, lock_file, recorded)
    return {
        "specops_evidence": EVIDENCE_VERSION,
        "model": model,
        "commit": commit,
        "spec": {"path": spec_file, "sha256": hashlib.sha256(spec_bytes).hexdigest()},
        "gates": gates,
        "gates_passed": gates_passed,
        "forced": reason is not None,
        "reason": reason,
        "metrics": {f: _load(root / f) for f in dict.fromkeys(metrics_files)},
        "params": found["params"],
        "lineage": {"model": found["model"], "hashes": found["hashes"]},
        "by": who(root),
    }
