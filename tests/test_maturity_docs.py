"""The README shows what each maturity level needs, and the maturity message points there."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from specops.spec import SpecError, parse_spec
from specops.spec.checks import MATURITY_NEEDS

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
SECTION = README.split("### Maturity levels", 1)[1].split("\n### ", 1)[0]


def fragments() -> dict[int, dict[str, Any]]:
    """Level -> the YAML fragment under the README heading `#### Maturity N...`."""
    found = re.findall(r"^#### Maturity (\d)\b.*?```yaml\n(.*?)```", SECTION, re.S | re.M)
    return {int(level): yaml.safe_load(text) for level, text in found}


def merged(upto: int, maturity: int) -> bytes:
    data: dict[str, Any] = {}
    for level, fragment in sorted(fragments().items()):
        if level <= upto:
            for key, value in fragment.items():
                data[key] = {**data.get(key, {}), **value} if isinstance(value, dict) else value
    data["maturity"] = maturity
    return yaml.safe_dump(data, sort_keys=False).encode()


def test_there_is_a_fragment_per_level() -> None:
    assert sorted(fragments()) == [0, 2, 3, 4]


@pytest.mark.parametrize("level", [0, 1, 2, 3, 4])
def test_the_fragments_up_to_a_level_are_a_valid_spec_at_it(level: int, tmp_path: Path) -> None:
    spec, _ = parse_spec("specops.yaml", merged(level, level), tmp_path)
    assert spec.maturity == level


@pytest.mark.parametrize("level", [2, 3, 4])
def test_the_message_names_the_section_that_shows_what_is_missing(
    level: int, tmp_path: Path
) -> None:
    with pytest.raises(SpecError) as caught:
        parse_spec("specops.yaml", merged(level - 1, level), tmp_path)
    (problem,) = caught.value.problems
    assert problem.message.endswith(f'(see "Maturity {level}" in the README)')
    assert re.search(rf"^#### Maturity {level}\b", SECTION, re.M)


def test_the_table_lists_what_each_level_needs() -> None:
    rows = re.findall(r"^\| (\d) \| [^|]+ \| ([^|]*) \|", SECTION, re.M)
    needs = {int(level): text.strip() for level, text in rows}
    for level, items in MATURITY_NEEDS.items():
        assert needs[level] == ", ".join(text for _, text in items)
