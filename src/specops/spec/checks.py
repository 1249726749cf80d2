"""Checks that need the whole spec: references, paths, the DAG and the maturity rules."""

from __future__ import annotations

import dataclasses
import difflib
import posixpath
import re
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from specops.spec import folders, monitoring, pipeline, runners, toplevel
from specops.spec.cichecks import ci_problems
from specops.spec.context import Context, Unparsable, load_context, params_file
from specops.spec.files import Unreadable, read_bytes, real_path_inside
from specops.spec.foreach import foreach_problems, loop_problems
from specops.spec.limits import Budget, size_problems
from specops.spec.metrics_files import declared_metrics
from specops.spec.metrics_files import metrics_files as metrics_files  # re-exported: it lived here
from specops.spec.models import Spec, path_of
from specops.spec.problems import MAX_PROBLEMS, KeyPath, Problem, SpecError
from specops.spec.resolve import Resolver, name_problems
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
    budget = Budget()
    names = folders.dataset_names(spec)
    own = [n for key, found in names.items() if key is not None for n in found]
    parts = [check_pipeline(spec, doc, root, suggest, budget, None, own)]
    broken = folders.folder_problems(spec, doc, root)
    problems = [p for found in broken.values() for p in found]
    problems += folders.dataset_problems(spec, doc)
    for key in spec.pipelines:
        if key not in broken:
            where = folders.folder(key)
            others = [n for k, found in names.items() if k != key for n in found]
            view, scoped = folders.as_spec(spec, key), folders.scoped(doc, key)
            part = check_pipeline(view, scoped, root, suggest, budget, where, others)
            insts = None if part.insts is None else folders.absolute(part.insts, key)
            parts.append(dataclasses.replace(part, insts=insts))
    problems += [p for part in parts for p in part.problems]
    # The checks across pipelines need every one of them expanded.
    complete = not broken and all(part.insts is not None for part in parts)
    insts = [inst for part in parts for inst in part.insts or ()] if complete else None
    if insts is not None and all(part.graphable for part in parts):
        outside = list(folders.output_problems(spec, insts, doc))
        problems += outside or pipeline.graph_problems(insts, doc)
        problems += runners.item_problems(spec, insts, doc)
        problems += runners.handover_problems(spec, insts, doc)
        problems += monitoring.incoming_problems(spec, insts, doc)
    problems += [
        *_expressions(doc, doc.data, ()),
        *_maturity(spec, doc),
        *_models(spec, insts, doc, suggest, parts[0].ctx),
        *_gates(spec, insts, doc, suggest),
        *_promotion(spec, doc, suggest),
        *_deploy(spec, doc, suggest),
        *runners.problems(spec, doc),
        *monitoring.problems(spec, doc),
        *ci_problems(spec, doc),
    ]
    # A file in the way of several checks (a Python file that vars and params read) is one
    # problem, however many of them find it.
    return sorted(set(problems))


@dataclass(frozen=True)
class Checked:
    """The problems of one dvc.yaml's stages, and its concrete stages (None when they could not
    be expanded); `graphable` when nothing found would only cascade in the graph checks."""

    problems: list[Problem]
    insts: list[pipeline.Instance] | None
    graphable: bool
    ctx: Context


def check_pipeline(
    spec: Spec,
    doc: YamlDoc,
    root: Path,
    suggest: Suggestions,
    budget: Budget,
    folder: str | None = None,
    datasets: Collection[str] = (),
) -> Checked:
    """The stages of one dvc.yaml: the spec's own, or a pipeline's seen by folders.as_spec;
    `datasets` names those of the other dvc.yaml files, which its stages may use too."""
    ctx = load_context(spec.vars, doc, root, folder)
    resolver = Resolver(spec, doc, root, ctx, suggest)
    resolver.checks = budget.references
    matrices = resolver.matrices
    # A matrix from vars that failed to load would only repeat that problem.
    problems = [*ctx.problems, *([] if ctx.problems else resolver.problems)]
    problems += size_problems(spec, matrices, resolver.sizes, doc, budget)
    problems += foreach_problems(spec, resolver.loops, doc)
    problems += _paths(spec, doc)
    # References are checked once per value they can take, and only on bounded matrices.
    # Top-level `${...}` is resolved again only when the references were checked within bounds.
    checked = not problems
    problems += [] if problems else resolver.check()
    budget.references = resolver.checks
    values = ctx.data if checked and not resolver.exhausted else None
    # The graph checks assume sane paths and matrices: expand the matrices only when bounded.
    insts = None if problems else list(pipeline.instances(spec, resolver.generate, resolver.text))
    duplicates = list(_duplicates(spec, resolver.labels, doc))
    duplicates += name_problems(matrices, resolver.labels, doc) if insts is not None else []
    for name, loop in resolver.loops.items():
        duplicates += loop_problems(name, loop, doc)
    expanded = list(_expanded_paths(spec, insts, doc)) if insts is not None else []
    problems += [*expanded, *duplicates, *_params(spec, ctx, root, insts, doc, suggest)]
    # Two equal matrix items, or a path out of the repository, would only cascade in the graph.
    problems += toplevel.problems(spec, doc, values, suggest, datasets, insts)
    return Checked(problems, insts, not duplicates and not expanded, ctx)


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


def _spec_paths(spec: Spec) -> Iterator[tuple[str, KeyPath]]:
    for _, stage, base in pipeline.bodies(spec):
        if stage.wdir is not None:
            yield stage.wdir, (*base, "wdir")
        for i, dep in enumerate(stage.deps):
            yield stage.in_wdir(dep), (*base, "deps", i)
        for field in ("outs", "metrics", "plots"):
            for i, entry in enumerate(getattr(stage, field)):
                yield stage.in_wdir(path_of(entry)), (*base, field, i)
    for name, model in spec.models.items():
        yield model.path, ("models", name, "path")
        if model.metrics:
            yield model.metrics, ("models", name, "metrics")
    for i, path in enumerate(spec.metrics):
        yield path, ("metrics", i)
    for i, path in enumerate(spec.params):
        yield path, ("params", i)
    if spec.monitoring:
        yield spec.monitoring.reference, ("monitoring", "reference")
        yield spec.monitoring.current, ("monitoring", "current")


def _paths(spec: Spec, doc: YamlDoc) -> Iterator[Problem]:
    """Paths as written; those with `${...}` again once resolved (`_expanded_paths`)."""
    for path, loc in _spec_paths(spec):
        reason = pipeline.path_problem(path)
        if reason:
            yield doc.problem(loc, reason)
        elif "${" not in path and loc[0] == "stages":
            reason = _stage_path_problem(path, loc)
            if reason:
                yield doc.problem(loc, reason)


def _writes(loc: KeyPath) -> bool:
    """Whether a stage's path at `loc` is one it writes."""
    return pipeline.stage_field(loc) in ("outs", "metrics", "plots")


def _stage_path_problem(path: str, loc: KeyPath) -> str | None:
    """Why a stage may not read or write a valid repository path at `loc` (not its wdir)."""
    if pipeline.stage_field(loc) == "wdir":
        return None
    written = pipeline.out_problem(path) if _writes(loc) else None
    return written or pipeline.dvc_file_problem(path)


def _expanded_paths(spec: Spec, insts: list[pipeline.Instance], doc: YamlDoc) -> Iterator[Problem]:
    """A value put in can take a path out of the repository (`..`, `/etc`) or into DVC's own
    files: check the paths with the values put in, once per path in the spec."""
    reported = {loc for path, loc in _spec_paths(spec) if "${" not in path}
    for inst in insts:
        for path, loc in (*inst.deps, *inst.outs):
            if loc in reported:
                continue
            reason = pipeline.path_problem(path) or _stage_path_problem(path, loc)
            if reason:
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


def _duplicates(
    spec: Spec, names: dict[str, dict[str, list[str]]], doc: YamlDoc
) -> Iterator[Problem]:
    """A repeated entry is always a mistake: DVC tracks a path once, and names two equal
    matrix items alike, so that one stage silently replaces the other."""
    for name, stage, base in pipeline.bodies(spec):
        yield from _repeated(
            doc,
            (
                (f"{file}:{key}", key or str(file), (*base, "params", *where))
                for file, key, where in stage.param_refs
            ),
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
        for key, fragments in names.get(name, {}).items():
            yield from _repeated(
                doc, ((f, f, (*base, "matrix", key, i)) for i, f in enumerate(fragments))
            )
    for name, model in spec.models.items():
        labels = enumerate(model.labels)
        yield from _repeated(doc, ((lb, lb, ("models", name, "labels", i)) for i, lb in labels))
    if spec.promotion is not None:
        stages = enumerate(spec.promotion.stages)
        yield from _repeated(doc, ((s, s, ("promotion", "stages", i)) for i, s in stages))
    secrets = enumerate(spec.ci.secrets)
    yield from _repeated(doc, ((n, n, ("ci", "secrets", i)) for i, n in secrets))


def _maturity(spec: Spec, doc: YamlDoc) -> Iterator[Problem]:
    have = {
        "metrics": any(stage.metrics for stage in folders.all_stages(spec)),
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


def _unknown_metrics_file(path: str, declared: list[str], suggest: Suggestions) -> str:
    return f"{path!r} is not a metrics file of any stage{suggest(path, declared)}"


def _models(
    spec: Spec,
    insts: list[pipeline.Instance] | None,
    doc: YamlDoc,
    suggest: Suggestions,
    ctx: Context,
) -> Iterator[Problem]:
    """Model paths, with `${...}` resolved, are checked against the outs only when the stages
    could be expanded."""
    outs = [out for inst in insts or () for out, _ in inst.outs]
    out_set = set(outs)
    declared = declared_metrics(spec, insts)
    for name, model in spec.models.items():
        resolved = toplevel.resolved_path(ctx.data, model.path) if insts is not None else None
        path = pipeline.normalize(resolved or model.path)
        known = path in out_set or any(a in out_set for a in pipeline.ancestors(path))
        if resolved is not None and not known:
            what = repr(model.path)
            if resolved != model.path:
                what += f" resolves to {resolved!r}, which"
            msg = f"{what} is not an out of any stage{suggest(path, outs)}"
            yield doc.problem(("models", name, "path"), msg)
        if (
            model.metrics
            and declared is not None
            and pipeline.normalize(model.metrics) not in declared
        ):
            yield doc.problem(
                ("models", name, "metrics"), _unknown_metrics_file(model.metrics, declared, suggest)
            )


def split_metric(metric: str) -> tuple[str | None, str]:
    """`file.json:key.path` -> (file, key); a bare key has no file."""
    if ":" in metric:
        file, key = metric.rsplit(":", 1)
        return file, key
    return None, metric


def _gates(
    spec: Spec, insts: list[pipeline.Instance] | None, doc: YamlDoc, suggest: Suggestions
) -> Iterator[Problem]:
    # None when the stages could not be expanded: their problems say why.
    declared = declared_metrics(spec, insts)
    for i, gate in enumerate(spec.gates):
        loc: KeyPath = ("gates", i)
        file, key = split_metric(gate.metric)
        if not key:
            yield doc.problem((*loc, "metric"), "names no metric after ':'")
        if declared is None:
            pass
        elif file is not None and pipeline.normalize(file) not in declared:
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


def _deploy(spec: Spec, doc: YamlDoc, suggest: Suggestions) -> Iterator[Problem]:
    if not spec.deploy:
        return
    if spec.maturity < 3:
        msg = f"deployments are rendered at maturity 3 and up; this spec is at {spec.maturity}"
        yield doc.problem(("deploy",), msg, at_key=True)
    if spec.promotion is None:
        msg = "needs a `promotion` section whose stages it deploys"
        yield doc.problem(("deploy",), msg, at_key=True)
        return
    stages = spec.promotion.stages
    for stage in spec.deploy:
        if stage not in stages:
            msg = f"{stage!r} is not one of promotion.stages{suggest(stage, stages)}"
            yield doc.problem(("deploy", stage), msg, at_key=True)


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


def _params_path(wdir: str | None, file: str | None, own: str = PARAMS_FILE) -> str | None:
    """A params file relative to the repository; None for the dvc.yaml's own params.yaml
    (`own`), which is also the one of a stage in its folder."""
    path = posixpath.join(wdir, file or PARAMS_FILE) if wdir else file
    return None if path is None or pipeline.normalize(path) == own else path


def _params(
    spec: Spec,
    ctx: Context,
    root: Path,
    insts: list[pipeline.Instance] | None,
    doc: YamlDoc,
    suggest: Suggestions,
) -> Iterator[Problem]:
    refs: list[tuple[str | None, str | None, KeyPath, str]] = [
        (_params_path(stage.wdir, file, ctx.params_path), key, (*base, "params", *where), "")
        for _, stage, base in pipeline.bodies(spec)
        for file, key, where in stage.param_refs
        if "${" not in f"{stage.wdir}{file}{key}"  # checked below with the values put in
    ]
    seen: set[tuple[str | None, str | None, KeyPath]] = set()
    for inst in insts or ():
        for file, key, loc in inst.params:
            file = _params_path(inst.wdir, file, ctx.params_path)
            if (file, key, loc) not in seen:
                seen.add((file, key, loc))
                refs.append((file, key, loc, f"in stage {inst.name!r}: "))
    files: dict[str, Any] = {}
    reported: set[KeyPath] = set()
    for file, key, loc, where in refs:
        if file is None:
            if not ctx.params_readable:  # reported already
                continue
            if ctx.params is None:
                if not reported:
                    where = " next to the spec" if ctx.params_path == PARAMS_FILE else ""
                    yield doc.problem(loc, f"{ctx.params_path} does not exist{where}")
                reported.add(loc)
                continue
            data, name = ctx.params.data, ctx.params_path
        else:
            # Up to the file's key: stages.a.params[0].FILE, or stages.a.do.params[0].FILE.
            name, file_loc = file, loc[: 6 if loc[2] == "do" else 5]
            if file not in files:
                files[file] = params_file(root, file)
            data = files[file]
            if isinstance(data, Unparsable):  # its problems are where they are in it
                yield from data.problems
                continue
            if isinstance(data, Unreadable):
                if file_loc not in reported:
                    reported.add(file_loc)
                    yield doc.problem(file_loc, f"{where}{data.reason}", at_key=True)
                continue
        if key is None or data is None or loc in reported:
            continue  # a whole file, or one whose keys specops cannot read
        found, prefix, level = _find_key(data, key)
        if found:
            continue
        reported.add(loc)
        hint = ""
        if suggest.affords(key, len(level)):  # the choices are built only when they are used
            hint = suggest(key, [f"{prefix}{k}" for k in level if isinstance(k, str)])
        yield doc.problem(loc, f"{where}{key!r} is not a key of {name}{hint}")
