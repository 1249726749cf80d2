"""The problems specops finds in a small spec, as the CLI prints them."""

from __future__ import annotations

import textwrap
from pathlib import Path

from specops.spec import SpecError, parse_spec


def spec_errors(name: str, body: str, root: Path) -> list[str]:
    """The problem lines of a maturity-0 spec named `name` whose keys after the head are `body`
    (dedented), read as `specops.yaml` in `root`; [] when it is valid."""
    text = f"version: 1\nname: {name}\nmaturity: 0\n" + textwrap.dedent(body)
    try:
        parse_spec("specops.yaml", text.encode(), root)
    except SpecError as exc:
        return exc.lines()
    return []
