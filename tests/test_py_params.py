"""Python params files: read as DVC's own reader reads them (the oracle), looked up by stage
`params`, and loaded by `vars` for `${...}`; what DVC resolves from them is checked with DVC."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from dvc.fs import LocalFileSystem  # type: ignore[import-untyped]
from dvc.utils.serialize import LOADERS, parse_py  # type: ignore[import-untyped]
from hypothesis import given, settings
from hypothesis import strategies as st

from specops.spec import SpecError
from specops.spec.pyfile import is_python, load_py
from tests.gitrepo import make_project, run
from tests.specerrors import spec_errors

CONF = """\
import os

lr = 0.1
epochs: int = 3
name = "rf"
flags = {"fast": True, "depth": 3, "opt": {"name": "adam"}}
layers = [64, 32]


class Train:
    epochs = 10
    seed: int = 1

    def __init__(self):
        self.momentum = 0.9
        local = 5

    class Inner:
        a = 1
"""

SOURCES = [
    CONF,
    "",
    "x = 1\nx = 2\n",
    "x = {'a': 1}\nclass x:\n    b = 2\n",
    "a = b = 1\nc, d = 1, 2\ne = f = 3\n",
    "x: int\ny: int = 2\n",
    "x = os.environ['HOME']\ny = 1 + 2\nz = -1\nw = 1 + 2j\n",
    "t = (1, 2)\ns = {1, 2}\nfs = set()\nn = None\ne = ...\n",
    "d = {**base, 'a': 1}\nl = [1, *rest]\nok = [1, [2, (3,)]]\n",
    "d = {1: 'one', (1, 2): 'pair', 'k': {'n': [1]}}\n",
    "self.x = 1\nobj.y = 2\nself.z.w = 3\nitems[0] = 4\n",
    "def __init__(self):\n    self.a = 1\n    b = 2\n    self.c: int = 3\n",
    "def setup():\n    self.a = 1\nasync def __init__(self):\n    self.b = 2\n",
    "class A:\n    def __init__(self):\n        self.x = 1\n        class B:\n            y = 2\n",
    "if True:\n    hidden = 1\nfor i in range(3):\n    j = i\n",
    "x = 'é'\né = 1\n",
    "x = '''multi\nline'''\ny = r'\\d'\n",
    "x = 10**3\ny = 0x10\nz = 1_000\nw = 1e3\nv = True\n",
]


def dvc_reads(text: str) -> Any:
    try:
        return parse_py(text, "conf.py")
    except Exception as exc:
        return type(exc).__name__


def specops_reads(text: str) -> Any:
    try:
        return load_py("conf.py", text.encode()).data
    except SpecError:
        return "error"


def same(theirs: Any, mine: Any) -> bool:
    if theirs in ("PythonFileCorruptedError", "TypeError"):
        return bool(mine == "error")
    return type(theirs) is type(mine) and theirs == mine


@pytest.mark.parametrize("text", SOURCES)
def test_python_files_are_read_as_dvc_reads_them(text: str) -> None:
    theirs, mine = dvc_reads(text), specops_reads(text)
    assert same(theirs, mine), (theirs, mine)


LINES = st.sampled_from(
    [
        "x = 1",
        "x = {'a': [1, 2]}",
        "y = (1, 2)",
        "z = {1, 2}",
        "w = {[1]: 2}",
        "v = {[1]}",
        "self.s = 3",
        "class C:",
        "def __init__(self):",
        "    self.m = 4",
        "    n = 5",
        "    class D:",
        "        q = 6",
        "a, b = 1, 2",
        "u: int",
        "t = f(1)",
        "x = (",
        "\tx = 1",
        "pass",
    ]
)


@settings(max_examples=300, deadline=None)
@given(lines=st.lists(LINES, max_size=8))
def test_generated_python_files_are_read_as_dvc_reads_them(lines: list[str]) -> None:
    text = "\n".join(lines) + "\n"
    theirs, mine = dvc_reads(text), specops_reads(text)
    assert same(theirs, mine), (text, theirs, mine)


@pytest.mark.parametrize(
    "name", ["conf.py", "CONF.PY", ".py", "my.conf.py", "conf.py.yaml", "conf.pyc", "dir.v2/c.py"]
)
def test_the_reader_is_chosen_by_name_as_dvc_chooses_it(name: str) -> None:
    suffix = LocalFileSystem.suffix(name).lower()
    assert is_python(name) == (LOADERS[suffix].__name__ == "load_py")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("lr = 0.1\nx = (\n", "conf.py:2:5: error: (root): invalid Python: '(' was never closed"),
        (
            "a = 1\nb = é é\n",
            "conf.py:2:7: error: (root): invalid Python: invalid syntax",
        ),
        (
            "\ufeffx = 1\n",
            "conf.py:1:1: error: (root): invalid Python: invalid non-printable character U+FEFF",
        ),
        (
            "x = 1\ny = 2\0\n",
            "conf.py:2:6: error: (root): invalid Python: source code string cannot contain"
            " null bytes",
        ),
        (
            "x = 1\nd = {[1]: 2}\n",
            "conf.py:2:1: error: (root): DVC cannot read this value: unhashable type: 'list'",
        ),
        ("x = 1 +\n", "conf.py:1:8: error: (root): invalid Python: invalid syntax"),
    ],
)
def test_a_file_python_cannot_read_is_an_error_where_it_fails(text: str, problem: str) -> None:
    with pytest.raises(SpecError) as caught:
        load_py("conf.py", text.encode())
    assert caught.value.lines() == [problem]


def test_bytes_that_are_not_utf8_are_an_error_at_the_first_one() -> None:
    with pytest.raises(SpecError) as caught:
        load_py("conf.py", b"x = 1\ny = '\xff'\n")
    assert caught.value.lines() == ["conf.py:2:6: error: (root): not valid UTF-8 (byte 0xff)"]


def errors(body: str, root: Path, files: dict[str, str]) -> list[str]:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return spec_errors("pyparams", body, root)


def test_params_keys_are_looked_up_in_python_files(tmp_path: Path) -> None:
    body = """\
        stages:
          a:
            cmd: x
            params:
              - conf.py: [lr, Train.epochs, Train.momentum, Train.Inner.a, flags.opt.name]
              - conf.py: [Train.epoch, local, os]
              - conf/other.py:
              - missing.py:
        """
    files = {"conf.py": CONF, "conf/other.py": "x = 1\n"}
    assert errors(body, tmp_path, files) == [
        "specops.yaml:9:19: error: stages.a.params[1].conf.py[0]: "
        "'Train.epoch' is not a key of conf.py; did you mean 'Train.epochs'?",
        "specops.yaml:9:32: error: stages.a.params[1].conf.py[1]: 'local' is not a key of conf.py",
        "specops.yaml:9:39: error: stages.a.params[1].conf.py[2]: 'os' is not a key of conf.py",
        "specops.yaml:11:9: error: stages.a.params[3].missing.py: 'missing.py' does not exist",
    ]


def test_a_python_file_with_a_syntax_error_is_an_error_in_that_file(tmp_path: Path) -> None:
    body = """\
        vars: [conf.py]
        stages:
          a:
            cmd: x ${lr}
            params: [{conf.py: [lr]}]
          b:
            cmd: x
            params: [{conf.py: }]
        """
    # One problem, though vars and two stages read the file.
    assert errors(body, tmp_path, {"conf.py": "lr = 0.1\nif lr\n"}) == [
        "conf.py:2:6: error: (root): invalid Python: expected ':'"
    ]


def test_vars_take_values_from_python_files_as_dvc_does(tmp_path: Path) -> None:
    body = """\
        vars: [conf.py, "other.py:seed"]
        stages:
          a:
            cmd: train ${lr} ${Train.epochs} ${Train.momentum} ${flags} ${Train.Inner.a} ${epoch}
        """
    files = {"conf.py": CONF, "other.py": "seed = 1\nt = (1, 2)\n"}
    assert errors(body, tmp_path, files) == [
        "specops.yaml:7:10: error: stages.a.cmd: "
        "cannot resolve '${epoch}': 'epoch' is not defined; did you mean 'epochs'?",
    ]
    # A value DVC's context cannot hold fails DVC when it loads the file: an error there.
    files = {"other.py": "seed = 1\nsizes = [1, (2, 3)]\nc = 1j\n"}
    assert errors(body.replace(":seed", ""), tmp_path, files) == [
        "other.py:2:13: error: sizes[1]: DVC cannot load a tuple into its values for `${...}`;"
        " write a list",
        "other.py:3:5: error: c: DVC cannot load a complex number into its values for `${...}`",
    ]
    files = {"other.py": f"seed = 1\nbig = [0x{'f' * 3600}]\n"}
    assert errors(body.replace(":seed", ""), tmp_path, files) == [
        "other.py:2:8: error: big[0]: an integer of more than 4,300 digits, which DVC cannot"
        " write out",
    ]


READ_STAGES = """
import json
from dvc.repo import Repo

with Repo() as repo:
    stages = {s.addressing: {"cmd": s.cmd, "params": [p.def_path for p in s.params]}
              for s in repo.index.stages}
    status = repo.status()
print(json.dumps({"stages": stages, "status": status}))
"""


def test_dvc_resolves_python_vars_and_params_as_specops_checked_them(tmp_path: Path) -> None:
    spec = """\
version: 1
name: pyparams
maturity: 0
vars: [conf.py, extra.py]
stages:
  train:
    matrix: {layer: "${layers}"}
    cmd: echo ${name} ${Train.epochs} ${Train.momentum} ${item.layer} ${flags} ${blob}
    params: [{conf.py: [lr, Train.epochs, Train.momentum]}]
  all:
    cmd: echo all
    params: [{conf.py: }]
"""
    # DVC puts bytes into text as Python writes them (it could not record them as a param).
    files = {"specops.yaml": spec, "conf.py": CONF, "extra.py": 'blob = b"raw"\n'}
    root = make_project(tmp_path / "p", files)
    seen = json.loads(run(root, "python", "-c", READ_STAGES).stdout)
    assert seen["stages"] == {
        "train@64": {
            "cmd": "echo rf 10 0.9 64 --fast --depth 3 --opt.name adam b'raw'",
            "params": ["conf.py"],
        },
        "train@32": {
            "cmd": "echo rf 10 0.9 32 --fast --depth 3 --opt.name adam b'raw'",
            "params": ["conf.py"],
        },
        "all": {"cmd": "echo all", "params": ["conf.py"]},
    }
    # Every key specops checked is one DVC finds: nothing is reported missing.
    assert "missing" not in json.dumps(seen["status"])
    run(root, "dvc", "repro", "all")
