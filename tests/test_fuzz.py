"""Whatever bytes a spec holds, specops answers with problems, never with a crash."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from specops.spec import SpecError, parse_spec

VALID = b"version: 1\nname: demo\nmaturity: 0\nstages:\n  a:\n    cmd: x\n    outs: [o]\n"

# YAML fragments that exercise the loader's corners when spliced together.
FRAGMENTS = st.sampled_from(
    [
        "version: 1\n",
        "name: demo\n",
        "maturity: 2\n",
        "stages:\n",
        "  a:\n",
        "    cmd: x\n",
        "    outs: [o]\n",
        "    metrics: [m.json]\n",
        "&x ",
        "*x",
        "<<: ",
        "{",
        "}",
        "[",
        "]",
        "- ",
        ": ",
        "? ",
        "!!str ",
        "!!python/name:os.system ",
        "\t",
        "'",
        '"',
        "#",
        "---\n",
        "gates:\n  - metric: m\n    min: .inf\n",
        "\ufeff",
        "\x00",
        "\u2028",
        "${{ x }}",
        "..",
    ]
)


def check(raw: bytes, root: Path) -> None:
    try:
        parse_spec("specops.yaml", raw, root)
    except SpecError as exc:
        assert exc.problems
        for problem in exc.problems:
            assert problem.line >= 1 and problem.col >= 1
            assert str(problem).startswith(f"specops.yaml:{problem.line}:{problem.col}: error: ")


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(raw=st.binary(max_size=200))
def test_random_bytes(raw: bytes, tmp_path: Path) -> None:
    check(raw, tmp_path)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(parts=st.lists(FRAGMENTS, max_size=12))
def test_spliced_fragments(parts: list[str], tmp_path: Path) -> None:
    check("".join(parts).encode("utf-8", "surrogatepass"), tmp_path)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(cut=st.integers(0, len(VALID)), junk=st.binary(max_size=3))
def test_damaged_valid_spec(cut: int, junk: bytes, tmp_path: Path) -> None:
    check(VALID[:cut] + junk + VALID[cut:], tmp_path)
