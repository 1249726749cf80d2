"""`specops schema` describes what the models accept, so editors flag what specops would."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from specops.commands import schema
from specops.spec import Spec
from tests.test_dvc_render import FULL

ROOT = Path(__file__).resolve().parents[1]


def readme_spec() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## The spec (version 1)", 1)[1]
    match = re.search(r"```yaml\n(.*?)```", section, re.S)
    assert match
    return match.group(1)


VALID = {
    "repository": (ROOT / "specops.yaml").read_text(),
    "readme": readme_spec(),
    "full": FULL,
}


@pytest.mark.parametrize("text", VALID.values(), ids=VALID.keys())
def test_valid_specs_match_the_schema(text: str) -> None:
    data = yaml.safe_load(text)
    Spec.model_validate(data)
    jsonschema.validate(data, schema())


BASE: dict[str, Any] = {"version": 1, "name": "x", "maturity": 0, "stages": {"a": {"cmd": "x"}}}
INVALID = {
    "unknown key": {**BASE, "stage": {}},
    "cmd not a string": {**BASE, "stages": {"a": {"cmd": 3}}},
    "empty cmd list": {**BASE, "stages": {"a": {"cmd": []}}},
    "two paths in one out": {**BASE, "stages": {"a": {"cmd": "x", "outs": [{"a": {}, "b": {}}]}}},
    "two paths in one plot": {
        **BASE,
        "stages": {"a": {"cmd": "x", "plots": [{"a.csv": {"x": "t"}, "b.csv": {}}]}},
    },
    "unknown out option": {**BASE, "stages": {"a": {"cmd": "x", "outs": [{"a": {"cach": 1}}]}}},
    "maturity 5": {**BASE, "maturity": 5},
    "bad name": {**BASE, "name": "Bad Name"},
    "no stages": {**BASE, "stages": {}},
    "foreach beside cmd": {
        **BASE,
        "stages": {"a": {"foreach": [1], "do": {"cmd": "x"}, "cmd": "x"}},
    },
    "do without foreach": {**BASE, "stages": {"a": {"do": {"cmd": "x"}}}},
    "foreach of a number": {**BASE, "stages": {"a": {"foreach": 3, "do": {"cmd": "x"}}}},
    "pipeline folder with a space": {**BASE, "pipelines": {"a b": {"stages": {"a": {"cmd": "x"}}}}},
    "pipeline without stages": {**BASE, "pipelines": {"nlp": {"stages": {}}}},
    "unknown pipeline key": {**BASE, "pipelines": {"nlp": {"stages": {"a": {"cmd": "x"}}, "x": 1}}},
    "two ids in one top-level plot": {**BASE, "plots": [{"a": {"y": "v"}, "b": None}]},
    "top-level plot with a number as y": {**BASE, "plots": [{"a": {"y": 3}}]},
    "dataset of an unknown type": {**BASE, "datasets": [{"name": "d", "url": "u", "type": "git"}]},
    "dataset without url": {**BASE, "datasets": [{"name": "d", "type": "dvc"}]},
    "artifact name ending in a dash": {**BASE, "artifacts": {"data-": {"path": "x"}}},
    "artifact without path": {**BASE, "artifacts": {"data": {"type": "dataset"}}},
}


@pytest.mark.parametrize("data", INVALID.values(), ids=INVALID.keys())
def test_invalid_specs_fail_both(data: dict[str, Any]) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(data, schema())
    with pytest.raises(ValueError):
        Spec.model_validate(data)
