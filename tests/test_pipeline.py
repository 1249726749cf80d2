"""End-to-end tests: run the real pipeline stages as subprocesses in a scratch directory."""

import json
import math
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd  # type: ignore[import-untyped]
import pytest
import skops.io as sio  # type: ignore[import-untyped]
import yaml
from sklearn.ensemble import RandomForestClassifier  # type: ignore[import-untyped]
from sklearn.pipeline import Pipeline  # type: ignore[import-untyped]
from sklearn.preprocessing import FunctionTransformer  # type: ignore[import-untyped]

from tests.conftest import new_workdir, run_stage

ROOT = Path(__file__).resolve().parents[1]
PARAMS = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
N_ROWS = 569  # size of sklearn's breast-cancer dataset


@pytest.fixture(scope="module")
def workdir(pipeline_project: Path) -> Path:
    """The project that prepare, train and evaluate ran in once with the default params."""
    return pipeline_project


def test_split_sizes_and_stratification(workdir: Path) -> None:
    train = pd.read_csv(workdir / "data/prepared/train.csv")
    test = pd.read_csv(workdir / "data/prepared/test.csv")
    live = pd.read_csv(workdir / "data/prepared/live.csv")
    test_size, live_share = PARAMS["prepare"]["test_size"], PARAMS["prepare"]["live_share"]

    assert len(train) + len(test) + len(live) == N_ROWS
    assert len(test) == math.ceil(N_ROWS * test_size)
    assert len(live) == math.ceil((N_ROWS - len(test)) * live_share)
    assert list(train.columns) == list(test.columns) == list(live.columns)
    assert train.columns[-1] == "target" and len(train.columns) == 31

    positives = train["target"].sum() + test["target"].sum() + live["target"].sum()
    assert abs(test["target"].sum() - positives * test_size) <= 1
    assert abs(live["target"].sum() - (positives - test["target"].sum()) * live_share) <= 1


def test_validate_data_adds_incoming_batches_that_keep_the_contract(
    workdir: Path, tmp_path: Path
) -> None:
    """A simulated batch in the prediction log's layout trains; one that breaks the data
    contract stops the stage, naming the column."""
    work = new_workdir(tmp_path / "work")
    shutil.copytree(workdir / "data", work / "data")
    shutil.copytree(workdir / "models", work / "models")
    params = {**PARAMS, "simulate": {**PARAMS["simulate"], "shift": 0.5, "latency_ms": 20.0}}
    (work / "params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
    run_stage(work, "simulate")
    batch = pd.read_csv(work / "data/live/batch.csv")
    live = pd.read_csv(work / "data/prepared/live.csv")
    assert list(batch.columns) == [
        *live.columns,
        "prediction",
        "score",
        "latency_ms",
        "version",
        "time",
    ]
    shifted = batch["mean radius"] - live["mean radius"]
    assert np.allclose(shifted, 0.5 * live["mean radius"].std())
    # Simulated latencies: seeded, so the stage reproduces, around the median params.yaml sets.
    from pipeline.simulate import latencies_ms

    seed = PARAMS["simulate"]["seed"]
    assert batch["latency_ms"].tolist() == latencies_ms(len(batch), 20.0, seed).tolist()
    assert 15 < batch["latency_ms"].median() < 25
    assert latencies_ms(1000, 20.0, seed).tolist() == latencies_ms(1000, 20.0, seed).tolist()
    assert abs(float(np.median(latencies_ms(10_000, 20.0, seed))) - 20) < 0.5

    (work / "data/incoming").mkdir()
    shutil.copyfile(work / "data/live/batch.csv", work / "data/incoming/batch-1.csv")
    run_stage(work, "validate_data")
    trained = pd.read_csv(work / "data/validated/train.csv")
    prepared = pd.read_csv(work / "data/prepared/train.csv")
    assert len(trained) == len(prepared) + len(live)
    assert list(trained.columns) == list(prepared.columns)

    broken = batch.drop(columns="mean radius").assign(**{"mean area": "large"})
    broken.to_csv(work / "data/incoming/batch-2.csv", index=False)
    result = run_stage(work, "validate_data", check=False)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "validate_data: data/incoming/batch-2.csv: mean radius: missing from the current batch",
        "validate_data: data/incoming/batch-2.csv: mean area: its type changed from number to"
        " string",
    ]


def test_the_reference_is_the_training_data_scored_out_of_fold(
    workdir: Path, tmp_path: Path
) -> None:
    """Each training row scored by a model fitted without it: not the in-sample scores of the
    model, which a forest nearly learns by heart."""
    work = new_workdir(tmp_path / "work")
    shutil.copytree(workdir / "data", work / "data")
    run_stage(work, "reference")
    scored = pd.read_csv(work / "data/reference/train.csv")
    train = pd.read_csv(work / "data/validated/train.csv")
    assert list(scored.columns) == [*train.columns, "prediction", "score"]
    pd.testing.assert_frame_equal(scored[train.columns], train)
    assert ((scored["score"] > 0.5) == (scored["prediction"] == 1)).all()  # a tie is class 0
    model = sio.load(
        workdir / "models/model.skops",
        trusted=sio.get_untrusted_types(file=workdir / "models/model.skops"),
    )
    in_sample = (model.predict(train.drop(columns="target")) == train["target"]).mean()
    out_of_fold = (scored["prediction"] == scored["target"]).mean()
    assert 0.9 < out_of_fold < in_sample


def test_model_loads_with_skops(workdir: Path) -> None:
    path = workdir / "models/model.skops"
    model = sio.load(path, trusted=sio.get_untrusted_types(file=path))

    assert isinstance(model, RandomForestClassifier)
    assert model.n_estimators == PARAMS["train"]["n_estimators"]
    assert model.max_depth == PARAMS["train"]["max_depth"]


def test_scores(workdir: Path) -> None:
    text = (workdir / "metrics/scores.json").read_text(encoding="utf-8")
    scores = json.loads(text)

    assert text.endswith("}\n")
    assert set(scores) == {"accuracy", "f1", "roc_auc"}
    assert scores["roc_auc"] > 0.95
    assert 0.9 < scores["accuracy"] <= 1 and 0.9 < scores["f1"] <= 1


def test_latency_is_measured_outside_the_stages(workdir: Path) -> None:
    run_stage(workdir, "latency")
    latency = json.loads((workdir / "metrics" / "latency.json").read_text(encoding="utf-8"))
    assert list(latency) == ["predict_latency_ms", "batch"]
    assert latency["predict_latency_ms"] > 0
    batch = latency["batch"]
    assert batch["rows"] > 0 and batch["seconds"] > 0
    # The peak holds the model and the data: tens of megabytes at least, on any platform.
    assert batch["peak_rss_mb"] > 20


@pytest.mark.parametrize("model", ["rf"])
def test_the_saved_model_is_the_same_bytes_every_time(workdir: Path, model: str) -> None:
    # Separate processes: object ids, hash seeds and the clock all differ between them.
    for out in ("again-1.skops", "again-2.skops"):
        run_stage(workdir, "train", "--model", model, "--out", f"models/{out}")
    first, second = (workdir / "models" / f"again-{i}.skops" for i in (1, 2))
    assert first.read_bytes() == second.read_bytes()
    assert sio.load(first, trusted=sio.get_untrusted_types(file=first)).get_params()


def test_roc_curve(workdir: Path) -> None:
    roc = pd.read_csv(workdir / "metrics/roc.csv")

    assert list(roc.columns) == ["fpr", "tpr", "threshold"]
    assert np.isfinite(roc.to_numpy()).all()
    assert (roc["fpr"].diff().dropna() >= 0).all()
    assert (roc["tpr"].diff().dropna() >= 0).all()
    assert (roc["threshold"].diff().dropna() <= 0).all()
    assert roc["fpr"].iloc[-1] == roc["tpr"].iloc[-1] == 1


def test_logreg_variant(workdir: Path, tmp_path: Path) -> None:
    path = new_workdir(tmp_path)
    shutil.copytree(workdir / "data", path / "data")
    # Exercise --out too, then move the model to where evaluate expects it.
    run_stage(path, "train", "--model", "logreg", "--out", "nested/logreg.skops")
    (path / "models").mkdir()
    (path / "nested/logreg.skops").rename(path / "models/model.skops")
    run_stage(path, "evaluate")

    model_file = path / "models/model.skops"
    model = sio.load(model_file, trusted=sio.get_untrusted_types(file=model_file))
    assert isinstance(model, Pipeline)
    assert [name for name, _ in model.steps] == ["scale", "clf"]
    scores = json.loads((path / "metrics/scores.json").read_text(encoding="utf-8"))
    assert scores["roc_auc"] > 0.95


def test_evaluate_refuses_untrusted_types(tmp_path: Path) -> None:
    path = new_workdir(tmp_path)
    # A model whose "preprocessing" would call os.system if it were ever loaded and run.
    (path / "models").mkdir()
    sio.dump(FunctionTransformer(func=os.system), path / "models/model.skops")

    result = run_stage(path, "evaluate", check=False)

    assert result.returncode != 0
    assert "refusing to load" in result.stderr
    assert f"{os.system.__module__}.system" in result.stderr
    assert not (path / "metrics").exists()
