"""The `monitoring` section: drift settings, columns, performance gates, retraining."""

from __future__ import annotations

from pathlib import Path

import pytest

from specops.spec import parse_spec
from tests.test_checks import GATES, MODELS, PROMOTION, STAGES, load, spec

HEAD = "monitoring:\n  reference: ref.csv\n  current: cur.csv\n"


def full(maturity: int, monitoring: str) -> str:
    return spec(maturity, STAGES, MODELS, GATES, PROMOTION, HEAD, monitoring)


TRAINS_ON_DATA = STAGES.replace("    params: [train]\n", "    deps: [data]\n    params: [train]\n")


def test_every_key_is_read(tmp_path: Path) -> None:
    text = spec(
        4,
        TRAINS_ON_DATA,
        MODELS,
        GATES,
        PROMOTION,
        HEAD,
        "  fetch: python -m pipeline.fetch_batch\n"
        "  columns: [age, city]\n"
        "  target: label\n"
        "  prediction: proba\n"
        "  predicted_class: predicted\n"
        "  latency: latency_ms\n"
        "  drift: {method: psi, threshold: 0.2, share: 0.3}\n"
        "  performance:\n    - metric: accuracy\n      min: 0.85\n"
        "    - {metric: roc_auc, vs: reference, tolerance: 0.02}\n"
        "  ignore: [version, time]\n"
        "  retrain: true\n"
        "  incoming: data/incoming\n"
        "  token_secret: RETRAIN_TOKEN\n",
    )
    assert load(text, tmp_path) == []
    (tmp_path / "params.yaml").write_text("train:\n  seed: 1\n  lr: 0.1\n")
    watch = parse_spec("specops.yaml", text.encode(), tmp_path)[0].monitoring
    assert watch is not None
    assert (watch.fetch, watch.columns, watch.target, watch.prediction) == (
        "python -m pipeline.fetch_batch",
        ["age", "city"],
        "label",
        "proba",
    )
    assert (watch.drift.method, watch.drift.threshold, watch.drift.share) == ("psi", 0.2, 0.3)
    assert watch.performance[0].metric == "accuracy" and watch.retrain
    assert (watch.predicted_class, watch.latency) == ("predicted", "latency_ms")
    assert (watch.ignore, watch.incoming, watch.token_secret) == (
        ["version", "time"],
        "data/incoming",
        "RETRAIN_TOKEN",
    )


def test_defaults(tmp_path: Path) -> None:
    text = full(4, "")
    (tmp_path / "params.yaml").write_text("train:\n  seed: 1\n  lr: 0.1\n")
    watch = parse_spec("specops.yaml", text.encode(), tmp_path)[0].monitoring
    assert watch is not None
    assert (watch.drift.method, watch.drift.threshold, watch.drift.share) == ("auto", None, 0.5)
    assert (watch.columns, watch.target, watch.retrain, watch.performance) == (
        None,
        None,
        False,
        [],
    )


# Line 22 is the first line after the section's head.
@pytest.mark.parametrize(
    "monitoring, expected",
    [
        (
            "  drift: {method: ks, threshold: 1.5}\n",
            "22:34: error: monitoring.drift.threshold: ks compares a p-value: the threshold must"
            " be between 0 and 1, got 1.5",
        ),
        (
            "  drift: {method: chi2, threshold: 0}\n",
            "22:36: error: monitoring.drift.threshold: chi2 compares a p-value: the threshold"
            " must be between 0 and 1, got 0.0",
        ),
        (
            "  drift: {method: jensenshannon, threshold: 0.9}\n",
            "22:45: error: monitoring.drift.threshold: the Jensen-Shannon distance is between 0"
            " and sqrt(ln 2) = 0.8326: the threshold must be above 0 and at most that, got 0.9",
        ),
        (
            "  drift: {method: wasserstein, threshold: -0.1}\n",
            "22:43: error: monitoring.drift.threshold: wasserstein's threshold must be above 0,"
            " got -0.1",
        ),
        (
            "  drift: {threshold: 0.1}\n",
            "22:22: error: monitoring.drift.threshold: `auto` picks a method per column, each"
            " with its own default threshold; name a method to set a threshold",
        ),
        (
            "  drift: {share: 0}\n",
            "22:18: error: monitoring.drift.share: must be greater than 0, got 0",
        ),
        (
            "  drift: {share: 1.5}\n",
            "22:18: error: monitoring.drift.share: must be less than or equal to 1, got 1.5",
        ),
        (
            "  drift: {method: kolmogorov}\n",
            "22:19: error: monitoring.drift.method: must be 'auto', 'ks', 'chi2', 'z',"
            " 'wasserstein', 'jensenshannon' or 'psi', got 'kolmogorov'",
        ),
        (
            "  target: label\n  columns: [age, label]\n",
            "23:18: error: monitoring.columns[1]: 'label' is the target, which is watched on its"
            " own: leave it out of `columns`",
        ),
        (
            "  prediction: p\n  columns: [p]\n",
            "23:13: error: monitoring.columns[0]: 'p' is the prediction, which is watched on its"
            " own: leave it out of `columns`",
        ),
        (
            "  columns: [age, age]\n",
            "22:18: error: monitoring.columns[1]: 'age' is listed twice",
        ),
        (
            "  columns: []\n",
            "22:12: error: monitoring.columns: list should have at least 1 item after validation,"
            " not 0, got a list",
        ),
        (
            "  target: y\n  prediction: y\n",
            "23:15: error: monitoring.prediction: 'y' is the target already: the prediction is"
            " another column",
        ),
        (
            "  performance:\n    - metric: accuracy\n      min: 0.8\n",
            "23:5: error: monitoring.performance: needs `monitoring.target`, the column of"
            " ground truth the metrics are computed from",
        ),
        (
            "  retrain: true\n",
            "22:12: error: monitoring.retrain: retraining needs new data: name in"
            " `monitoring.incoming` the folder of batches that training depends on, where the"
            " drifted batch goes",
        ),
        (
            "  token_secret: GITHUB_TOKEN\n",
            "22:17: error: monitoring.token_secret: 'GITHUB_TOKEN': GitHub reserves the names"
            " that start with GITHUB_",
        ),
        (
            "  token_secret: my-token\n",
            "22:17: error: monitoring.token_secret: 'my-token' is not a secret name specops"
            " accepts: upper-case letters, digits and '_', not starting with a digit",
        ),
        (
            "  target: y\n  performance:\n    - metric: accuracy\n      min: 0.8\n",
            "24:5: error: monitoring.performance: needs `monitoring.prediction`, the column of"
            " the model's score, or `monitoring.predicted_class`",
        ),
        (
            "  target: y\n  prediction: p\n  performance:\n    - metric: acuracy\n",
            "25:15: error: monitoring.performance[0].metric: 'acuracy' is not a metric of the batch"
            " (accuracy, precision, recall, f1, roc_auc, or precision, recall and f1 with _macro"
            " or _weighted); did you mean 'accuracy'?",
        ),
        (
            "  target: y\n  prediction: p\n  performance:\n    - metric: f1_macr\n",
            "25:15: error: monitoring.performance[0].metric: 'f1_macr' is not a metric of the batch"
            " (accuracy, precision, recall, f1, roc_auc, or precision, recall and f1 with _macro"
            " or _weighted); did you mean 'f1_macro'?",
        ),
        (
            "  target: y\n  prediction: p\n  performance:\n    - metric: f1_micro\n",
            "25:15: error: monitoring.performance[0].metric: 'f1_micro' is not a metric of the"
            " batch (accuracy, precision, recall, f1, roc_auc, or precision, recall and f1 with"
            " _macro or _weighted); with one class a row, micro averages equal the accuracy: gate"
            " on 'accuracy'",
        ),
        (
            "  target: y\n  prediction: p\n  performance:\n    - metric: scores.json:f1\n",
            "25:15: error: monitoring.performance[0].metric: 'scores.json:f1' is not a metric of"
            " the batch (accuracy, precision, recall, f1, roc_auc, or precision, recall and f1"
            " with _macro or _weighted)",
        ),
        (
            "  target: y\n  prediction: p\n  performance:\n    - {metric: f1, vs: main}\n",
            "25:24: error: monitoring.performance[0].vs: a batch's metrics are compared with the"
            " reference's only: `vs: reference`, not 'main'",
        ),
        (
            "  target: y\n  predicted_class: y\n",
            "23:20: error: monitoring.predicted_class: 'y' is the target already: the"
            " predicted_class is another column",
        ),
        (
            "  prediction: p\n  latency: p\n",
            "23:12: error: monitoring.latency: 'p' is the prediction already: the latency is"
            " another column",
        ),
        (
            "  latency: ms\n  columns: [ms]\n",
            "23:13: error: monitoring.columns[0]: 'ms' is the latency, which is watched on its"
            " own: leave it out of `columns`",
        ),
        (
            "  target: y\n  performance:\n    - metric: accuracy\n      mni: 0.8\n",
            "25:7: error: monitoring.performance[0].mni: unknown key; did you mean 'min'?",
        ),
    ],
)
def test_problems(monitoring: str, expected: str, tmp_path: Path) -> None:
    assert load(full(4, monitoring), tmp_path) == [f"specops.yaml:{expected}"]


def test_retrain_is_maturity_4(tmp_path: Path) -> None:
    text = spec(3, STAGES, MODELS, GATES, PROMOTION, HEAD, "  retrain: true\n")
    assert load(text, tmp_path) == [
        "specops.yaml:22:12: error: monitoring.retrain: retraining on drift is maturity 4, and"
        " the spec is at maturity 3; raise `maturity` or leave `retrain` out"
    ]


@pytest.mark.parametrize(
    ("deps", "expected"),
    [
        ("[data/incoming]", []),
        ("[data/incoming/]", []),
        ("[data]", []),
        (
            "[data/incoming-old, dat]",
            [
                "specops.yaml:24:13: error: monitoring.incoming: no stage depends on"
                " 'data/incoming': the stage that trains must, or retraining has no new data to"
                " train on"
            ],
        ),
    ],
)
def test_training_depends_on_the_incoming_batches(
    deps: str, expected: list[str], tmp_path: Path
) -> None:
    stages = STAGES.replace("    params: [train]\n", f"    deps: {deps}\n    params: [train]\n")
    text = spec(
        4, stages, MODELS, GATES, PROMOTION, HEAD, "  retrain: true\n  incoming: data/incoming\n"
    )
    assert load(text, tmp_path) == expected


@pytest.mark.parametrize(
    ("incoming", "expected"),
    [
        ("/tmp/batches", "'/tmp/batches' must be relative to the repository, not absolute"),
        ("../batches", "'../batches' leaves the repository through '..'"),
        ("data/../../batches", "'data/../../batches' leaves the repository through '..'"),
        (".git/hooks", "'.git/hooks' is inside '.git', which only Git, DVC and specops write to"),
        (
            ".github/workflows",
            "'.github/workflows' is inside '.github', which only Git, DVC and specops write to",
        ),
        (".", "must name a file or folder, not the whole repository"),
        (
            "prepared/incoming",
            "'prepared/incoming' is inside 'prepared', which stage 'prepare' writes: retraining"
            " adds batches to the repository, not to a stage's output",
        ),
    ],
)
def test_the_incoming_folder_is_one_the_retraining_job_may_write(
    incoming: str, expected: str, tmp_path: Path
) -> None:
    stages = STAGES.replace(
        "stages:\n", "stages:\n  prepare:\n    cmd: python prepare.py\n    outs: [prepared]\n"
    ).replace("    params: [train]\n", "    deps: [data, prepared]\n    params: [train]\n")
    watch = f"  retrain: true\n  incoming: {incoming}\n"
    text = spec(4, stages, MODELS, GATES, PROMOTION, HEAD, watch)
    assert load(text, tmp_path) == [f"specops.yaml:27:13: error: monitoring.incoming: {expected}"]


def test_the_incoming_folder_of_a_spec_with_pipelines_is_checked(tmp_path: Path) -> None:
    text = spec(4, STAGES, MODELS, GATES, PROMOTION, HEAD, "  incoming: ../batches\n")
    text += "pipelines:\n  nlp:\n    stages:\n      embed:\n        cmd: python embed.py\n"
    assert load(text, tmp_path) == [
        "specops.yaml:22:13: error: monitoring.incoming: '../batches' leaves the repository"
        " through '..'"
    ]
