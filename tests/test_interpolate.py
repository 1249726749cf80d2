"""`${...}` resolved as DVC resolves it: DVC's own parser and context are the oracle for the
syntax and the text values become; the spec's checks run on the resolved stages."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from dvc.parsing.context import Context  # type: ignore[import-untyped]
from dvc.parsing.interpolate import ParseError, parse_expr  # type: ignore[import-untyped]
from hypothesis import given, settings
from hypothesis import strategies as st

from specops.generators.dvc import render_dvc
from specops.spec import parse_spec
from specops.spec.interpolate import Unresolved, keys_of, resolve
from specops.spec.resolve import expand
from tests.gitrepo import make_project, run
from tests.specerrors import spec_errors

VALUES: dict[str, Any] = {
    "seed": 42,
    "flag": True,
    "off": False,
    "lr": 0.001,
    "big": 1e20,
    "nothing": None,
    "name": "rf",
    "spaced": "a b",
    "list": ["a", "b c"],
    "nested": [[1], [2]],
    "d": {"x": 1, "y": [1, "two"], "z": False, "on": True, "s": "a b", "n": {"k": "v"}},
    "item": {"model": "rf"},
}


def no_hint(_word: str, _choices: object) -> str:
    return ""


def dvc(text: str, field: str | None) -> Any:
    """What DVC makes of `text` as the value of the stage key `field`, or its error type."""
    try:
        return Context(VALUES).resolve_str(text, key=field)
    except Exception as exc:
        return type(exc).__name__


def ours(text: str, field: str | None) -> Any:
    try:
        return resolve(text, VALUES, field, no_hint)
    except Unresolved:
        return "error"


def same_outcome(theirs: Any, mine: Any) -> bool:
    if isinstance(theirs, str) and theirs in ("KeyNotInContext", "ParseError"):
        return bool(mine == "error")
    return type(theirs) is type(mine) and theirs == mine


TEMPLATES = [
    "echo ${seed}",
    "${seed}",
    "${ seed }",
    "${\tseed}",
    "${flag} ${off}",
    "${flag}",
    "${lr}-${big}",
    "${nothing}",
    "x ${nothing}",
    "${list}",
    "x ${list}",
    "${list[0]}/${list.1}",
    "${list[-1]}",
    "${list[ 1 ]}",
    "${list [0]}",
    "${nested[1][0]}",
    "${d}",
    "run ${d}",
    "${d.n.k}",
    "${d.y[1]}",
    "${d.x.q}",
    "${seed.q}",
    "${list[5]}",
    "${list.x}",
    "${}",
    "${ }",
    "${a..b}",
    "${a.}",
    "${.a}",
    "${a[]}",
    "${${seed}}",
    "${seed",
    "\\${seed} ${seed}",
    "\\${seed}",
    "no reference",
    "${HOME}",
    "${item.model}",
    "${item.modle}",
    "$${seed}",
    "${d.s} and ${spaced}",
    "a${seed}${lr}b",
]


@pytest.mark.parametrize("field", ["cmd", "deps", None])
@pytest.mark.parametrize("template", TEMPLATES)
def test_references_resolve_as_dvc_resolves_them(template: str, field: str | None) -> None:
    theirs, mine = dvc(template, field), ours(template, field)
    assert same_outcome(theirs, mine), (theirs, mine)


PIECES = st.sampled_from(
    ["${", "}", ".", "[", "]", "\\", " ", "\t", "seed", "list", "d", "n", "k", "0", "1", "-1", "x"]
)


@settings(max_examples=500, deadline=None)
@given(parts=st.lists(PIECES, max_size=12), field=st.sampled_from(["cmd", "outs", None]))
def test_generated_templates_resolve_as_dvc_resolves_them(parts: list[str], field: str) -> None:
    template = "".join(parts)
    theirs, mine = dvc(template, field), ours(template, field)
    assert same_outcome(theirs, mine), (template, theirs, mine)


@settings(max_examples=300, deadline=None)
@given(inner=st.text(st.sampled_from(" \t\n.[]abc01-_é"), max_size=10))
def test_the_inside_of_a_reference_is_parsed_as_dvc_parses_it(inner: str) -> None:
    try:
        theirs = [part.strip() for part in parse_expr(inner).expandtabs().split(".")]
    except ParseError:
        theirs = None
    mine = keys_of(inner)
    assert mine == theirs or (theirs is not None and mine == [p.strip() for p in theirs])


def errors(body: str, tmp_path: Path, params: str | None = None) -> list[str]:
    if params is not None:
        (tmp_path / "params.yaml").write_text(params)
    return spec_errors("interp", body, tmp_path)


def test_unresolvable_references_are_errors_at_their_line(tmp_path: Path) -> None:
    body = """\
        stages:
          a:
            desc: costs ${prise}
            cmd: echo ${HOME}
          b:
            cmd: python train.py --model ${item.model}
          c:
            matrix: {model: [rf, lr]}
            cmd: python train.py --model ${item.modle}
            outs: ["models/${key.x}"]
          d:
            cmd: python train.py --seed ${train.sed} ${train}
        """
    assert errors(body, tmp_path, "train: {seed: 1}\nprice: 3\n") == [
        "specops.yaml:6:11: error: stages.a.desc: "
        "cannot resolve '${prise}': 'prise' is not defined; did you mean 'price'?",
        "specops.yaml:7:10: error: stages.a.cmd: cannot resolve '${HOME}': 'HOME' is not defined",
        "specops.yaml:9:10: error: stages.b.cmd: "
        "cannot resolve '${item.model}': 'item' is defined only in a stage with a matrix"
        " or foreach",
        "specops.yaml:12:10: error: stages.c.cmd: "
        "cannot resolve '${item.modle}': 'item' has no key 'modle'; did you mean 'model'?",
        "specops.yaml:13:12: error: stages.c.outs[0]: "
        "cannot resolve '${key.x}': 'key' is the name of the matrix item, which has no keys",
        "specops.yaml:15:10: error: stages.d.cmd: "
        "cannot resolve '${train.sed}': 'train' has no key 'sed'; did you mean 'seed'?",
    ]


def test_paths_are_checked_with_the_values_put_in(tmp_path: Path) -> None:
    body = """\
        vars:
          - {hooks: .git/hooks, up: ../..}
        stages:
          a:
            matrix: {dir: [ok, .., /tmp]}
            cmd: x
            outs: ["${item.dir}/out"]
          b:
            cmd: x
            outs: ["${hooks}/pre-commit", "${up}/x", "${store}/model.bin"]
            deps: ["${up}"]
          c:
            cmd: x
            outs: [data]
            metrics: [data/m.json]
          d:
            cmd: x
            outs: [models/model.bin]
        """
    assert errors(body, tmp_path, "store: models\n") == [
        "specops.yaml:10:12: error: stages.a.outs[0]: "
        "in stage 'a@..': '../out' leaves the repository through '..'",
        "specops.yaml:13:12: error: stages.b.outs[0]: in stage 'b': "
        "'.git/hooks/pre-commit' is inside '.git', which only Git, DVC and specops write to",
        "specops.yaml:13:35: error: stages.b.outs[1]: "
        "in stage 'b': '../../x' leaves the repository through '..'",
        "specops.yaml:14:12: error: stages.b.deps[0]: "
        "in stage 'b': '../..' leaves the repository through '..'",
    ]
    # Once the paths stay inside, the graph checks see the resolved paths.
    body = body.replace(", .., /tmp", "").replace(', "${up}/x"', "").replace('["${up}"]', "[ok]")
    body = body.replace('"${hooks}/pre-commit", ', "")
    assert errors(body, tmp_path) == [
        "specops.yaml:18:15: error: stages.c.metrics[0]: "
        "'data/m.json' is inside 'data', another out of the same stage",
        "specops.yaml:21:12: error: stages.d.outs[0]: "
        "'models/model.bin' is also an out of stage 'b'",
    ]


def test_matrix_items_dvc_cannot_tell_apart_are_refused(tmp_path: Path) -> None:
    body = """\
        stages:
          a:
            matrix: {v: [x@y, z]}
            cmd: echo ${item.v}
          b:
            matrix: {x: [a-b, a], y: [c, b-c]}
            cmd: echo ${item.x} ${item.y}
        """
    assert errors(body, tmp_path) == [
        "specops.yaml:6:18: error: stages.a.matrix.v[0]: "
        "'x@y' contains '@', which DVC reads as the start of the item's name in 'a@x@y'",
        "specops.yaml:9:13: error: stages.b.matrix: two items are both named 'b@a-b-c' once"
        " their values are joined with '-', and DVC keeps only one of them",
    ]


def test_vars_are_loaded_and_merged_as_dvc_loads_them(tmp_path: Path) -> None:
    (tmp_path / "other.yaml").write_text("a: 1\nb: {c: 2}\n")
    (tmp_path / "conf.json").write_text('{"model": "rf"}')
    body = """\
        vars:
          - other.yaml:a
          - {b: {c: 3}}
          - missing.yaml
          - other.yaml:zz
          - {seed: 2}
          - {x: "${seed}"}
          - conf.json
          - other.yaml:a
          - params.yaml
        stages:
          a:
            cmd: echo ${a} ${model} ${b.c}
        """
    # DVC stops at the first of these; specops reports each (and resolves nothing until the
    # vars are right, so that one mistake does not cascade).
    assert errors(body, tmp_path, "seed: 1\n") == [
        "specops.yaml:7:5: error: vars[2]: 'missing.yaml' does not exist",
        "specops.yaml:8:5: error: vars[3]: 'zz' is not a top-level key of 'other.yaml'",
        "specops.yaml:9:5: error: vars[4]: cannot redefine 'seed' from 'vars[4]':"
        " 'params.yaml' defines it",
        "specops.yaml:10:5: error: vars[5]: DVC does not resolve `${...}` in vars",
        "specops.yaml:12:5: error: vars[7]: cannot load 'other.yaml:a': 'other.yaml' is loaded"
        " already",
    ]
    kept = [line for line in body.splitlines() if "missing" not in line and ":zz" not in line]
    kept = [line for line in kept if "seed" not in line and line != "          - other.yaml:a"]
    assert errors("\n".join(kept) + "\n", tmp_path) == [
        "specops.yaml:10:10: error: stages.a.cmd: cannot resolve '${a}': 'a' is not defined"
    ]


PROJECT = {
    "specops.yaml": """\
version: 1
name: templated
maturity: 0
vars:
  - config/train.yaml
  - {data: data/prepared, models: [rf, logreg], flags: {fast: true, depth: 3}}
stages:
  prepare:
    desc: Split ${split} of the rows
    cmd: python prepare.py --split ${split} --shuffle ${shuffle}
    deps: [prepare.py]
    params: [split]
    outs: ["${data}"]
  train:
    matrix:
      model: ${models}
      seed: [1, 010]
    desc: Train ${item.model}
    cmd: python train.py ${item.model} --seed ${item.seed} ${flags} --name ${key}
    deps: ["${data}", train.py]
    params: ["${item.model}.depth"]
    outs: ["models/${item.model}-${item.seed}.bin"]
    metrics: ["metrics/${item.model}/${key}.json"]
    plots: [{"plots/${key}.csv": {x: "${x_axis}"}}]
""",
    "params.yaml": "split: 0.2\nshuffle: on\nrf: {depth: 4}\nlogreg: {depth: 1}\n",
    "config/train.yaml": "x_axis: epoch\n",
}

READ_STAGES = """
import json
from dvc.repo import Repo
from dvc.stage.serialize import to_pipeline_file

with Repo() as repo:
    print(json.dumps({s.addressing: to_pipeline_file(s)[s.name] for s in repo.index.stages}))
"""


def test_dvc_resolves_the_rendered_pipeline_as_specops_checked_it(tmp_path: Path) -> None:
    root = make_project(tmp_path / "p", PROJECT)
    rendered = (root / "dvc.yaml").read_text()
    assert "${item.model}" in rendered and "vars:" in rendered  # DVC resolves, not specops
    seen = json.loads(run(root, "python", "-c", READ_STAGES).stdout)
    project = (root / "specops.yaml").read_bytes()
    spec, doc = parse_spec("specops.yaml", project, root)
    insts = expand(spec, doc, root)
    assert list(seen) == [inst.name for inst in insts]
    assert seen["prepare"] == {
        "desc": "Split 0.2 of the rows",
        "cmd": "python prepare.py --split 0.2 --shuffle on",  # `on` is a string to DVC
        "deps": ["prepare.py"],
        "params": ["split"],
        "outs": ["data/prepared"],
    }
    assert seen["train@rf-10"] == {
        "desc": "Train rf",
        "cmd": "python train.py rf --seed 10 --fast --depth 3 --name rf-10",
        "deps": ["data/prepared", "train.py"],
        "params": ["rf.depth"],
        "outs": ["models/rf-10.bin"],
        "metrics": ["metrics/rf/rf-10.json"],
        "plots": [{"plots/rf-10.csv": {"x": "epoch"}}],
    }
    for inst in insts:  # specops checked the very paths DVC resolves
        stage = seen[inst.name]
        outs = [
            next(iter(o)) if isinstance(o, dict) else o
            for f in ("outs", "metrics", "plots")
            for o in stage.get(f, [])
        ]
        assert sorted(p for p, _ in inst.outs) == sorted(outs)
        assert sorted(p for p, _ in inst.deps) == sorted(stage.get("deps", []))
    assert render_dvc(spec, "specops.yaml") == rendered


def test_matrices_and_params_keys_take_values_from_vars(tmp_path: Path) -> None:
    body = """\
        vars:
          - {models: [rf, lr], seed: 1, one: rf}
        stages:
          a:
            matrix:
              model: ${models}
              seed: ${seed}
              other: ["${one}", "${onee}"]
            cmd: train ${item.model}
          b:
            matrix:
              model: ${models}
            cmd: train ${item.model}
            params: ["${item.model}.depth", "${one}.lr"]
        """
    params = "rf: {depth: 1, lr: 0.1}\nlr: {deep: 2}\n"
    assert errors(body, tmp_path, params) == [
        "specops.yaml:10:13: error: stages.a.matrix.seed: "
        "must be a list of values; '${seed}' is the number 1",
        "specops.yaml:11:25: error: stages.a.matrix.other[1]: "
        "cannot resolve '${onee}': 'onee' is not defined; did you mean 'one'?",
    ]
    body = body.replace("              seed: ${seed}\n", "").replace(', "${onee}"', "")
    assert errors(body, tmp_path, params) == [
        "specops.yaml:16:14: error: stages.b.params[0]: "
        "in stage 'b@lr': 'lr.depth' is not a key of params.yaml; did you mean 'lr.deep'?",
    ]


def test_values_dvc_cannot_interpolate_from_are_errors_in_their_file(tmp_path: Path) -> None:
    body = "stages:\n  a:\n    cmd: echo \\${not_a_reference} ${when}\n"
    assert errors(body, tmp_path, "day: 2024-01-01\nwhen: '2024-01-01'\n") == [
        "params.yaml:1:6: error: day: DVC cannot load a date into its values for `${...}`;"
        " quote it",
    ]
    assert errors(body, tmp_path, "when: '2024-01-01'\n") == []


def test_the_values_references_take_are_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from specops.spec import resolve as resolve_module

    body = """\
        vars: [{v: [1, 2, 3], name: x}]
        stages:
          a:
            matrix: {m: "${v}"}
            cmd: echo ${item.m} ${name} ${item.m}
        """
    monkeypatch.setattr(resolve_module, "MAX_REFERENCE_CHECKS", 7)
    assert errors(body, tmp_path) == []  # 3 + 1 + 3 values
    monkeypatch.setattr(resolve_module, "MAX_REFERENCE_CHECKS", 6)
    assert errors(body, tmp_path) == [
        "specops.yaml:8:10: error: stages.a.cmd: the spec's references take more than 6 values"
        " in all with the matrices expanded; that is too many to check"
    ]


def test_a_key_in_a_path_is_bounded_by_the_longest_item_name(tmp_path: Path) -> None:
    body = f"""\
        stages:
          a:
            matrix: {{x: [a, {"v" * 600}], y: [b, {"w" * 500}]}}
            cmd: echo
            outs: ["out/${{key}}"]
        """
    assert errors(body, tmp_path) == [
        "specops.yaml:8:12: error: stages.a.outs[0]: can be 1,105 characters long with the"
        " matrix values put in; a path may have at most 1,024"
    ]
