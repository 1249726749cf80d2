"""The jobs of the pipeline workflow when stages ask for runners of their own.

A stage whose `runs_on` differs from `ci.runs_on`, or that fans out, runs in a job of its own
before the final pipeline job, and so do the stages upstream of it: otherwise each such job
would run them again on its own runner (and each item of a fan-out once more). The other
stages run in the final job, as they do without per-stage runners.

Stages are planned in DAG order, a batch of ready stages at a time in spec order; a stage
joins the job planned last when that job runs on the same runner and is no fan-out, and starts
a new job otherwise. Every stage a job needs is then in that job or in one planned before it,
so the jobs' `needs` follow the DAG. Simple rather than optimal: two independent stages of
one runner may share a job that could have been two parallel ones.

Outputs cross from job to job through the handover (see _setup.j2), never the team's remote.
"""

from __future__ import annotations

import graphlib
from collections.abc import Callable
from dataclasses import dataclass

from specops.spec.folders import address
from specops.spec.models import Foreach, Spec, Stage, StageEntry
from specops.spec.pipeline import Instance, stage_graph
from specops.spec.problems import KeyPath
from specops.spec.runners import entries, runs_apart

#: How many stage names a job's display name lists before it says how many more.
NAMED_STAGES = 3
#: The prefix of every handover artifact's name, which the jobs after them download by.
HANDOVER = "specops-handover"


@dataclass(frozen=True)
class Job:
    """One job before the final pipeline job."""

    id: str  # its key under `jobs:`
    name: str  # what GitHub shows
    runs_on: list[str]
    #: The stages it reproduces, as `dvc repro` takes them (a matrix stage by its group name).
    targets: list[str]
    #: The ids of the jobs whose outputs it needs, after `check`.
    needs: list[str]
    #: A fan-out's stages as DVC generates them (`train@us`), one runner each; else empty.
    items: list[str]
    max_parallel: int | None = None

    @property
    def artifact(self) -> str:
        """The handover artifact's name; a fan-out adds each item's index to it."""
        return f"{HANDOVER}-{self.id}"


def _body(entry: StageEntry) -> Stage:
    return entry.do if isinstance(entry, Foreach) else entry


def _target(where: KeyPath) -> str:
    """The spec's stage as `dvc repro` addresses it from the spec's folder."""
    if where[0] == "pipelines":
        return address(str(where[1]), str(where[3]))
    return str(where[1])


def _same(a: list[str], b: list[str]) -> bool:
    """Whether two `runs-on` ask for the same runner: the labels it must all have."""
    return set(a) == set(b)


def needs_plan(spec: Spec) -> bool:
    """Whether any stage runs elsewhere than in the final pipeline job."""
    return any(runs_apart(spec, entry) for _, entry in entries(spec))


def plan(spec: Spec, insts: list[Instance]) -> list[Job]:
    """The jobs before the final pipeline job, in an order GitHub's `needs` allow; `insts`
    are the spec's concrete stages (folders.expand_all). None when no stage asks for a runner
    of its own."""
    stages = dict(entries(spec))
    order = {where: i for i, where in enumerate(stages)}

    def runner(where: KeyPath) -> list[str]:
        return _body(stages[where]).runs_on or spec.ci.runs_on

    def fans_out(where: KeyPath) -> bool:
        return _body(stages[where]).fan_out

    own = {w for w, entry in stages.items() if runs_apart(spec, entry)}
    if not own:
        return []
    of = {inst.name: inst.where for inst in insts}
    graph: dict[KeyPath, set[KeyPath]] = {where: set() for where in stages}
    for name, upstream in stage_graph(insts).items():
        graph[of[name]].update(of[u] for u in upstream if of[u] != of[name])
    wanted: set[KeyPath] = set()
    todo = list(own)
    while todo:
        where = todo.pop()
        if where not in wanted:
            wanted.add(where)
            todo += graph[where]
    sorter = graphlib.TopologicalSorter({w: graph[w] for w in wanted})
    sorter.prepare()
    groups: list[list[KeyPath]] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready(), key=order.__getitem__)
        for where in ready:
            last = groups[-1] if groups else None
            if (
                last is not None
                and not fans_out(where)
                and not fans_out(last[0])
                and _same(runner(last[0]), runner(where))
            ):
                last.append(where)
            else:
                groups.append([where])
        sorter.done(*ready)
    return _jobs(groups, graph, insts, runner, stages)


def _jobs(
    groups: list[list[KeyPath]],
    graph: dict[KeyPath, set[KeyPath]],
    insts: list[Instance],
    runner: Callable[[KeyPath], list[str]],
    stages: dict[KeyPath, StageEntry],
) -> list[Job]:
    job_of = {where: i for i, group in enumerate(groups) for where in group}
    jobs = []
    for i, group in enumerate(groups):
        upstream = {job_of[u] for where in group for u in graph[where]} - {i}
        targets = [_target(where) for where in group]
        body = _body(stages[group[0]])
        fan_out = body.fan_out
        shown = ", ".join(targets[:NAMED_STAGES])
        if len(targets) > NAMED_STAGES:
            shown += f" and {len(targets) - NAMED_STAGES} more"
        jobs.append(
            Job(
                id=f"stages-{i + 1}",
                name=f"Run {shown}",
                runs_on=runner(group[0]),
                targets=targets,
                needs=[f"stages-{j + 1}" for j in sorted(upstream)],
                items=[inst.name for inst in insts if inst.where == group[0]] if fan_out else [],
                max_parallel=body.max_parallel if fan_out else None,
            )
        )
    return jobs
