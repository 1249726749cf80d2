"""DVC's own view of a repository, taken with DVC's Python API, to compare before and after a
change that must not change what DVC reads (such as `specops import`)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def _relative(root: Path, mapping: dict[str, Any]) -> dict[str, Any]:
    """DVC keys some collections by absolute path; the snapshot keys them by repository path."""
    return {
        Path(os.path.relpath(os.path.join(root, k), root)).as_posix(): v for k, v in mapping.items()
    }


def _out(out: Any) -> dict[str, Any]:
    return {
        "path": out.def_path,
        "cache": out.use_cache,
        "persist": out.persist,
        "push": out.can_push,
        "remote": out.remote,
        "metric": out.metric,
        "plot": out.plot,
        "annotations": out.annot.to_dict(),
    }


def snapshot(root: Path, *, status: bool = True) -> dict[str, Any]:
    """Every stage DVC finds (pipeline stages and `.dvc` files) with what DVC resolved for it,
    in DVC's order, the top-level metrics, params, plots, artifacts and datasets of each
    dvc.yaml, and with `status`, what `dvc status` says of each pipeline stage (so that a
    changed command or params key, which dvc.lock would record, shows)."""
    from dvc.dependency import ParamsDependency  # type: ignore[import-untyped]
    from dvc.repo import Repo  # type: ignore[import-untyped]
    from dvc.stage import PipelineStage  # type: ignore[import-untyped]
    from dvc.stage.serialize import (  # type: ignore[import-untyped]
        to_pipeline_file,
        to_single_stage_file,
    )

    root = root.resolve()
    with Repo(str(root)) as repo, repo.lock:
        index = repo.index
        stages: dict[str, Any] = {}
        for stage in index.stages:
            pipeline = isinstance(stage, PipelineStage)
            file = Path(stage.path).relative_to(root).as_posix()
            # DVC's addressing, but relative to the root rather than to the working folder.
            name: str | None = stage.name if pipeline else None
            address = f"{file}:{name}" if name and file != "dvc.yaml" else name or file
            stages[address] = {
                "file": file,
                "name": name,
                "cmd": stage.cmd,
                "wdir": Path(os.path.relpath(stage.wdir, root)).as_posix(),
                "desc": stage.desc,
                "meta": stage.meta,
                "frozen": stage.frozen,
                "always_changed": stage.always_changed,
                "deps": [
                    (type(dep).__name__, dep.def_path)
                    for dep in stage.deps
                    if not isinstance(dep, ParamsDependency)
                ],
                "params": {
                    dep.def_path: sorted(dep.params)
                    for dep in stage.deps
                    if isinstance(dep, ParamsDependency)
                },
                "outs": [_out(out) for out in stage.outs],
                "as_dvc_writes_it": (
                    to_pipeline_file(stage)[stage.name] if pipeline else to_single_stage_file(stage)
                ),
                # A .dvc file's status may need the network (an imported dataset): left out.
                "status": stage.status() if status and pipeline else None,
            }
        return {
            "order": list(stages),
            "stages": stages,
            "metrics": _relative(root, index._metrics),
            "params": _relative(root, index._params),
            "plots": _relative(root, index._plots),
            "artifacts": _relative(root, repo.artifacts.read()),
            "datasets": _relative(root, index._datasets),
        }


def differences(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """What differs between two snapshots, one line per stage or section, for a readable
    assertion message (empty when they are equal)."""
    lines = []
    if before["order"] != after["order"]:
        lines.append(f"stage order: {before['order']} != {after['order']}")
    for name in sorted(set(before["stages"]) | set(after["stages"])):
        old, new = before["stages"].get(name), after["stages"].get(name)
        if old != new:
            lines.append(f"stage {name}: {old} != {new}")
    for section in ("metrics", "params", "plots", "artifacts", "datasets"):
        if before[section] != after[section]:
            lines.append(f"{section}: {before[section]} != {after[section]}")
    return lines
