"""`specops gate` and the gate check of `specops validate`: where the metrics come from.

The working tree gives the candidate's metrics; a gate's `vs` names a promotion stage (the commit
of the version that stage holds, from GTO's tags) or a Git revision. Git and DVC are only asked
when a gate has `vs`, so that validate stays off them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from specops.gates.evaluate import Baseline, Reader, Sources, evaluate, split_metric
from specops.gates.metrics import MetricsError, parse
from specops.gates.report import Section, markdown
from specops.gates.run import GateRun
from specops.spec import Problem, Project, SpecError
from specops.spec.checks import Suggestions, did_you_mean
from specops.spec.files import Unreadable, read_bytes, real_path_inside
from specops.spec.metrics_files import project_metrics_files
from specops.spec.pipeline import normalize


def working_tree(root: Path) -> Reader:
    """Files as they are in the working tree, only inside the project."""

    def read(path: str) -> bytes | None:
        try:
            return read_bytes(real_path_inside(root, path))
        except Unreadable as exc:
            raise MetricsError(f"cannot read {path}: {exc.reason}") from exc

    return read


def _model(project: Project, model: str | None) -> str | None:
    """MODEL, checked, or the spec's only model."""
    models = project.spec.models
    if model is not None and model not in models:
        names = ", ".join(models) or "none"
        msg = f"no model {model!r} in models ({names}){did_you_mean(model, models)}"
        raise SpecError([Problem.plain(project.spec_name, msg)])
    if model is None and len(models) == 1:
        return next(iter(models))
    return model


def _stages(project: Project) -> list[str]:
    promotion = project.spec.promotion
    return list(promotion.stages) if promotion is not None else []


def _refuse_unknown_model(project: Project, model: str | None) -> None:
    """A `vs: <stage>` gate needs to know whose version that stage holds."""
    stages = _stages(project)
    problems = []
    for i, gate in enumerate(project.spec.gates):
        if model is None and gate.vs is not None and gate.vs in stages:
            many = "several models" if project.spec.models else "no models"
            msg = (
                f"compares with the {gate.vs!r} stage, but the spec has {many}; "
                "name the model: specops gate MODEL"
            )
            problems.append(project.doc.problem(("gates", i, "vs"), msg))
    if problems:
        raise SpecError(problems)


def _commit(root: Path, rev: str) -> str | None:
    proc = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    return proc.stdout.strip() if proc.returncode == 0 else None


def _at(root: Path, commit: str) -> Reader:
    """Files as they were at `commit`, from Git or DVC's cache."""
    from specops.registry.revisions import RevisionError, read_at

    def read(path: str) -> bytes | None:
        try:
            return read_at(root, commit, path)
        except RevisionError as exc:
            raise MetricsError(f"cannot read {path}: {exc.message}") from exc
        except Exception as exc:  # DVC's errors (no cache, no remote) fail the gate, with why
            raise MetricsError(f"cannot read {path}: {type(exc).__name__}: {exc}") from exc

    return read


def _baselines(project: Project, model: str | None) -> Callable[[str], Baseline]:
    root, stages = project.root, _stages(project)
    found: dict[str, Baseline] = {}

    def resolve(vs: str) -> Baseline:
        if vs not in found:
            found[vs] = _stage(root, model or "", vs) if vs in stages else _revision(root, vs)
        return found[vs]

    return resolve


def _stage(root: Path, model: str, stage: str) -> Baseline:
    from specops.registry.git import GitError
    from specops.registry.tags import stage_commit

    try:
        ref = stage_commit(root, model, stage)
    except (OSError, subprocess.CalledProcessError, GitError) as exc:
        detail = getattr(exc, "stderr", None) or exc
        return Baseline("", error=f"cannot read the tags of {model}: {str(detail).strip()}")
    if ref is None:
        return Baseline("", missing=f"nothing in {stage} yet for {model}")
    label = f"{model}@{ref.version} in {stage} at {ref.commit[:12]}"
    return Baseline(label, read=_at(root, ref.commit))


def _revision(root: Path, rev: str) -> Baseline:
    try:
        commit = _commit(root, rev)
        if commit is None and not rev.startswith("origin/"):
            # A pull request's checkout has no local `main`, only `origin/main`.
            commit = _commit(root, f"origin/{rev}")
            rev = f"origin/{rev}" if commit is not None else rev
    except OSError as exc:
        return Baseline("", error=f"cannot run git: {exc}")
    if commit is None:
        return Baseline("", error=f"no revision {rev!r} in the repository")
    label = f"{rev} at {commit[:12]}"
    return Baseline(label, read=_at(root, commit))


def gate_project(
    project: Project, model: str | None = None, *, require_baseline: bool = False
) -> GateRun:
    named = _model(project, model)
    _refuse_unknown_model(project, named)
    spec = project.spec
    default = spec.models[named].metrics if named is not None else None
    sources = Sources(
        candidate=working_tree(project.root),
        baseline=_baselines(project, named),
        default_file=normalize(default) if default else None,
        files=project_metrics_files(spec, project.doc, project.root),
    )
    results = evaluate(spec.gates, sources, require_baseline=require_baseline)
    return GateRun(model=named, results=results)


@dataclass
class _Keys:
    """The keys of the metrics files in the working tree; None for one not readable (yet)."""

    root: Path
    files: dict[str, list[str] | None]

    def keys(self, path: str) -> list[str] | None:
        if path not in self.files:
            try:
                raw = working_tree(self.root)(path)
                self.files[path] = list(parse(path, raw)) if raw is not None else None
            except MetricsError:  # not produced yet, or broken: `specops gate` reports that
                self.files[path] = None
        return self.files[path]


def _has(keys: list[str], key: str) -> bool:
    return key in keys or any(k.startswith(f"{key}.") for k in keys)


def metric_problems(project: Project) -> list[Problem]:
    """Gate keys that are not in the metrics files that exist in the working tree."""
    spec = project.spec
    only = next(iter(spec.models.values())) if len(spec.models) == 1 else None
    default = normalize(only.metrics) if only is not None and only.metrics else None
    found = _Keys(project.root, {})
    suggest = Suggestions()
    problems = []
    declared: list[str] = []  # every metrics file, found when a gate needs them
    for i, g in enumerate(spec.gates):
        file, key = split_metric(g.metric)
        if not key:
            continue
        files = [normalize(file)] if file is not None else [default] if default else []
        if not files:
            declared = declared or project_metrics_files(spec, project.doc, project.root)
            files = declared
        held = [(path, found.keys(path)) for path in files]
        if any(keys is None or _has(keys, key) for _, keys in held):
            continue  # there, or in a file not produced yet
        every = [k for _, keys in held for k in keys or ()]
        where = held[0][0] if len(held) == 1 else f"any of {', '.join(p for p, _ in held)}"
        msg = f"{key!r} is not in {where}{suggest(key, every)}"
        problems.append(project.doc.problem(("gates", i, "metric"), msg))
    return problems


@dataclass(frozen=True)
class Report:
    """What `specops report` shows: the gates, and the metrics and params against a base."""

    base: str
    gates: GateRun
    metrics: Section
    params: Section
    dag: Section
    markdown: str

    def as_dict(self) -> dict[str, Any]:
        def section(s: Section) -> dict[str, Any]:
            return {"data": s.data, "error": s.error}

        return {
            "base": self.base,
            "gates": self.gates.as_dict(),
            "metrics": section(self.metrics),
            "params": section(self.params),
            "dag": section(self.dag),
            "markdown": self.markdown,
        }


def default_base() -> str:
    """The pull request's base branch in GitHub Actions, else main."""
    branch = os.environ.get("GITHUB_BASE_REF", "")
    return f"origin/{branch}" if branch else "main"


def _start(root: Path, *args: str) -> tuple[str, subprocess.Popen[str] | None, str]:
    """Start a DVC command of the environment specops runs in: the command in words, the
    process, or why it could not start."""
    command = "dvc " + " ".join(args)
    try:
        return (
            command,
            subprocess.Popen(
                [sys.executable, "-m", "dvc", *args],
                cwd=root,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                stdin=subprocess.DEVNULL,
                text=True,
                env={**os.environ, "DVC_NO_ANALYTICS": "1"},
            ),
            "",
        )
    except OSError as exc:
        return command, None, f"`{command}` could not run: {exc}"


def _finish(started: tuple[str, subprocess.Popen[str] | None, str], *, as_json: bool) -> Section:
    command, proc, error = started
    if proc is None:
        return Section(None, error)
    out, err = proc.communicate()
    if proc.returncode != 0:
        detail = " ".join(err.split()) or f"exit code {proc.returncode}"
        return Section(None, f"`{command}` failed: {detail}")
    if not as_json:
        return Section(out)
    try:
        return Section(json.loads(out or "{}"))
    except json.JSONDecodeError as exc:
        return Section(None, f"`{command}` printed what is not JSON: {exc}")


def report_project(project: Project, base: str | None = None) -> Report:
    base = base or default_base()
    if base.startswith("-"):  # it is passed to dvc, which would take it for an option
        raise SpecError([Problem.plain(project.spec_name, f"--base {base!r} is not a revision")])
    gates = gate_project(project)
    root = project.root
    # Each DVC command takes about a second, mostly start-up: run them side by side.
    started = (
        _start(root, "metrics", "diff", "--json", "--all", base),
        _start(root, "params", "diff", "--json", base),
        _start(root, "dag", "--md"),
    )
    metrics, params = (_finish(p, as_json=True) for p in started[:2])
    dag = _finish(started[2], as_json=False)
    text = markdown(project.spec.name, base, gates, metrics, params, dag)
    return Report(base, gates, metrics, params, dag, text)
