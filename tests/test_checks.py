"""Checks across the spec: references, paths, the DAG, and what each maturity level needs."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from specops.spec import SpecError, parse_spec
from tests.gitrepo import dvc_load_error

PARAMS = "train:\n  seed: 1\n  lr: 0.1\n"

STAGES = """\
stages:
  train:
    cmd: python train.py
    params: [train]
    outs: [model.bin]
    metrics: [scores.json]
"""
MODELS = "models:\n  clf:\n    path: model.bin\n"
GATES = "gates:\n  - metric: auc\n    min: 0.9\n"
PROMOTION = "promotion:\n  stages: [staging, production]\n  auto: staging\n"
MONITORING = "monitoring:\n  reference: ref.csv\n  current: cur.csv\n"


def load(text: str, tmp_path: Path, params: str = PARAMS) -> list[str]:
    """Error lines of a spec, or [] when it is valid."""
    (tmp_path / "params.yaml").write_text(params)
    try:
        parse_spec("specops.yaml", textwrap.dedent(text).lstrip("\n").encode(), tmp_path)
    except SpecError as exc:
        return str(exc).splitlines()
    return []


def spec(maturity: int, *parts: str) -> str:
    return f"version: 1\nname: demo\nmaturity: {maturity}\n" + "".join(parts)


@pytest.mark.parametrize(
    "maturity, parts, expected",
    [
        (0, [STAGES.replace("    metrics: [scores.json]\n", "")], None),
        (1, [STAGES.replace("    metrics: [scores.json]\n", "")], None),
        (
            2,
            [STAGES.replace("    metrics: [scores.json]\n", "")],
            "maturity 2 needs a stage with `metrics`; add it or lower the level"
            ' (see "Maturity 2" in the README)',
        ),
        (2, [STAGES], None),
        (
            3,
            [STAGES],
            "maturity 3 needs `models`, `gates`, `promotion`; add them or lower the level"
            ' (see "Maturity 3" in the README)',
        ),
        (
            3,
            [STAGES, MODELS, GATES],
            "maturity 3 needs `promotion`; add it or lower the level"
            ' (see "Maturity 3" in the README)',
        ),
        (
            3,
            [STAGES, GATES],
            "maturity 3 needs `models`, `promotion`; add them or lower the level"
            ' (see "Maturity 3" in the README)',
        ),
        (3, [STAGES, MODELS, GATES, PROMOTION], None),
        (
            4,
            [STAGES, MODELS, GATES, PROMOTION],
            "maturity 4 needs `monitoring`; add it or lower the level"
            ' (see "Maturity 4" in the README)',
        ),
        (4, [STAGES, MODELS, GATES, PROMOTION, MONITORING], None),
    ],
)
def test_maturity_rules(
    maturity: int, parts: list[str], expected: str | None, tmp_path: Path
) -> None:
    got = load(spec(maturity, *parts), tmp_path)
    assert got == ([f"specops.yaml:3:11: error: maturity: {expected}"] if expected else [])


def test_references_get_suggestions(tmp_path: Path) -> None:
    text = spec(
        0,
        STAGES.replace("params: [train]", "params: [train.sed, train.lr]"),
        "models:\n  clf:\n    path: model.bn\n    metrics: score.json\n",
        "gates:\n  - metric: scores.jsn:auc\n    min: 0.9\n",
        "promotion:\n  stages: [staging, production]\n  auto: stagin\n  approval: producton\n",
    )
    assert load(text, tmp_path) == [
        "specops.yaml:7:14: error: stages.train.params[0]: "
        "'train.sed' is not a key of params.yaml; did you mean 'train.seed'?",
        "specops.yaml:12:11: error: models.clf.path: "
        "'model.bn' is not an out of any stage; did you mean 'model.bin'?",
        "specops.yaml:13:14: error: models.clf.metrics: "
        "'score.json' is not a metrics file of any stage; did you mean 'scores.json'?",
        "specops.yaml:15:13: error: gates[0].metric: "
        "'scores.jsn' is not a metrics file of any stage; did you mean 'scores.json'?",
        "specops.yaml:19:9: error: promotion.auto: "
        "'stagin' is not one of promotion.stages; did you mean 'staging'?",
        "specops.yaml:20:13: error: promotion.approval: "
        "'producton' is not one of promotion.stages; did you mean 'production'?",
    ]


def test_missing_params_file(tmp_path: Path) -> None:
    (tmp_path / "params.yaml").unlink(missing_ok=True)
    raw = spec(0, STAGES).encode()
    with pytest.raises(SpecError) as caught:
        parse_spec("specops.yaml", raw, tmp_path)
    assert str(caught.value) == (
        "specops.yaml:7:14: error: stages.train.params[0]: "
        "params.yaml does not exist next to the spec"
    )


def test_broken_params_file_is_reported_in_its_own_file(tmp_path: Path) -> None:
    assert load(spec(0, STAGES), tmp_path, params="train:\n  seed: 1\n  seed: 2\n") == [
        "params.yaml:3:3: error: train.seed: duplicate key 'seed' (first defined on line 2)"
    ]


def test_paths_must_stay_in_the_repository(tmp_path: Path) -> None:
    text = spec(
        0,
        "stages:\n  a:\n    cmd: x\n    deps: [/etc/passwd, ../secret, 'C:/x']\n"
        "    outs: [., data/../../up]\n",
    )
    assert load(text, tmp_path) == [
        "specops.yaml:7:12: error: stages.a.deps[0]: "
        "'/etc/passwd' must be relative to the repository, not absolute",
        "specops.yaml:7:25: error: stages.a.deps[1]: "
        "'../secret' leaves the repository through '..'",
        "specops.yaml:7:36: error: stages.a.deps[2]: "
        "'C:/x' must be relative to the repository, not absolute",
        "specops.yaml:8:12: error: stages.a.outs[0]: "
        "must name a file or folder, not the whole repository",
        "specops.yaml:8:15: error: stages.a.outs[1]: "
        "'data/../../up' leaves the repository through '..'",
    ]


def test_an_out_of_two_stages(tmp_path: Path) -> None:
    text = spec(
        0,
        "stages:\n  a:\n    cmd: x\n    outs: [data]\n"
        "  b:\n    cmd: y\n    outs: [./data]\n"
        "  c:\n    cmd: z\n    outs: [data/sub/file.csv]\n",
    )
    assert load(text, tmp_path) == [
        "specops.yaml:10:12: error: stages.b.outs[0]: 'data' is also an out of stage 'a'",
        "specops.yaml:13:12: error: stages.c.outs[0]: "
        "'data/sub/file.csv' is inside 'data', an out of 'a'",
    ]


def test_cycles_are_named_in_data_flow_order(tmp_path: Path) -> None:
    text = spec(
        0,
        "stages:\n"
        "  first:\n    cmd: x\n    deps: [c.txt]\n    outs: [a.txt]\n"
        "  second:\n    cmd: y\n    deps: [a.txt]\n    outs: [b.txt]\n"
        "  third:\n    cmd: z\n    deps: [b.txt]\n    outs: [c.txt]\n",
    )
    assert load(text, tmp_path) == [
        "specops.yaml:5:3: error: stages.first: "
        "the pipeline has a cycle: first -> second -> third -> first"
    ]


def test_a_cycle_is_reported_beside_other_problems(tmp_path: Path) -> None:
    text = spec(
        2,
        "stages:\n"
        "  a:\n    cmd: x\n    deps: [b.txt]\n    outs: [a.txt]\n"
        "  b:\n    cmd: y\n    deps: [a.txt]\n    outs: [b.txt]\n",
    )
    assert load(text, tmp_path) == [
        "specops.yaml:3:11: error: maturity: "
        "maturity 2 needs a stage with `metrics`; add it or lower the level"
        ' (see "Maturity 2" in the README)',
        "specops.yaml:5:3: error: stages.a: the pipeline has a cycle: a -> b -> a",
    ]


def test_a_dependency_on_a_folder_with_outs_is_an_edge(tmp_path: Path) -> None:
    text = spec(
        0,
        "stages:\n"
        "  a:\n    cmd: x\n    deps: [data]\n    outs: [out.txt]\n"
        "  b:\n    cmd: y\n    deps: [out.txt]\n    outs: [data/b.csv]\n",
    )
    assert load(text, tmp_path) == [
        "specops.yaml:5:3: error: stages.a: the pipeline has a cycle: a -> b -> a"
    ]


def test_matrix_rules(tmp_path: Path) -> None:
    text = spec(
        0,
        "stages:\n"
        "  empty:\n    matrix: {model: []}\n    cmd: x\n"
        "  same:\n    matrix: {model: [rf, lr]}\n    cmd: y\n    outs: [model.bin]\n"
        "  fine:\n    matrix: {model: [rf, lr]}\n    cmd: z ${item.model}\n"
        "    outs: ['models/${item.model}.bin']\n",
    )
    assert load(text, tmp_path) == [
        "specops.yaml:6:21: error: stages.empty.matrix.model: must list at least one value",
    ]
    text = text.replace("matrix: {model: []}", "matrix: {model: [a]}")
    assert load(text, tmp_path) == [
        "specops.yaml:11:12: error: stages.same.outs[0]: "
        "'model.bin' is also an out of another item of the same matrix",
    ]


def test_gate_rules(tmp_path: Path) -> None:
    text = spec(
        0,
        STAGES,
        "gates:\n"
        "  - metric: auc\n"
        "  - metric: auc\n    min: 2\n    max: 1\n"
        "  - metric: auc\n    min: 0.5\n    tolerance: 0.1\n"
        "  - metric: 'scores.json:'\n    min: 1\n",
    )
    assert load(text, tmp_path) == [
        "specops.yaml:11:5: error: gates[0]: a gate needs at least one of min, max or vs",
        "specops.yaml:13:10: error: gates[1].min: min 2 is greater than max 1",
        "specops.yaml:17:16: error: gates[2].tolerance: applies only to a comparison; add vs",
        "specops.yaml:18:13: error: gates[3].metric: names no metric after ':'",
    ]


def test_no_github_expression_anywhere(tmp_path: Path) -> None:
    text = spec(
        0,
        "stages:\n  a:\n    cmd: echo ${{ github.event.issue.title }}\n",
        "ci:\n  test: 'pytest ${{secrets.X}}'\n",
    )
    message = "must not contain '${{' (GitHub Actions expression syntax)"
    assert load(text, tmp_path) == [
        f"specops.yaml:6:10: error: stages.a.cmd: {message}",
        f"specops.yaml:8:9: error: ci.test: {message}",
    ]


def test_the_repository_spec_is_valid() -> None:
    root = Path(__file__).resolve().parents[1]
    spec, _ = parse_spec("specops.yaml", (root / "specops.yaml").read_bytes(), root)
    assert spec.maturity >= 2


def test_more_gate_and_promotion_rules(tmp_path: Path) -> None:
    text = spec(
        0,
        STAGES.replace("    metrics: [scores.json]\n", ""),
        "gates:\n  - metric: auc\n    vs: main\n    tolerance: -0.1\n",
        "promotion:\n  stages: [staging, staging]\n  auto: staging\n  approval: staging\n",
    )
    assert load(text, tmp_path) == [
        "specops.yaml:12:16: error: gates[0].tolerance: "
        "must be a number >= 0 or a percentage such as '2%'",
    ]
    text = text.replace("tolerance: -0.1", "tolerance: 2%")
    assert load(text, tmp_path) == [
        "specops.yaml:10:13: error: gates[0].metric: "
        "no stage declares a metrics file to read it from",
        "specops.yaml:14:21: error: promotion.stages[1]: "
        "'staging' is listed twice (first on line 14)",
        "specops.yaml:16:13: error: promotion.approval: "
        "'staging' cannot be assigned automatically and need approval",
    ]


def test_oversized_matrix(tmp_path: Path) -> None:
    values = ", ".join(str(i) for i in range(101))
    text = spec(0, f"stages:\n  a:\n    matrix: {{x: [{values}], y: [{values}]}}\n    cmd: x\n")
    assert load(text, tmp_path) == [
        "specops.yaml:6:13: error: stages.a.matrix: "
        "expands to 10,201 stages; at most 10,000 are allowed",
    ]


def test_a_bad_key_is_reported_at_the_key(tmp_path: Path) -> None:
    text = spec(0, "stages:\n  b:\n    cmd: y\n    matrix:\n      ${{ github.ref }}: [1]\n")
    assert load(text, tmp_path) == [
        "specops.yaml:8:7: error: stages.b.matrix.${{ github.ref }}: "
        "'${{ github.ref }}' does not match the pattern ^[A-Za-z0-9_]+$",
    ]


def test_duplicates_are_reported_at_the_second_with_the_line_of_the_first(
    tmp_path: Path,
) -> None:
    text = spec(
        0,
        "stages:\n"
        "  a:\n"
        "    matrix: {model: [rf, lr, rf], n: [1, '1']}\n"
        "    cmd: x ${item.model} ${item.n}\n"
        "    params: [train, train.seed,\n"
        "      train]\n"
        "    deps: [data, ./data/, other]\n"
        "    outs: ['out/${item.model}-${item.n}']\n"
        "    metrics: [m.json]\n"
        "    plots: ['out/${item.model}-${item.n}', m.json]\n",
        "models:\n  clf:\n    path: out/rf-1\n    labels: [a, b, a]\n",
    )
    assert load(text, tmp_path) == [
        "specops.yaml:6:30: error: stages.a.matrix.model[2]: "
        "'rf' is listed twice (first on line 6)",
        "specops.yaml:6:42: error: stages.a.matrix.n[1]: '1' is listed twice (first on line 6)",
        "specops.yaml:9:7: error: stages.a.params[2]: 'train' is listed twice (first on line 8)",
        "specops.yaml:10:18: error: stages.a.deps[1]: "
        "'./data/' is listed twice (first on line 10, as 'data')",
        "specops.yaml:13:13: error: stages.a.plots[0]: "
        "'out/${item.model}-${item.n}' is listed twice (first on line 11)",
        "specops.yaml:13:44: error: stages.a.plots[1]: 'm.json' is listed twice (first on line 12)",
        "specops.yaml:17:20: error: models.clf.labels[2]: 'a' is listed twice (first on line 17)",
    ]


@pytest.mark.parametrize(
    "word, expected",
    [
        ("zzz", "unknown key"),  # nothing alike: no suggestion
        ("paramz", "unknown key; did you mean 'params'?"),
        ("command", "unknown key; did you mean 'cmd'?"),  # difflib ratio 0.6, just at its cutoff
        ("comand_line", "unknown key"),
    ],
)
def test_suggestions_only_for_close_words(word: str, expected: str, tmp_path: Path) -> None:
    text = spec(0, f"stages:\n  a:\n    cmd: x\n    {word}: y\n")
    assert load(text, tmp_path) == [f"specops.yaml:7:5: error: stages.a.{word}: {expected}"]


def test_a_dependency_inside_another_stages_out_folder_makes_an_edge(tmp_path: Path) -> None:
    text = spec(
        0,
        "stages:\n"
        "  a:\n    cmd: x\n    deps: [data/b/part.csv]\n    outs: [a.txt]\n"
        "  b:\n    cmd: y\n    deps: [a.txt]\n    outs: [data/b]\n",
    )
    assert load(text, tmp_path) == [
        "specops.yaml:5:3: error: stages.a: the pipeline has a cycle: a -> b -> a"
    ]


def test_a_cycle_entered_from_outside_is_reported_at_a_stage_in_it(tmp_path: Path) -> None:
    text = spec(
        0,
        "stages:\n"
        "  entry:\n    cmd: x\n    deps: [b.txt]\n    outs: [e.txt]\n"
        "  b:\n    cmd: y\n    deps: [c.txt]\n    outs: [b.txt]\n"
        "  c:\n    cmd: z\n    deps: [b.txt]\n    outs: [c.txt]\n",
    )
    assert load(text, tmp_path) == [
        "specops.yaml:9:3: error: stages.b: the pipeline has a cycle: b -> c -> b"
    ]


def test_more_paths_that_leave_the_repository(tmp_path: Path) -> None:
    text = spec(0, "stages:\n  a:\n    cmd: x\n    deps: ['..', data/../.., '\\etc\\passwd']\n")
    assert load(text, tmp_path) == [
        "specops.yaml:7:12: error: stages.a.deps[0]: '..' leaves the repository through '..'",
        "specops.yaml:7:18: error: stages.a.deps[1]: "
        "'data/../..' leaves the repository through '..'",
        "specops.yaml:7:30: error: stages.a.deps[2]: "
        "'\\\\etc\\\\passwd' must be relative to the repository, not absolute",
    ]


def test_a_backslash_in_a_path_is_an_error(tmp_path: Path) -> None:
    """DVC on Linux and macOS reads `data\\x.bin` as one file name, on Windows as `data/x.bin`:
    the stages that read and write it would not be connected in the same way everywhere."""
    text = spec(
        0,
        "vars: [{sep: 'a\\b'}]\nstages:\n  a:\n    cmd: x\n    outs: ['data\\x.bin']\n"
        "  b:\n    cmd: x\n    deps: [data/x.bin, '${sep}']\n",
    )
    assert load(text, tmp_path) == [
        "specops.yaml:8:12: error: stages.a.outs[0]: 'data\\\\x.bin' holds a backslash, which"
        " DVC reads as a folder separator on Windows only; write '/'",
    ]
    text = text.replace("'data\\x.bin'", "data/x.bin")
    assert load(text, tmp_path) == [
        "specops.yaml:11:24: error: stages.b.deps[1]: in stage 'b': 'a\\\\b' holds a"
        " backslash, which DVC reads as a folder separator on Windows only; write '/'",
    ]


def test_a_params_prefix_is_not_a_key(tmp_path: Path) -> None:
    text = spec(0, STAGES.replace("params: [train]", "params: [train.se, train.seed]"))
    assert load(text, tmp_path) == [
        "specops.yaml:7:14: error: stages.train.params[0]: "
        "'train.se' is not a key of params.yaml; did you mean 'train.seed'?"
    ]


def test_a_github_expression_in_a_mapping_key_is_refused(tmp_path: Path) -> None:
    text = spec(0, "stages:\n  a:\n    cmd: x\n    outs:\n      - '${{ x }}': {cache: false}\n")
    assert load(text, tmp_path) == [
        "specops.yaml:8:9: error: stages.a.outs[0].${{ x }}: "
        "must not contain '${{' (GitHub Actions expression syntax)"
    ]


@pytest.mark.parametrize(
    "maturity, parts, expected",
    [
        (
            4,
            [STAGES.replace("    metrics: [scores.json]\n", ""), MONITORING],
            "maturity 4 needs a stage with `metrics`, `models`, `gates`, `promotion`; add them "
            'or lower the level (see "Maturity 2" and "Maturity 3" in the README)',
        ),
        (
            4,
            [STAGES, MONITORING],
            "maturity 4 needs `models`, `gates`, `promotion`; add them or lower the level"
            ' (see "Maturity 3" in the README)',
        ),
        (
            3,
            [STAGES, MODELS, PROMOTION],
            'maturity 3 needs `gates`; add it or lower the level (see "Maturity 3" in the README)',
        ),
        (
            4,
            [STAGES.replace("    metrics: [scores.json]\n", "")],
            "maturity 4 needs a stage with `metrics`, `models`, `gates`, `promotion`, "
            "`monitoring`; add them or lower the level "
            '(see "Maturity 2", "Maturity 3" and "Maturity 4" in the README)',
        ),
    ],
)
def test_each_level_needs_what_the_levels_below_need(
    maturity: int, parts: list[str], expected: str, tmp_path: Path
) -> None:
    assert load(spec(maturity, *parts), tmp_path) == [
        f"specops.yaml:3:11: error: maturity: {expected}"
    ]


def test_min_equal_to_max_is_a_gate(tmp_path: Path) -> None:
    assert (
        load(spec(0, STAGES, "gates:\n  - metric: auc\n    min: 1\n    max: 1.0\n"), tmp_path) == []
    )


def test_matrix_values_cannot_take_a_path_out_of_the_repository(tmp_path: Path) -> None:
    text = spec(
        0,
        """\
        stages:
          s:
            cmd: echo hi > ${item.p}
            matrix: {p: [ok, "../../tmp/pwned", /etc/cron.d]}
            deps: ["${item.p}.in"]
            outs: ["${item.p}"]
        """.replace("        ", ""),
    )
    assert load(text, tmp_path) == [
        "specops.yaml:8:12: error: stages.s.deps[0]: in stage 's@../../tmp/pwned': "
        "'../../tmp/pwned.in' leaves the repository through '..'",
        "specops.yaml:9:12: error: stages.s.outs[0]: in stage 's@../../tmp/pwned': "
        "'../../tmp/pwned' leaves the repository through '..'",
    ]


def test_stages_cannot_write_where_git_dvc_and_specops_keep_their_files(tmp_path: Path) -> None:
    outs = "[.git/hooks/pre-commit, .dvc/config, ./.github/workflows/x.yml, dvc.lock, data]"
    text = spec(0, f"stages:\n  s:\n    cmd: echo\n    outs: {outs}\n")
    assert load(text, tmp_path) == [
        "specops.yaml:7:12: error: stages.s.outs[0]: '.git/hooks/pre-commit' is inside '.git', "
        "which only Git, DVC and specops write to",
        "specops.yaml:7:35: error: stages.s.outs[1]: '.dvc/config' is inside '.dvc', "
        "which only Git, DVC and specops write to",
        "specops.yaml:7:48: error: stages.s.outs[2]: './.github/workflows/x.yml' is inside "
        "'.github', which only Git, DVC and specops write to",
        "specops.yaml:7:75: error: stages.s.outs[3]: 'dvc.lock' is DVC's own file",
    ]
    matrix = "stages:\n  s:\n    cmd: echo\n    matrix: {d: [a, .git]}\n    outs: ['${item.d}/x']\n"
    assert load(spec(0, matrix), tmp_path) == [
        "specops.yaml:8:12: error: stages.s.outs[0]: in stage 's@.git': '.git/x' is inside "
        "'.git', which only Git, DVC and specops write to"
    ]


def test_top_level_metrics_files_can_be_gated_and_stay_in_the_repository(tmp_path: Path) -> None:
    gates = (
        "gates:\n  - metric: latency.json:ms\n    max: 5\n  - metric: other.json:ms\n    max: 5\n"
    )
    text = spec(0, STAGES, "metrics: [latency.json, ../out.json]\n", gates)
    assert load(text, tmp_path) == [
        "specops.yaml:10:25: error: metrics[1]: '../out.json' leaves the repository through '..'",
        "specops.yaml:14:13: error: gates[1].metric: 'other.json' is not a metrics file of any"
        " stage; did you mean 'scores.json'?",
    ]


def test_nested_matrix_values_are_put_into_paths(tmp_path: Path) -> None:
    text = spec(
        0,
        "stages:\n  train:\n"
        "    matrix:\n      cfg: [{name: a, lr: 1}, {name: a, lr: 2}]\n"
        "    cmd: python train.py\n    outs: ['models/${item.cfg.name}.bin']\n",
    )
    assert load(text, tmp_path) == [
        "specops.yaml:9:12: error: stages.train.outs[0]: "
        "'models/a.bin' is also an out of another item of the same matrix",
    ]


def test_a_reference_to_a_matrix_key_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    text = spec(
        0,
        "stages:\n  train:\n"
        "    matrix:\n      cfg: [{name: a}, {name: b}]\n"
        "    cmd: python train.py\n    outs: ['models/${item.cfg.nope}/${item.other}.bin']\n",
    )
    assert load(text, tmp_path) == [
        "specops.yaml:9:12: error: stages.train.outs[0]: "
        "cannot resolve '${item.cfg.nope}': 'item.cfg' has no key 'nope'",
    ]


def test_a_metrics_file_whose_path_holds_a_colon_can_be_gated(tmp_path: Path) -> None:
    text = spec(
        2,
        "stages:\n  train:\n    cmd: python train.py\n    metrics: ['eval:v2/scores.json']\n",
        "gates:\n  - metric: 'eval:v2/scores.json:auc'\n    min: 0.5\n",
    )
    assert load(text, tmp_path) == []
    assert load(text.replace(":auc'", ":auc:roc'"), tmp_path) == [
        "specops.yaml:9:13: error: gates[0].metric: 'eval:v2/scores.json:auc' is not a metrics"
        " file of any stage; did you mean 'eval:v2/scores.json'?",
    ]


def test_matrix_items_are_named_and_put_into_paths_as_dvc_writes_them(tmp_path: Path) -> None:
    text = spec(
        0,
        "stages:\n  train:\n"
        "    matrix: {flag: [true, false], cfg: [{n: 1}]}\n"
        "    cmd: x\n    outs: ['out/${item.flag}.bin']\n"
        "  other:\n    cmd: y\n    outs: [out/true.bin, out/false.bin]\n",
    )
    assert load(text, tmp_path) == [
        "specops.yaml:11:12: error: stages.other.outs[0]: "
        "'out/true.bin' is also an out of stage 'train@true-cfg0'",
        "specops.yaml:11:26: error: stages.other.outs[1]: "
        "'out/false.bin' is also an out of stage 'train@false-cfg0'",
    ]


def test_a_params_file_that_is_a_symlink_loop_is_reported(tmp_path: Path) -> None:
    (tmp_path / "params.yaml").symlink_to("params.yaml")
    with pytest.raises(SpecError) as caught:
        parse_spec("specops.yaml", spec(0, STAGES).encode(), tmp_path)
    # Python words the loop differently from version to version; where it is, is the point.
    message = str(caught.value)
    assert message.startswith("params.yaml: error: cannot resolve: ")
    assert f"{tmp_path / 'params.yaml'}'" in message


@pytest.mark.parametrize(
    "path, reason",
    [
        ("${item.v[0]}/x", "in stage 's@v0-w0': '../x' leaves the repository through '..'"),
        (
            "${item.w.a-b}/x",
            "in stage 's@v0-w0': '../../tmp/x' leaves the repository through '..'",
        ),
        ("${ item.v }/x", "cannot resolve '${ item.v }': it is a list, which DVC cannot put"),
        ("${d}/x", "cannot resolve '${d}': 'd' is not defined"),
        ("${item.zz}/x", "cannot resolve '${item.zz}': 'item' has no key 'zz'"),
        ("${item.v}/x", "cannot resolve '${item.v}': it is a list, which DVC cannot put"),
    ],
)
def test_a_path_is_checked_with_its_references_resolved(
    tmp_path: Path, path: str, reason: str
) -> None:
    stage = (
        "stages:\n  s:\n    cmd: echo\n"
        "    matrix: {v: [['..', /etc]], w: [{a-b: ../../tmp}]}\n"
        f"    outs: ['{path}']\n"
    )
    assert load(spec(0, stage), tmp_path) == [
        f"specops.yaml:8:12: error: stages.s.outs[0]: {reason}"
        + (" into text" if reason.endswith("cannot put") else "")
    ]


def test_expanded_paths_are_bounded_before_they_are_built(tmp_path: Path) -> None:
    values = ", ".join(str(i) for i in range(100))
    deps = ", ".join(f"'d{i}/${{item.x}}/${{item.y}}'" for i in range(21))
    stage = f"stages:\n  s:\n    cmd: echo\n    matrix: {{x: [{values}], y: [{values}]}}\n"
    assert load(spec(0, stage + f"    deps: [{deps}]\n"), tmp_path) == [
        "specops.yaml:4:1: error: stages: the stages' deps and outs make 210,000 paths with"
        " matrices expanded; at most 200,000 are allowed"
    ]


def test_bidirectional_controls_are_refused_anywhere(tmp_path: Path) -> None:
    text = spec(0, 'stages:\n  s:\n    cmd: "echo safe \\u202e; rm -rf ~"\n    desc: "\\u2066x"\n')
    assert load(text, tmp_path) == [
        "specops.yaml:6:10: error: stages.s.cmd: must not contain invisible bidirectional"
        " control characters (U+202E)",
        "specops.yaml:7:11: error: stages.s.desc: must not contain invisible bidirectional"
        " control characters (U+2066)",
    ]


def test_paths_outside_stages_are_checked_where_they_are_written(tmp_path: Path) -> None:
    text = spec(
        0,
        STAGES,
        "models:\n  clf:\n    path: /abs/model.bin\n    metrics: ../scores.json\n",
        "monitoring:\n  reference: ../ref.csv\n  current: /cur.csv\n",
    )
    assert load(text, tmp_path) == [
        "specops.yaml:12:11: error: models.clf.path: '/abs/model.bin' must be relative to the"
        " repository, not absolute",
        "specops.yaml:13:14: error: models.clf.metrics: '../scores.json' is not a metrics file of"
        " any stage; did you mean 'scores.json'?",
        "specops.yaml:13:14: error: models.clf.metrics: '../scores.json' leaves the repository"
        " through '..'",
        "specops.yaml:15:14: error: monitoring.reference: '../ref.csv' leaves the repository"
        " through '..'",
        "specops.yaml:16:12: error: monitoring.current: '/cur.csv' must be relative to the"
        " repository, not absolute",
    ]


def test_empty_matrices_are_reported_after_a_stage_without_one(tmp_path: Path) -> None:
    text = spec(
        0,
        "stages:\n  a:\n    cmd: echo\n  b:\n    cmd: echo\n    matrix: {}\n"
        "  c:\n    cmd: echo\n    matrix: {x: []}\n",
    )
    assert load(text, tmp_path) == [
        "specops.yaml:9:13: error: stages.b.matrix: must name at least one key",
        "specops.yaml:12:17: error: stages.c.matrix.x: must list at least one value",
    ]


def test_deployments_name_promotion_stages_at_maturity_3(tmp_path: Path) -> None:
    deploy = "deploy:\n  stagin:\n    cmd: ./deploy.sh\n  staging:\n    cmd: ./deploy.sh\n"
    assert load(spec(3, STAGES, MODELS, GATES, PROMOTION, deploy), tmp_path) == [
        "specops.yaml:20:3: error: deploy.stagin: "
        "'stagin' is not one of promotion.stages; did you mean 'staging'?",
    ]
    assert load(spec(2, STAGES, MODELS, GATES, PROMOTION, deploy), tmp_path) == [
        "specops.yaml:19:1: error: deploy: "
        "deployments are rendered at maturity 3 and up; this spec is at 2",
        "specops.yaml:20:3: error: deploy.stagin: "
        "'stagin' is not one of promotion.stages; did you mean 'staging'?",
    ]
    assert load(spec(2, STAGES, deploy), tmp_path) == [
        "specops.yaml:10:1: error: deploy: "
        "deployments are rendered at maturity 3 and up; this spec is at 2",
        "specops.yaml:10:1: error: deploy: needs a `promotion` section whose stages it deploys",
    ]


BAD_URL = "must be an http:// or https:// URL without spaces or quotes"
ENVIRONMENT = "^[A-Za-z0-9][A-Za-z0-9._-]*$"


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("url", "'https://a b'", BAD_URL),
        ("url", "ftp://x", BAD_URL),
        ("url", '''"https://x/'y"''', BAD_URL),
        ("environment", "'-prod'", f"'-prod' does not match the pattern {ENVIRONMENT}"),
        ("cmd", "''", "string should have at least 1 character, got ''"),
    ],
)
def test_deployment_fields(tmp_path: Path, field: str, value: str, message: str) -> None:
    fields = {"cmd": "./deploy.sh", field: value}
    deploy = "deploy:\n  staging:\n" + "".join(f"    {k}: {v}\n" for k, v in fields.items())
    line = 21 + list(fields).index(field)
    col = 7 + len(field)
    assert load(spec(3, STAGES, MODELS, GATES, PROMOTION, deploy), tmp_path) == [
        f"specops.yaml:{line}:{col}: error: deploy.staging.{field}: {message}"
    ]


def test_params_keys_may_hold_dots_and_stop_at_a_value(tmp_path: Path) -> None:
    params = "train:\n  seed: 1\n  opt.lr: 0.1\n"
    text = spec(0, STAGES.replace("params: [train]", "params: [train.opt.lr, train.seed.bits]"))
    assert load(text, tmp_path, params) == [
        "specops.yaml:7:28: error: stages.train.params[1]: "
        "'train.seed.bits' is not a key of params.yaml",
    ]


def test_escaped_control_characters_are_refused(tmp_path: Path) -> None:
    text = spec(0, 'stages:\n  s:\n    cmd: "echo \\e[2J"\n')
    assert load(text, tmp_path) == [
        "specops.yaml:6:10: error: stages.s.cmd: must not contain control characters (U+001B)"
    ]


def test_dvc_files_are_neither_deps_nor_outs(tmp_path: Path) -> None:
    body = (
        "stages:\n  s:\n    cmd: echo\n    deps: [x.dvc, sub/dvc.yaml, dvc.lock]\n"
        "    outs: [y.dvc, out/dvc.yaml, out/dvc.lock]\n"
        "  t:\n    cmd: echo\n    wdir: sub\n    metrics: [dvc.yaml]\n"
    )
    assert load(spec(0, body), tmp_path) == [
        "specops.yaml:7:12: error: stages.s.deps[0]: 'x.dvc' is a DVC file, which DVC takes"
        " as neither a dep nor an out",
        "specops.yaml:7:19: error: stages.s.deps[1]: 'sub/dvc.yaml' is a DVC file, which DVC"
        " takes as neither a dep nor an out",
        "specops.yaml:8:12: error: stages.s.outs[0]: 'y.dvc' is a DVC file, which DVC takes"
        " as neither a dep nor an out",
        "specops.yaml:8:19: error: stages.s.outs[1]: 'out/dvc.yaml' is a DVC file, which DVC"
        " takes as neither a dep nor an out",
        "specops.yaml:12:15: error: stages.t.metrics[0]: 'sub/dvc.yaml' is a DVC file, which"
        " DVC takes as neither a dep nor an out",
    ]
    body = "stages:\n  u:\n    cmd: echo\n    matrix: {e: [csv, dvc]}\n    plots: ['p.${item.e}']\n"
    assert load(spec(0, body), tmp_path) == [
        "specops.yaml:8:13: error: stages.u.plots[0]: in stage 'u@dvc': 'p.dvc' is a DVC"
        " file, which DVC takes as neither a dep nor an out",
    ]


def test_dvc_refuses_its_own_files_as_deps_and_outs(tmp_path: Path) -> None:
    stage = "stages:\n  s:\n    cmd: echo\n    {}: [{}]\n"
    refused = {
        ("outs", "y.dvc"): "DVC file 'y.dvc' cannot be an output.",
        ("outs", "out/dvc.yaml"): "DVC file 'out/dvc.yaml' cannot be an output.",
        ("deps", "x.dvc"): "DVC file 'x.dvc' cannot be a dependency.",
        ("deps", "sub/dvc.yaml"): "DVC file 'sub/dvc.yaml' cannot be a dependency.",
        ("outs", "out/dvc.lock"): "",
        ("deps", "dvc.lock"): "",
    }
    for i, ((field, path), said) in enumerate(refused.items()):
        assert dvc_load_error(tmp_path / str(i), stage.format(field, path)) == said


def test_matrix_values_are_checked_as_deps_and_as_outs(tmp_path: Path) -> None:
    # `.dvc/in.csv` may be read, not written; the stage without a matrix comes first.
    text = spec(
        0,
        "stages:\n  a:\n    cmd: echo\n  b:\n    cmd: echo ${item.d}\n"
        '    deps: ["${item.d}/in.csv"]\n    outs: ["out/${item.d}.csv"]\n'
        '    matrix:\n      d: [ok, ".dvc", "../x"]\n',
    )
    assert load(text, tmp_path) == [
        "specops.yaml:9:12: error: stages.b.deps[0]: in stage 'b@../x': '../x/in.csv' leaves"
        " the repository through '..'"
    ]


def test_metrics_and_plots_are_outs_that_may_not_be_reserved(tmp_path: Path) -> None:
    text = spec(
        0, "stages:\n  s:\n    cmd: echo\n    metrics: [.dvc/m.json]\n    plots: [.git/p.csv]\n"
    )
    assert load(text, tmp_path) == [
        "specops.yaml:7:15: error: stages.s.metrics[0]: '.dvc/m.json' is inside '.dvc', which"
        " only Git, DVC and specops write to",
        "specops.yaml:8:13: error: stages.s.plots[0]: '.git/p.csv' is inside '.git', which"
        " only Git, DVC and specops write to",
    ]


def test_a_model_may_sit_inside_an_out_folder(tmp_path: Path) -> None:
    stages = STAGES.replace("outs: [model.bin]", "outs: [out]")
    models = "models:\n  a:\n    path: out/clf.bin\n  b:\n    path: other/clf.bin\n"
    assert load(spec(0, stages, models), tmp_path) == [
        "specops.yaml:14:11: error: models.b.path: 'other/clf.bin' is not an out of any stage"
    ]


def test_interpolated_params_keys_are_checked_once_resolved(tmp_path: Path) -> None:
    stages = (
        STAGES.replace("params: [train]", "params: ['${item.p}']")
        .replace("outs: [model.bin]", "outs: ['${item.p}.bin']")
        .replace("metrics: [scores.json]", "metrics: ['${item.p}.json']")
    ) + "    matrix:\n      p: [train.seed, train.sed]\n"
    assert load(spec(0, stages), tmp_path) == [
        "specops.yaml:7:14: error: stages.train.params[0]: in stage 'train@train.sed':"
        " 'train.sed' is not a key of params.yaml; did you mean 'train.seed'?"
    ]
