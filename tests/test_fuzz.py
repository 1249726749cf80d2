"""Whatever a spec holds, specops answers with problems that point inside the file and print on
one line each, never with a crash, and it never writes outside the project."""

from __future__ import annotations

import os
import re
import stat
import tempfile
import unicodedata
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from specops.cli import main
from specops.spec import SpecError, parse_spec
from specops.spec.problems import Problem

VALID = b"version: 1\nname: demo\nmaturity: 0\nstages:\n  a:\n    cmd: x\n    outs: [o]\n"
PARAMS = b"seed: 1\ntrain:\n  depth: 3\n"
SPEC = "specops.yaml"

# Strings that have broken tools before: line breaks YAML and editors disagree on, GitHub
# expressions, ways out of a folder, names that look like symlinks or other files, shell,
# invisible and non-ASCII characters, and YAML's own syntax.
HOSTILE = [
    "a\nb",
    "a\rb",
    "a\r\nb",
    "\r",
    "a\x85b",
    "a\u2028b\u2029c",
    "${{ secrets.GITHUB_TOKEN }}",
    "${{",
    "$(touch ../pwned)",
    "`id`; rm -rf ~",
    "..",
    "../",
    "../outside.txt",
    "../../etc/passwd",
    "data/../../outside.txt",
    "/etc/passwd",
    "/tmp/pwned",
    "C:\\Windows\\win.ini",
    "\\\\host\\share",
    "~/.bashrc",
    "link -> ../outside.txt",
    "dvc.yaml",
    ".github/workflows/specops-x.yml",
    "./.",
    "é",
    "naïve/データ.csv",
    "\u202eexe.txt",
    "\ufeffbom",
    "\x00",
    "\x1b[31mred",
    "\t",
    " ",
    "",
    "-",
    "null",
    "true",
    "1.5",
    "'",
    '"',
    "# not a comment",
    "&a *a !tag | >",
    "key: value",
    "{}",
    "[]",
    "x" * 150,
]
PLAIN = ["a", "train", "seed", "train.depth", "data/in.csv", "model.pkl", "scores.json", "demo"]

WORD = st.one_of(
    st.sampled_from(HOSTILE),
    st.sampled_from(PLAIN),
    st.text(st.characters(codec="utf-8"), max_size=6),
)
TEXT = st.one_of(WORD, st.builds(lambda a, b: a + b, WORD, WORD))
TEXTS = st.lists(TEXT, max_size=2)
OPTIONS = st.dictionaries(TEXT, st.one_of(st.booleans(), TEXT), max_size=2)
ENTRIES = st.lists(
    st.one_of(TEXT, st.dictionaries(TEXT, OPTIONS, min_size=1, max_size=1)), max_size=2
)
STAGE = st.fixed_dictionaries(
    {"cmd": st.one_of(TEXT, st.lists(TEXT, min_size=1, max_size=2))},
    optional={
        "desc": TEXT,
        "deps": TEXTS,
        "params": TEXTS,
        "outs": ENTRIES,
        "metrics": ENTRIES,
        "plots": ENTRIES,
        "matrix": st.dictionaries(TEXT, st.lists(TEXT, min_size=1, max_size=2), max_size=2),
    },
)
SPEC_DATA = st.fixed_dictionaries(
    {
        "version": st.just(1),
        "name": st.one_of(st.just("demo"), TEXT),
        "maturity": st.sampled_from([0, 1, 1, 2, 4]),
        "stages": st.dictionaries(st.one_of(st.just("train"), TEXT), STAGE, min_size=1, max_size=2),
    },
    optional={
        "models": st.dictionaries(TEXT, st.fixed_dictionaries({"path": TEXT}), max_size=1),
        "gates": st.lists(st.fixed_dictionaries({"metric": TEXT, "min": st.just(0)}), max_size=1),
        "ci": st.fixed_dictionaries({}, optional={"install": TEXT, "test": TEXT}),
    },
)
EXTRA = st.dictionaries(TEXT, TEXT, max_size=1)
# Mostly valid: hostile strings only where any text is allowed, so that they reach the renderers.
FREE = TEXT.filter(lambda text: text != "" and "${{" not in text)
SHAPED_DATA = st.fixed_dictionaries(
    {
        "version": st.just(1),
        "name": st.just("demo"),
        "maturity": st.sampled_from([0, 1, 2]),
        "stages": st.fixed_dictionaries(
            {
                "train": st.fixed_dictionaries(
                    {
                        "cmd": st.one_of(FREE, st.lists(FREE, min_size=1, max_size=2)),
                        "deps": st.lists(FREE, max_size=2),
                        "outs": st.lists(FREE.map(lambda text: f"out/{text}"), max_size=1),
                        "metrics": st.just(["scores.json"]),
                    },
                    optional={"desc": FREE, "params": st.just(["train.depth"])},
                )
            }
        ),
    },
    optional={"ci": st.fixed_dictionaries({}, optional={"install": FREE, "test": FREE})},
)


@st.composite
def spec_files(draw: st.DrawFn) -> bytes:
    """A spec as YAML, its keys and values drawn from the hostile strings above."""
    data: dict[str, Any]
    if draw(st.booleans()):
        data = draw(SHAPED_DATA)
    else:
        data = draw(SPEC_DATA)
        data.update(draw(EXTRA))  # unknown keys, or a known one with a hostile value
        stage = draw(st.sampled_from(list(data["stages"].values())))
        stage.update(draw(EXTRA))
    text = yaml.safe_dump(
        data,
        allow_unicode=draw(st.booleans()),
        default_flow_style=draw(st.sampled_from([False, None, True])),
        sort_keys=False,
        width=draw(st.sampled_from([40, 1000])),
    )
    return text.encode("utf-8")


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
        "    params: [seed]\n",
        "    deps: [../x]\n",
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
        "\r",
        "\r\n",
        "\x85",
        "\u2028",
        "é",
        "データ",
        "${{ x }}",
        "..",
        "/etc/passwd",
    ]
)

# Where YAML breaks lines; the positions of problems count lines this way.
LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")
HIDDEN = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def lines_of(raw: bytes) -> list[str]:
    """The lines of a file as an editor shows them; a byte that is not UTF-8 is one character."""
    text = raw.decode("utf-8", "surrogateescape").removeprefix("\ufeff")
    return LINE_BREAK.split(text)


def assert_inside(line: int, col: int, raw: bytes, where: str) -> None:
    """A problem's position names a line of the file, and a column on it or just past its end."""
    lines = lines_of(raw)
    assert 1 <= line <= len(lines), f"{where}: line {line} of a file of {len(lines)} line(s)"
    length = len(lines[line - 1])
    assert 1 <= col <= length + 1, f"{where}: column {col} of line {line}: {lines[line - 1]!r}"


def assert_problem(problem: Problem, files: dict[str, bytes]) -> None:
    assert problem.file in files, problem
    assert problem.message, problem
    if problem.line == 0:
        assert problem.col == 0 and not problem.keypath, problem
        assert str(problem) == f"{problem.file}: error: {problem.message}"
        return
    assert_inside(problem.line, problem.col, files[problem.file], str(problem))
    assert str(problem).startswith(f"{problem.file}:{problem.line}:{problem.col}: error: ")


def check(raw: bytes, root: Path, params: bytes | None = None) -> None:
    files = {SPEC: raw}
    if params is not None:
        (root / "params.yaml").write_bytes(params)
        files["params.yaml"] = params
    try:
        parse_spec(SPEC, raw, root)
    except SpecError as exc:
        assert exc.problems
        for problem in exc.problems:
            assert_problem(problem, files)


FUZZ = settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@FUZZ
@given(raw=st.binary(max_size=200))
@example(raw=b"a: [")
@example(raw=b"\xc3\xa9\xc3\xa9\xff")
@example(raw=b"a\rb: \x00")
def test_random_bytes(raw: bytes, tmp_path: Path) -> None:
    check(raw, tmp_path)


@FUZZ
@given(parts=st.lists(FRAGMENTS, max_size=12))
def test_spliced_fragments(parts: list[str], tmp_path: Path) -> None:
    check("".join(parts).encode("utf-8", "surrogatepass"), tmp_path)


@settings(FUZZ, max_examples=200)
@given(cut=st.integers(0, len(VALID)), junk=st.binary(max_size=3))
def test_damaged_valid_spec(cut: int, junk: bytes, tmp_path: Path) -> None:
    check(VALID[:cut] + junk + VALID[cut:], tmp_path)


@settings(FUZZ, max_examples=200)
@given(raw=spec_files(), params=st.sampled_from([PARAMS, b"seed: [", b"- 1\n", b"\xff"]))
def test_hostile_keys_and_values(raw: bytes, params: bytes, tmp_path: Path) -> None:
    check(raw, tmp_path, params)


# -- the command line ------------------------------------------------------------------------


def snapshot(parent: Path, skip: Path) -> dict[str, tuple[str, bytes | str, int]]:
    """Every path below `parent` but `skip` and what is below it: kind, content, mode."""
    found: dict[str, tuple[str, bytes | str, int]] = {}
    for folder, dirs, names in os.walk(parent):
        here = Path(folder)
        dirs[:] = [d for d in dirs if here / d != skip]
        for name in [*dirs, *names]:
            path = here / name
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode):
                entry: tuple[str, bytes | str, int] = ("link", os.readlink(path), 0)
            elif stat.S_ISDIR(info.st_mode):
                entry = ("folder", "", info.st_mode)
            else:
                entry = ("file", path.read_bytes(), info.st_mode)
            found[path.relative_to(parent).as_posix()] = entry
    return found


GENERATED = b"# Generated by specops from specops.yaml. Do not edit by hand:\n# change it.\n"

#: Files around the project that a render escaping it would be likely to touch.
BAIT = {
    "outside.txt": b"not yours\n",
    "specops.yaml": VALID,
    "params.yaml": PARAMS,
    "dvc.yaml": GENERATED + b"stages: {}\n",
    ".github/workflows/specops-ci.yml": GENERATED,
    ".github/workflows/specops-old.yml": GENERATED,
    "etc/passwd": b"root:x:0:0\n",
    "data/in.csv": b"a,b\n",
}


def stderr_lines_are_problems(err: str, files: dict[str, bytes]) -> None:
    """Each line of `err` is one problem in one of the two formats, with a position inside the
    file it names; a count of problems not shown may come last."""
    assert err.endswith("\n"), repr(err)
    names = "|".join(re.escape(name) for name in sorted(files, key=len, reverse=True))
    positioned = re.compile(rf"({names}):([1-9][0-9]*):([1-9][0-9]*): error: .+: .+")
    plain = re.compile(rf"({names}): error: .+")
    lines = err[:-1].split("\n")
    if re.fullmatch(r"specops: error: [1-9][0-9,]* more problem\(s\) not shown", lines[-1]):
        lines.pop()
        assert len(lines) == 100, err
    assert lines, err
    for line in lines:
        assert not any(unicodedata.category(c) in HIDDEN for c in line), repr(line)
        match = positioned.fullmatch(line)
        if match:
            name, row, col = match.groups()
            assert_inside(int(row), int(col), files[name], line)
        else:
            assert plain.fullmatch(line), repr(line)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@settings(FUZZ, max_examples=30)
@given(
    raw=st.one_of(spec_files(), st.lists(FRAGMENTS, max_size=12).map("".join).map(str.encode)),
    params_folder=st.booleans(),
)
@example(raw=VALID, params_folder=False)
@example(
    raw=VALID.replace(b"outs: [o]", b"outs: [../outside.txt, /etc/passwd]"), params_folder=False
)
@example(raw=VALID.replace(b"outs: [o]", b"params: [seed]"), params_folder=True)
def test_the_cli_prints_problems_and_writes_only_in_the_project(
    raw: bytes, params_folder: bool, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    parent = Path(tempfile.mkdtemp(dir=tmp_path))
    for name, content in BAIT.items():
        (parent / name).parent.mkdir(parents=True, exist_ok=True)
        (parent / name).write_bytes(content)
    (parent / "link-out").symlink_to(parent / "outside.txt")
    project = parent / "project"
    project.mkdir()
    (project / SPEC).write_bytes(raw)
    if params_folder:  # a problem with a whole file, printed without a position
        (project / "params.yaml").mkdir()
    else:
        (project / "params.yaml").write_bytes(PARAMS)
    spec = str(project / SPEC)
    files = {spec: raw, "params.yaml": PARAMS}
    before = snapshot(parent, project)

    code, out, err = run(capsys, "validate", "--spec", spec)
    assert code in (0, 2)
    if code == 0:
        assert not err
        assert out.startswith(f"{spec}: valid;")
    else:
        assert not out
        stderr_lines_are_problems(err, files)

    code, out, err = run(capsys, "render", "--spec", spec)
    assert code in (0, 2)
    if code == 0:
        assert not err
        assert (project / "dvc.yaml").is_file()
        files["dvc.yaml"] = (project / "dvc.yaml").read_bytes()
        assert run(capsys, "render", "--check", "--spec", spec) == (
            0,
            f"{out.count(': create')} generated file(s) up to date\n",
            "",
        )
    else:
        assert not out
        stderr_lines_are_problems(err, files)
    assert snapshot(parent, project) == before
