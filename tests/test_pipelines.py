"""`pipelines`: a dvc.yaml per folder, checked as one repository and written like any generated
file. What DVC makes of them is in test_dvc_pipelines.py."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from specops.commands import render
from specops.generators import render as render_files
from specops.generators.header import header
from specops.spec import SpecError, parse_spec
from specops.spec.folders import expand_all
from specops.spec.metrics_files import project_metrics_files
from specops.writer import Action
from tests.specerrors import spec_errors

HEAD = "version: 1\nname: repo\nmaturity: 0\n"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "nlp").mkdir()
    (tmp_path / "params.yaml").write_text("lr: 1\n")
    (tmp_path / "nlp/params.yaml").write_text("lr: 2\nrate: 3\n")
    return tmp_path


def errors(body: str, root: Path) -> list[str]:
    return spec_errors("repo", body, root)


def test_a_pipeline_resolves_in_its_folder(root: Path) -> None:
    (root / "nlp/conf.yaml").write_text("extra: 5\n")
    body = """\
        stages:
          a: {cmd: "run ${lr}"}
        pipelines:
          nlp/:
            vars: [conf.yaml]
            stages:
              train:
                foreach: [x, y]
                do:
                  cmd: "run ${lr} ${rate} ${extra} ${item}"
                  params: [lr, rate]
                  deps: [../shared.txt]
                  outs: ["${item}.bin"]
        """
    spec, doc = parse_spec("specops.yaml", (HEAD + textwrap.dedent(body)).encode(), root)
    insts = expand_all(spec, doc, root)
    assert [
        (i.name, i.deps[0][0] if i.deps else None, i.outs[0][0] if i.outs else None) for i in insts
    ] == [
        ("a", None, None),
        ("nlp/dvc.yaml:train@x", "shared.txt", "nlp/x.bin"),
        ("nlp/dvc.yaml:train@y", "shared.txt", "nlp/y.bin"),
    ]
    body = body.replace("${extra}", "${extr}").replace("rate]", "rate, seed]")
    assert errors(body, root) == [
        "specops.yaml:13:16: error: pipelines.nlp/.stages.train.do.cmd: "
        "cannot resolve '${extr}': 'extr' is not defined; did you mean 'extra'?",
        "specops.yaml:14:30: error: pipelines.nlp/.stages.train.do.params[2]: "
        "'seed' is not a key of nlp/params.yaml",
    ]


def test_each_pipeline_has_its_own_params_and_vars(root: Path) -> None:
    body = """\
        stages:
          a: {cmd: "run ${rate}"}
        pipelines:
          nlp:
            vars: [missing.yaml]
            stages:
              a: {cmd: run, params: [{../params.yaml: [lr, rate]}]}
        """
    assert errors(body, root) == [
        "specops.yaml:5:12: error: stages.a.cmd: cannot resolve '${rate}': 'rate' is not defined",
        "specops.yaml:8:12: error: pipelines.nlp.vars[0]: 'nlp/missing.yaml' does not exist",
        "specops.yaml:10:52: error: pipelines.nlp.stages.a.params[0].../params.yaml[1]: "
        "'rate' is not a key of nlp/../params.yaml",
    ]
    body = body.replace("vars: [missing.yaml]", "vars: []").replace("${rate}", "${lr}")
    assert errors(body, root) == [
        "specops.yaml:10:52: error: pipelines.nlp.stages.a.params[0].../params.yaml[1]: "
        "'rate' is not a key of nlp/../params.yaml",
    ]
    (root / "nlp/params.yaml").unlink()
    body = body.replace("{../params.yaml: [lr, rate]}", "lr")
    assert errors(body, root) == [
        "specops.yaml:10:30: error: pipelines.nlp.stages.a.params[0]: "
        "nlp/params.yaml does not exist",
    ]


def test_folders_stay_in_the_repository_and_apart(root: Path) -> None:
    body = """\
        stages:
          a: {cmd: run}
        pipelines:
          ../out: {stages: {a: {cmd: run}}}
          ./: {stages: {a: {cmd: run}}}
          .dvc/x: {stages: {a: {cmd: run}}}
          nlp: {stages: {a: {cmd: run}}}
          ./nlp/: {stages: {a: {cmd: run}}}
          a/b: {stages: {a: {cmd: run}}}
        """
    assert errors(body, root) == [
        "specops.yaml:7:3: error: pipelines.../out: '../out' leaves the repository through '..'",
        "specops.yaml:8:3: error: pipelines../: "
        "names the spec's own folder, whose dvc.yaml the top-level stages make",
        "specops.yaml:9:3: error: pipelines..dvc/x: "
        "'.dvc/x' is inside '.dvc', which only Git, DVC and specops write to",
        "specops.yaml:11:3: error: pipelines../nlp/: './nlp/' is the folder 'nlp' again (line 10)",
    ]
    assert errors(body.replace("a/b", "a b"), root)[-1] == (
        "specops.yaml:12:3: error: pipelines.a b: "
        "'a b' does not match the pattern ^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*/?$"
    )


def test_a_folder_that_dvc_repro_would_read_as_an_option_is_refused(root: Path) -> None:
    body = """\
        stages:
          a: {cmd: run}
        pipelines:
          -x: {stages: {a: {cmd: run}}}
          nlp/../--all: {stages: {a: {cmd: run}}}
          nlp/-x: {stages: {a: {cmd: run}}}
        """
    assert errors(body, root) == [
        "specops.yaml:7:3: error: pipelines.-x: '-x' starts with '-', which `dvc repro -x/dvc.yaml`"
        " would read as an option",
        "specops.yaml:8:3: error: pipelines.nlp/../--all: '--all' starts with '-', which"
        " `dvc repro --all/dvc.yaml` would read as an option",
    ]


def test_a_folder_reached_through_a_link_or_a_file_is_refused(root: Path) -> None:
    (root / "real").mkdir()
    (root / "cv").symlink_to("real")
    (root / "up").symlink_to(".")
    (root / "nlp/sub").symlink_to("..")
    (root / "file.txt").write_text("x")
    body = """\
        stages:
          a: {cmd: run}
        pipelines:
          cv: {stages: {a: {cmd: run}}}
          up: {stages: {a: {cmd: run}}}
          nlp/sub/x: {stages: {a: {cmd: run}}}
          file.txt/x: {stages: {a: {cmd: run}}}
          real: {stages: {a: {cmd: run}}}
        """
    link = (
        "is a symbolic link; DVC finds a dvc.yaml only where the link points, and `dvc repro`"
        " fails on one reached through it"
    )
    assert errors(body, root) == [
        f"specops.yaml:7:3: error: pipelines.cv: 'cv' {link}",
        f"specops.yaml:8:3: error: pipelines.up: 'up' {link}",
        f"specops.yaml:9:3: error: pipelines.nlp/sub/x: 'nlp/sub' {link}",
        "specops.yaml:10:3: error: pipelines.file.txt/x: 'file.txt' is a file, not a folder",
    ]


def test_a_pipeline_may_not_be_in_an_output(root: Path) -> None:
    body = """\
        stages:
          a: {cmd: run, outs: [data, nlp/dvc.yaml]}
        pipelines:
          data/nlp: {stages: {a: {cmd: run}}}
          nlp: {stages: {a: {cmd: run, outs: [dvc.lock]}}}
        """
    assert errors(body, root) == [
        "specops.yaml:5:30: error: stages.a.outs[1]: 'nlp/dvc.yaml' is a DVC file, which DVC"
        " takes as neither a dep nor an out",
    ]
    body = body.replace(", nlp/dvc.yaml", "")
    assert errors(body, root) == [
        "specops.yaml:7:3: error: pipelines.data/nlp: 'data/nlp' is inside 'data', an out of"
        " stage 'a'; DVC does not look for a dvc.yaml in an output",
        "specops.yaml:8:39: error: pipelines.nlp.stages.a.outs[0]: "
        "'nlp/dvc.lock' is the dvc.lock of the pipeline 'nlp'",
    ]


def test_outs_and_cycles_span_every_pipeline(root: Path) -> None:
    body = """\
        stages:
          a: {cmd: run, outs: [nlp/x]}
        pipelines:
          nlp:
            stages:
              a: {cmd: run, outs: [x]}
          cv:
            stages:
              a: {cmd: run, deps: [../nlp/x], outs: [y]}
        """
    assert errors(body, root) == [
        "specops.yaml:9:28: error: pipelines.nlp.stages.a.outs[0]: "
        "'nlp/x' is also an out of stage 'a'",
    ]
    body = """\
        stages:
          a: {cmd: run, deps: [cv/y], outs: [a.txt]}
        pipelines:
          cv:
            stages:
              b: {cmd: run, deps: [../a.txt], outs: [y]}
        """
    assert errors(body, root) == [
        "specops.yaml:5:3: error: stages.a: the pipeline has a cycle: a -> cv/dvc.yaml:b -> a"
    ]
    body = body.replace("deps: [cv/y], ", "")
    body = body.replace("b: {cmd: run, deps: [../a.txt], outs: [y]}", "b: {cmd: run, outs: [y]}")
    body += "      c: {cmd: run, deps: [y, ../z], outs: [../z]}\n"
    assert errors(body, root) == [
        "specops.yaml:10:7: error: pipelines.cv.stages.c: "
        "the pipeline has a cycle: cv/dvc.yaml:c -> cv/dvc.yaml:c"
    ]


def test_the_limits_hold_for_all_pipelines_together(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from specops.spec import pipeline

    monkeypatch.setattr(pipeline, "MAX_STAGES", 3)
    body = """\
        stages:
          a: {cmd: run}
          b: {cmd: run}
        pipelines:
          nlp:
            stages:
              a: {foreach: [x, y], do: {cmd: run}}
        """
    assert errors(body, root) == [
        "specops.yaml:9:5: error: pipelines.nlp.stages: the stages and their matrices make 2"
        " stages, and those before them 2; at most 3 are allowed in all"
    ]


def test_models_and_gates_name_files_of_any_pipeline(root: Path) -> None:
    body = """\
        stages:
          a: {cmd: run}
        pipelines:
          nlp:
            stages:
              a: {cmd: run, outs: [model.pkl], metrics: [m.json]}
            metrics: [extra.json]
        models:
          m:
            path: nlp/model.pkl
            metrics: nlp/m.json
        gates:
          - metric: nlp/extra.json:x
            min: 1
          - metric: m.json:x
            min: 1
        """
    assert errors(body, root) == [
        "specops.yaml:18:13: error: gates[1].metric: "
        "'m.json' is not a metrics file of any stage; did you mean 'nlp/m.json'?"
    ]
    valid = body.replace("          - metric: m.json:x\n            min: 1\n", "")
    spec, doc = parse_spec("specops.yaml", (HEAD + textwrap.dedent(valid)).encode(), root)
    assert project_metrics_files(spec, doc, root) == ["nlp/m.json", "nlp/extra.json"]


SPEC = """\
version: 1
name: repo
maturity: 1
stages:
  a: {cmd: run, outs: [a.txt]}
pipelines:
  nlp:
    vars: [{size: 2}]
    stages:
      train: {cmd: "train ${size}", deps: [../a.txt], outs: [model.bin]}
    metrics: [m.json]
  ./cv/:
    stages:
      b: {cmd: run}
"""


def test_each_pipeline_is_rendered_in_its_folder(root: Path) -> None:
    spec, _ = parse_spec("specops.yaml", SPEC.encode(), root)
    files = {f.path: f.text for f in render_files(spec, "specops.yaml")}
    assert list(files) == [
        "dvc.yaml",
        "nlp/dvc.yaml",
        "cv/dvc.yaml",
        ".github/workflows/specops-ci.yml",
    ]
    assert files["dvc.yaml"].startswith(
        header("specops.yaml") + "# Also generated from it: nlp/dvc.yaml cv/dvc.yaml\nstages:\n"
    )
    assert files["nlp/dvc.yaml"] == header("specops.yaml") + textwrap.dedent(
        """\
        vars:
        - size: 2
        stages:
          train:
            cmd: train ${size}
            deps:
            - ../a.txt
            outs:
            - model.bin
        metrics:
        - m.json
        """
    )


def test_a_pipeline_dropped_from_the_spec_is_removed_when_it_is_ours(root: Path) -> None:
    (root / "specops.yaml").write_text(SPEC)
    render(root / "specops.yaml")
    assert (root / "cv/dvc.yaml").read_text().startswith(header("specops.yaml"))
    (root / "specops.yaml").write_text(
        SPEC.replace("  ./cv/:\n    stages:\n      b: {cmd: run}\n", "")
    )
    checked = render(root / "specops.yaml", check=True)
    assert [(c.path, c.action) for c in checked.stale] == [
        ("dvc.yaml", Action.UPDATE),
        ("cv/dvc.yaml", Action.DELETE),
    ]
    render(root / "specops.yaml")
    assert not (root / "cv/dvc.yaml").exists()
    assert "Also generated from it: nlp/dvc.yaml\n" in (root / "dvc.yaml").read_text()
    # One the user has taken over is theirs: it stays.
    (root / "nlp/dvc.yaml").write_text("stages: {}\n")
    (root / "specops.yaml").write_text(SPEC.split("pipelines:")[0])
    assert [(c.path, c.action) for c in render(root / "specops.yaml").stale] == [
        ("dvc.yaml", Action.UPDATE),
    ]
    assert (root / "nlp/dvc.yaml").read_text() == "stages: {}\n"


def test_a_foreign_dvc_yaml_in_a_folder_is_refused(root: Path) -> None:
    (root / "nlp/dvc.yaml").write_text("stages: {}\n")
    (root / "specops.yaml").write_text(SPEC)
    with pytest.raises(SpecError) as caught:
        render(root / "specops.yaml")
    assert caught.value.lines() == [
        "nlp/dvc.yaml: error: exists and was not generated by specops;"
        " move it away, then render again"
    ]
    assert not (root / "dvc.yaml").exists()


def test_a_forged_list_of_pipelines_removes_nothing_else(root: Path) -> None:
    (root / "specops.yaml").write_text(SPEC.split("pipelines:")[0])
    (root / "outside").mkdir()
    ours = header("specops.yaml") + "stages: {}\n"
    for path in ("other/dvc.yaml", "other/params.yaml"):
        (root / path).parent.mkdir(exist_ok=True)
        (root / path).write_text(ours)
    forged = header("specops.yaml") + "# Also generated from it: other/params.yaml ../x/dvc.yaml\n"
    (root / "dvc.yaml").write_text(forged)
    changes = render(root / "specops.yaml").stale
    assert [c.path for c in changes if c.action is Action.DELETE] == []
    assert (root / "other/params.yaml").exists()


def test_a_pipelines_plots_datasets_and_artifacts_are_its_own(root: Path) -> None:
    body = """\
        stages:
          a: {cmd: run, deps: ["ds://images"]}
        datasets:
          - {name: images, type: url, url: "s3://bucket/images"}
        pipelines:
          nlp:
            stages:
              b: {cmd: run, deps: ["ds://images", "ds://texts", "ds://txts"]}
            datasets:
              - {name: texts, type: url, url: "s3://bucket/texts"}
              - {name: images, type: url, url: "s3://bucket/other"}
            plots:
              - ../../out.csv
              - acc: {y: {../train.csv: acc}}
            artifacts:
              data: {path: ../../data}
              remote: {path: "s3://bucket/model"}
        """
    assert errors(body, root) == [
        "specops.yaml:11:57: error: pipelines.nlp.stages.b.deps[2]: "
        "'ds://txts' names no dataset of `datasets`; did you mean 'texts'?",
        "specops.yaml:14:16: error: pipelines.nlp.datasets[1].name: 'images' is also the name of"
        " a dataset of dvc.yaml; DVC keeps one dataset per name in the repository",
        "specops.yaml:16:9: error: pipelines.nlp.plots[0]: "
        "'nlp/../../out.csv' leaves the repository through '..'",
        "specops.yaml:19:20: error: pipelines.nlp.artifacts.data.path: "
        "'nlp/../../data' leaves the repository through '..'",
    ]
    valid = (
        body.replace(', "ds://txts"', "")
        .replace('              - {name: images, type: url, url: "s3://bucket/other"}\n', "")
        .replace("../../out.csv", "out.csv")
        .replace("../../data", "data")
    )
    spec, _ = parse_spec("specops.yaml", (HEAD + textwrap.dedent(valid)).encode(), root)
    files = {f.path: f.text for f in render_files(spec, "specops.yaml")}
    assert files["nlp/dvc.yaml"].split("\n", 2)[2] == textwrap.dedent(
        """\
        datasets:
        - name: texts
          url: s3://bucket/texts
          type: url
        stages:
          b:
            cmd: run
            deps:
            - ds://images
            - ds://texts
        plots:
        - out.csv
        - acc:
            y:
              ../train.csv: acc
        artifacts:
          data:
            path: data
          remote:
            path: s3://bucket/model
        """
    )


#: Runs `specops render` and kills it (SIGKILL) at its Nth rename, replace or removal.
_KILLED_AT = """\
import os, signal, sys
from pathlib import Path
from specops.commands import render
calls = 0
def killing(real):
    def call(*args, **kwargs):
        global calls
        calls += 1
        if calls == int(sys.argv[1]):
            os.kill(os.getpid(), signal.SIGKILL)
        return real(*args, **kwargs)
    return call
os.rename, os.replace, os.unlink = (killing(f) for f in (os.rename, os.replace, os.unlink))
render(Path("specops.yaml").resolve())
"""


def test_a_render_killed_at_any_point_leaves_whole_files_that_the_next_one_cleans_up(
    root: Path,
) -> None:
    import subprocess
    import sys

    dropped = SPEC.replace("  ./cv/:\n    stages:\n      b: {cmd: run}\n", "")
    dropped = dropped.replace("train ${size}", "train ${size} again")
    (root / "specops.yaml").write_text(SPEC)
    render(root / "specops.yaml")
    before = {p: (root / p).read_text() for p in ("dvc.yaml", "nlp/dvc.yaml", "cv/dvc.yaml")}
    spec, _ = parse_spec("specops.yaml", dropped.encode(), root)
    after = {f.path: f.text for f in render_files(spec, "specops.yaml")} | {"cv/dvc.yaml": None}
    kill = 0
    while True:
        kill += 1
        (root / "specops.yaml").write_text(dropped)
        run = subprocess.run([sys.executable, "-c", _KILLED_AT, str(kill)], cwd=root)
        for path, old in before.items():
            text = (root / path).read_text() if (root / path).exists() else None
            assert text in (old, after[path]), (kill, path)
        if run.returncode == 0:
            break
        assert run.returncode == -9
        render(root / "specops.yaml")
        assert sorted(p.name for p in root.rglob("*.specops-tmp")) == [], kill
        assert render(root / "specops.yaml", check=True).stale == []
        (root / "specops.yaml").write_text(SPEC)  # back to the start for the next kill
        render(root / "specops.yaml")
    assert kill > 3
