"""The checks of the `monitoring` section, and the drift methods' thresholds they enforce."""

from __future__ import annotations

import difflib
import math
import posixpath
from collections.abc import Iterator, Sequence

from specops.spec.models import Monitoring, Spec
from specops.spec.pipeline import Instance, out_problem, path_problem
from specops.spec.problems import Problem
from specops.spec.yamlfile import YamlDoc

#: Each method's default threshold, as in Evidently 0.7: a p-value for the tests, a distance
#: (or PSI) for the others.
DEFAULT_THRESHOLD = {
    "ks": 0.05,
    "chi2": 0.05,
    "z": 0.05,
    "wasserstein": 0.1,
    "jensenshannon": 0.1,
    "psi": 0.1,
}
#: The methods whose statistic is a p-value: a column drifts when it is below the threshold.
P_VALUE = frozenset({"ks", "chi2", "z"})
#: The metrics of a binary classification (classes 0 and 1, class 1 the positive one).
BINARY_METRICS = ("accuracy", "precision", "recall", "f1", "roc_auc")
#: Precision, recall and f1 averaged over the classes: each class alike, or by its rows.
AVERAGED_METRICS = tuple(
    f"{name}_{average}"
    for average in ("macro", "weighted")
    for name in ("precision", "recall", "f1")
)
#: The metrics of a classification of other classes (3 or more, or not 0 and 1).
MULTICLASS_METRICS = ("accuracy", *AVERAGED_METRICS)
#: The metrics of a batch that `performance` gates can name.
METRICS = (*BINARY_METRICS, *AVERAGED_METRICS)
#: The only `vs` of a `performance` gate: the same metrics on the reference.
VS_REFERENCE = "reference"
#: SciPy's Jensen-Shannon distance (natural logarithm) is at most sqrt(ln 2).
JS_MAX = math.sqrt(math.log(2))


def threshold_problem(method: str, threshold: float) -> str | None:
    """Why `threshold` cannot be one of `method`, or None."""
    if method == "auto":
        return (
            "`auto` picks a method per column, each with its own default threshold;"
            " name a method to set a threshold"
        )
    if method in P_VALUE and not 0 < threshold < 1:
        between = "the threshold must be between 0 and 1"
        return f"{method} compares a p-value: {between}, got {threshold}"
    if method == "jensenshannon" and not 0 < threshold <= JS_MAX:
        return (
            "the Jensen-Shannon distance is between 0 and sqrt(ln 2) = 0.8326: the threshold"
            f" must be above 0 and at most that, got {threshold}"
        )
    if method in ("wasserstein", "psi") and not threshold > 0:
        return f"{method}'s threshold must be above 0, got {threshold}"
    return None


def problems(spec: Spec, doc: YamlDoc) -> Iterator[Problem]:
    """What is wrong in a schema-valid `monitoring` section."""
    watch = spec.monitoring
    if watch is None:
        return
    yield from _columns(watch, doc)
    drift = watch.drift
    if drift.threshold is not None:
        reason = threshold_problem(drift.method, drift.threshold)
        if reason:
            yield doc.problem(("monitoring", "drift", "threshold"), reason)
    if watch.performance and watch.target is None:
        yield doc.problem(
            ("monitoring", "performance"),
            "needs `monitoring.target`, the column of ground truth the metrics are computed from",
        )
    elif watch.performance and watch.prediction is None and watch.predicted_class is None:
        yield doc.problem(
            ("monitoring", "performance"),
            "needs `monitoring.prediction`, the column of the model's score, or"
            " `monitoring.predicted_class`",
        )
    yield from _performance(watch, doc)
    if watch.retrain and spec.maturity < 4:
        yield doc.problem(
            ("monitoring", "retrain"),
            f"retraining on drift is maturity 4, and the spec is at maturity {spec.maturity};"
            " raise `maturity` or leave `retrain` out",
        )
    elif watch.retrain and watch.incoming is None:
        yield doc.problem(
            ("monitoring", "retrain"),
            "retraining needs new data: name in `monitoring.incoming` the folder of batches"
            " that training depends on, where the drifted batch goes",
        )
    if watch.incoming is not None:
        # The retraining job writes there, and commits what it wrote.
        reason = incoming_path_problem(watch.incoming)
        if reason:
            yield doc.problem(("monitoring", "incoming"), reason)


def incoming_path_problem(path: str) -> str | None:
    """Why the retraining job may not write the batch in the folder `path`, or None."""
    return path_problem(path) or out_problem(path)


def _performance(watch: Monitoring, doc: YamlDoc) -> Iterator[Problem]:
    for i, gate in enumerate(watch.performance):
        if gate.metric not in METRICS:
            close = difflib.get_close_matches(gate.metric, METRICS, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            if gate.metric.endswith("_micro"):
                hint = (
                    "; with one class a row, micro averages equal the accuracy: gate on 'accuracy'"
                )
            yield doc.problem(
                ("monitoring", "performance", i, "metric"),
                f"{gate.metric!r} is not a metric of the batch ({', '.join(BINARY_METRICS)},"
                f" or precision, recall and f1 with _macro or _weighted){hint}",
            )
        if gate.vs is not None and gate.vs != VS_REFERENCE:
            yield doc.problem(
                ("monitoring", "performance", i, "vs"),
                f"a batch's metrics are compared with the reference's only: `vs: reference`,"
                f" not {gate.vs!r}",
            )


#: The columns with a role of their own, in the order their clashes are reported.
ROLES = ("target", "prediction", "predicted_class", "latency")


def _columns(watch: Monitoring, doc: YamlDoc) -> Iterator[Problem]:
    roles: dict[str, str | None] = {role: getattr(watch, role) for role in ROLES}
    taken: dict[str, str] = {}
    for role, name in roles.items():
        if name is None:
            continue
        if name in taken:
            yield doc.problem(
                ("monitoring", role),
                f"{name!r} is the {taken[name]} already: the {role} is another column",
            )
        else:
            taken[name] = role
    seen: set[str] = set()
    for i, name in enumerate(watch.columns or ()):
        taker = taken.get(name)
        if taker is not None:
            yield doc.problem(
                ("monitoring", "columns", i),
                f"{name!r} is the {taker}, which is watched on its own: leave it out of `columns`",
            )
        elif name in seen:
            yield doc.problem(("monitoring", "columns", i), f"{name!r} is listed twice")
        seen.add(name)


def incoming_problems(spec: Spec, insts: Sequence[Instance], doc: YamlDoc) -> Iterator[Problem]:
    """Retraining adds the batch to `incoming`: without a stage that depends on it, `dvc repro`
    has nothing new to train on. (Pipelines in folders name paths from their own folder: they
    are not searched.)"""
    watch = spec.monitoring
    if watch is None or not watch.retrain or watch.incoming is None or spec.pipelines:
        return
    if incoming_path_problem(watch.incoming):
        return
    folder = posixpath.normpath(watch.incoming)
    for inst in insts:
        for out, _ in inst.outs:
            out = posixpath.normpath(out)
            if folder == out or folder.startswith(out + "/"):
                yield doc.problem(
                    ("monitoring", "incoming"),
                    f"{watch.incoming!r} is inside {out!r}, which stage {inst.name!r} writes:"
                    " retraining adds batches to the repository, not to a stage's output",
                )
                return
    for inst in insts:
        for dep, _ in inst.deps:
            dep = posixpath.normpath(dep)
            if dep == folder or folder.startswith(dep.rstrip("/") + "/"):
                return
    yield doc.problem(
        ("monitoring", "incoming"),
        f"no stage depends on {watch.incoming!r}: the stage that trains must, or retraining"
        " has no new data to train on",
    )
