"""DVC reads the pipelines specops renders into folders as specops expands them, and the CI
workflow's `dvc repro` reproduces every one of them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from specops.spec import Spec, load_spec
from specops.spec.context import load_context
from specops.spec.folders import absolute, as_spec, folder, scoped
from specops.spec.pipeline import bodies, instances
from specops.spec.resolve import Resolver
from specops.spec.yamlfile import YamlDoc
from tests.gitrepo import git, make_project, run

SPEC = """\
version: 1
name: folders
maturity: 0
stages:
  summary:
    cmd: python summary.py ${lr}
    deps: [summary.py, cv/out.txt]
    outs: [summary.txt]
pipelines:
  nlp:
    vars: [conf.yaml]
    stages:
      make:
        foreach: ${langs}
        do:
          cmd: python ../make.py ${key} ${item.rows} ${lr}
          deps: [../make.py, "../${src}"]
          params: [lr]
          outs: ["data/${key}.txt"]
    artifacts:
      english: {path: data/en.txt, type: dataset}
  ./cv/:
    stages:
      use:
        wdir: work
        cmd: python ../../use.py ${depth}
        deps: [../../nlp/data/en.txt, ../../use.py]
        outs: [../out.txt]
  extra/deep:
    stages:
      alone:
        cmd: python ../../alone.py
        deps: [../../alone.py]
        outs: [alone.txt]
"""

FILES = {
    "specops.yaml": SPEC,
    "params.yaml": "lr: 0.5\n",
    "raw.txt": "raw\n",
    "nlp/params.yaml": "lr: 0.1\n",
    "nlp/conf.yaml": "src: raw.txt\nlangs: {en: {rows: 3}, de: {rows: 2}}\n",
    "cv/params.yaml": "depth: 4\n",
    "cv/work/.keep": "",
    "make.py": """\
import pathlib
import sys

lang, rows, lr = sys.argv[1], int(sys.argv[2]), sys.argv[3]
pathlib.Path("data").mkdir(exist_ok=True)
pathlib.Path(f"data/{lang}.txt").write_text("".join(f"{lang} {i} {lr}\\n" for i in range(rows)))
with open("../runs.log", "a") as log:
    log.write(f"make {lang}\\n")
""",
    "use.py": """\
import pathlib
import sys

lines = pathlib.Path("../../nlp/data/en.txt").read_text().splitlines()
pathlib.Path("../out.txt").write_text(f"{len(lines)} lines, depth {sys.argv[1]}\\n")
with open("../../runs.log", "a") as log:
    log.write("use\\n")
""",
    "summary.py": """\
import pathlib
import sys

text = pathlib.Path("cv/out.txt").read_text()
pathlib.Path("summary.txt").write_text(f"{text.strip()}, lr {sys.argv[1]}\\n")
with open("runs.log", "a") as log:
    log.write("summary\\n")
""",
    "alone.py": """\
import pathlib

pathlib.Path("alone.txt").write_text("alone\\n")
with open("../../runs.log", "a") as log:
    log.write("alone\\n")
""",
    ".gitignore": "runs.log\n",
}

READ_REPO = """
import json
import os
from dvc.dependency import ParamsDependency
from dvc.repo import Repo

def paths(items):
    return sorted(os.path.relpath(i.fs_path, repo.root_dir) for i in items)

with Repo() as repo:
    artifacts = {
        path: {name: artifact.to_dict() for name, artifact in found.items()}
        for path, found in repo.artifacts.read().items()
    }
    print(json.dumps({"artifacts": artifacts, "stages": {
        stage.addressing: {
            "cmd": stage.cmd,
            "deps": paths(d for d in stage.deps if not isinstance(d, ParamsDependency)),
            "outs": paths(stage.outs),
            "params": sorted(
                k for d in stage.deps if isinstance(d, ParamsDependency)
                for k in d.read_params()
            ),
        }
        for stage in repo.index.stages
    }}))
"""


def specops_view(root: Path) -> dict[str, dict[str, Any]]:
    """Each concrete stage as specops expands the spec: the same view as READ_REPO's."""
    project = load_spec(root / "specops.yaml")
    spec, doc = project.spec, project.doc
    views: list[tuple[Spec, YamlDoc, str | None, str | None]] = [(spec, doc, None, None)]
    views += [(as_spec(spec, k), scoped(doc, k), folder(k), k) for k in spec.pipelines]
    out: dict[str, dict[str, Any]] = {}
    for part, part_doc, where, key in views:
        ctx = load_context(part.vars, part_doc, root, where)
        resolver = Resolver(part, part_doc, root, ctx, lambda *_: "")
        insts = list(instances(part, resolver.generate, resolver.text))
        named = absolute(insts, key) if key is not None else insts
        by_name = dict(zip((i.name for i in insts), named, strict=True))
        for name, stage, _ in bodies(part):
            for generated, bound in resolver.generate(name):
                inst = by_name[generated]
                params = [
                    resolver.text(name, p, "params", bound)
                    for p in stage.params
                    if isinstance(p, str)
                ]
                out[inst.name] = {
                    "cmd": resolver.text(name, stage.cmd[0], "cmd", bound),
                    "deps": sorted(p for p, _ in inst.deps),
                    "outs": sorted(p for p, _ in inst.outs),
                    "params": sorted(str(p) for p in params),
                }
    return out


def test_dvc_sees_every_pipeline_as_specops_expands_it(tmp_path: Path) -> None:
    root = make_project(tmp_path / "repo", FILES)
    read = json.loads(run(root, "python", "-c", READ_REPO).stdout)
    assert read["artifacts"] == {
        "nlp/dvc.yaml": {"english": {"path": "data/en.txt", "type": "dataset"}}
    }
    theirs = read["stages"]
    # DVC lists the dvc.yaml files in the order it walks the folders.
    assert sorted(theirs) == [
        "cv/dvc.yaml:use",
        "extra/deep/dvc.yaml:alone",
        "nlp/dvc.yaml:make@de",
        "nlp/dvc.yaml:make@en",
        "summary",
    ]
    assert theirs["nlp/dvc.yaml:make@en"] == {
        "cmd": "python ../make.py en 3 0.1",  # the folder's params.yaml and vars, not the spec's
        "deps": ["make.py", "raw.txt"],
        "outs": ["nlp/data/en.txt"],
        "params": ["lr"],
    }
    assert theirs["cv/dvc.yaml:use"]["cmd"] == "python ../../use.py 4"
    assert specops_view(root) == theirs
    listed = run(root, "dvc", "stage", "list", "--all", "--name-only").stdout.split()
    assert listed == list(theirs)


def _reproduce_step(root: Path) -> str:
    """The command the CI workflow reproduces the pipelines with."""
    workflow = yaml.safe_load((root / ".github/workflows/specops-ci.yml").read_text())
    steps = workflow["jobs"]["pipeline"]["steps"]
    (step,) = [s for s in steps if s.get("name", "").startswith("Reproduce")]
    return str(step["run"])


def test_the_workflows_dvc_repro_reproduces_every_pipeline(tmp_path: Path) -> None:
    files = {**FILES, "specops.yaml": SPEC.replace("maturity: 0", "maturity: 2")}
    files["specops.yaml"] = files["specops.yaml"].replace(
        "    outs: [summary.txt]\n", "    outs: [summary.txt]\n    metrics: [m.json]\n"
    )
    files["summary.py"] += 'pathlib.Path("m.json").write_text("{}")\n'
    root = make_project(tmp_path / "repo", files)
    command = _reproduce_step(root)
    assert command == "dvc repro dvc.yaml nlp/dvc.yaml cv/dvc.yaml extra/deep/dvc.yaml"

    # Without targets, DVC reproduces the spec's own dvc.yaml and what it needs: not `alone`.
    plain = run(root, "dvc", "repro")
    assert "alone" not in plain.stdout
    assert (root / "runs.log").read_text() == "make en\nuse\nsummary\n"
    first = run(root, *command.split())
    assert "Running stage 'extra/deep/dvc.yaml:alone'" in first.stdout
    assert sorted((root / "runs.log").read_text().splitlines()[3:]) == ["alone", "make de"]
    assert (root / "summary.txt").read_text() == "3 lines, depth 4, lr 0.5\n"
    for lock in ("dvc.lock", "nlp/dvc.lock", "cv/dvc.lock", "extra/deep/dvc.lock"):
        assert (root / lock).is_file()
    nlp_lock = yaml.safe_load((root / "nlp/dvc.lock").read_text())
    assert sorted(nlp_lock["stages"]) == ["make@de", "make@en"]
    assert nlp_lock["stages"]["make@en"]["params"] == {"params.yaml": {"lr": 0.1}}

    again = run(root, *command.split())
    assert "Running stage" not in again.stdout
    # A change in one folder's params reruns that folder's stages and those that need them.
    (root / "nlp/params.yaml").write_text("lr: 0.2\n")
    third = run(root, *command.split())
    assert "Running stage 'nlp/dvc.yaml:make@en'" in third.stdout
    assert "Running stage 'extra/deep/dvc.yaml:alone'" not in third.stdout
    assert (root / "nlp/data/en.txt").read_text().startswith("en 0 0.2\n")


RELEASED = """\
version: 1
name: folders
maturity: 3
stages:
  report:
    cmd: cp nlp/scores.json report.json
    deps: [nlp/scores.json]
    outs: [report.json]
pipelines:
  nlp:
    stages:
      train:
        wdir: work
        cmd: python ../../train.py
        deps: [../../train.py]
        outs: [../model.txt]
        metrics: [{../scores.json: {cache: false}}]
models:
  clf:
    path: nlp/model.txt
    metrics: nlp/scores.json
gates:
  - metric: rows
    min: 1
promotion:
  stages: [production]
deploy:
  production:
    cmd: echo deployed
"""

TRAIN = """\
import json
import pathlib

pathlib.Path("../model.txt").write_text("weights\\n")
pathlib.Path("../scores.json").write_text(json.dumps({"rows": 3}))
"""


def test_a_model_made_in_a_pipeline_is_promoted_fetched_and_deployed(tmp_path: Path) -> None:
    files = {"specops.yaml": RELEASED, "train.py": TRAIN, "nlp/work/.keep": ""}
    root = make_project(tmp_path / "repo", files)
    run(root, "dvc", "repro", "-q", "dvc.yaml", "nlp/dvc.yaml")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "Reproduce")
    run(root, "specops", "promote", "clf", "--to", "production")
    lock = yaml.safe_load((root / "nlp/dvc.lock").read_text())
    # Recorded relative to the stage's folder, nlp/work.
    (out,) = [o for o in lock["stages"]["train"]["outs"] if o["path"] == "../model.txt"]

    fetched = json.loads(
        run(root, "specops", "fetch", "clf", "--stage", "production", "--format", "json").stdout
    )
    assert (fetched["md5"], fetched["source"]) == (out["md5"], "cache")
    assert Path(fetched["path"]).read_text() == "weights\n"
    args = ["deploy", "clf", "--stage", "production", "--dry-run", "--format", "json"]
    deployed = json.loads(run(root, "specops", *args).stdout)
    assert deployed["status"] == "dry-run"
    assert {c["name"]: c["verdict"] for c in deployed["checks"]}["evidence"] == "pass"
