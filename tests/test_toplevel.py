"""dvc.yaml's top-level plots, datasets and artifacts, and model paths with `${...}`: what the
checks refuse, and what is rendered. What DVC makes of them is in test_dvc_acceptance.py."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from specops.generators.dvc import render_dvc
from specops.spec import load_spec, parse_spec
from tests.specerrors import spec_errors

HEAD = "version: 1\nname: top\nmaturity: 0\n"
# Indented as the bodies below are, which are dedented as a whole.
STAGES = """\
        stages:
          train:
            matrix: {m: [rf, lr]}
            cmd: python train.py ${item.m}
            outs: ["models/${item.m}.pkl"]
"""


def errors(body: str, root: Path) -> list[str]:
    return spec_errors("top", body, root)


def rendered(body: str, root: Path, section: str) -> str:
    spec, _ = parse_spec("specops.yaml", (HEAD + textwrap.dedent(body)).encode(), root)
    return render_dvc(spec, "specops.yaml").split(f"\n{section}:\n", 1)[1]


def test_the_schema_of_top_level_plots(tmp_path: Path) -> None:
    body = (
        STAGES
        + """\
        plots:
          - acc:
              x: step
              y: {a.csv: acc, b.csv: [acc, 3]}
              titel: Accuracy
          - loss: {y: 3}
          - roc: {x: [fpr], y: {}}
          - [x]
          - {a.csv: {}, b.csv: {}}
          -
        """
    )
    assert errors(textwrap.dedent(body), tmp_path) == [
        "specops.yaml:12:36: error: plots[0].acc.y.b.csv[1]: "
        'expected a string, got the number 3; quote it, as in "3"',
        "specops.yaml:13:7: error: plots[0].acc.titel: unknown key; did you mean 'title'?",
        "specops.yaml:14:15: error: plots[1].loss.y: must be a field name, a list of field names"
        " or a mapping of files to fields, got 3",
        "specops.yaml:15:14: error: plots[2].roc.x: "
        "must be a field name or a mapping of files to a field, got a list",
        "specops.yaml:15:24: error: plots[2].roc.y: "
        "dictionary should have at least 1 item after validation, not 0, got a mapping",
        "specops.yaml:16:5: error: plots[3]: "
        "must be a path or a mapping of one plot id to its definition, got a list",
        "specops.yaml:17:5: error: plots[4]: must map exactly one plot id to its definition",
        "specops.yaml:18:4: error: plots[5]: "
        "must be a path or a mapping of one plot id to its definition, got nothing (null)",
    ]


def test_top_level_plots_name_files_in_the_repository_resolved_as_dvc_resolves_them(
    tmp_path: Path,
) -> None:
    (tmp_path / "params.yaml").write_text("metric: acc\nup: ..\nfiles: {a.csv: acc}\nn: 3\n")
    body = (
        STAGES
        + """\
        plots:
          - ${metric}:
              x: {../steps.csv: step}
              y: {a.csv: acc, "${up}/b.csv": acc}
          - ../c.csv
          - ${up}/d.csv:
          - acc.csv
          - ${metric}.csv: {y: [acc]}
          - ${files}: {y: "${files}"}
          - ${metrc}.csv
        """
    )
    assert errors(body, tmp_path) == [
        "specops.yaml:11:11: error: plots[0].${metric}.x.../steps.csv: "
        "'../steps.csv' leaves the repository through '..'",
        "specops.yaml:12:23: error: plots[0].${metric}.y.${up}/b.csv: "
        "'../b.csv' leaves the repository through '..'",
        "specops.yaml:13:5: error: plots[1]: '../c.csv' leaves the repository through '..'",
        "specops.yaml:14:5: error: plots[2].${up}/d.csv: "
        "'../d.csv' leaves the repository through '..'",
        "specops.yaml:16:5: error: plots[4].${metric}.csv: "
        "'${metric}.csv' resolves to 'acc.csv', which is the id of two plots (first on line 15)",
        "specops.yaml:17:5: error: plots[5].${files}: '${files}' is a mapping; a plot id is needed",
        "specops.yaml:18:5: error: plots[6]: "
        "cannot resolve '${metrc}': 'metrc' is not defined; did you mean 'metric'?",
    ]


def test_top_level_plots_are_rendered_as_written(tmp_path: Path) -> None:
    (tmp_path / "params.yaml").write_text("metric: acc\n")
    body = (
        STAGES
        + """\
        plots:
          - curves/
          - ${metric}:
              x: step
              y: {train.csv: "${metric}", test.csv: [acc, "on"]}
              x_label: Step
              y_label: Accuracy
              title: Accuracy
              template: linear
          - roc:
              x: {a.csv: fpr}
              y: {b.csv: tpr}
          - c.csv:
        """
    )
    assert rendered(body, tmp_path, "plots") == textwrap.dedent(
        """\
        - curves/
        - ${metric}:
            x: step
            y:
              train.csv: ${metric}
              test.csv:
              - acc
              - 'on'
            x_label: Step
            y_label: Accuracy
            title: Accuracy
            template: linear
        - roc:
            x:
              a.csv: fpr
            y:
              b.csv: tpr
        - c.csv: null
        """
    )


def test_a_stage_plot_with_a_list_of_options_is_refused_as_dvc_cannot_load_it(
    tmp_path: Path,
) -> None:
    body = """\
        stages:
          evaluate:
            cmd: python evaluate.py
            plots:
              - roc.csv: [{x: fpr, y: tpr}, {x: fpr, y: fnr}]
        """
    assert errors(body, tmp_path) == [
        "specops.yaml:8:18: error: stages.evaluate.plots[0].roc.csv: a list of options for one"
        " plot file is in DVC's schema, but DVC 3 cannot load it; give one mapping of options,"
        " and define other plots of the file in the top-level `plots`"
    ]


def test_dvc_accepts_a_list_of_plot_options_in_its_schema_but_cannot_load_it() -> None:
    """Why specops refuses the list form: when DVC loads it, this test fails and the form can
    be rendered."""
    from dvc.output import _merge_data  # type: ignore[import-untyped]
    from dvc.schema import COMPILED_MULTI_STAGE_SCHEMA  # type: ignore[import-untyped]

    plots = [{"roc.csv": [{"x": "fpr", "y": "tpr"}, {"x": "fpr", "y": "fnr"}]}]
    COMPILED_MULTI_STAGE_SCHEMA({"stages": {"a": {"cmd": "x", "plots": plots}}})
    with pytest.raises(ValueError, match=r"Expected dict for 'roc\.csv', got: 'list'"):
        _merge_data(plots)


def test_datasets(tmp_path: Path) -> None:
    (tmp_path / "params.yaml").write_text("name: raw\n")
    body = """\
        stages:
          train:
            cmd: python train.py
            deps: [ds://raw, ds://rwa, "ds://${name}"]
        datasets:
          - {name: raw, url: "https://example.com/data.git", type: dvc, path: data, rev: v1}
          - {name: "${name}", url: "s3://bucket/raw", type: url, path: data, rev: v1}
          - {name: tables, url: "dc://tables@v2", type: dc}
          - {name: x, url: y, type: git}
          - {name: z, type: dvc}
        """
    assert errors(body, tmp_path) == [
        "specops.yaml:12:29: error: datasets[3].type: must be 'dvc', 'dc' or 'url', got 'git'",
        "specops.yaml:13:5: error: datasets[4].url: required key is missing",
    ]
    body = body.replace("          - {name: x, url: y, type: git}\n", "")
    body = body.replace("          - {name: z, type: dvc}\n", "")
    assert errors(body, tmp_path) == [
        "specops.yaml:7:22: error: stages.train.deps[1]: "
        "'ds://rwa' names no dataset of `datasets`; did you mean 'raw'?",
        "specops.yaml:10:12: error: datasets[1].name: "
        "'${name}' resolves to 'raw', which is the name of two datasets (first on line 9)",
        "specops.yaml:10:58: error: datasets[1].path: applies only to a dataset of type dvc",
        "specops.yaml:10:70: error: datasets[1].rev: applies only to a dataset of type dvc",
    ]


def test_a_dataset_dependency_names_a_dataset_once_resolved(tmp_path: Path) -> None:
    (tmp_path / "params.yaml").write_text("name: raw\nsets: [raw, rwa]\n")
    body = """\
        stages:
          train:
            foreach: ${sets}
            do:
              cmd: python train.py
              deps: ["ds://${item}", "ds://${name}"]
        datasets:
          - {name: raw, url: "s3://bucket/raw", type: url}
        """
    assert errors(body, tmp_path) == [
        "specops.yaml:9:14: error: stages.train.do.deps[0]: in stage 'train@rwa': "
        "'ds://rwa' names no dataset of `datasets`; did you mean 'raw'?",
    ]


def test_datasets_are_rendered_as_dvc_writes_them(tmp_path: Path) -> None:
    body = """\
        datasets:
          - {type: dvc, name: raw, url: "https://example.com/data.git", rev: v1}
          - {name: tables, url: "dc://tables@v2", type: dc}
        stages:
          train:
            cmd: python train.py
            deps: [ds://raw, ds://tables]
        """
    assert rendered(body, tmp_path, "datasets").split("stages:")[0] == textwrap.dedent(
        """\
        - name: raw
          url: https://example.com/data.git
          type: dvc
          rev: v1
        - name: tables
          url: dc://tables@v2
          type: dc
        """
    )


def test_artifact_names_and_paths(tmp_path: Path) -> None:
    (tmp_path / "params.yaml").write_text("model: rf\nn: 3\nup: ..\n")
    body = (
        STAGES
        + """\
        models:
          rf:
            path: models/rf.pkl
        artifacts:
          data/raw: {path: data/raw, type: dataset}
          "bad name": {path: x}
          -x: {path: x}
          x-: {path: x}
          remote: {path: "s3://bucket/../x", typo: 1}
        """
    )
    assert errors(body, tmp_path) == [
        "specops.yaml:14:3: error: artifacts.bad name: 'bad name' is not a valid artifact name:"
        " an artifact name may hold only letters, digits, '-', '_' and '/', and must start and"
        " end with a letter or digit",
        "specops.yaml:15:3: error: artifacts.-x: '-x' is not a valid artifact name: an artifact"
        " name may hold only letters, digits, '-', '_' and '/', and must start and end with a"
        " letter or digit",
        "specops.yaml:16:3: error: artifacts.x-: 'x-' is not a valid artifact name: an artifact"
        " name may hold only letters, digits, '-', '_' and '/', and must start and end with a"
        " letter or digit",
        "specops.yaml:17:38: error: artifacts.remote.typo: unknown key; did you mean 'type'?",
    ]
    body = (
        STAGES
        + """\
        models:
          rf:
            path: models/rf.pkl
        artifacts:
          "${model}": {path: data/raw}
          "${n}": {path: "${up}/x"}
          "x${model}-": {path: ../y}
          xrf: {path: "${up}/z"}
          "${model}x": {path: "s3://bucket/../x"}
          rfx: {path: "/abs"}
          drive: {path: "C://x"}
        """
    )
    assert errors(body, tmp_path) == [
        "specops.yaml:13:3: error: artifacts.${model}: '${model}' resolves to 'rf', which is also"
        " the name of a model (line 10); DVC keeps one artifact per name",
        "specops.yaml:14:3: error: artifacts.${n}: '${n}' is the number 3; a name is needed",
        "specops.yaml:14:18: error: artifacts.${n}.path: '../x' leaves the repository through '..'",
        "specops.yaml:15:3: error: artifacts.x${model}-: 'x${model}-' resolves to 'xrf-', which"
        " is not a valid artifact name: an artifact name may hold only letters, digits, '-', '_'"
        " and '/', and must start and end with a letter or digit",
        "specops.yaml:15:24: error: artifacts.x${model}-.path: "
        "'../y' leaves the repository through '..'",
        "specops.yaml:16:15: error: artifacts.xrf.path: '../z' leaves the repository through '..'",
        "specops.yaml:18:3: error: artifacts.rfx: 'rfx' is also the name of artifact '${model}x'"
        " (line 17); DVC keeps one artifact per name",
        "specops.yaml:18:15: error: artifacts.rfx.path: "
        "'/abs' must be relative to the repository, not absolute",
        "specops.yaml:19:17: error: artifacts.drive.path: "
        "'C://x' must be relative to the repository, not absolute",
    ]


def test_artifacts_are_rendered_after_the_models(tmp_path: Path) -> None:
    body = (
        STAGES
        + """\
        artifacts:
          raw: {path: data/raw, type: dataset, labels: [raw], meta: {owner: data}, desc: Raw}
          reports/summary: {path: "s3://bucket/summary.html"}
        models:
          rf:
            path: models/rf.pkl
            meta: {framework: sklearn}
        """
    )
    expected = """\
        rf:
          path: models/rf.pkl
          type: model
          meta:
            framework: sklearn
        raw:
          path: data/raw
          type: dataset
          desc: Raw
          labels:
          - raw
          meta:
            owner: data
        reports/summary:
          path: s3://bucket/summary.html
        """
    assert rendered(body, tmp_path, "artifacts") == textwrap.indent(textwrap.dedent(expected), "  ")


def test_a_model_path_is_compared_with_the_outs_once_resolved(tmp_path: Path) -> None:
    (tmp_path / "params.yaml").write_text("name: rf\nother: svm\nn: 3\nup: ..\n")
    body = (
        STAGES
        + """\
        models:
          rf: {path: "models/${name}.pkl"}
          svm: {path: "models/${other}.pkl"}
          three: {path: "${n}"}
          up: {path: "${up}/x.pkl"}
          typo: {path: "models/${nam}.pkl"}
        """
    )
    assert errors(body, tmp_path) == [
        "specops.yaml:12:17: error: models.three.path: '${n}' is the number 3; a path is needed",
        "specops.yaml:13:14: error: models.up.path: '../x.pkl' leaves the repository through '..'",
        "specops.yaml:14:16: error: models.typo.path: "
        "cannot resolve '${nam}': 'nam' is not defined; did you mean 'name'?",
    ]
    body = body.replace('          typo: {path: "models/${nam}.pkl"}\n', "")
    body = body.replace('          three: {path: "${n}"}\n', "")
    body = body.replace('          up: {path: "${up}/x.pkl"}\n', "")
    assert errors(body, tmp_path) == [
        "specops.yaml:11:15: error: models.svm.path: 'models/${other}.pkl' resolves to"
        " 'models/svm.pkl', which is not an out of any stage; did you mean 'models/rf.pkl'?",
    ]
    (tmp_path / "specops.yaml").write_text(HEAD + textwrap.dedent(body).replace("${other}", "lr"))
    project = load_spec(tmp_path / "specops.yaml")
    assert project.model_path("rf") == "models/rf.pkl"
    assert project.model_path("svm") == "models/lr.pkl"


def test_top_level_metrics_and_params_paths_stay_in_the_repository_once_resolved(
    tmp_path: Path,
) -> None:
    (tmp_path / "params.yaml").write_text("up: ..\n")
    body = (
        STAGES
        + """\
        metrics: ["${up}/m.json"]
        params: ["${up}/p.yaml"]
        """
    )
    assert errors(body, tmp_path) == [
        "specops.yaml:9:11: error: metrics[0]: '../m.json' leaves the repository through '..'",
        "specops.yaml:10:10: error: params[0]: '../p.yaml' leaves the repository through '..'",
    ]


def test_the_text_references_put_into_strings_is_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A long list put into many top-level paths would otherwise be written out each time."""
    from specops.spec import resolve as resolve_module

    body = """\
        stages:
          train:
            cmd: python train.py
        vars: [{big: [1, 2, 3], up: ..}]
        metrics: ["${big}.json", "${big}2.json"]
        params: ["${up}/p.yaml"]
        """
    monkeypatch.setattr(resolve_module, "MAX_INTERPOLATED_CHARS", 20)  # 9 + 9 + 2
    assert errors(body, tmp_path) == [
        "specops.yaml:9:10: error: params[0]: '../p.yaml' leaves the repository through '..'"
    ]
    monkeypatch.setattr(resolve_module, "MAX_INTERPOLATED_CHARS", 19)
    too_many = (
        "the spec's references put more than 19 characters of values into text in all;"
        " that is too many to check"
    )
    assert errors(body, tmp_path) == [f"specops.yaml:9:10: error: params[0]: {too_many}"]
    monkeypatch.setattr(resolve_module, "MAX_INTERPOLATED_CHARS", 17)
    assert errors(body, tmp_path) == [
        f"specops.yaml:8:26: error: metrics[1]: {too_many.replace('19', '17')}",
        f"specops.yaml:9:10: error: params[0]: {too_many.replace('19', '17')}",
    ]
