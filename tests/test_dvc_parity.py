"""dvc.yaml features beyond the core: params from other files and whole files, stage and output
annotations. What DVC makes of them is in test_dvc_acceptance.py; these are the checks."""

from __future__ import annotations

import textwrap
from pathlib import Path

from specops.generators.dvc import render_dvc
from specops.spec import parse_spec
from tests.gitrepo import dvc_load_error
from tests.specerrors import spec_errors

HEAD = "version: 1\nname: parity\nmaturity: 0\n"


def errors(body: str, root: Path) -> list[str]:
    return spec_errors("parity", body, root)


def test_params_from_other_files_are_looked_up_there(tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    (tmp_path / "conf/train.yaml").write_text("lr: 0.1\nlayers: {depth: 3}\n")
    (tmp_path / "conf/eval.json").write_text('{"threshold": 0.5}')
    (tmp_path / "params.yaml").write_text("seed: 1\n")
    body = """\
        stages:
          a:
            cmd: x
            params:
              - seed
              - conf/train.yaml: [lr, layers.deep, lr]
              - conf/eval.json: [treshold]
              - conf/missing.yaml: [x]
              - ../outside.yaml:
              - conf/whole.yaml:
        """
    assert errors(body, tmp_path) == [
        "specops.yaml:9:31: error: stages.a.params[1].conf/train.yaml[1]: "
        "'layers.deep' is not a key of conf/train.yaml; did you mean 'layers.depth'?",
        "specops.yaml:9:44: error: stages.a.params[1].conf/train.yaml[2]: "
        "'lr' is listed twice (first on line 9)",
        "specops.yaml:10:26: error: stages.a.params[2].conf/eval.json[0]: "
        "'treshold' is not a key of conf/eval.json; did you mean 'threshold'?",
        "specops.yaml:11:9: error: stages.a.params[3].conf/missing.yaml: "
        "'conf/missing.yaml' does not exist",
        "specops.yaml:12:9: error: stages.a.params[4].../outside.yaml: "
        "'../outside.yaml' leaves the repository through '..'",
        "specops.yaml:13:9: error: stages.a.params[5].conf/whole.yaml: "
        "'conf/whole.yaml' does not exist",
    ]


def test_annotations_and_meta_are_rendered_as_written(tmp_path: Path) -> None:
    body = """\
        stages:
          a:
            cmd: x
            outs:
              - model.bin: {type: model, labels: [a, b], meta: {owner: ml, since: 2}}
            meta: [anything, {at: all}]
        """
    spec, _ = parse_spec("specops.yaml", (HEAD + textwrap.dedent(body)).encode(), tmp_path)
    assert render_dvc(spec, "specops.yaml").split("stages:\n", 1)[1] == textwrap.indent(
        textwrap.dedent(
            """\
          a:
            cmd: x
            outs:
            - model.bin:
                type: model
                labels:
                - a
                - b
                meta:
                  owner: ml
                  since: 2
            meta:
            - anything
            - at: all
        """
        ),
        "  ",
    )
    assert errors(body.replace("[a, b]", "a"), tmp_path) == [
        "specops.yaml:8:42: error: stages.a.outs[0].model.bin.labels: must be a valid list, got 'a'"
    ]


def test_paths_and_params_of_a_stage_are_relative_to_its_wdir(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub/params.yaml").write_text("lr: 0.5\n")
    (tmp_path / "params.yaml").write_text("seed: 1\n")
    body = """\
        stages:
          a:
            wdir: sub
            cmd: x
            deps: [../shared.txt, ../../up.txt]
            params: [lr, seed]
            outs: [out.bin, ../.dvc/config]
          b:
            cmd: y
            outs: [sub/out.bin]
            params: [seed]
          c:
            wdir: ..
            cmd: z
        """
    assert errors(body, tmp_path) == [
        "specops.yaml:8:27: error: stages.a.deps[1]: "
        "'sub/../../up.txt' leaves the repository through '..'",
        "specops.yaml:9:18: error: stages.a.params[1]: 'seed' is not a key of sub/params.yaml",
        "specops.yaml:10:21: error: stages.a.outs[1]: "
        "'sub/../.dvc/config' is inside '.dvc', which only Git, DVC and specops write to",
        "specops.yaml:16:11: error: stages.c.wdir: '..' leaves the repository through '..'",
    ]
    body = body.replace(", ../../up.txt", "").replace(", ../.dvc/config", "")
    body = body.replace("          c:\n            wdir: ..\n", "          c:\n")
    assert errors(body, tmp_path) == [
        "specops.yaml:9:18: error: stages.a.params[1]: 'seed' is not a key of sub/params.yaml",
        "specops.yaml:13:12: error: stages.b.outs[0]: 'sub/out.bin' is also an out of stage 'a'",
    ]


def test_a_stage_resolves_in_its_own_vars_on_top_of_the_specs(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub/conf.yaml").write_text("depth: 4\n")
    body = """\
        vars: [{opt: sgd}]
        stages:
          a:
            vars: [{lr: 0.1}, conf.yaml, {opt: adam}]
            wdir: sub
            cmd: train ${lr} ${depth}
          b:
            vars: [{item: 1}, missing.yaml]
            matrix: {m: [x]}
            cmd: run ${item.m} ${lr}
        """
    assert errors(body, tmp_path) == [
        "specops.yaml:7:34: error: stages.a.vars[2]: "
        "cannot redefine 'opt' from 'a.vars[2]': 'vars[0]' defines it",
        "specops.yaml:11:12: error: stages.b.vars[0]: 'item' is the matrix item's; rename it",
        "specops.yaml:11:23: error: stages.b.vars[1]: 'missing.yaml' does not exist",
    ]
    body = body.replace(", {opt: adam}", "").replace("{item: 1}, missing.yaml", "{size: 3}")
    assert errors(body, tmp_path) == [
        "specops.yaml:13:10: error: stages.b.cmd: "
        "cannot resolve '${lr}': 'lr' is not defined",  # a's vars are a's alone
    ]


def test_wdir_is_resolved_before_the_stages_own_vars(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub/conf.yaml").write_text("depth: 4\n")
    body = """\
        vars: [{d: sub}]
        stages:
          a:
            vars: [{own: sub}]
            wdir: ${own}
            cmd: x
          b:
            wdir: ${d}
            vars: [conf.yaml]
            cmd: train ${depth}
            outs: [out.bin]
        """
    assert errors(body, tmp_path) == [
        "specops.yaml:8:11: error: stages.a.wdir: cannot resolve '${own}': 'own' is not defined",
    ]
    body = body.replace("wdir: ${own}", "wdir: ${d}")
    assert errors(body, tmp_path) == []


def test_dvc_resolves_wdir_before_the_stages_own_vars(tmp_path: Path) -> None:
    stage = "stages:\n  a:\n    vars: [{own: sub}]\n    wdir: ${own}\n    cmd: x\n"
    said = dvc_load_error(tmp_path / "a", stage, {"sub/x": ""})
    assert said.startswith("failed to parse 'stages.a.wdir' in ")
    assert said.endswith("dvc.yaml': Could not find 'own'")
    stage = "vars: [{d: sub}]\nstages:\n  b:\n    wdir: ${d}\n    vars: [conf.yaml]\n"
    stage += "    cmd: train ${depth}\n"
    assert dvc_load_error(tmp_path / "b", stage, {"sub/conf.yaml": "depth: 4\n"}) == ""


def test_params_files_are_dependencies_in_the_graph(tmp_path: Path) -> None:
    (tmp_path / "sub").mkdir()
    (tmp_path / "params.yaml").write_text("seed: 1\n")
    (tmp_path / "conf.yaml").write_text("lr: 1\n")
    (tmp_path / "sub/params.yaml").write_text("lr: 1\n")
    body = """\
        stages:
          a:
            cmd: x
            params: [seed]
            outs: [params.yaml]
        """
    assert errors(body, tmp_path) == [
        "specops.yaml:5:3: error: stages.a: the pipeline has a cycle: a -> a",
    ]
    body = """\
        stages:
          b:
            cmd: x
            deps: [x]
            outs: [conf.yaml]
          c:
            cmd: x
            params: [{conf.yaml: [lr]}]
            outs: [x]
          d:
            cmd: x
            deps: [y]
            outs: [sub]
          e:
            cmd: x
            wdir: sub
            params: [lr]
            outs: [../y]
        """
    assert errors(body, tmp_path) == [
        "specops.yaml:5:3: error: stages.b: the pipeline has a cycle: b -> c -> b",
    ]
    assert errors(body.replace("deps: [x]", "deps: []"), tmp_path) == [
        "specops.yaml:13:3: error: stages.d: the pipeline has a cycle: d -> e -> d",
    ]


def test_dvc_takes_params_files_as_dependencies_in_the_graph(tmp_path: Path) -> None:
    files = {"params.yaml": "seed: 1\n", "conf.yaml": "lr: 1\n"}
    stage = "stages:\n  a:\n    cmd: x\n    params: [seed]\n    outs: [params.yaml]\n"
    same = "Same item(s) are defined as both a dependency and an output in stage"
    assert dvc_load_error(tmp_path / "a", stage, files).startswith(same)
    stages = (
        "stages:\n  b:\n    cmd: x\n    deps: [x]\n    outs: [conf.yaml]\n"
        "  c:\n    cmd: x\n    params: [{conf.yaml: [lr]}]\n    outs: [x]\n"
    )
    assert dvc_load_error(tmp_path / "b", stages, files).startswith(same)


def test_top_level_params_files_are_rendered_and_stay_in_the_repository(tmp_path: Path) -> None:
    body = """\
        stages:
          a:
            cmd: x
        params: [config/serve.yaml, ../outside.yaml, "${missing}.yaml"]
        """
    assert errors(body, tmp_path) == [
        "specops.yaml:7:29: error: params[1]: '../outside.yaml' leaves the repository through '..'"
    ]
    body = body.replace(", ../outside.yaml", "")
    assert errors(body, tmp_path) == [
        "specops.yaml:7:29: error: params[1]: cannot resolve '${missing}': 'missing' is not defined"
    ]
    body = body.replace(', "${missing}.yaml"', "")
    spec, _ = parse_spec("specops.yaml", (HEAD + textwrap.dedent(body)).encode(), tmp_path)
    assert render_dvc(spec, "specops.yaml").endswith("params:\n- config/serve.yaml\n")


def test_a_stages_vars_change_nothing_the_other_stages_see(tmp_path: Path) -> None:
    body = """\
        vars: [{train: {lr: 0.1}}]
        stages:
          a:
            vars: [{train: {depth: 3}}]
            cmd: x ${train.lr} ${train.depth}
          b:
            cmd: y ${train.depth}
        """
    assert errors(body, tmp_path) == [
        "specops.yaml:10:10: error: stages.b.cmd: "
        "cannot resolve '${train.depth}': 'train' has no key 'depth'",
    ]
