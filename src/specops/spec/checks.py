"""Checks that need the whole spec: references, paths, the DAG and the maturity rules."""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Iterable, Iterator
from pathlib import Path
from typing import Any

from specops.spec import pipeline
from specops.spec.files import Unreadable, read_bytes, real_path_inside
from specops.spec.models import Spec, path_of
from specops.spec.problems import MAX_PROBLEMS, KeyPath, Problem, SpecError
from specops.spec.yamlfile import YamlDoc, load_yaml

PARAMS_FILE = "params.yaml"

#: What each maturity level needs, beyond what the level below it needs.
MATURITY_NEEDS: dict[int, list[tuple[str, str]]] = {
    2: [("metrics", "a stage with `metrics`")],
    3: [("models", "`models`"), ("gates", "`gates`"), ("promotion", "`promotion`")],
    4: [("monitoring", "`monitoring`")],
}

#: "Did you mean" compares a word with every choice, and difflib's ratio costs from tens to
#: hundreds of microseconds a pair, growing with their length: thousands of unknown keys
#: against thousands of known ones took minutes. Only MAX_PROBLEMS problems are printed, so a
#: run makes at most that many suggestions, comparing at most this many characters in all
#: (the word's and the choice's, per pair): under a second in the worst case...
MAX_SUGGEST_WORK = 200_000
#: ...of words and choices no longer than this.
MAX_SUGGEST_CHARS = 100


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """`; did you mean 'x'?` for the closest choice, or nothing."""
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


class Suggestions:
    """did_you_mean within a budget for one run; past the budget it suggests nothing."""

    def __init__(self) -> None:
        self.left = MAX_PROBLEMS
        self.work = MAX_SUGGEST_WORK

    def affords(self, word: str, count: int) -> bool:
        """Whether a suggestion for `word` among `count` choices is still within the budget."""
        least = count * max(1, len(word))  # known without looking at the choices
        return self.left > 0 and len(word) <= MAX_SUGGEST_CHARS and least <= self.work

    def __call__(self, word: str, choices: Collection[str]) -> str:
        if not self.affords(word, len(choices)):
            return ""
        pool = [c for c in choices if len(c) <= MAX_SUGGEST_CHARS]
        cost = sum(len(word) + len(c) for c in pool)
        if cost > self.work:
            self.work = 0  # looking at the choices was work too: stop here
            return ""
        self.left -= 1
        self.work -= cost
        return did_you_mean(word, pool)


def check(spec: Spec, doc: YamlDoc, root: Path) -> list[Problem]:
    """Every problem of a schema-valid spec, in file order."""
    suggest = Suggestions()
    problems = [*_matrices(spec, doc), *_paths(spec, doc)]
    # The graph checks assume sane paths and matrices: expand the matrices only when bounded.
    insts = None if problems else list(pipeline.instances(spec))
    duplicates = list(_duplicates(spec, doc))
    expanded = list(_expanded_paths(insts, doc)) if insts is not None else []
    problems += expanded
    # Two equal matrix items, or a path out of the repository, would only cascade in the graph.
    if insts is not None and not duplicates and not expanded:
        problems += pipeline.graph_problems(insts, doc)
    problems += [
        *duplicates,
        *_expressions(doc, doc.data, ()),
        *_maturity(spec, doc),
        *_models(spec, insts, doc, suggest),
        *_gates(spec, doc, suggest),
        *_promotion(spec, doc, suggest),
        *_params(spec, doc, root, suggest),
    ]
    return sorted(problems)


_EXPRESSION = "must not contain '${{' (GitHub Actions expression syntax)"
# Invisible characters that reorder how text is shown, so that a reviewer reads one command
# while another runs ("trojan source").
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
# Control characters YAML lets through as escapes ("\e"): they move a terminal's cursor.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def _text_problem(text: str) -> str | None:
    if "${{" in text:
        return _EXPRESSION
    bidi = _BIDI.search(text)
    if bidi:
        code = f"U+{ord(bidi.group()):04X}"
        return f"must not contain invisible bidirectional control characters ({code})"
    control = _CONTROL.search(text)
    if control:
        return f"must not contain control characters (U+{ord(control.group()):04X})"
    return None


def _expressions(doc: YamlDoc, value: Any, path: KeyPath) -> Iterator[Problem]:
    """No user string may smuggle a GitHub expression into a rendered workflow, nor hide what
    it says from a reviewer."""
    if isinstance(value, str):
        reason = _text_problem(value)
        if reason:
            yield doc.problem(path, reason)
    elif isinstance(value, dict):
        for key, item in value.items():
            reason = _text_problem(key)  # parse_spec has refused keys that are not strings
            if reason:
                yield doc.problem((*path, key), reason, at_key=True)
            yield from _expressions(doc, item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _expressions(doc, item, (*path, i))


def _matrices(spec: Spec, doc: YamlDoc) -> Iterator[Problem]:
    oversized = False
    for name, stage in spec.stages.items():
        if stage.matrix is None:
            continue
        if not stage.matrix:
            yield doc.problem(("stages", name, "matrix"), "must name at least one key")
        for key, values in stage.matrix.items():
            if not values:
                yield doc.problem(("stages", name, "matrix", key), "must list at least one value")
        size = pipeline.matrix_size(stage)
        if size > pipeline.MAX_MATRIX:
            oversized = True
            msg = f"expands to {size:,} stages; at most {pipeline.MAX_MATRIX:,} are allowed"
            yield doc.problem(("stages", name, "matrix"), msg)
    total = pipeline.stage_count(spec)
    if total > pipeline.MAX_STAGES and not oversized:
        msg = (
            f"the stages and their matrices make {total:,} stages in all;"
            f" at most {pipeline.MAX_STAGES:,} are allowed"
        )
        yield doc.problem(("stages",), msg, at_key=True)
    elif not oversized and (paths := pipeline.expanded_paths(spec)) > pipeline.MAX_EXPANDED_PATHS:
        msg = (
            f"the stages' deps and outs make {paths:,} paths with matrices expanded;"
            f" at most {pipeline.MAX_EXPANDED_PATHS:,} are allowed"
        )
        yield doc.problem(("stages",), msg, at_key=True)


def _spec_paths(spec: Spec) -> Iterator[tuple[str, KeyPath]]:
    for name, stage in spec.stages.items():
        for i, dep in enumerate(stage.deps):
            yield dep, ("stages", name, "deps", i)
        for field in ("outs", "metrics", "plots"):
            for i, entry in enumerate(getattr(stage, field)):
                yield path_of(entry), ("stages", name, field, i)
    for name, model in spec.models.items():
        yield model.path, ("models", name, "path")
        if model.metrics:
            yield model.metrics, ("models", name, "metrics")
    for i, path in enumerate(spec.metrics):
        yield path, ("metrics", i)
    if spec.monitoring:
        yield spec.monitoring.reference, ("monitoring", "reference")
        yield spec.monitoring.current, ("monitoring", "current")


def _paths(spec: Spec, doc: YamlDoc) -> Iterator[Problem]:
    for path, loc in _spec_paths(spec):
        matrix = spec.stages[str(loc[1])].matrix if loc[0] == "stages" else None
        reason = pipeline.path_problem(path) or (
            # `${{` has its own problem; anything else in `${...}` must be resolvable here.
            pipeline.reference_problem(path, matrix) if "${" in path and "${{" not in path else None
        )
        if reason:
            yield doc.problem(loc, reason)
            continue
        longest = pipeline.longest_expansion(path, matrix) if matrix else len(path)
        if longest > pipeline.MAX_PATH_CHARS:
            msg = (
                f"can be {longest:,} characters long with the matrix values put in;"
                f" a path may have at most {pipeline.MAX_PATH_CHARS:,}"
            )
            yield doc.problem(loc, msg)
        elif loc[2:3] in (("outs",), ("metrics",), ("plots",)):
            reason = pipeline.out_problem(path)
            if reason:
                yield doc.problem(loc, reason)


def _expanded_paths(insts: list[pipeline.Instance], doc: YamlDoc) -> Iterator[Problem]:
    """A matrix value can take a path out of the repository (`..`, `/etc`): check the paths
    with the values put in, once per path in the spec."""
    reported: set[KeyPath] = set()
    for inst in insts:
        if inst.name == inst.stage:
            continue  # no matrix: already checked as written
        for path, loc in (*inst.deps, *inst.outs):
            reason = pipeline.path_problem(path) or (
                pipeline.out_problem(path) if loc[2] != "deps" else None
            )
            if reason and loc not in reported:
                reported.add(loc)
                yield doc.problem(loc, f"in stage {inst.name!r}: {reason}")


def _line(doc: YamlDoc, loc: KeyPath) -> int:
    return doc.problem(loc, "").line


def _repeated(doc: YamlDoc, entries: Iterable[tuple[str, str, KeyPath]]) -> Iterator[Problem]:
    """Each entry `(identity, as written, location)` whose identity came before, at its
    second occurrence, saying where the first is."""
    first: dict[str, tuple[str, KeyPath]] = {}
    for identity, written, loc in entries:
        seen = first.setdefault(identity, (written, loc))
        if seen[1] != loc:
            where = f"first on line {_line(doc, seen[1])}"
            if seen[0] != written:
                where += f", as {seen[0]!r}"
            yield doc.problem(loc, f"{written!r} is listed twice ({where})")


def _duplicates(spec: Spec, doc: YamlDoc) -> Iterator[Problem]:
    """A repeated entry is always a mistake: DVC tracks a path once, and names two equal
    matrix items alike, so that one stage silently replaces the other."""
    for name, stage in spec.stages.items():
        base: KeyPath = ("stages", name)
        yield from _repeated(
            doc, ((key, key, (*base, "params", i)) for i, key in enumerate(stage.params))
        )
        deps = [(d, (*base, "deps", i)) for i, d in enumerate(stage.deps)]
        outs = [
            (path_of(entry), (*base, field, i))
            for field in ("outs", "metrics", "plots")
            for i, entry in enumerate(getattr(stage, field))
        ]
        for paths in (deps, outs):
            yield from _repeated(
                doc,
                (  # a path refused already is not compared: `..` and `a/../..` are one
                    (pipeline.normalize(path), path, loc)
                    for path, loc in paths
                    if pipeline.path_problem(path) is None
                ),
            )
        for key, values in (stage.matrix or {}).items():
            fragments = [pipeline.fragment(key, i, v) for i, v in enumerate(values)]
            yield from _repeated(
                doc, ((f, f, (*base, "matrix", key, i)) for i, f in enumerate(fragments))
            )
    for name, model in spec.models.items():
        labels = enumerate(model.labels)
        yield from _repeated(doc, ((lb, lb, ("models", name, "labels", i)) for i, lb in labels))
    if spec.promotion is not None:
        stages = enumerate(spec.promotion.stages)
        yield from _repeated(doc, ((s, s, ("promotion", "stages", i)) for i, s in stages))


def _maturity(spec: Spec, doc: YamlDoc) -> Iterator[Problem]:
    have = {
        "metrics": any(stage.metrics for stage in spec.stages.values()),
        "models": bool(spec.models),
        "gates": bool(spec.gates),
        "promotion": spec.promotion is not None,
        "monitoring": spec.monitoring is not None,
    }
    missing = [
        (level, text)
        for level in range(2, spec.maturity + 1)
        for key, text in MATURITY_NEEDS.get(level, [])
        if not have[key]
    ]
    if missing:
        them = "them" if len(missing) > 1 else "it"
        needs = ", ".join(text for _, text in missing)
        sections = [f'"Maturity {level}"' for level in sorted({level for level, _ in missing})]
        see = (
            sections[0] if len(sections) == 1 else f"{', '.join(sections[:-1])} and {sections[-1]}"
        )
        msg = (
            f"maturity {spec.maturity} needs {needs}; add {them} or lower the level"
            f" (see {see} in the README)"
        )
        yield doc.problem(("maturity",), msg)


def metrics_files(spec: Spec) -> list[str]:
    """Every declared metrics file, normalized, in spec order: those of the stages, then the
    top-level ones that no stage writes."""
    return [
        pipeline.normalize(path_of(entry))
        for stage in spec.stages.values()
        for entry in stage.metrics
    ] + [pipeline.normalize(path) for path in spec.metrics]


def _unknown_metrics_file(path: str, declared: list[str], suggest: Suggestions) -> str:
    return f"{path!r} is not a metrics file of any stage{suggest(path, declared)}"


def _models(
    spec: Spec, insts: list[pipeline.Instance] | None, doc: YamlDoc, suggest: Suggestions
) -> Iterator[Problem]:
    """Model paths are checked against the outs only when the stages could be expanded."""
    outs = [out for inst in insts or () for out, _ in inst.outs]
    out_set = set(outs)
    declared = metrics_files(spec)
    for name, model in spec.models.items():
        path = pipeline.normalize(model.path)
        known = path in out_set or any(a in out_set for a in pipeline.ancestors(path))
        if insts is not None and not known:
            msg = f"{model.path!r} is not an out of any stage{suggest(path, outs)}"
            yield doc.problem(("models", name, "path"), msg)
        if model.metrics and pipeline.normalize(model.metrics) not in declared:
            yield doc.problem(
                ("models", name, "metrics"), _unknown_metrics_file(model.metrics, declared, suggest)
            )


def split_metric(metric: str) -> tuple[str | None, str]:
    """`file.json:key.path` -> (file, key); a bare key has no file."""
    if ":" in metric:
        file, key = metric.rsplit(":", 1)
        return file, key
    return None, metric


def _gates(spec: Spec, doc: YamlDoc, suggest: Suggestions) -> Iterator[Problem]:
    declared = metrics_files(spec)
    for i, gate in enumerate(spec.gates):
        loc: KeyPath = ("gates", i)
        file, key = split_metric(gate.metric)
        if not key:
            yield doc.problem((*loc, "metric"), "names no metric after ':'")
        if file is not None and pipeline.normalize(file) not in declared:
            yield doc.problem((*loc, "metric"), _unknown_metrics_file(file, declared, suggest))
        elif file is None and not declared:
            yield doc.problem((*loc, "metric"), "no stage declares a metrics file to read it from")
        if gate.min is None and gate.max is None and gate.vs is None:
            yield doc.problem(loc, "a gate needs at least one of min, max or vs")
        if gate.min is not None and gate.max is not None and gate.min > gate.max:
            yield doc.problem((*loc, "min"), f"min {gate.min:g} is greater than max {gate.max:g}")
        if gate.tolerance is not None and gate.vs is None:
            yield doc.problem((*loc, "tolerance"), "applies only to a comparison; add vs")


def _promotion(spec: Spec, doc: YamlDoc, suggest: Suggestions) -> Iterator[Problem]:
    promotion = spec.promotion
    if promotion is None:
        return
    seen = set(promotion.stages)  # a stage listed twice is reported with the other duplicates
    for field in ("auto", "approval"):
        value = getattr(promotion, field)
        if value is not None and value not in seen:
            msg = f"{value!r} is not one of promotion.stages{suggest(value, seen)}"
            yield doc.problem(("promotion", field), msg)
    if promotion.auto is not None and promotion.auto == promotion.approval:
        msg = f"{promotion.auto!r} cannot be assigned automatically and need approval"
        yield doc.problem(("promotion", "approval"), msg)


def _find_key(data: Any, dotted: str) -> tuple[bool, str, dict[Any, Any]]:
    """Whether `dotted` names a key of `data`, walking one level per part as DVC does; when
    not, the prefix that was found and the mapping where the walk stopped. Walking costs the
    length of the key, where listing every dotted key of a file (aliases expanded) could cost
    gigabytes."""
    node, prefix, parts = data, "", dotted.split(".")
    for i, part in enumerate(parts):
        if not isinstance(node, dict):
            return False, prefix, {}
        if ".".join(parts[i:]) in node:  # a key may hold dots itself
            return True, prefix, node
        if part not in node:
            return False, prefix, node
        node, prefix = node[part], f"{prefix}{part}."
    return True, prefix, {}


def load_params(root: Path) -> YamlDoc | None:
    """params.yaml of the project, or None when it does not exist."""
    try:
        raw = read_bytes(real_path_inside(root, PARAMS_FILE))
    except Unreadable as exc:
        raise SpecError([Problem.plain(PARAMS_FILE, exc.reason)]) from exc
    return None if raw is None else load_yaml(PARAMS_FILE, raw)


def _params(spec: Spec, doc: YamlDoc, root: Path, suggest: Suggestions) -> Iterator[Problem]:
    refs = [
        (key, ("stages", name, "params", i))
        for name, stage in spec.stages.items()
        for i, key in enumerate(stage.params)
        if "${" not in key  # interpolated keys are resolved by DVC
    ]
    if not refs:
        return
    try:
        params = load_params(root)
    except SpecError as exc:
        yield from exc.problems
        return
    if params is None:
        yield doc.problem(refs[0][1], f"{PARAMS_FILE} does not exist next to the spec")
        return
    for key, loc in refs:
        found, prefix, level = _find_key(params.data, key)
        if found:
            continue
        hint = ""
        if suggest.affords(key, len(level)):  # the choices are built only when they are used
            hint = suggest(key, [f"{prefix}{k}" for k in level if isinstance(k, str)])
        yield doc.problem(loc, f"{key!r} is not a key of {PARAMS_FILE}{hint}")
