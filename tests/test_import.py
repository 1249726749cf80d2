"""`specops import`: the spec it writes, where its problems point, and what it refuses."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from specops import commands, importing, writer
from specops.cli import main
from specops.spec import SpecError
from tests.conftest import build_tree
from tests.dvcsnapshot import differences, snapshot
from tests.gitrepo import git


def project(root: Path, files: dict[str, str], *, scm: bool = True) -> Path:
    """A DVC repository with `files` (committed when `scm`); `.dvc` as `dvc init` makes it,
    without a DVC process."""
    build_tree(root, files)
    (root / ".dvc").mkdir(exist_ok=True)
    (root / ".dvc" / "config").write_text("" if scm else "[core]\n    no_scm = True\n")
    (root / ".dvc" / ".gitignore").write_text("/config.local\n/tmp\n/cache\n")
    if scm:
        git(root, "init", "-q")
        git(root, "add", "-A")
        git(root, "commit", "-q", "-m", "A DVC project")
    return root


def problems(exc: pytest.ExceptionInfo[SpecError]) -> list[str]:
    return [str(p) for p in exc.value.problems]


def untouched(root: Path, files: dict[str, str]) -> None:
    """Nothing was written: no spec, and every file holds what it held."""
    assert not (root / "specops.yaml").exists()
    for path, text in files.items():
        assert (root / path).read_text() == textwrap.dedent(text).lstrip("\n"), path
    assert not list(root.rglob("*.specops-tmp"))


# A project with most of what a dvc.yaml holds that specops renders today.
DVC_YAML = """\
vars:
  - config/sweep.yaml
  - {data: data/prepared}
stages:
  prepare:
    desc: Split the raw data
    cmd: [python prepare.py]
    deps: [prepare.py, raw.csv]
    params: [prepare.split, {config/extra.json: [seed]}]
    outs:
      - ${data}
      - cache.db: {cache: false, persist: true}
      - shared.bin: {remote: store, push: false, desc: Shared, type: model, labels: [a]}
      - annotated.bin: {meta: {k: 1}}
  sweep:
    matrix:
      model: ${models}
      depth: [3, 5]
    cmd:
      - python train.py --model ${item.model} --depth ${item.depth}
      - echo done
    deps: [train.py, "${data}"]
    outs: ["models/${item.model}-${item.depth}.bin"]
    frozen: false
  evaluate:
    wdir: eval
    vars: [{threshold: 0.5}]
    cmd: python evaluate.py --threshold ${threshold}
    deps: [../models]
    params: [lr]
    metrics: [{scores.json: {cache: false}}]
    plots:
      - roc.csv: {x: fpr, y: tpr, title: ROC, template: linear, header: true}
      - loss.tsv
    always_changed: true
    meta: {owner: ml}
metrics: [latency.json]
params: [config/serve.yaml]
plots:
  - eval/roc.csv
  - Loss:
      x: step
      y: {eval/train.csv: loss, eval/test.csv: [loss, acc]}
      title: Loss
datasets:
  - {name: dogs, type: dvc, url: "git@github.com:example/registry.git", path: dogs, rev: v1}
artifacts:
  sweep-model:
    path: models/rf-3.bin
    type: model
    labels: [rf]
  raw-data: {path: "s3://bucket/raw.csv", desc: The raw data}
"""
FILES = {
    "dvc.yaml": DVC_YAML,
    "params.yaml": "prepare: {split: 0.2}\n",
    "config/sweep.yaml": "models: [rf, lr]\n",
    "config/extra.json": '{"seed": 7}\n',
    "config/serve.yaml": "port: 8000\n",
    "eval/params.yaml": "lr: 0.1\n",
}


def test_the_spec_holds_the_dvc_yaml_and_dvc_reads_the_same(tmp_path: Path) -> None:
    root = project(tmp_path / "Churn Model_2", FILES)
    before = snapshot(root, status=False)

    result = commands.import_(root / "specops.yaml")

    assert differences(before, snapshot(root, status=False)) == []
    assert result.name == "churn-model-2"
    assert [(i.path, i.stages, i.comments) for i in result.imported] == [("dvc.yaml", 3, 0)]
    assert [(c.path, c.action.value) for c in result.changes] == [
        ("specops.yaml", "create"),
        ("dvc.yaml", "update"),
    ]
    # The spec's own keys, then the dvc.yaml as it was written.
    spec = (root / "specops.yaml").read_text()
    assert spec == "version: 1\nname: churn-model-2\nmaturity: 0\n\n" + DVC_YAML
    assert result.as_written
    assert commands.render(root / "specops.yaml", check=True).stale == []


COMMENTED = """\
# Pipeline of the churn model.
# Owner: data team
stages:   # every stage
  # Cleans the raw data
  clean:
    # the script reads raw.csv
    cmd: |
      # a shell comment, part of the command
      python clean.py '#not a comment'
    deps:
      - clean.py   # the script
      # the data
      - "raw#1.csv"
    outs: [clean.csv, # flow comment
      other.csv]
  train: {cmd: "python train.py # quoted"}  # trailing
# after everything
"""


def test_comments_stay_where_they_are_in_the_spec(tmp_path: Path) -> None:
    root = project(tmp_path / "p", {"dvc.yaml": COMMENTED.replace("\n", "\r\n")})
    result = commands.import_(root / "specops.yaml")
    assert [i.comments for i in result.imported] == [10]
    assert result.as_written
    spec = (root / "specops.yaml").read_text()
    assert spec == "version: 1\nname: p\nmaturity: 0\n\n" + COMMENTED  # and `\n` line breaks
    assert (root / "dvc.yaml").read_text().count("#") == 6  # the header's two, four in values


def test_comments_move_above_what_they_were_next_to_when_the_data_is_dumped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A dvc.yaml that cannot be set into the spec as it is (here, a document marker) is
    dumped from its data, and its comments moved above the keys and items they were next to."""
    root = project(tmp_path / "p", {"dvc.yaml": "---\n" + COMMENTED})
    assert main(["import", "--spec", str(root / "specops.yaml")]) == 0
    assert capsys.readouterr().out.splitlines()[2] == (
        f"comments moved to {root / 'specops.yaml'}, above the key or item each was next to:"
        " rendered files keep none"
    )
    assert (root / "specops.yaml").read_text() == textwrap.dedent(
        """\
        version: 1
        name: p
        maturity: 0

        # Pipeline of the churn model.
        # Owner: data team
        # every stage
        stages:
          # Cleans the raw data
          clean:
            # the script reads raw.csv
            cmd: |
              # a shell comment, part of the command
              python clean.py '#not a comment'
            deps:
            # the script
            - clean.py
            # the data
            - raw#1.csv
            # flow comment
            outs:
            - clean.csv
            - other.csv
          # trailing
          train:
            cmd: 'python train.py # quoted'
        # after everything
        """
    )


@pytest.mark.parametrize(
    ("dvc_yaml", "expected"),
    [
        (  # a key DVC itself refuses, with the closest one suggested
            "stages:\n  train:\n    cmd: python train.py\n    dep: [train.py]\n",
            "dvc.yaml:4:5: error: stages.train.dep: not a dvc.yaml key: DVC refuses it;"
            " did you mean 'deps'?",
        ),
        (  # the spec's own checks, at the node of the dvc.yaml they are about
            "stages:\n  train:\n    cmd: python train.py\n    outs: [../model.bin]\n",
            "dvc.yaml:4:12: error: stages.train.outs[0]: '../model.bin' leaves the repository"
            " through '..'",
        ),
        (  # in flow style too: positions are found by key path, not by line
            "stages: {a: {cmd: x, outs: [o.bin]}, b: {outs: [o.bin]}}\n",
            "dvc.yaml:1:41: error: stages.b.cmd: required key is missing",
        ),
        (  # params keys are looked up in params.yaml, as DVC will
            "stages:\n  a:\n    cmd: x\n    params: [lr]\n",
            "dvc.yaml:4:14: error: stages.a.params[0]: 'lr' is not a key of params.yaml",
        ),
        (  # an option DVC accepts and specops does not
            "stages:\n  a:\n    cmd: x\n    outs:\n      - m.bin: {checkpoint: true}\n",
            "dvc.yaml:5:17: error: stages.a.outs[0].m.bin.checkpoint: unknown key",
        ),
        (  # the YAML itself
            "stages:\n  a:\n    cmd: x\n    cmd: y\n",
            "dvc.yaml:4:5: error: stages.a.cmd: duplicate key 'cmd' (first defined on line 3)",
        ),
        (
            "stages:\n  a:\n    cmd: x\n  - b\n",
            "dvc.yaml:4:3: error: (root): invalid YAML: did not find expected key",
        ),
        ("[]\n", "dvc.yaml:1:1: error: (root): expected a mapping at the top level, got a list"),
    ],
)
def test_problems_point_into_the_dvc_yaml_and_nothing_is_written(
    tmp_path: Path, dvc_yaml: str, expected: str
) -> None:
    files = {"dvc.yaml": dvc_yaml, "params.yaml": "seed: 1\n"}
    root = project(tmp_path, files)
    with pytest.raises(SpecError) as exc:
        commands.import_(root / "specops.yaml")
    assert problems(exc) == [expected]
    untouched(root, files)


def test_differences_that_dvc_would_see() -> None:
    from specops.importing.plan import _differs

    stages = {"stages": {"a": {"cmd": "x"}, "b": {"cmd": "y"}}}
    assert _differs(stages, {"stages": {"b": {"cmd": "y"}, "a": {"cmd": "x"}}}, ()) == ("stages",)
    assert _differs({"a": 1}, {"a": 1.0}, ()) == ("a",)
    assert _differs({"a": [True]}, {"a": [1]}, ()) == ("a", 0)
    assert _differs({"a": {"b": 1}}, {"a": {"b": 1, "c": 2}}, ()) == ("a", "c")
    # DVC reads a null or an empty list as it reads a key left out; other keys in any order.
    assert (
        _differs({"a": {"deps": [], "meta": None, "x": 1, "y": 2}}, {"a": {"y": 2, "x": 1}}, ())
        is None
    )


@pytest.mark.parametrize(
    ("maturity", "expected"),
    [
        (
            3,
            "--maturity 3: error: maturity 3 needs a stage with `metrics`, `models`, `gates`,"
            ' `promotion`; add them or lower the level (see "Maturity 2" and "Maturity 3" in the'
            " README); import at a lower --maturity, then raise it in the spec once that has them",
        ),
        (
            2,
            "--maturity 2: error: maturity 2 needs a stage with `metrics`; add it or lower the"
            ' level (see "Maturity 2" in the README); import at a lower --maturity, then raise it'
            " in the spec once that has them",
        ),
    ],
)
def test_a_maturity_the_pipeline_cannot_reach_says_what_is_missing(
    tmp_path: Path, maturity: int, expected: str
) -> None:
    files = {"dvc.yaml": "stages:\n  a:\n    cmd: x\n"}
    root = project(tmp_path, files)
    with pytest.raises(SpecError) as exc:
        commands.import_(root / "specops.yaml", maturity=maturity)
    assert problems(exc) == [expected]
    untouched(root, files)


def test_maturity_1_also_writes_the_ci_workflow(tmp_path: Path) -> None:
    root = project(tmp_path, {"dvc.yaml": "stages:\n  a:\n    cmd: x\n"})
    result = commands.import_(root / "specops.yaml", maturity=1)
    assert [(c.path, c.action.value) for c in result.changes] == [
        ("specops.yaml", "create"),
        ("dvc.yaml", "update"),
        (".github/workflows/specops-ci.yml", "create"),
    ]
    assert "maturity: 1\n" in (root / "specops.yaml").read_text()
    assert commands.render(root / "specops.yaml", check=True).stale == []


PIPELINE = {"dvc.yaml": "stages:\n  a:\n    cmd: x\n    outs: [a.bin]\n"}


def test_an_existing_spec_is_never_replaced(tmp_path: Path) -> None:
    files = {**PIPELINE, "specops.yaml": "version: 1\n"}
    root = project(tmp_path, files)
    with pytest.raises(SpecError) as exc:
        commands.import_(root / "specops.yaml")
    assert problems(exc) == [
        f"{root / 'specops.yaml'}: error: already exists; specops import writes a new spec"
        " (change this one and render it)"
    ]
    assert (root / "specops.yaml").read_text() == "version: 1\n"


def test_a_dvc_yaml_that_a_spec_renders_already_is_left_to_it(tmp_path: Path) -> None:
    root = project(tmp_path, PIPELINE)
    commands.import_(root / "specops.yaml")
    rendered = (root / "dvc.yaml").read_text()
    with pytest.raises(SpecError) as exc:
        commands.import_(root / "other.yaml")
    assert problems(exc) == [
        "dvc.yaml: error: is generated from 'specops.yaml' already; change that spec and run"
        " `specops render`"
    ]
    assert (root / "dvc.yaml").read_text() == rendered
    assert not (root / "other.yaml").exists()


def test_a_dvc_yaml_changed_after_it_was_read_is_not_replaced(tmp_path: Path) -> None:
    root = project(tmp_path, PIPELINE)
    plan = importing.prepare(root, "specops.yaml", "specops.yaml")
    (root / "dvc.yaml").write_text("stages:\n  a:\n    cmd: y\n")  # someone else's edit
    with pytest.raises(SpecError) as exc:
        writer.take_over(root, [plan.spec, *plan.rendered], "specops.yaml", plan.read)
    assert problems(exc) == [
        "dvc.yaml: error: changed while specops was reading it; nothing was written, run it again"
    ]
    assert (root / "dvc.yaml").read_text() == "stages:\n  a:\n    cmd: y\n"
    assert sorted(p.name for p in root.iterdir()) == [".dvc", ".git", "dvc.yaml"]


def test_a_file_specops_did_not_generate_is_never_overwritten(tmp_path: Path) -> None:
    files = {**PIPELINE, ".github/workflows/specops-ci.yml": "name: ours\n"}
    root = project(tmp_path, files)
    with pytest.raises(SpecError) as exc:
        commands.import_(root / "specops.yaml", maturity=1)
    assert problems(exc) == [
        ".github/workflows/specops-ci.yml: error: exists and was not generated by specops; move"
        " it away, then run specops import again"
    ]
    untouched(root, files)


def test_without_a_dvc_yaml_there_is_nothing_to_import(tmp_path: Path) -> None:
    root = project(tmp_path, {"params.yaml": "a: 1\n"})
    with pytest.raises(SpecError) as exc:
        commands.import_(root / "specops.yaml")
    assert problems(exc) == [
        f"{root}: error: no dvc.yaml here or in a subfolder; `specops init` starts a new project"
    ]


def test_the_dvc_yaml_files_dvc_would_read(tmp_path: Path) -> None:
    """Those Git ignores, those of a nested DVC repository and those in `.dvc` are not."""
    files = {
        **PIPELINE,
        ".gitignore": "scratch/\n",
        "scratch/dvc.yaml": "stages: {}\n",
        "nested/.dvc/config": "",
        "nested/dvc.yaml": "stages: {}\n",
        ".dvc/tmp/dvc.yaml": "stages: {}\n",
        "b/a/dvc.yaml": "stages: {}\n",
        "a/dvc.yaml": "stages: {}\n",
    }
    from specops.importing.find import pipeline_files

    with_git = project(tmp_path / "git", files)
    assert pipeline_files(with_git) == ["dvc.yaml", "a/dvc.yaml", "b/a/dvc.yaml"]
    walked = project(tmp_path / "walked", files, scm=False)  # no Git: every folder is walked
    assert pipeline_files(walked) == ["dvc.yaml", "a/dvc.yaml", "b/a/dvc.yaml", "scratch/dvc.yaml"]


def test_a_project_name_that_the_spec_refuses(tmp_path: Path) -> None:
    root = project(tmp_path, PIPELINE)
    with pytest.raises(SpecError) as exc:
        commands.import_(root / "specops.yaml", name="Churn_Model")
    assert problems(exc) == [
        "--name: error: 'Churn_Model' is not a project name: lowercase letters, digits and '-',"
        " starting with a letter or digit, at most 64 characters"
    ]
    assert commands.import_(root / "specops.yaml", name="churn").name == "churn"


def test_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = project(tmp_path / "churn", {"dvc.yaml": COMMENTED})
    monkeypatch.chdir(root)
    assert main(["import", "--maturity", "1"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "specops.yaml: created (name churn, maturity 1)",
        "dvc.yaml: imported, 2 stage(s), 10 comment(s); now rendered from specops.yaml",
        ".github/workflows/specops-ci.yml: created",
        "comments kept in specops.yaml, where they were: rendered files keep none",
        "next: `specops render --check` and `dvc status` see no change; commit the files"
        " above together",
    ]
    assert main(["import", "--format", "json"]) == 2
    out, err = capsys.readouterr()
    assert json.loads(out)["problems"][0]["message"].startswith("already exists")
    assert err.startswith("specops.yaml: error: already exists; specops import writes a new spec")


def test_the_command_line_in_json(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = project(tmp_path / "churn", PIPELINE)
    monkeypatch.chdir(root)
    assert main(["import", "--name", "churn-clf", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "spec": "specops.yaml",
        "name": "churn-clf",
        "maturity": 0,
        "imported": [{"path": "dvc.yaml", "stages": 1, "comments": 0}],
        "as_written": True,
        "files": [
            {"path": "specops.yaml", "action": "create"},
            {"path": "dvc.yaml", "action": "update"},
        ],
    }


def test_import_runs_at_the_root_of_the_dvc_repository(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = project(tmp_path, {**PIPELINE, "sub/dvc.yaml": "stages: {}\n"})
    monkeypatch.chdir(root / "sub")
    assert main(["import"]) == 2
    assert capsys.readouterr().err == (
        f"{root / 'sub'}: error: is not the root of the DVC repository {str(root)!r}; run"
        " `specops import` there, or name the spec with --spec\n"
    )
    assert not (root / "sub" / "specops.yaml").exists()


# A pipeline that runs with the standard library only: a matrix over a vars list, a
# one-command list (dvc.lock keeps it a list), comments, a params key.
RUNNABLE = {
    "dvc.yaml": """\
        vars:
          - factors: [1, 3]
        stages:
          # Writes the numbers
          make:
            cmd: [python make.py]
            deps: [make.py]
            params: [count]
            outs: [numbers.txt]
          scale:
            matrix:
              factor: ${factors}
            cmd: python scale.py ${item.factor}  # one file per factor
            deps: [scale.py, numbers.txt]
            outs: ["scaled-${item.factor}.txt"]
        """,
    "params.yaml": "count: 3\n",
    "make.py": """\
        import pathlib
        count = int(pathlib.Path("params.yaml").read_text().split(":")[1])
        pathlib.Path("numbers.txt").write_text("".join(f"{i}\\n" for i in range(count)))
        """,
    "scale.py": """\
        import pathlib, sys
        factor = int(sys.argv[1])
        numbers = pathlib.Path("numbers.txt").read_text().split()
        scaled = " ".join(str(int(n) * factor) for n in numbers)
        pathlib.Path(f"scaled-{factor}.txt").write_text(scaled)
        """,
}


def test_dvc_status_and_repro_see_no_change_after_import(tmp_path: Path) -> None:
    """The one slow test: a real `dvc repro`, then `specops import` and DVC again."""
    from tests.gitrepo import run

    root = project(tmp_path / "runnable", RUNNABLE)
    run(root, "dvc", "repro", "-q")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "Reproduced")
    lock = (root / "dvc.lock").read_bytes()
    assert (root / "scaled-3.txt").read_text() == "0 3 6"

    run(root, "specops", "import")

    status = run(root, "dvc", "status")
    assert status.stdout == "Data and pipelines are up to date.\n"
    repro = run(root, "dvc", "repro")
    assert "Running stage" not in repro.stdout
    assert (root / "dvc.lock").read_bytes() == lock
    assert run(root, "specops", "render", "--check").stdout == "1 generated file(s) up to date\n"


def test_comments_are_found_alike_with_or_without_the_scanner() -> None:
    """When no key or value holds `#`, every `#` starts a comment, and the scanner's tokens are
    not needed to tell them from text."""
    from specops.importing.comments import _between_tokens, find
    from specops.spec.yamlfile import load_yaml

    text = textwrap.dedent(RUNNABLE["dvc.yaml"]) + "# the end  \n"
    data = load_yaml("dvc.yaml", text.encode()).data
    found = find(text, data)
    assert [(c.line, c.col, c.text, c.own_line) for c in found] == [
        (3, 2, "# Writes the numbers", True),
        (12, 41, "# one file per factor", False),
        (15, 0, "# the end", True),
    ]
    assert found == _between_tokens(text)


NLP = """\
# The NLP pipeline
vars:
  - {model: bert}
stages:
  tokenize:
    cmd: |
      python tokenize.py \\
        --model ${model}
    deps: [../data/raw.txt]
    outs: [tokens]
"""


def test_a_dvc_yaml_in_a_subfolder_is_a_pipelines_entry(tmp_path: Path) -> None:
    files = {**PIPELINE, "nlp/dvc.yaml": NLP, "nlp/params.yaml": "lr: 1\n"}
    root = project(tmp_path / "p", files)
    before = snapshot(root, status=False)
    result = commands.import_(root / "specops.yaml")
    assert differences(before, snapshot(root, status=False)) == []
    assert [(i.path, i.stages, i.comments) for i in result.imported] == [
        ("dvc.yaml", 1, 0),
        ("nlp/dvc.yaml", 1, 1),
    ]
    nlp = "".join(f"    {line}" for line in NLP.splitlines(keepends=True))
    assert (root / "specops.yaml").read_text() == (
        "version: 1\nname: p\nmaturity: 0\n\n"
        + PIPELINE["dvc.yaml"]
        + "\npipelines:\n  nlp:\n"
        + nlp
    )
    assert commands.render(root / "specops.yaml", check=True).stale == []


def test_problems_of_a_subfolder_dvc_yaml_point_into_it(tmp_path: Path) -> None:
    nlp = NLP.replace("[tokens]", "[../../tokens]")
    files = {**PIPELINE, "nlp/dvc.yaml": nlp}
    root = project(tmp_path, files)
    with pytest.raises(SpecError) as exc:
        commands.import_(root / "specops.yaml")
    assert problems(exc) == [
        "nlp/dvc.yaml:10:12: error: stages.tokenize.outs[0]: 'nlp/../../tokens' leaves the"
        " repository through '..'"
    ]
    untouched(root, files)


def test_a_subfolder_dvc_yaml_that_cannot_be_copied_is_dumped(tmp_path: Path) -> None:
    files = {**PIPELINE, "nlp/dvc.yaml": "---\n" + NLP}
    root = project(tmp_path / "p", files)
    result = commands.import_(root / "specops.yaml")
    assert not result.as_written
    assert (root / "specops.yaml").read_text() == textwrap.dedent(
        """\
        version: 1
        name: p
        maturity: 0

        stages:
          a:
            cmd: x
            outs:
            - a.bin

        pipelines:
          nlp:
            # The NLP pipeline
            vars:
            - model: bert
            stages:
              tokenize:
                cmd: |
                  python tokenize.py \\
                    --model ${model}
                deps:
                - ../data/raw.txt
                outs:
                - tokens
        """
    )
    assert commands.render(root / "specops.yaml", check=True).stale == []


def test_pipelines_only_in_subfolders_cannot_be_adopted(tmp_path: Path) -> None:
    files = {"nlp/dvc.yaml": NLP}
    root = project(tmp_path, files)
    with pytest.raises(SpecError) as exc:
        commands.import_(root / "specops.yaml")
    assert problems(exc) == [
        "dvc.yaml: error: does not exist: the spec's own `stages` render the dvc.yaml next to"
        " it, so specops cannot adopt a project whose pipelines are all in subfolders"
    ]
    untouched(root, files)
