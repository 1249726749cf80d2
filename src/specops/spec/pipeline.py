"""The stage graph: matrix expansion, repository paths, outputs and the DAG they imply."""

from __future__ import annotations

import bisect
import graphlib
import itertools
import posixpath
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from specops.spec.models import URL, Foreach, Spec, Stage, path_of
from specops.spec.problems import Key, KeyPath, Problem
from specops.spec.yamlfile import YamlDoc

#: A matrix larger than this is almost certainly a mistake, and DVC would be slow on it.
MAX_MATRIX = 10_000
#: Stages in the whole pipeline, matrices expanded: `dvc stage list` already takes 4.4 s on
#: this many (2 cores), and every DVC command reads them all.
MAX_STAGES = 10_000
#: Paths in the whole pipeline with matrices expanded (each item's deps and outs): the checks
#: build every one of them, so a few lines of spec must not ask for millions.
MAX_EXPANDED_PATHS = 200_000
#: Far beyond any real path (Linux allows 4,096 bytes, Windows 260 characters by default), and
#: small enough that the graph checks stay cheap on hostile input.
MAX_PATH_CHARS = 1_024
MAX_PATH_PARTS = 64

_DRIVE = re.compile(r"^[A-Za-z]:")


def normalize(path: str) -> str:
    """A repository path in one spelling: no `.` parts or trailing slash. A backslash stays
    (path_problem refuses it), as DVC keeps it on Linux, where CI runs."""
    return posixpath.normpath(path)


#: Where a stage may not write: Git's and DVC's own files, and the files specops generates.
_RESERVED_DIRS = (".git", ".dvc", ".github")
_RESERVED_FILES = ("dvc.yaml", "dvc.lock", ".dvcignore")


def out_problem(path: str) -> str | None:
    """Why a stage may not write `path` (a valid repository path), or None."""
    norm = normalize(path)
    if norm == ".":
        return "must name a file or folder, not the whole repository"
    top = norm.split("/", 1)[0]
    if top in _RESERVED_DIRS:
        return f"{path!r} is inside {top!r}, which only Git, DVC and specops write to"
    if norm in _RESERVED_FILES:
        return f"{path!r} is DVC's own file"
    return None


def dvc_file_problem(path: str) -> str | None:
    """Why DVC refuses `path` as a dep or an out: a DVC file, `*.dvc` or a `dvc.yaml` in any
    folder (`is_valid_filename` in dvc/dvcfile.py)."""
    norm = normalize(path)
    if norm.endswith(".dvc") or norm.rsplit("/", 1)[-1] == "dvc.yaml":
        return f"{path!r} is a DVC file, which DVC takes as neither a dep nor an out"
    return None


def path_problem(path: str) -> str | None:
    """Why `path` is not a usable repository path, or None. The path itself is quoted in the
    message only when it is short enough to read."""
    if len(path) > MAX_PATH_CHARS:
        return f"is {len(path):,} characters long; a path may have at most {MAX_PATH_CHARS:,}"
    parts = len(path.replace("\\", "/").split("/"))
    if parts > MAX_PATH_PARTS:
        return f"has {parts:,} parts; a path may have at most {MAX_PATH_PARTS}"
    if path.startswith(("/", "\\")) or _DRIVE.match(path):
        return f"{path!r} must be relative to the repository, not absolute"
    norm = normalize(path.replace("\\", "/"))  # as Windows reads it: the stricter reading
    if norm == ".." or norm.startswith("../"):
        return f"{path!r} leaves the repository through '..'"
    if "\\" in path:
        return (
            f"{path!r} holds a backslash, which DVC reads as a folder separator on Windows"
            " only; write '/'"
        )
    return None


def ancestors(path: str) -> Iterator[str]:
    """`a/b/c` -> `a/b`, `a`."""
    while "/" in path:
        path = path.rsplit("/", 1)[0]
        yield path


def bodies(spec: Spec) -> Iterator[tuple[str, Stage, KeyPath]]:
    """Each stage of the spec with where its keys are: a foreach stage's are under `do`."""
    for name, entry in spec.stages.items():
        if isinstance(entry, Foreach):
            yield name, entry.do, ("stages", name, "do")
        else:
            yield name, entry, ("stages", name)


def stage_field(loc: KeyPath) -> Key:
    """The stage key a location is under: `outs` for stages.a.outs[0], stages.a.do.outs[0] and
    pipelines.p.stages.a.outs[0] alike (`do` is no key of a stage itself)."""
    if loc[0] == "pipelines":
        loc = loc[2:]
    return loc[3] if loc[2] == "do" else loc[2]


Matrix = Mapping[str, Sequence[Any]]
#: What `${item}` and `${key}` are in one generated stage; None in a plain stage.
Bindings = Mapping[str, Any] | None
#: Resolves the text of a stage key for one generated stage: (stage, text, field, bindings).
Resolve = Callable[[str, str, str, Bindings], Any]
#: The stages DVC generates from one stage of the spec: (name, bindings) for each.
Generate = Callable[[str], Iterable[tuple[str, Bindings]]]


def expanded_paths(spec: Spec, sizes: Mapping[str, int]) -> int:
    """How many paths (and interpolated params keys) the checks build once every matrix and
    foreach is expanded; `sizes` counts the stages generated from each."""
    return sum(
        sizes.get(name, 1) * (len(s.deps) + len(s.all_outs) + _interpolated(s))
        for name, s, _ in bodies(spec)
    )


def _interpolated(stage: Stage) -> int:
    return sum("${" in f"{file}{key}" for file, key, _ in stage.param_refs)


def matrix_size(matrix: Matrix | None) -> int:
    size = 1
    for values in (matrix or {}).values():
        size *= len(values)
    return size


def _text(value: Any) -> str:
    """A value as DVC writes it into a stage name (`to_str`)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def fragment(key: str, index: int, value: Any, from_context: bool = False) -> str:
    """DVC's name for one value of a matrix key: lists and mappings by their key and index. A
    value taken from `vars` or params.yaml reaches DVC as one of its context nodes, whose
    `str()` is Python's: `True`, where a written `true` gives `true`."""
    if isinstance(value, (list, dict)):
        return f"{key}{index}"
    return str(value) if from_context else _text(value)


#: The name of each value of each key of a resolved matrix, as DVC names them.
Labels = Mapping[str, Sequence[str]]


def labels_of(matrix: Matrix) -> dict[str, list[str]]:
    """The names of a matrix's values, all written in the spec."""
    return {k: [fragment(k, i, v) for i, v in enumerate(vs)] for k, vs in matrix.items()}


@dataclass(frozen=True)
class Instance:
    """One concrete stage: a plain stage, or one item of a matrix or foreach stage."""

    name: str  # the stage name as `dvc stage list` prints it, `stage@item` for a generated one
    stage: str  # the name in the spec
    wdir: str  # the folder its command runs in, "" for the spec's own
    deps: tuple[tuple[str, KeyPath], ...]
    outs: tuple[tuple[str, KeyPath], ...]
    #: Interpolated params entries, resolved: (file or None for params.yaml, key or None for
    #: the whole file, where).
    params: tuple[tuple[str | None, str | None, KeyPath], ...] = ()
    #: What the stage in the spec iterates with: "matrix" (or nothing) or "foreach".
    kind: str = "matrix"
    #: Where the stage is in the spec: ("stages", stage).
    where: KeyPath = ()
    #: The params files it reads (params.yaml in its wdir for bare keys): DVC's graph takes
    #: them as dependencies.
    params_files: tuple[tuple[str, KeyPath], ...] = ()


def items(
    matrix: Matrix | None, labels: Labels | None = None
) -> Iterator[tuple[str, dict[str, Any] | None]]:
    """`(name, item)` for each item of a resolved matrix, named as DVC names it
    (`MatrixDefinition.normalized_iterable`) from `labels` (by default, every value as written
    in the spec); a plain stage has one item, None, named ""."""
    if not matrix:
        yield "", None
        return
    names = labels or labels_of(matrix)
    keys = list(matrix)
    for combo in itertools.product(*(range(len(v)) for v in matrix.values())):
        label = "-".join(names[k][i] for k, i in zip(keys, combo, strict=True))
        yield label, {k: matrix[k][i] for k, i in zip(keys, combo, strict=True)}


def stage_count(spec: Spec, sizes: Mapping[str, int]) -> int:
    """How many stages DVC will make of the spec, matrices and foreach expanded."""
    return sum(sizes.get(name, 1) for name in spec.stages)


def _dep(path: str) -> str:
    """A dependency in one spelling; a URL (`ds://name`, `s3://...`) is no repository path."""
    return path if URL.match(path) else normalize(path)


def instances(spec: Spec, generate: Generate, resolve: Resolve) -> Iterator[Instance]:
    """Every concrete stage with its dependency and output paths resolved and normalized, and
    its params keys resolved.

    The caller makes sure the expansion is bounded (MAX_STAGES) and that every reference
    resolves before it asks for this.
    """
    for name, stage, base in bodies(spec):
        kind = "foreach" if len(base) > 2 else "matrix"
        written = [
            (field, stage.in_wdir(path_of(entry)), (*base, field, i))
            for field in ("deps", "outs", "metrics", "plots")
            for i, entry in enumerate(getattr(stage, field))
        ]
        # Only interpolated params entries differ from item to item; the rest are checked once.
        params = [
            (file, key, (*base, "params", *where))
            for file, key, where in stage.param_refs
            if "${" in f"{stage.wdir}{file}{key}"
        ]
        files: dict[str, KeyPath] = {}
        for file, _, where in stage.param_refs:
            files.setdefault(stage.in_wdir(file or "params.yaml"), (*base, "params", *where))
        wdir = stage.wdir or ""
        for generated, bound in generate(name):
            put = [
                (field, resolve(name, text, field, bound) if "${" in text else text, loc)
                for field, text, loc in written
            ]
            yield Instance(
                generated,
                name,
                resolve(name, wdir, "wdir", bound) if "${" in wdir else wdir,
                tuple((_dep(p), loc) for f, p, loc in put if f == "deps"),
                tuple((normalize(p), loc) for f, p, loc in put if f != "deps"),
                tuple(
                    (
                        None if file is None else resolve(name, file, "params", bound),
                        None if key is None else resolve(name, key, "params", bound),
                        loc,
                    )
                    for file, key, loc in params
                ),
                kind,
                ("stages", name),
                tuple(
                    (normalize(resolve(name, f, "params", bound) if "${" in f else f), loc)
                    for f, loc in files.items()
                ),
            )


def _below(sorted_outs: list[str], folder: str) -> Iterator[str]:
    """The outs strictly inside `folder`, found by bisection: they sort together after it."""
    prefix = f"{folder}/"
    # By index: islice would step over every out before the first one, for every folder.
    i = bisect.bisect_left(sorted_outs, prefix)
    while i < len(sorted_outs) and sorted_outs[i].startswith(prefix):
        yield sorted_outs[i]
        i += 1


def graph_problems(insts: list[Instance], doc: YamlDoc) -> Iterator[Problem]:
    """Overlapping outputs and cycles, on the stages with matrices expanded.

    Memory stays proportional to the number of paths: ancestors are walked, never stored, and
    a dependency on a folder goes through one node per folder instead of an edge from every
    reader to every writer inside it.
    """
    producer: dict[str, str] = {}
    for inst in insts:
        for out, loc in inst.outs:
            other = producer.setdefault(out, inst.name)
            if other != inst.name:
                same = other.rsplit("@", 1)[0] == inst.name.rsplit("@", 1)[0]
                where = f"another item of the same {inst.kind}" if same else f"stage {other!r}"
                yield doc.problem(loc, f"{out!r} is also an out of {where}")
    for inst in insts:
        for out, loc in inst.outs:
            for folder in ancestors(out):
                owner = producer.get(folder)
                if owner is not None:
                    # DVC refuses nested outs within one stage too (a metrics file in its folder)
                    whose = "another out of the same stage" if owner == inst.name else None
                    whose = whose or f"an out of {owner!r}"
                    yield doc.problem(loc, f"{out!r} is inside {folder!r}, {whose}")
                    break
    sorted_outs = sorted(producer)
    graph: dict[Any, set[Any]] = {inst.name: set() for inst in insts}
    for inst in insts:
        for dep, _ in (*inst.deps, *inst.params_files):
            owner = producer.get(dep) or next(
                (producer[a] for a in ancestors(dep) if a in producer), None
            )
            if owner is not None:
                graph[inst.name].add(owner)
            node = ("folder", dep)  # stage names are strings, so a tuple cannot clash
            if node not in graph:
                graph[node] = {producer[out] for out in _below(sorted_outs, dep)}
            if graph[node]:
                graph[inst.name].add(node)
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as exc:
        order = {inst.name: i for i, inst in enumerate(insts)}
        places = {inst.name: inst.where for inst in insts}
        cycle = [node for node in exc.args[1][:-1] if isinstance(node, str)]
        start = min(range(len(cycle)), key=lambda i: order[cycle[i]])
        # graphlib lists each node before the nodes that need it: in data-flow order already
        loop = [*cycle[start:], *cycle[:start], cycle[start]]
        msg = f"the pipeline has a cycle: {' -> '.join(loop)}"
        yield doc.problem(places[cycle[start]], msg, at_key=True)


def stage_graph(insts: list[Instance]) -> dict[str, set[str]]:
    """The stages each concrete stage needs, as DVC's graph has them: the writer of each dep,
    of a folder a dep is in, and of each out inside a folder it depends on. For a valid spec
    (graph_problems found nothing)."""
    producer = {out: inst.name for inst in insts for out, _ in inst.outs}
    sorted_outs = sorted(producer)
    graph: dict[str, set[str]] = {}
    for inst in insts:
        needs = graph.setdefault(inst.name, set())
        for dep, _ in (*inst.deps, *inst.params_files):
            owner = producer.get(dep) or next(
                (producer[a] for a in ancestors(dep) if a in producer), None
            )
            if owner is not None:
                needs.add(owner)
            needs.update(producer[out] for out in _below(sorted_outs, dep))
        needs.discard(inst.name)
    return graph
