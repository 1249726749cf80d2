"""`foreach`/`do` stages: the checks run on each item, at the node written. What DVC makes of the
rendered stages is in test_dvc_acceptance.py."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from specops.generators.dvc import render_dvc
from specops.spec import parse_spec
from specops.spec.metrics_files import project_metrics_files
from specops.spec.models import Foreach
from specops.spec.resolve import expand
from tests.gitrepo import dvc_load_error
from tests.specerrors import spec_errors

HEAD = "version: 1\nname: loops\nmaturity: 0\n"
PARAMS = """\
regions: {us: {lr: 0.1}, eu: {lr: 0.2}}
names: [us, eu]
flags: [true, false]
seed: 1
us: {lr: 1}
"""


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "params.yaml").write_text(PARAMS)
    return tmp_path


def errors(body: str, root: Path) -> list[str]:
    return spec_errors("loops", body, root)


def names(body: str, root: Path) -> list[str]:
    spec, doc = parse_spec("specops.yaml", (HEAD + textwrap.dedent(body)).encode(), root)
    return [inst.name for inst in expand(spec, doc, root)]


def test_items_are_named_as_dvc_names_them(root: Path) -> None:
    body = """\
        stages:
          listed:
            foreach: [us, 0.5, 1.0e3, true, 7]
            do: {cmd: "run ${item}"}
          mapped:
            foreach: {us: {lr: 1}, eu: {lr: 2}}
            do: {cmd: "run ${key} ${item.lr}"}
          composite:
            foreach: [{lr: 1}, [1, 2], x]
            do: {cmd: run}
          from-params:
            foreach: ${regions}
            do: {cmd: "run ${key} ${item.lr}"}
          flags:
            foreach: ${flags}
            do: {cmd: "run ${item}"}
          one-flag:
            foreach: ["${flags[0]}", false]
            do: {cmd: "run ${item}"}
        """
    assert names(body, root) == [
        "listed@us",
        "listed@0.5",
        "listed@1000.0",
        "listed@true",
        "listed@7",
        "mapped@us",
        "mapped@eu",
        "composite@0",
        "composite@1",
        "composite@2",
        "from-params@us",
        "from-params@eu",
        # A value from params.yaml reaches DVC as one of its context nodes, named by str().
        "flags@True",
        "flags@False",
        "one-flag@True",
        "one-flag@false",
    ]


def test_a_foreach_stage_holds_only_foreach_and_do(root: Path) -> None:
    body = """\
        stages:
          a:
            foreach: [x]
            matrix: {m: [1]}
            cmd: run
            do: {cmd: run}
          b:
            do: {cmd: run}
          c:
            foreach: [x]
            doo: {cmd: run}
          d:
            foreach: [x]
            do:
              cmdd: run
          e:
            foreach: 3
            do: {cmd: run}
        """
    assert errors(body, root) == [
        "specops.yaml:7:5: error: stages.a.matrix: "
        "a stage iterates over foreach or over a matrix, not both",
        "specops.yaml:8:5: error: stages.a.cmd: "
        "a foreach stage holds only `foreach` and `do`; move 'cmd' under `do`",
        "specops.yaml:11:5: error: stages.b.foreach: required key is missing",
        "specops.yaml:13:5: error: stages.c.do: required key is missing",
        "specops.yaml:14:5: error: stages.c.doo: unknown key; did you mean 'do'?",
        "specops.yaml:18:7: error: stages.d.do.cmd: required key is missing",
        "specops.yaml:18:7: error: stages.d.do.cmdd: unknown key; did you mean 'cmd'?",
        "specops.yaml:20:14: error: stages.e.foreach: "
        "must be a list, a mapping or a `${...}` naming one, got 3",
    ]


def test_a_matrix_inside_do_is_an_error(root: Path) -> None:
    body = """\
        stages:
          a:
            foreach: [x]
            do:
              cmd: run
              matrix: {m: [1, 2]}
        """
    assert errors(body, root) == [
        "specops.yaml:9:7: error: stages.a.do.matrix: "
        "DVC does not expand a matrix inside `do`; a stage takes foreach or matrix"
    ]


def test_foreach_must_resolve_to_items(root: Path) -> None:
    body = """\
        stages:
          a:
            foreach: ${seed}
            do: {cmd: run}
          b:
            foreach: ${regoins}
            do: {cmd: run}
          c:
            foreach: [x, "${nope}"]
            do: {cmd: run}
          d:
            foreach: {x: 1, "${nope}": 2}
            do: {cmd: run}
          e:
            foreach: [x, {k: "${sed}"}]
            do: {cmd: run}
        """
    assert errors(body, root) == [
        "specops.yaml:6:14: error: stages.a.foreach: "
        "must be a list or a mapping; '${seed}' is the number 1",
        "specops.yaml:9:14: error: stages.b.foreach: "
        "cannot resolve '${regoins}': 'regoins' is not defined; did you mean 'regions'?",
        "specops.yaml:12:18: error: stages.c.foreach[1]: "
        "cannot resolve '${nope}': 'nope' is not defined",
        "specops.yaml:15:21: error: stages.d.foreach.${nope}: "
        "cannot resolve '${nope}': 'nope' is not defined",
        "specops.yaml:18:22: error: stages.e.foreach[1].k: "
        "cannot resolve '${sed}': 'sed' is not defined; did you mean 'seed'?",
    ]


def test_empty_repeated_and_unreachable_items(root: Path) -> None:
    body = """\
        stages:
          a:
            foreach: []
            do: {cmd: run}
          b:
            foreach: {}
            do: {cmd: run}
          c:
            foreach: [us, eu, us, 1, "1", a@b]
            do: {cmd: "run ${item}"}
          d:
            foreach: {"x@y": 1}
            do: {cmd: "run ${item}"}
        """
    assert errors(body, root) == [
        "specops.yaml:6:14: error: stages.a.foreach: must list at least one item",
        "specops.yaml:9:14: error: stages.b.foreach: must list at least one item",
        "specops.yaml:12:23: error: stages.c.foreach[2]: "
        "items 0 and 2 are both named 'c@us'; DVC keeps only the last of them",
        "specops.yaml:12:30: error: stages.c.foreach[4]: "
        "items 3 and 4 are both named 'c@1'; DVC keeps only the last of them",
        "specops.yaml:12:35: error: stages.c.foreach[5]: "
        "'a@b' contains '@', which DVC reads as the start of the item's name in 'c@a@b'",
        "specops.yaml:15:15: error: stages.d.foreach.x@y: "
        "'x@y' contains '@', which DVC reads as the start of the item's name in 'd@x@y'",
    ]


def test_an_item_with_an_empty_name_is_an_error(root: Path) -> None:
    body = """\
        vars: [{blank: ["", x]}]
        stages:
          a:
            foreach: ["", x]
            do: {cmd: "run ${item}"}
          b:
            foreach: {"": 1, y: 2}
            do: {cmd: "run ${item}"}
          c:
            foreach: ${blank}
            do: {cmd: "run ${item}"}
          d:
            matrix: {m: ["", x]}
            cmd: "run ${item.m}"
          e:
            matrix: {m: ["", x], n: [""]}
            cmd: "run ${item.m}"
        """
    assert errors(body, root) == [
        "specops.yaml:7:15: error: stages.a.foreach[0]: an item named '' makes a stage named"
        " 'a@', which DVC cannot load",
        "specops.yaml:10:15: error: stages.b.foreach.: an item named '' makes a stage named"
        " 'b@', which DVC cannot load",
        "specops.yaml:13:14: error: stages.c.foreach[0]: an item named '' makes a stage named"
        " 'c@', which DVC cannot load",
        "specops.yaml:16:18: error: stages.d.matrix.m[0]: an item named '' makes a stage named"
        " 'd@', which DVC cannot load",
    ]


def test_dvc_cannot_load_a_stage_whose_item_has_an_empty_name(tmp_path: Path) -> None:
    foreach = 'stages:\n  a:\n    foreach: [""]\n    do: {cmd: x}\n'
    assert dvc_load_error(tmp_path / "a", foreach) == "AssertionError"
    matrix = 'stages:\n  a:\n    matrix: {m: [""]}\n    cmd: x\n'
    assert dvc_load_error(tmp_path / "b", matrix) == "AssertionError"
    matrix = 'stages:\n  a:\n    matrix: {m: [""], n: [""]}\n    cmd: x\n'  # named 'a@-'
    assert dvc_load_error(tmp_path / "c", matrix) == ""


def test_item_and_key_resolve_as_dvc_defines_them(root: Path) -> None:
    body = """\
        stages:
          a:
            foreach: [x, y]
            do: {cmd: "run ${key}"}
          b:
            foreach: ${regions}
            do: {cmd: "run ${key} ${item.lr}", outs: ["${item.lrr}"], deps: ["${key.x}"]}
          c:
            cmd: run ${item}
        """
    assert errors(body, root) == [
        "specops.yaml:7:15: error: stages.a.do.cmd: "
        "cannot resolve '${key}': 'key' is defined only when foreach is a mapping, not a list",
        "specops.yaml:10:47: error: stages.b.do.outs[0]: "
        "cannot resolve '${item.lrr}': 'item' has no key 'lrr'; did you mean 'lr'?",
        "specops.yaml:10:70: error: stages.b.do.deps[0]: "
        "cannot resolve '${key.x}': 'key' is the name of the foreach item, which has no keys",
        "specops.yaml:12:10: error: stages.c.cmd: "
        "cannot resolve '${item}': 'item' is defined only in a stage with a matrix or foreach",
    ]
    # In the list form `key` is not DVC's: vars may define it, and the stage resolves it there.
    listed = textwrap.dedent(body.split("          b:")[0])
    assert names("vars: [{key: k}]\n" + listed, root) == ["a@x", "a@y"]


def test_a_stages_vars_may_not_redefine_what_foreach_defines(root: Path) -> None:
    body = """\
        stages:
          a:
            foreach: [x]
            do: {cmd: "run ${key}", vars: [{item: 1}, {key: 2}]}
          b:
            foreach: {x: 1}
            do: {cmd: run, vars: [{key: 2}]}
        """
    assert errors(body, root) == [
        "specops.yaml:7:36: error: stages.a.do.vars[0]: 'item' is the foreach item's; rename it",
        "specops.yaml:10:27: error: stages.b.do.vars[0]: 'key' is the foreach item's; rename it",
    ]


def test_paths_are_checked_for_each_item(root: Path) -> None:
    body = """\
        stages:
          a:
            foreach: [x, ".."]
            do:
              cmd: run
              outs: ["${item}/out", "out/${item}"]
              deps: ["${item}/in"]
          b:
            foreach: {git: .git}
            do: {cmd: run, metrics: ["${item}/m.json"]}
        """
    assert errors(body, root) == [
        "specops.yaml:9:14: error: stages.a.do.outs[0]: "
        "in stage 'a@..': '../out' leaves the repository through '..'",
        "specops.yaml:9:29: error: stages.a.do.outs[1]: "
        "in stage 'a@..': must name a file or folder, not the whole repository",
        "specops.yaml:10:14: error: stages.a.do.deps[0]: "
        "in stage 'a@..': '../in' leaves the repository through '..'",
        "specops.yaml:13:30: error: stages.b.do.metrics[0]: in stage 'b@git': "
        "'.git/m.json' is inside '.git', which only Git, DVC and specops write to",
    ]


def test_outs_of_items_overlap_and_make_cycles(root: Path) -> None:
    body = """\
        stages:
          a:
            foreach: [x, y]
            do:
              cmd: run
              outs: [model.pkl]
          b:
            cmd: run
            outs: [out/x]
          c:
            foreach: [x, y]
            do:
              cmd: run
              outs: ["out/${item}"]
        """
    assert errors(body, root) == [
        "specops.yaml:9:14: error: stages.a.do.outs[0]: "
        "'model.pkl' is also an out of another item of the same foreach",
        "specops.yaml:17:14: error: stages.c.do.outs[0]: 'out/x' is also an out of stage 'b'",
    ]
    body = """\
        stages:
          a:
            foreach: [x, y]
            do:
              cmd: run
              deps: ["b/${item}"]
              outs: ["a/${item}"]
          b:
            cmd: run
            deps: [a/y]
            outs: [b]
        """
    assert errors(body, root) == [
        "specops.yaml:5:3: error: stages.a: the pipeline has a cycle: a@y -> b -> a@y"
    ]


def test_params_keys_are_looked_up_for_each_item(root: Path) -> None:
    body = """\
        stages:
          a:
            foreach: ${names}
            do:
              cmd: run
              params: ["${item}.lr", seed, sede]
        """
    assert errors(body, root) == [
        "specops.yaml:9:16: error: stages.a.do.params[0]: "
        "in stage 'a@eu': 'eu.lr' is not a key of params.yaml",
        "specops.yaml:9:36: error: stages.a.do.params[2]: "
        "'sede' is not a key of params.yaml; did you mean 'seed'?",
    ]


def test_models_and_gates_name_the_files_of_items(root: Path) -> None:
    body = """\
        stages:
          a:
            foreach: [us, eu]
            do:
              cmd: run
              outs: ["models/${item}.pkl"]
              metrics: ["metrics/${item}.json"]
        models:
          m:
            path: models/uk.pkl
            metrics: metrics/uk.json
          n:
            path: models/eu.pkl
            metrics: metrics/eu.json
        gates:
          - metric: metrics/us.json:acc
            min: 0.5
          - metric: metrics/uk.json:acc
            min: 0.5
        """
    assert errors(body, root) == [
        "specops.yaml:13:11: error: models.m.path: "
        "'models/uk.pkl' is not an out of any stage; did you mean 'models/us.pkl'?",
        "specops.yaml:14:14: error: models.m.metrics: "
        "'metrics/uk.json' is not a metrics file of any stage; did you mean 'metrics/us.json'?",
        "specops.yaml:21:13: error: gates[1].metric: "
        "'metrics/uk.json' is not a metrics file of any stage; did you mean 'metrics/us.json'?",
    ]
    valid = body.replace("uk", "us").replace("  - metric: metrics/us.json:acc\n    min: 0.5\n", "")
    spec, doc = parse_spec("specops.yaml", (HEAD + textwrap.dedent(valid)).encode(), root)
    assert project_metrics_files(spec, doc, root) == ["metrics/us.json", "metrics/eu.json"]


def test_sizes_are_bounded_as_for_matrices(root: Path) -> None:
    (root / "params.yaml").write_text(f"many: {list(range(10_001))}\nfew: {list(range(5_001))}\n")
    body = """\
        stages:
          a:
            foreach: ${many}
            do: {cmd: run}
        """
    assert errors(body, root) == [
        "specops.yaml:6:14: error: stages.a.foreach: "
        "expands to 10,001 stages; at most 10,000 are allowed"
    ]
    body = """\
        stages:
          a:
            foreach: ${few}
            do: {cmd: run}
          b:
            foreach: ${few}
            do: {cmd: run}
        """
    assert errors(body, root) == [
        "specops.yaml:4:1: error: stages: the stages and their matrices make 10,002 stages in"
        " all; at most 10,000 are allowed"
    ]


def test_rendered_as_written(root: Path) -> None:
    body = """\
        stages:
          train:
            foreach: [us, "on", 1]
            do:
              desc: One region
              cmd: python train.py --region ${item}
              outs: ["models/${item}.pkl"]
          tune:
            foreach: ${regions}
            do:
              cmd: python tune.py ${key} ${item.lr}
        """
    spec, _ = parse_spec("specops.yaml", (HEAD + textwrap.dedent(body)).encode(), root)
    assert isinstance(spec.stages["train"], Foreach)
    assert render_dvc(spec, "specops.yaml").split("stages:\n", 1)[1] == textwrap.indent(
        textwrap.dedent(
            """\
          train:
            foreach:
            - us
            - 'on'
            - 1
            do:
              desc: One region
              cmd: python train.py --region ${item}
              outs:
              - models/${item}.pkl
          tune:
            foreach: ${regions}
            do:
              cmd: python tune.py ${key} ${item.lr}
        """
        ),
        "  ",
    )


def test_gates_read_the_metrics_files_of_items(root: Path) -> None:
    from specops.commands import gate

    body = """\
        stages:
          a:
            foreach: [us, eu]
            do:
              cmd: run
              metrics: ["metrics/${item}.json"]
        gates:
          - metric: recall
            min: 0.5
          - metric: metrics/eu.json:acc
            min: 0.5
        """
    (root / "specops.yaml").write_text(HEAD + textwrap.dedent(body))
    (root / "metrics").mkdir()
    (root / "metrics/us.json").write_text('{"acc": 0.9}')
    (root / "metrics/eu.json").write_text('{"acc": 0.4, "recall": 0.7}')
    results = gate(root / "specops.yaml").results
    assert [(r.metric, r.file, r.status) for r in results] == [
        ("recall", "metrics/eu.json", "pass"),
        ("metrics/eu.json:acc", "metrics/eu.json", "fail"),
    ]
