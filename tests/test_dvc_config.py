"""DVC's `[parsing]` settings: `.dvc/config` and `.dvc/config.local` read as DVC reads them (its
own Config is the oracle), and mappings put into commands as DVC puts them under each setting."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from dvc.config import Config  # type: ignore[import-untyped]
from dvc.parsing.context import Context as DvcContext  # type: ignore[import-untyped]
from dvc.repo import Repo  # type: ignore[import-untyped]
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from specops.spec import SpecError, load_spec, parse_spec
from specops.spec.context import load_context
from specops.spec.dvcconfig import Parsing, load_parsing
from specops.spec.interpolate import resolve
from specops.spec.pipeline import bodies
from specops.spec.resolve import Resolver
from tests.gitrepo import make_project


@pytest.fixture(autouse=True)
def no_user_config(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """DVC also reads a global and a system config; none of the machine's may count here."""
    monkeypatch.setenv("DVC_GLOBAL_CONFIG_DIR", str(tmp_path_factory.mktemp("global")))
    monkeypatch.setenv("DVC_SYSTEM_CONFIG_DIR", str(tmp_path_factory.mktemp("system")))


def dvc_reads(root: Path, errors: list[str] | None = None) -> Any:
    try:
        section = Config(str(root / ".dvc"))["parsing"]
    except Exception as exc:
        if errors is not None:
            errors.append(str(exc))
        return "error"
    return (section.get("bool", "store_true"), section.get("list", "nargs"))


def elsewhere(message: str) -> bool:
    """Whether DVC refused a config for a section other than `[parsing]`, which specops leaves
    to DVC to report."""
    return "@ data[" in message and "@ data['parsing']" not in message


def specops_reads(root: Path) -> Any:
    parsing, problems = load_parsing(root)
    return "error" if problems else (parsing.bool, parsing.list)


def configured(root: Path, config: str | None, local: str | None = None) -> Path:
    (root / ".dvc").mkdir(parents=True, exist_ok=True)
    for name, text in (("config", config), ("config.local", local)):
        path = root / ".dvc" / name
        path.unlink(missing_ok=True)
        if text is not None:
            path.write_text(text, encoding="utf-8")
    return root


CONFIGS = [
    "",
    "[parsing]\nbool = boolean_optional\nlist = APPEND # appended\n",
    '[Parsing]\n  BOOL = "Boolean_Optional"\n',
    "[ parsing ]\nlist = 'append'\n",
    '["parsing"]\nlist = append\n',
    "[core]\nno_scm = true\n[parsing]\nbool = store_true\n",
    "[parsing]\nlist = nargs, append\n",
    "[parsing]\nlist = append,\n",
    "[parsing]\nbool =\n",
    "[parsing]\nbol = x\n",
    "[parsing]\n[[x]]\na = 1\n",
    "junk\n[parsing]\nbool = store_true\n",
    "\ufeff[parsing]\nbool = boolean_optional\n",
    "[parsing]\nbool = '''boolean_optional'''\n",
    "[parsing]\nbool = '''boolean\n_optional'''\n",
    "[parsing]\nbool = store_true\nbool = store_true\n",
    "[parsing]\nbool = store_true\nBOOL = boolean_optional\n",
    "[parsing]\n[PARSING]\nlist = append\n",
    "[parsing]\n[parsing]\n",
    "parsing = 1\n",
    '[parsing]\nlist = "append\n',
    "[parsing]\nlist = append # c, d\n",
    "[parsing\nlist = append\n",
    "[parsing]]\n",
    "[core]\n[[[deep]]]\n",
    "[parsing]\nlist = append\n[core]\n",
    "[parsing]\r\nlist = append\r\n",
    "[parsing]\nlist = append\x0b\n",
    "['remote \"x\"']\nurl = s3://bucket/path # a remote\n[parsing]\nlist = append\n",
]


@pytest.mark.parametrize("config", CONFIGS)
def test_the_config_is_read_as_dvc_reads_it(tmp_path: Path, config: str) -> None:
    configured(tmp_path, config)
    assert specops_reads(tmp_path) == dvc_reads(tmp_path)


LINES = st.sampled_from(
    [
        "[parsing]",
        "[PARSING]",
        " [ parsing ] # c",
        "[core]",
        "[[sub]]",
        "[[[deep]]]",
        "bool = boolean_optional",
        "bool = store_true",
        "BOOL = Store_True",
        "list = append",
        "list = 'nargs'",
        'list = "append" # c',
        "list = append, nargs",
        "list = ,",
        "bool =",
        "bool = '''store_true'''",
        "bool = '''store",
        "_true'''",
        'list = "append',
        "# comment",
        "",
        "   ",
        "junk",
        "= x",
        "'quoted key' = 1",
        "parsing = x",
    ]
)


@settings(max_examples=400, deadline=None)
@given(config=st.lists(LINES, max_size=8), local=st.none() | st.lists(LINES, max_size=4))
def test_generated_configs_are_read_as_dvc_reads_them(
    config: list[str], local: list[str] | None
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = configured(
            Path(folder),
            "\n".join(config) + "\n",
            None if local is None else "\n".join(local) + "\n",
        )
        refused: list[str] = []
        theirs, mine = dvc_reads(root, refused), specops_reads(root)
        assume(not (refused and elsewhere(refused[0]) and mine != "error"))
        assert mine == theirs, (config, local, refused)


def test_the_local_config_overrides_the_repositorys_key_by_key(tmp_path: Path) -> None:
    configured(
        tmp_path, "[parsing]\nbool = boolean_optional\nlist = oops\n", "[parsing]\nlist = append\n"
    )
    assert specops_reads(tmp_path) == dvc_reads(tmp_path) == ("boolean_optional", "append")
    # A .dvc folder above the project counts, as DVC looks for it there too.
    (tmp_path / "sub").mkdir()
    assert specops_reads(tmp_path / "sub") == ("boolean_optional", "append")


HEAD = "version: 1\nname: parsing\nmaturity: 0\nstages:\n  a:\n    cmd: run ${flags}\n"


def errors(root: Path) -> list[str]:
    (root / "params.yaml").write_text("flags: {fast: true}\n")
    try:
        parse_spec("specops.yaml", HEAD.encode(), root)
    except SpecError as exc:
        return exc.lines()
    return []


def test_a_setting_dvc_refuses_is_an_error_where_it_is(tmp_path: Path) -> None:
    configured(
        tmp_path,
        "[core]\n    remote = x\n[parsing]\n  bool = store-true\n  lists = append\n",
        "[parsing]\nlist = nargs, append\n  [[x]]\n",
    )
    assert errors(tmp_path) == [
        ".dvc/config:4:10: error: parsing.bool: must be store_true or boolean_optional, not"
        " 'store-true'; did you mean 'store_true'?",
        ".dvc/config:5:3: error: parsing.lists: unknown key; DVC accepts bool and list; did you"
        " mean 'list'?",
        ".dvc/config.local:2:8: error: parsing.list: must be nargs or append, not ['nargs',"
        " 'append']",
        ".dvc/config.local:3:3: error: parsing.x: unknown section; DVC accepts only bool and list"
        " here",
    ]
    configured(tmp_path, "[parsing]\nbool = store_true\n[parsing]\nx\n", None)
    assert errors(tmp_path) == [
        ".dvc/config:3:1: error: (root): DVC cannot read this line: section 'parsing' is there"
        " twice",
        ".dvc/config:4:1: error: (root): DVC cannot read this line: it is neither a `[section]`"
        " nor a `key = value`",
    ]
    configured(tmp_path, None, None)
    (tmp_path / ".dvc/config").mkdir()
    assert errors(tmp_path) == [
        ".dvc/config: error: cannot read: it is a folder, not a regular file"
    ]


SETTINGS = [
    Parsing(),
    Parsing(bool="boolean_optional"),
    Parsing(list="append"),
    Parsing(bool="boolean_optional", list="append"),
]
VALUES = {
    "flags": {"fast": True, "slow": False, "n": 3, "name": "a b", "layers": [64, "x y", True]},
    "nested": {"opt": {"lr": 0.1, "on": False}, "empty": [], "none": None},
    "bad": {"deep": [[1]]},
}


def no_hint(_word: str, _choices: object) -> str:
    return ""


@pytest.mark.parametrize("parsing", SETTINGS)
@pytest.mark.parametrize("text", ["run ${flags}", "${nested} x", "${flags}-${nested}", "x ${bad}"])
@pytest.mark.parametrize("field", ["cmd", None])
def test_mappings_become_arguments_as_dvc_makes_them(
    parsing: Parsing, text: str, field: str | None
) -> None:
    config = {"bool": parsing.bool, "list": parsing.list}
    try:
        theirs = DvcContext(VALUES).resolve_str(text, key=field, config=config)
    except Exception:
        theirs = "error"
    try:
        mine = resolve(text, VALUES, field, no_hint, parsing)
    except Exception:
        mine = "error"
    if field is None:  # a matrix: DVC passes no settings there
        theirs = DvcContext(VALUES).resolve_str(text, key=None) if "bad" not in text else "error"
    assert mine == theirs


SPEC = """\
version: 1
name: parsing
maturity: 0
vars:
  - {flags: {fast: true, slow: false, layers: [64, 32], name: a b}}
stages:
  train:
    cmd: python train.py ${flags}
  sweep:
    matrix: {opt: [{lr: 1, warm: false}]}
    cmd: ["python sweep.py ${flags}", "echo ${item.opt}"]
"""


def specops_commands(root: Path) -> Iterator[tuple[str, Any]]:
    project = load_spec(root / "specops.yaml")
    spec, doc = project.spec, project.doc
    resolver = Resolver(spec, doc, root, load_context(spec.vars, doc, root), no_hint)
    for name, stage, _ in bodies(spec):
        for generated, bindings in resolver.generate(name):
            yield generated, [resolver.text(name, c, "cmd", bindings) for c in stage.cmd]


def test_dvc_resolves_commands_as_specops_does_under_each_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_project(tmp_path / "p", {"specops.yaml": SPEC, "train.py": "", "sweep.py": ""})
    monkeypatch.chdir(root)  # DVC addresses stages relative to the working folder
    seen = {}
    for parsing in SETTINGS:
        if parsing.list == "append":  # one of them from the local file, over the repository's
            configured(
                root,
                f"[parsing]\nbool = {parsing.bool}\nlist = nargs\n",
                "[parsing]\nlist = append\n",
            )
        else:
            configured(root, f"[parsing]\nbool = {parsing.bool}\nlist = {parsing.list}\n")
        with Repo(str(root)) as repo:
            theirs = {
                s.addressing: s.cmd if isinstance(s.cmd, list) else [s.cmd]
                for s in repo.index.stages
            }
        mine = dict(specops_commands(root))
        assert mine == theirs
        seen[parsing] = [theirs["train"][0], theirs["sweep@opt0"][1]]
    assert seen == {
        SETTINGS[0]: ["python train.py --fast --layers 64 32 --name 'a b'", "echo --lr 1"],
        SETTINGS[1]: [
            "python train.py --fast --no-slow --layers 64 32 --name 'a b'",
            "echo --lr 1 --no-warm",
        ],
        SETTINGS[2]: ["python train.py --fast --layers 64 --layers 32 --name 'a b'", "echo --lr 1"],
        SETTINGS[3]: [
            "python train.py --fast --no-slow --layers 64 --layers 32 --name 'a b'",
            "echo --lr 1 --no-warm",
        ],
    }
