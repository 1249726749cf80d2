"""Each drift method against SciPy's statistics and against the numbers Evidently prints."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from scipy import stats
from scipy.spatial import distance

from specops.monitoring import methods
from specops.monitoring.drift import compare
from specops.monitoring.settings import Settings
from specops.monitoring.tables import Table

DATA = Path(__file__).parent / "data" / "drift"
#: What Evidently 0.7 prints for the fixtures (`evidently` in the file says which release).
EVIDENTLY = json.loads((DATA / "evidently.json").read_text())
#: Evidently's display names of the methods.
NAMES = {
    "Wasserstein distance (normed)": "wasserstein",
    "Jensen-Shannon distance": "jensenshannon",
    "K-S p_value": "ks",
    "chi-square p_value": "chi2",
    "Z-test p_value": "z",
}


def run(name: str, method: str = "auto", **options: Any) -> dict[str, Any]:
    reference = Table.open(DATA / f"{name}_ref.csv", f"{name}_ref.csv")
    current = Table.open(DATA / f"{name}_cur.csv", f"{name}_cur.csv")
    return compare(reference, current, Settings(method=method, **options)).as_dict()


@pytest.mark.parametrize("key", sorted(EVIDENTLY["runs"]))
def test_same_numbers_as_evidently(key: str) -> None:
    name, method = key.split(":")
    expected = EVIDENTLY["runs"][key]
    found = run(name, method)
    assert [c["column"] for c in found["columns"]] == list(expected["columns"])
    for column in found["columns"]:
        theirs = expected["columns"][column["column"]]
        assert column["method"] == NAMES.get(theirs["method"], theirs["method"])
        assert column["threshold"] == theirs["threshold"]
        assert column["statistic"] == pytest.approx(theirs["value"], rel=1e-12, abs=1e-300)
        assert column["exact"]
    assert found["drifted_columns"] == expected["drifted"]["count"]
    assert found["drifted_share"] == expected["drifted"]["share"]


def test_evidently_release() -> None:
    assert EVIDENTLY["evidently"].startswith("0.7.")


RNG = np.random.default_rng(7)
A, B = RNG.normal(0, 1, 3000), RNG.normal(0.1, 1.2, 2000)


def test_ks_is_scipys() -> None:
    assert methods.ks(A, B) == stats.ks_2samp(A, B).pvalue


def test_wasserstein_is_scipys_normed_by_the_reference_std() -> None:
    expected = stats.wasserstein_distance(A, B) / np.std(A)
    assert methods.wasserstein(A, B) == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    "u, v",
    [
        (A, B),
        (np.array([1.0, 1.0, 2.0]), np.array([1.0, 3.0])),
        (np.array([5.0]), np.array([5.0])),
        (RNG.integers(0, 3, 500) * 1.0, RNG.integers(0, 4, 300) * 1.0),
        (RNG.standard_cauchy(1000), RNG.standard_cauchy(700)),
    ],
)
def test_wasserstein_distance_is_scipys(u: Any, v: Any) -> None:
    expected = stats.wasserstein_distance(u, v)
    assert methods.wasserstein_distance(u, v) == pytest.approx(expected, rel=1e-12, abs=1e-15)


def test_wasserstein_floors_the_std() -> None:
    constant = np.zeros(100)
    assert methods.wasserstein(constant, constant + 0.0005) == pytest.approx(0.5)


def test_chi2_is_scipys() -> None:
    ref, cur = {"a": 50, "b": 30, "c": 20}, {"a": 30, "b": 30, "c": 40}
    expected = stats.chisquare([30, 30, 40], [50, 30, 20]).pvalue
    assert methods.chi2(ref, cur) == pytest.approx(expected, rel=1e-12)


def test_chi2_of_an_unseen_category_is_drift() -> None:
    assert methods.chi2({"a": 5, "b": 5}, {"a": 5, "b": 4, "new": 1}) == 0.0


def test_z_test_is_the_two_proportion_test() -> None:
    ref, cur = {"no": 300, "yes": 700}, {"no": 500, "yes": 500}
    p1, p2, pooled = 0.7, 0.5, 1200 / 2000
    z = (p1 - p2) / math.sqrt(pooled * (1 - pooled) * (1 / 1000 + 1 / 1000))
    assert methods.z_test(ref, cur) == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-9)
    assert methods.z_test({"x": 4}, {"x": 9}) == 1.0


def test_jensenshannon_is_scipys() -> None:
    ref, cur = methods.shares({"a": 1, "b": 3}, {"a": 2, "b": 2, "c": 4})
    expected = distance.jensenshannon([0.25, 0.75, 0], [0.25, 0.25, 0.5])
    assert methods.jensenshannon(ref, cur) == pytest.approx(expected, rel=1e-12)
    same = np.array([0.5, 0.5])
    assert methods.jensenshannon(same, same) == distance.jensenshannon(same, same) == 0
    ref, cur = RNG.random(30), RNG.random(30)
    expected = distance.jensenshannon(ref, cur)
    assert methods.jensenshannon(ref, cur) == pytest.approx(expected, rel=1e-12)


def test_psi_fills_empty_bins_as_evidently() -> None:
    ref, cur = np.array([0.5, 0.5, 0.0]), np.array([0.25, 0.25, 0.5])
    filled = np.array([0.5, 0.5, 0.0001])
    expected = float(np.sum((filled - cur) * np.log(filled / cur)))
    assert methods.psi(ref, cur) == expected
    tiny = np.array([0.99995, 0.00005, 0.0])
    assert methods.fill_zeroes(tiny)[2] == 0.00005 / 10**6


@pytest.mark.parametrize(
    "values",
    [
        np.concatenate([A, B]),
        np.arange(10_000, dtype=np.float64),
        np.full(7, 3.0),
        np.array([1e-300, 2e-300, 5.0]),
        RNG.integers(0, 1000, 5000).astype(np.float64),
    ],
)
def test_sturges_edges_are_numpys(values: Any) -> None:
    span = methods.Range(float(values.min()), float(values.max()), values.size)
    expected = np.histogram_bin_edges(values, bins="sturges")
    assert np.array_equal(methods.sturges_edges(span), expected)


def test_sturges_edges_of_integers_are_numpys() -> None:
    values = np.array([0, 1, 2] * 400)
    span = methods.Range(0.0, 2.0, values.size, integer=True)
    assert np.array_equal(methods.sturges_edges(span), np.histogram_bin_edges(values, "sturges"))


@pytest.mark.parametrize(
    "kind, reference_rows, values, expected",
    [
        ("numeric", 1000, None, "ks"),
        ("numeric", 1000, 5, "chi2"),
        ("numeric", 1000, 2, "z"),
        ("categorical", 1000, None, "chi2"),
        ("categorical", 1000, 2, "z"),
        ("categorical", 10, 1, "z"),
        ("numeric", 1001, None, "wasserstein"),
        ("numeric", 1001, 5, "jensenshannon"),
        ("categorical", 1001, None, "jensenshannon"),
    ],
)
def test_auto_follows_evidently(
    kind: str, reference_rows: int, values: int | None, expected: str
) -> None:
    assert methods.auto_method(kind, reference_rows, values) == expected


@pytest.mark.parametrize(
    "method, statistic, threshold, expected",
    [
        ("ks", 0.05, 0.05, True),
        ("chi2", 0.05, 0.05, False),
        ("z", 0.049, 0.05, True),
        ("wasserstein", 0.1, 0.1, True),
        ("jensenshannon", 0.0999, 0.1, False),
        ("psi", 0.1, 0.1, True),
    ],
)
def test_comparisons_are_evidentlys(
    method: str, statistic: float, threshold: float, expected: bool
) -> None:
    assert methods.drifted(method, statistic, threshold) is expected
