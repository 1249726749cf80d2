"""What a small spec can cost is bounded, and each bound is one clear error at its cause.

The time and memory budgets are ten times or more what these runs take: they catch a return of
the blow-ups the bounds prevent (minutes, gigabytes), not a few percent of slowdown.
"""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

from specops.spec import SpecError, parse_spec, pipeline, yamlfile
from specops.spec.yamlfile import load_yaml

MiB = 1024 * 1024
HEAD = "version: 1\nname: demo\nmaturity: 0\n"


def measured(run: Callable[[], object]) -> tuple[list[str], float, float]:
    """The error lines of `run` (none when it succeeds), its seconds and its peak MiB, from two
    runs: tracemalloc makes allocation-heavy code several times slower."""

    def lines() -> list[str]:
        try:
            run()
        except SpecError as exc:
            return exc.lines()
        return []

    start = time.perf_counter()
    found = lines()
    seconds = time.perf_counter() - start
    tracemalloc.start()
    try:
        assert lines() == found
        peak = tracemalloc.get_traced_memory()[1] / MiB
    finally:
        tracemalloc.stop()
    return found, seconds, peak


def validate(text: str, root: Path, params: str | None = None) -> tuple[list[str], float, float]:
    if params is not None:
        (root / "params.yaml").write_text(params)
    return measured(lambda: parse_spec("specops.yaml", text.encode(), root))


def test_the_stages_of_all_matrices_together_are_bounded(tmp_path: Path) -> None:
    # 30 matrices of 100 x 100 items: 300,000 stages from 6,000 values. Each is within the
    # per-matrix bound; expanding them all took seconds and hundreds of MiB.
    values = ", ".join(str(i) for i in range(100))
    stages = "".join(
        f"  s{i}:\n    matrix: {{a: [{values}], b: [{values}]}}\n    cmd: run ${{item.a}}\n"
        for i in range(30)
    )
    lines, seconds, peak = validate(f"{HEAD}stages:\n{stages}", tmp_path)
    assert lines == [
        "specops.yaml:4:1: error: stages: "
        "the stages and their matrices make 300,000 stages in all; at most 10,000 are allowed"
    ]
    assert seconds < 1 and peak < 40


def test_the_stage_total_is_allowed_up_to_the_bound(tmp_path: Path) -> None:
    values = ", ".join(str(i) for i in range(100))
    matrix = f"    matrix: {{a: [{values}], b: [{values}]}}\n    cmd: run\n"
    at_bound = f"{HEAD}stages:\n  s0:\n{matrix}"
    assert validate(at_bound, tmp_path)[0] == []
    over = f"{at_bound}  s1:\n    cmd: one more\n"
    assert validate(over, tmp_path)[0] == [
        "specops.yaml:4:1: error: stages: "
        "the stages and their matrices make 10,001 stages in all; at most 10,000 are allowed"
    ]


def test_suggestions_stay_cheap_for_thousands_of_unknown_keys(tmp_path: Path) -> None:
    # 3,000 unknown params keys against 3,000 keys of params.yaml took 293 s of difflib.
    params = "".join(f"train_{i:04d}: {i}\n" for i in range(3000))
    keys = ", ".join(f"trian_{i:04d}" for i in range(3000))
    text = f"{HEAD}stages:\n  a:\n    cmd: x\n    params: [{keys}]\n"
    lines, seconds, peak = validate(text, tmp_path, params)
    assert seconds < 2 and peak < 50
    assert len(lines) == 101 and lines[-1] == "specops: error: 2,900 more problem(s) not shown"
    suggested = [line for line in lines if "did you mean" in line]
    # The budget buys three suggestions over 3,000 keys of 10 characters, the first in file order.
    assert suggested == [
        f"specops.yaml:7:{14 + 12 * i}: error: stages.a.params[{i}]: 'trian_{i:04d}' is not a "
        f"key of params.yaml; did you mean 'train_{i:04d}'?"
        for i in range(3)
    ]


def test_schema_errors_get_a_bounded_number_of_suggestions(tmp_path: Path) -> None:
    stages = "".join(f"  s{i}: {{cmd: x, dep: [a]}}\n" for i in range(300))
    lines, seconds, peak = validate(f"{HEAD}stages:\n{stages}", tmp_path)
    assert seconds < 1 and peak < 20
    assert len(lines) == 101
    suggested = [line for line in lines if line.endswith("unknown key; did you mean 'deps'?")]
    assert len(suggested) == 100
    # Past the budget the problems are still reported, without a suggestion.
    with pytest.raises(SpecError) as caught:
        parse_spec("specops.yaml", f"{HEAD}stages:\n{stages}".encode(), tmp_path)
    last = str(caught.value.problems[-1])
    assert last == "specops.yaml:304:18: error: stages.s299.dep: unknown key"


def test_paths_are_bounded_in_length_and_depth(tmp_path: Path) -> None:
    # Four outs of 30,000 parts each took 3.6 GB: the graph check stored every ancestor.
    deep = "/".join(["d"] * 30_000)
    long = "x" * 1_025
    text = f"{HEAD}stages:\n  a:\n    cmd: x\n    outs: [{deep}/a, {deep}/b, {'p/' * 64}q]\n"
    text += f"    deps: [{long}, {'y' * 1_024}]\n"
    lines, seconds, peak = validate(text, tmp_path)
    assert lines == [
        "specops.yaml:7:12: error: stages.a.outs[0]: "
        "is 60,001 characters long; a path may have at most 1,024",
        f"specops.yaml:7:{12 + 60_003}: error: stages.a.outs[1]: "
        "is 60,001 characters long; a path may have at most 1,024",
        f"specops.yaml:7:{12 + 2 * 60_003}: error: stages.a.outs[2]: "
        "has 65 parts; a path may have at most 64",
        "specops.yaml:8:12: error: stages.a.deps[0]: "
        "is 1,025 characters long; a path may have at most 1,024",
    ]
    assert seconds < 1 and peak < 10


def test_matrix_values_cannot_make_a_path_too_long(tmp_path: Path) -> None:
    value = "v" * 600
    text = (
        f"{HEAD}stages:\n  a:\n    matrix: {{x: [a, {value}], y: [b, {value}]}}\n"
        "    cmd: x\n    outs: ['out/${item.x}/${item.y}']\n"
    )
    assert validate(text, tmp_path)[0] == [
        "specops.yaml:8:12: error: stages.a.outs[0]: "
        "can be 1,205 characters long with the matrix values put in; "
        "a path may have at most 1,024"
    ]


def test_the_graph_of_many_deep_paths_is_cheap(tmp_path: Path) -> None:
    # 1,000 stages write a 60-part path below one folder that 4,000 others read: ancestors are
    # walked, not stored, and the folder is one node, not 1,000 x 4,000 edges (180 MiB).
    folder = "/".join(["deep"] * 58)
    stages = "".join(f"  w{i}: {{cmd: x, outs: [{folder}/w{i}/out]}}\n" for i in range(1000))
    stages += "".join(f"  r{i}: {{cmd: x, deps: [deep]}}\n" for i in range(4000))
    lines, seconds, peak = validate(f"{HEAD}stages:\n{stages}", tmp_path)
    assert lines == []
    assert seconds < 5 and peak < 100


def test_aliases_cannot_expand_past_what_a_file_may_hold() -> None:
    # 100 kB aliased 1,000 times: a 100 kB spec that rendered a 99 MB dvc.yaml.
    text = f"a: &big {'x' * 100_000}\nb: [{', '.join(['*big'] * 1000)}]\n"
    lines, seconds, peak = measured(lambda: load_yaml("specops.yaml", text.encode()))
    assert lines == [
        "specops.yaml:1:1: error: (root): "
        "the document expands to more than 10,485,760 characters through aliases"
    ]
    assert seconds < 1 and peak < 10


def test_the_expansion_limits_hold_exactly_at_their_boundary(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Root, two keys, the list and its three items, and the alias's three again: 11 nodes
    # holding 1 + 3 + 1 + 3 characters.
    raw = b"a: &x [one, two, six]\nb: *x\n"
    monkeypatch.setattr(yamlfile, "MAX_NODES", 11)
    assert load_yaml("specops.yaml", raw).data == {
        "a": ["one", "two", "six"],
        "b": ["one"] * 0 + ["one", "two", "six"],
    }
    monkeypatch.setattr(yamlfile, "MAX_NODES", 10)
    assert measured(lambda: load_yaml("specops.yaml", raw))[0] == [
        "specops.yaml:1:1: error: (root): "
        "the document expands to more than 10 nodes through aliases"
    ]
    monkeypatch.setattr(yamlfile, "MAX_NODES", 11)
    monkeypatch.setattr(yamlfile, "MAX_CHARS", 20)
    assert load_yaml("specops.yaml", raw).data["b"] == ["one", "two", "six"]
    monkeypatch.setattr(yamlfile, "MAX_CHARS", 19)
    assert measured(lambda: load_yaml("specops.yaml", raw))[0] == [
        "specops.yaml:1:1: error: (root): "
        "the document expands to more than 19 characters through aliases"
    ]


def test_nested_matrix_values_cannot_make_a_path_too_long(tmp_path: Path) -> None:
    text = (
        f"{HEAD}stages:\n  a:\n    matrix:\n      cfg: [{{name: {'n' * 1020}}}, {{name: b}}]\n"
        "    cmd: x\n    outs: ['models/${item.cfg.name}.bin']\n"
    )
    assert validate(text, tmp_path)[0] == [
        "specops.yaml:9:12: error: stages.a.outs[0]: "
        "can be 1,031 characters long with the matrix values put in; "
        "a path may have at most 1,024"
    ]


def test_the_depth_bound_is_the_same_in_a_document_with_anchors() -> None:
    def nested(levels: int) -> bytes:
        return b"a: &x 1\nb: " + b"[" * levels + b"]" * levels + b"\n"

    assert load_yaml("specops.yaml", nested(100)).data["a"] == 1
    assert measured(lambda: load_yaml("specops.yaml", nested(101)))[0] == [
        "specops.yaml:2:104: error: (root): nested more than 100 levels deep"
    ]


def spec_with_params(*keys: str, stages: int = 1) -> str:
    """A spec whose stages each read `keys` from params.yaml."""
    listed = ", ".join(f"'{key}'" for key in keys)
    body = "".join(f"  s{i}:\n    cmd: x\n    params: [{listed}]\n" for i in range(stages))
    return f"{HEAD}stages:\n{body}"


def test_words_and_keys_of_up_to_100_characters_get_suggestions(tmp_path: Path) -> None:
    key = "a" * 99 + "b"
    text = spec_with_params("a" * 100, "a" * 101)
    assert validate(text, tmp_path, params=f"{key}: 1\n")[0] == [
        f"specops.yaml:7:14: error: stages.s0.params[0]: {'a' * 100!r} is not a key of"
        f" params.yaml; did you mean {key!r}?",
        f"specops.yaml:7:118: error: stages.s0.params[1]: {'a' * 101!r} is not a key of"
        " params.yaml",
    ]


def test_a_run_makes_at_most_100_suggestions(tmp_path: Path) -> None:
    (tmp_path / "params.yaml").write_text("train: 1\n")
    with pytest.raises(SpecError) as caught:
        parse_spec("specops.yaml", spec_with_params("tran", stages=101).encode(), tmp_path)
    messages = [p.message for p in caught.value.problems]
    assert messages == ["'tran' is not a key of params.yaml; did you mean 'train'?"] * 100 + [
        "'tran' is not a key of params.yaml"
    ]


def many_keys(count: int, chars: int) -> str:
    """params.yaml with `train` (and `train.seed`) and more top-level keys, `count` keys in
    all, whose names hold `chars` characters together."""
    rest = count - 2
    size, extra = divmod(chars - len("train") - len("train.seed"), rest)
    names = [f"p{i:04d}".ljust(size + (i < extra), "x") for i in range(rest)]
    return "train: {seed: 1}\n" + "".join(f"{name}: 1\n" for name in names)


def test_a_suggestion_that_costs_the_whole_budget_is_made(tmp_path: Path) -> None:
    # 1,999 top-level keys of 192,004 characters against a 4-character word: 200,000, the
    # budget.
    params = many_keys(2000, 192_014)
    assert validate(spec_with_params("tran"), tmp_path, params)[0] == [
        "specops.yaml:7:14: error: stages.s0.params[0]: "
        "'tran' is not a key of params.yaml; did you mean 'train'?"
    ]


def test_a_suggestion_over_the_budget_ends_the_suggestions_of_the_run(tmp_path: Path) -> None:
    # 2,000 top-level keys times a 100-character word is the whole budget before the keys are
    # looked at.
    params = many_keys(2001, 192_000)
    word = "x" * 100
    assert validate(spec_with_params(word, "tran"), tmp_path, params)[0] == [
        f"specops.yaml:7:14: error: stages.s0.params[0]: {word!r} is not a key of params.yaml",
        "specops.yaml:7:118: error: stages.s0.params[1]: 'tran' is not a key of params.yaml",
    ]


def test_a_word_too_costly_to_compare_leaves_the_budget_to_the_next(tmp_path: Path) -> None:
    # 2,001 top-level keys (train.seed is one level down) times a 100-character word is over
    # the budget: skipped without a look.
    params = many_keys(2002, 20_000)
    word = "x" * 100
    assert validate(spec_with_params(word, "tran"), tmp_path, params)[0] == [
        f"specops.yaml:7:14: error: stages.s0.params[0]: {word!r} is not a key of params.yaml",
        "specops.yaml:7:118: error: stages.s0.params[1]: "
        "'tran' is not a key of params.yaml; did you mean 'train'?",
    ]


def test_a_one_character_word_costs_one_per_choice_before_they_are_looked_at(
    tmp_path: Path,
) -> None:
    # 1,834 keys of 9 characters against a 100-character word cost 199,906: 94 are left.
    # Then `x` against the 50 top-level keys costs at least 50, which the budget affords, and
    # 100 once the keys are looked at, which spends it: `train.sedd` gets no suggestion.
    big = "".join(f"  k{i:04d}: 1\n" for i in range(1834))
    rest = "".join(f"p{i:02d}: 1\n" for i in range(48))
    (tmp_path / "params.yaml").write_text(f"train: {{seed: 1}}\nbig:\n{big}{rest}")
    word = "big." + "z" * 96
    with pytest.raises(SpecError) as caught:
        parse_spec("specops.yaml", spec_with_params(word, "x", "train.sedd").encode(), tmp_path)
    assert [p.message for p in caught.value.problems] == [
        f"{key!r} is not a key of params.yaml" for key in (word, "x", "train.sedd")
    ]


def test_the_expanded_paths_are_allowed_up_to_their_bound(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = (
        f"{HEAD}stages:\n  s:\n    cmd: x ${{item.v}}\n    deps: ['${{item.v}}.in']\n"
        "    outs: ['${item.v}.out']\n    matrix:\n      v: [a, b]\n"
    )
    monkeypatch.setattr(pipeline, "MAX_EXPANDED_PATHS", 4)
    assert validate(text, tmp_path)[0] == []
    monkeypatch.setattr(pipeline, "MAX_EXPANDED_PATHS", 3)
    assert validate(text, tmp_path)[0] == [
        "specops.yaml:4:1: error: stages: the stages' deps and outs make 4 paths with matrices"
        " expanded; at most 3 are allowed"
    ]
