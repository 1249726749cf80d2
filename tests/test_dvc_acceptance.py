"""DVC accepts what specops renders: it reads every dvc.yaml as the spec means it, and runs it."""

from __future__ import annotations

import json
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.gitrepo import TINY_PROJECT, git, make_project, run


@dataclass(frozen=True)
class Case:
    """A spec and what DVC must make of the dvc.yaml rendered from it."""

    body: str  # specops.yaml below `maturity:`
    stages: dict[str, dict[str, Any]]  # DVC's own serialization of each stage, in dvc.yaml order
    edges: set[tuple[str, str]] = field(default_factory=set)
    params_yaml: str | None = None
    params: dict[str, dict[str, Any]] = field(default_factory=dict)  # stage -> values DVC reads
    artifacts: dict[str, dict[str, Any]] = field(default_factory=dict)
    datasets: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> DVC's spec
    plots: list[Any] = field(default_factory=list)  # top-level plots, resolved as DVC reads them
    extra: dict[str, str] = field(default_factory=dict)  # more files of the case's folder

    def files(self, name: str) -> dict[str, str]:
        spec = f"version: 1\nname: {name}\nmaturity: 0\n" + textwrap.dedent(self.body)
        files = {f"{name}/specops.yaml": spec}
        files |= {f"{name}/{path}": text for path, text in self.extra.items()}
        if self.params_yaml is not None:
            files[f"{name}/params.yaml"] = textwrap.dedent(self.params_yaml)
        return files


# Each case lives in its own folder of one repository, so that a single `dvc dag` and a single
# `dvc stage list` read them all: every DVC process costs about a second.
CASES: dict[str, Case] = {
    "plain": Case(
        """
        stages:
          prepare:
            desc: Split the raw data
            cmd: python prepare.py
            deps: [prepare.py, raw.csv]
            outs: [data/prepared]
          train:
            cmd: python train.py
            deps: [train.py, data/prepared]
            outs: [model.bin]
            always_changed: true
          report:
            cmd: python report.py
            deps: [model.bin]
            frozen: true
        """,
        stages={
            "prepare": {
                "desc": "Split the raw data",
                "cmd": "python prepare.py",
                "deps": ["prepare.py", "raw.csv"],
                "outs": ["data/prepared"],
            },
            "train": {
                "cmd": "python train.py",
                "deps": ["data/prepared", "train.py"],
                "outs": ["model.bin"],
                "always_changed": True,
            },
            "report": {"cmd": "python report.py", "deps": ["model.bin"], "frozen": True},
        },
        edges={("prepare", "train"), ("train", "report")},
    ),
    "list-cmd": Case(
        """
        stages:
          build:
            cmd:
              - python one.py
              - python two.py --flag "quoted value"
            outs: [built.txt]
        """,
        stages={
            "build": {
                "cmd": ["python one.py", 'python two.py --flag "quoted value"'],
                "outs": ["built.txt"],
            }
        },
    ),
    "out-options": Case(
        """
        stages:
          make:
            cmd: python make.py
            outs:
              - plain.bin
              - cache.bin: {cache: false, persist: true}
              - shared.bin: {remote: store, push: false, desc: Shared blob}
        """,
        stages={
            "make": {
                "cmd": "python make.py",
                "outs": [
                    {"cache.bin": {"cache": False, "persist": True}},
                    "plain.bin",
                    {"shared.bin": {"desc": "Shared blob", "remote": "store", "push": False}},
                ],
            }
        },
    ),
    "metrics-plots": Case(
        """
        stages:
          evaluate:
            cmd: python evaluate.py
            deps: [model.bin]
            metrics:
              - metrics/scores.json: {cache: false}
              - metrics/extra.json
            plots:
              - plots/roc.csv:
                  cache: false
                  x: fpr
                  y: tpr
                  template: linear
                  title: ROC curve
                  x_label: False positive rate
                  y_label: True positive rate
                  header: true
              - plots/loss.tsv
        """,
        stages={
            "evaluate": {
                "cmd": "python evaluate.py",
                "deps": ["model.bin"],
                "metrics": ["metrics/extra.json", {"metrics/scores.json": {"cache": False}}],
                "plots": [
                    "plots/loss.tsv",
                    {
                        "plots/roc.csv": {
                            "cache": False,
                            "x": "fpr",
                            "y": "tpr",
                            "template": "linear",
                            "title": "ROC curve",
                            "x_label": "False positive rate",
                            "y_label": "True positive rate",
                            "header": True,
                        }
                    },
                ],
            }
        },
    ),
    "matrix": Case(
        """
        stages:
          sweep:
            matrix:
              model: [rf, logreg]
            cmd: python train.py --model ${item.model}
            deps: [train.py]
            outs: ["models/${item.model}.bin"]
          compare:
            cmd: python compare.py
            deps: [models/rf.bin, models/logreg.bin]
        """,
        stages={
            "sweep@rf": {
                "cmd": "python train.py --model rf",
                "deps": ["train.py"],
                "outs": ["models/rf.bin"],
            },
            "sweep@logreg": {
                "cmd": "python train.py --model logreg",
                "deps": ["train.py"],
                "outs": ["models/logreg.bin"],
            },
            "compare": {
                "cmd": "python compare.py",
                "deps": ["models/logreg.bin", "models/rf.bin"],
            },
        },
        edges={("sweep@rf", "compare"), ("sweep@logreg", "compare")},
    ),
    # DVC names a boolean from `vars` by Python's str() (`True`), one written in the matrix
    # `true`; both are put into text as `true`.
    "matrix-from-vars": Case(
        """
        vars: [{flags: [true, 1.0], off: false}]
        stages:
          sweep:
            matrix:
              flag: ${flags}
              other: ["${off}", true]
            cmd: python train.py ${item.flag} ${item.other}
        """,
        stages={
            "sweep@True-False": {"cmd": "python train.py true false"},
            "sweep@True-true": {"cmd": "python train.py true true"},
            "sweep@1.0-False": {"cmd": "python train.py 1.0 false"},
            "sweep@1.0-true": {"cmd": "python train.py 1.0 true"},
        },
    ),
    "artifacts": Case(
        """
        stages:
          train:
            cmd: python train.py
            outs: [models/model.pkl, data/train.csv]
            metrics: [metrics.json]
        models:
          churn-clf:
            path: models/model.pkl
            desc: Churn classifier
            labels: [sklearn, tabular]
            metrics: metrics.json
          churn-data:
            path: data/train.csv
            type: dataset
        """,
        stages={
            "train": {
                "cmd": "python train.py",
                "outs": ["data/train.csv", "models/model.pkl"],
                "metrics": ["metrics.json"],
            }
        },
        artifacts={
            "churn-clf": {
                "path": "models/model.pkl",
                "type": "model",
                "desc": "Churn classifier",
                "labels": ["sklearn", "tabular"],
            },
            "churn-data": {"path": "data/train.csv", "type": "dataset"},
        },
    ),
    "toplevel": Case(
        """
        vars: [{model: rf, metric: acc, folder: data}]
        stages:
          train:
            matrix: {m: [rf, lr]}
            cmd: python train.py ${item.m}
            deps: [ds://raw-data, train.py]
            outs: ["models/${item.m}.pkl"]
        datasets:
          - name: raw-data
            url: https://github.com/iterative/dataset-registry
            type: dvc
            path: get-started/data.xml
            rev: main
          - {name: images, url: "s3://bucket/images", type: url}
          - {name: tables, url: "dc://tables@v2", type: dc}
        plots:
          - ${metric}:
              x: step
              y: {a.csv: "${metric}", b.csv: acc}
              title: Accuracy
              template: linear
          - roc:
              x: {a.csv: step}
              y: {b.csv: [acc]}
              x_label: Step
              y_label: Accuracy
          - curves/
          - c.csv:
        models:
          clf:
            path: models/${model}.pkl
        artifacts:
          raw:
            path: ${folder}/raw
            type: dataset
            desc: The raw data, tracked by data/raw.dvc
            labels: [raw]
            meta: {source: survey}
          images/all: {path: "s3://bucket/images"}
          ${model}-report: {path: "reports/${model}.html", type: report}
        """,
        stages={
            "train@rf": {
                "cmd": "python train.py rf",
                "deps": ["ds://raw-data", "train.py"],
                "outs": ["models/rf.pkl"],
            },
            "train@lr": {
                "cmd": "python train.py lr",
                "deps": ["ds://raw-data", "train.py"],
                "outs": ["models/lr.pkl"],
            },
        },
        artifacts={
            "clf": {"path": "models/rf.pkl", "type": "model"},
            "raw": {
                "path": "data/raw",
                "type": "dataset",
                "desc": "The raw data, tracked by data/raw.dvc",
                "labels": ["raw"],
                "meta": {"source": "survey"},
            },
            "images/all": {"path": "s3://bucket/images"},
            "rf-report": {"path": "reports/rf.html", "type": "report"},
        },
        datasets={
            "raw-data": {
                "name": "raw-data",
                "url": "https://github.com/iterative/dataset-registry",
                "type": "dvc",
                "path": "get-started/data.xml",
                "rev": "main",
            },
            "images": {"name": "images", "url": "s3://bucket/images", "type": "url"},
            "tables": {"name": "tables", "url": "dc://tables@v2", "type": "dc"},
        },
        plots=[
            {
                "acc": {
                    "x": "step",
                    "y": {"a.csv": "acc", "b.csv": "acc"},
                    "title": "Accuracy",
                    "template": "linear",
                }
            },
            {
                "roc": {
                    "x": {"a.csv": "step"},
                    "y": {"b.csv": ["acc"]},
                    "x_label": "Step",
                    "y_label": "Accuracy",
                }
            },
            "curves/",
            {"c.csv": None},
        ],
        extra={
            "a.csv": "step,acc\n0,0.5\n1,0.75\n",
            "b.csv": "step,acc\n0,0.25\n1,0.5\n",
            "c.csv": "x,y\n1,2\n",
            "curves/d.csv": "x,y\n3,4\n",
        },
    ),
    "params": Case(
        """
        stages:
          prepare:
            cmd: python prepare.py
            params: [prepare]
            outs: [data]
          train:
            cmd: python train.py
            deps: [data]
            params: [train.lr, train.layers.depth]
            outs: [model.bin]
        """,
        params_yaml="""
        prepare:
          split: 0.2
          seed: 7
        train:
          lr: 0.01
          epochs: 3
          layers:
            depth: 4
        """,
        stages={
            "prepare": {"cmd": "python prepare.py", "params": ["prepare"], "outs": ["data"]},
            "train": {
                "cmd": "python train.py",
                "deps": ["data"],
                "params": ["train.layers.depth", "train.lr"],
                "outs": ["model.bin"],
            },
        },
        edges={("prepare", "train")},
        params={
            "prepare": {"prepare": {"split": 0.2, "seed": 7}},
            "train": {"train.lr": 0.01, "train.layers.depth": 4},
        },
    ),
    "params-files": Case(
        """
        stages:
          train:
            cmd: python train.py
            params:
              - seed
              - config/train.yaml: [lr, layers.depth]
              - config/all.yaml:
            outs:
              - model.bin: {type: model, labels: [tabular, v2], meta: {owner: ml}, desc: Model}
            meta: {owner: ml-team, ticket: 42}
        params: [config/all.yaml]
        """,
        params_yaml="""
        seed: 7
        """,
        extra={
            "config/train.yaml": "lr: 0.1\nlayers: {depth: 3, width: 8}\n",
            "config/all.yaml": "a: 1\nb: {c: two}\n",
        },
        stages={
            "train": {
                "cmd": "python train.py",
                "params": [
                    "seed",
                    {"config/all.yaml": None},
                    {"config/train.yaml": ["layers.depth", "lr"]},
                ],
                "outs": [
                    {
                        "model.bin": {
                            "desc": "Model",
                            "type": "model",
                            "labels": ["tabular", "v2"],
                            "meta": {"owner": "ml"},
                        }
                    }
                ],
                "meta": {"owner": "ml-team", "ticket": 42},
            }
        },
        params={
            "train": {
                "seed": 7,
                "lr": 0.1,
                "layers.depth": 3,
                "a": 1,
                "b": {"c": "two"},
            }
        },
    ),
    "wdir": Case(
        """
        stages:
          build:
            wdir: sub
            cmd: python build.py
            deps: [build.py, ../shared.txt]
            params: [lr, {../conf.yaml: [depth]}]
            outs: [out.bin]
          use:
            cmd: python use.py
            deps: [sub/out.bin]
        """,
        extra={"sub/params.yaml": "lr: 0.5\n", "conf.yaml": "depth: 2\n"},
        stages={
            "build": {
                "wdir": "sub",
                "cmd": "python build.py",
                "deps": ["../shared.txt", "build.py"],
                "params": ["lr", {"../conf.yaml": ["depth"]}],
                "outs": ["out.bin"],
            },
            "use": {"cmd": "python use.py", "deps": ["sub/out.bin"]},
        },
        edges={("build", "use")},
        params={"build": {"lr": 0.5, "depth": 2}},
    ),
    "stage-vars": Case(
        """
        vars: [{opt: sgd}]
        stages:
          train:
            vars: [{lr: 0.1}, conf.yaml]
            wdir: sub
            cmd: python train.py --lr ${lr} --depth ${depth} --opt ${opt}
          sweep:
            vars: [{size: 3}]
            matrix: {m: [a, b]}
            cmd: run ${item.m} ${size}
        """,
        extra={"sub/conf.yaml": "depth: 4\n"},
        stages={
            "train": {"wdir": "sub", "cmd": "python train.py --lr 0.1 --depth 4 --opt sgd"},
            "sweep@a": {"cmd": "run a 3"},
            "sweep@b": {"cmd": "run b 3"},
        },
    ),
    "foreach-list": Case(
        """
        vars: [{flags: [true, false]}]
        stages:
          train:
            foreach: [us, eu, "on", 1.5, true]
            do:
              cmd: python train.py --region ${item}
              deps: [train.py]
              outs: ["models/${item}.bin"]
          compare:
            cmd: python compare.py
            deps: [models/us.bin, models/eu.bin]
          flag:  # from vars, DVC names a boolean item by Python's str()
            foreach: ${flags}
            do: {cmd: "python flag.py ${item}"}
        """,
        stages={
            "train@us": {
                "cmd": "python train.py --region us",
                "deps": ["train.py"],
                "outs": ["models/us.bin"],
            },
            "train@eu": {
                "cmd": "python train.py --region eu",
                "deps": ["train.py"],
                "outs": ["models/eu.bin"],
            },
            "train@on": {
                "cmd": "python train.py --region on",
                "deps": ["train.py"],
                "outs": ["models/on.bin"],
            },
            "train@1.5": {
                "cmd": "python train.py --region 1.5",
                "deps": ["train.py"],
                "outs": ["models/1.5.bin"],
            },
            "train@true": {
                "cmd": "python train.py --region true",
                "deps": ["train.py"],
                "outs": ["models/true.bin"],
            },
            "compare": {"cmd": "python compare.py", "deps": ["models/eu.bin", "models/us.bin"]},
            "flag@True": {"cmd": "python flag.py true"},
            "flag@False": {"cmd": "python flag.py false"},
        },
        edges={("train@us", "compare"), ("train@eu", "compare")},
    ),
    "foreach-mapping": Case(
        """
        vars:
          - sizes: [small, large]
        stages:
          tune:
            foreach: ${regions}
            do:
              vars: [{opt: adam}]
              wdir: ${key}
              cmd: python tune.py --lr ${item.lr} --opt ${opt} ${item.flags}
              params: ["regions.${key}.lr"]
              outs: [model.bin]
              metrics: ["../metrics/${key}.json"]
          report:
            foreach: ${sizes}
            do:
              cmd: python report.py ${item}
              deps: [us/model.bin, "metrics/${item}.json"]
          grid:
            foreach:
              - {depth: 3, trees: [1, 2]}
              - {depth: 5, trees: [3]}
            do:
              vars: [{key: k}]  # not DVC's in a list: `${key}` is only a mapping's
              cmd: python grid.py ${key} ${item.trees[0]}
              outs: ["grid/${item.depth}"]
        """,
        params_yaml="""
        regions:
          us: {lr: 0.1, flags: {fast: true}}
          eu: {lr: 0.2, flags: {fast: false}}
        """,
        extra={
            "us/params.yaml": "regions: {us: {lr: 0.3}}\n",
            "eu/params.yaml": "regions: {eu: {lr: 0.4}}\n",
        },
        stages={
            "tune@us": {
                "wdir": "us",
                "cmd": "python tune.py --lr 0.1 --opt adam --fast",
                "params": ["regions.us.lr"],
                "outs": ["model.bin"],
                "metrics": ["../metrics/us.json"],
            },
            "tune@eu": {
                "wdir": "eu",
                "cmd": "python tune.py --lr 0.2 --opt adam ",  # DVC drops a false flag
                "params": ["regions.eu.lr"],
                "outs": ["model.bin"],
                "metrics": ["../metrics/eu.json"],
            },
            "report@small": {
                "cmd": "python report.py small",
                "deps": ["metrics/small.json", "us/model.bin"],
            },
            "report@large": {
                "cmd": "python report.py large",
                "deps": ["metrics/large.json", "us/model.bin"],
            },
            "grid@0": {"cmd": "python grid.py k 1", "outs": ["grid/3"]},
            "grid@1": {"cmd": "python grid.py k 3", "outs": ["grid/5"]},
        },
        edges={("tune@us", "report@small"), ("tune@us", "report@large")},
        params={"tune@us": {"regions.us.lr": 0.3}, "tune@eu": {"regions.eu.lr": 0.4}},
    ),
}

# DVC's own reading of the repository: each stage as DVC would write it back to dvc.yaml, the
# parameter values it resolves, and the artifacts it finds.
READ_REPO = """
import json
import os

import attrs
from dvc.dependency import ParamsDependency
from dvc.repo import Repo
from dvc.repo.params.show import _collect_top_level_params
from dvc.stage.serialize import to_pipeline_file

def paths(items):
    # A dataset dependency (`ds://name`) has no path in the repository.
    return sorted(
        os.path.relpath(i.fs_path, repo.root_dir) if i.fs_path else i.def_path for i in items
    )

with Repo() as repo:
    stages, params, concrete = {}, {}, {}
    for stage in repo.index.stages:
        stages[stage.addressing] = to_pipeline_file(stage)[stage.name]
        deps = [d for d in stage.deps if not isinstance(d, ParamsDependency)]
        concrete[stage.addressing] = {
            "cmd": stage.cmd, "deps": paths(deps), "outs": paths(stage.outs)
        }
        values = {}
        for dep in stage.deps:
            if isinstance(dep, ParamsDependency):
                dep.get_hash()  # raises when a key is missing from params.yaml
                values.update(dep.read_params())
        if values:
            params[stage.addressing] = values
    artifacts = {
        path: {name: artifact.to_dict() for name, artifact in found.items()}
        for path, found in repo.artifacts.read().items()
    }
    top_params = sorted(_collect_top_level_params(repo))
    datasets = {}
    for name, dataset in repo.datasets.items():
        where = os.path.relpath(dataset.manifest_path, repo.root_dir)
        datasets.setdefault(where, {})[name] = attrs.asdict(dataset.spec)
    plots = {
        os.path.relpath(path, repo.root_dir): found for path, found in repo.index._plots.items()
    }
print(json.dumps({"stages": stages, "params": params, "artifacts": artifacts,
                  "top_params": top_params, "datasets": datasets, "plots": plots,
                  "concrete": concrete}))
"""

_NODE = re.compile(r'^"([^"]+)";$')
_EDGE = re.compile(r'^"([^"]+)" -> "([^"]+)";$')


@dataclass(frozen=True)
class DvcView:
    nodes: list[str]
    edges: set[tuple[str, str]]
    listed: list[str]
    read: dict[str, Any]
    stderr: str
    root: Path


@pytest.fixture(scope="module")
def dvc_view(tmp_path_factory: pytest.TempPathFactory) -> DvcView:
    files: dict[str, str] = {}
    for name, case in CASES.items():
        files |= case.files(name)
    root = make_project(tmp_path_factory.mktemp("acceptance"), files)
    dag = run(root, "dvc", "dag", "--dot")
    listed = run(root, "dvc", "stage", "list", "--all", "--fail", "--name-only")
    read = run(root, "python", "-c", READ_REPO)
    lines = [line.strip() for line in dag.stdout.splitlines()]
    return DvcView(
        nodes=[m.group(1) for m in map(_NODE.match, lines) if m],
        edges={(m.group(1), m.group(2)) for m in map(_EDGE.match, lines) if m},
        listed=listed.stdout.split(),
        read=json.loads(read.stdout),
        stderr=dag.stderr + listed.stderr + read.stderr,
        root=root,
    )


def _own(names: list[str], case: str) -> list[str]:
    prefix = f"{case}/dvc.yaml:"
    return [n.removeprefix(prefix) for n in names if n.startswith(prefix)]


@pytest.mark.parametrize("name", list(CASES))
def test_dvc_dag_and_stage_list_name_every_stage(dvc_view: DvcView, name: str) -> None:
    case = CASES[name]
    assert sorted(_own(dvc_view.nodes, name)) == sorted(case.stages)
    assert _own(dvc_view.listed, name) == list(case.stages)
    edges = {(a, b) for a, b in dvc_view.edges if a.startswith(f"{name}/")}
    assert {(_own([a], name)[0], _own([b], name)[0]) for a, b in edges} == case.edges


@pytest.mark.parametrize("name", list(CASES))
def test_dvc_reads_each_stage_as_the_spec_means_it(dvc_view: DvcView, name: str) -> None:
    case = CASES[name]
    read = dvc_view.read
    stages = {s: read["stages"].get(f"{name}/dvc.yaml:{s}") for s in case.stages}
    assert stages == case.stages
    params = {s: read["params"][a] for a in read["params"] for s in _own([a], name)}
    assert params == case.params
    assert read["artifacts"].get(f"{name}/dvc.yaml", {}) == case.artifacts
    assert read["datasets"].get(f"{name}/dvc.yaml", {}) == case.datasets
    assert read["plots"].get(f"{name}/dvc.yaml", []) == case.plots


def specops_expansion(folder: Path) -> dict[str, dict[str, Any]]:
    """Each concrete stage as specops expands the spec in `folder`: the same view of it as
    READ_REPO's `concrete`, paths relative to the repository's root (folder's parent)."""
    from specops.spec import load_spec
    from specops.spec.context import load_context
    from specops.spec.models import URL
    from specops.spec.pipeline import bodies, instances
    from specops.spec.resolve import Resolver

    project = load_spec(folder / "specops.yaml")
    spec, doc = project.spec, project.doc
    resolver = Resolver(spec, doc, folder, load_context(spec.vars, doc, folder), lambda *_: "")
    insts = {i.name: i for i in instances(spec, resolver.generate, resolver.text)}
    out: dict[str, dict[str, Any]] = {}
    for name, stage, _ in bodies(spec):
        for generated, bound in resolver.generate(name):
            inst = insts[generated]
            cmd = [resolver.text(name, c, "cmd", bound) for c in stage.cmd]
            out[f"{folder.name}/dvc.yaml:{generated}"] = {
                "cmd": cmd[0] if len(cmd) == 1 else cmd,
                "deps": sorted(p if URL.match(p) else f"{folder.name}/{p}" for p, _ in inst.deps),
                "outs": sorted(f"{folder.name}/{p}" for p, _ in inst.outs),
            }
    return out


@pytest.mark.parametrize("name", list(CASES))
def test_dvc_expands_each_stage_as_specops_does(dvc_view: DvcView, name: str) -> None:
    ours = specops_expansion(dvc_view.root / name)
    theirs = {k: v for k, v in dvc_view.read["concrete"].items() if k.startswith(f"{name}/")}
    assert list(ours) == list(theirs)
    assert ours == theirs


def test_dvc_finds_the_top_level_params_files(dvc_view: DvcView) -> None:
    assert dvc_view.read["top_params"] == ["params-files/config/all.yaml"]


def test_dvc_reads_the_whole_repository_without_a_warning(dvc_view: DvcView) -> None:
    everything = {f"{name}/dvc.yaml:{s}" for name, case in CASES.items() for s in case.stages}
    assert set(dvc_view.nodes) == everything
    assert set(dvc_view.listed) == everything
    assert dvc_view.stderr == ""


def test_dvc_repro_runs_the_rendered_pipeline_once(tmp_path: Path) -> None:
    root = make_project(tmp_path / "project", TINY_PROJECT)
    assert git(root, "ls-files", "dvc.yaml", ".github/workflows/specops-ci.yml").split() == [
        ".github/workflows/specops-ci.yml",
        "dvc.yaml",
    ]

    first = run(root, "dvc", "repro")
    assert "Running stage 'prepare'" in first.stdout
    assert "Running stage 'score'" in first.stdout
    assert (root / "runs.log").read_text() == "prepare\nscore\n"
    assert (root / "data/x.csv").read_text() == "i,x\n0,0.0\n1,2.5\n2,5.0\n3,7.5\n"
    scores = {"rows": 4, "mean": 3.75}
    assert json.loads((root / "metrics/scores.json").read_text()) == scores
    lock = yaml.safe_load((root / "dvc.lock").read_text())
    assert list(lock["stages"]) == ["prepare", "score"]
    assert lock["stages"]["prepare"]["params"] == {
        "params.yaml": {"prepare": {"rows": 4, "scale": 2.5}}
    }
    assert [o["path"] for o in lock["stages"]["prepare"]["outs"]] == ["data/x.csv"]
    assert [o["path"] for o in lock["stages"]["score"]["outs"]] == ["metrics/scores.json"]

    shown = json.loads(run(root, "dvc", "metrics", "show", "--json").stdout)
    # DVC keys the workspace as "".
    assert shown == {"": {"data": {"metrics/scores.json": {"data": scores}}}}

    locked = (root / "dvc.lock").read_bytes()
    second = run(root, "dvc", "repro")
    assert "Running stage" not in second.stdout
    assert "Stage 'prepare' didn't change, skipping" in second.stdout
    assert "Stage 'score' didn't change, skipping" in second.stdout
    assert (root / "runs.log").read_text() == "prepare\nscore\n"
    assert (root / "dvc.lock").read_bytes() == locked


def test_specops_init_scaffolds_a_project_dvc_reproduces(tmp_path: Path) -> None:
    root = tmp_path / "my-model"
    root.mkdir()
    created = run(root, "specops", "init").stdout
    for path in ("specops.yaml", "params.yaml", "src/train.py", "dvc.yaml"):
        assert f"created {path}\n" in created
    git(root, "init", "-q")
    run(root, "dvc", "init", "-q")

    repro = run(root, "dvc", "repro")
    assert "Running stage 'train'" in repro.stdout
    assert json.loads((root / "metrics/scores.json").read_text()) == {"accuracy": 0.75}
    assert (root / "models/model.json").is_file()
    lock = yaml.safe_load((root / "dvc.lock").read_text())
    assert lock["stages"]["train"]["params"] == {
        "params.yaml": {"train": {"seed": 42, "scale": 0.5}}
    }
    # Reproducing leaves the generated files as specops renders them.
    assert "up to date" in run(root, "specops", "render", "--check").stdout


def test_matrix_items_are_named_as_dvc_names_them(tmp_path: Path) -> None:
    from specops.spec import load_spec
    from specops.spec.resolve import expand

    spec = """\
version: 1
name: kinds
maturity: 0
stages:
  sweep:
    matrix:
      model: [rf, lr]
      n: [1, 20]
      rate: [0.5, 2.0, 1.0e-3]
      flag: [true, false]
      layers: [[64, 32], [8]]
      cfg: [{depth: 3}, {depth: 5, trees: 10}]
    cmd: python train.py ${item.model} ${item.n} ${item.rate} ${item.flag} ${item.cfg.depth}
"""
    root = make_project(tmp_path / "kinds", {"specops.yaml": spec})
    listed = run(root, "dvc", "stage", "list", "--name-only").stdout.split()
    project = load_spec(root / "specops.yaml")
    ours = [inst.name for inst in expand(project.spec, project.doc, root)]
    assert len(ours) == 2 * 2 * 3 * 2 * 2 * 2
    assert ours[:3] == [
        "sweep@rf-1-0.5-true-layers0-cfg0",
        "sweep@rf-1-0.5-true-layers0-cfg1",
        "sweep@rf-1-0.5-true-layers1-cfg0",
    ]
    assert ours == listed


def test_dvc_plots_show_draws_the_top_level_plots_over_their_files(dvc_view: DvcView) -> None:
    shown = run(dvc_view.root / "toplevel", "dvc", "plots", "show", "--json", "acc", "roc")
    assert shown.stderr == ""
    data = json.loads(shown.stdout)["data"]
    assert list(data) == ["acc", "roc"]
    (acc,) = data["acc"]
    points = [(v["filename"], v["step"], v["acc"]) for v in acc["content"]["data"]["values"]]
    assert points == [
        ("a.csv", "0", "0.5"),
        ("a.csv", "1", "0.75"),
        ("b.csv", "0", "0.25"),
        ("b.csv", "1", "0.5"),
    ]
    assert acc["content"]["title"]["text"] == "Accuracy"
    (roc,) = data["roc"]
    # x from a.csv, y from b.csv, joined row by row
    assert [(v["step"], v["acc"]) for v in roc["content"]["data"]["values"]] == [
        ("0", "0.25"),
        ("1", "0.5"),
    ]
    assert roc["content"]["encoding"]["x"]["title"] == "Step"


FOREACH_PROJECT = {
    "specops.yaml": """\
version: 1
name: regions
maturity: 2
stages:
  make:
    foreach: ${regions}
    do:
      cmd: python make.py ${key} ${item.rows}
      deps: [make.py]
      params: ["regions.${key}.rows"]
      outs: ["data/${key}.csv"]
  count:
    foreach: [us, eu]
    do:
      cmd: python count.py ${item}
      deps: [count.py, "data/${item}.csv"]
      metrics: [{"metrics/${item}.json": {cache: false}}]
""",
    "params.yaml": '{"regions": {"us": {"rows": 3}, "eu": {"rows": 2}}}\n',
    "make.py": """\
import pathlib
import sys

region, rows = sys.argv[1], int(sys.argv[2])
pathlib.Path("data").mkdir(exist_ok=True)
pathlib.Path(f"data/{region}.csv").write_text("".join(f"{region},{i}\\n" for i in range(rows)))
with open("runs.log", "a") as log:
    log.write(f"make {region}\\n")
""",
    "count.py": """\
import json
import pathlib
import sys

region = sys.argv[1]
rows = pathlib.Path(f"data/{region}.csv").read_text().splitlines()
pathlib.Path("metrics").mkdir(exist_ok=True)
pathlib.Path(f"metrics/{region}.json").write_text(json.dumps({"rows": len(rows)}))
with open("runs.log", "a") as log:
    log.write(f"count {region}\\n")
""",
    ".gitignore": "runs.log\n",
}


def test_dvc_repro_runs_a_foreach_pipeline_once(tmp_path: Path) -> None:
    root = make_project(tmp_path / "project", FOREACH_PROJECT)
    first = run(root, "dvc", "repro")
    for name in ("make@us", "make@eu", "count@us", "count@eu"):
        assert f"Running stage '{name}'" in first.stdout
    log = (root / "runs.log").read_text().splitlines()
    assert sorted(log) == ["count eu", "count us", "make eu", "make us"]
    assert log.index("make us") < log.index("count us")
    assert log.index("make eu") < log.index("count eu")
    assert json.loads((root / "metrics/us.json").read_text()) == {"rows": 3}
    assert json.loads((root / "metrics/eu.json").read_text()) == {"rows": 2}
    lock = yaml.safe_load((root / "dvc.lock").read_text())
    assert sorted(lock["stages"]) == ["count@eu", "count@us", "make@eu", "make@us"]
    assert lock["stages"]["make@us"]["params"] == {"params.yaml": {"regions.us.rows": 3}}

    second = run(root, "dvc", "repro")
    assert "Running stage" not in second.stdout
    assert len((root / "runs.log").read_text().splitlines()) == 4

    # One item's params change: only that item's stages run again.
    (root / "params.yaml").write_text('{"regions": {"us": {"rows": 5}, "eu": {"rows": 2}}}\n')
    third = run(root, "dvc", "repro")
    assert "Running stage 'make@us'" in third.stdout
    assert "Running stage 'count@us'" in third.stdout
    assert "Running stage 'make@eu'" not in third.stdout
    assert json.loads((root / "metrics/us.json").read_text()) == {"rows": 5}
