"""How much the checks may build: matrices and foreach expanded, in each pipeline and in all of
them together, so that a few lines of spec cannot ask for millions of stages or paths."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass

from specops.spec import pipeline
from specops.spec.models import Spec
from specops.spec.problems import Problem
from specops.spec.yamlfile import YamlDoc


@dataclass
class Budget:
    """What the checks may still build across all pipelines: the limits hold for the
    repository as a whole."""

    # Read when a check starts, not at import: the limits are the module's.
    stages: int = dataclasses.field(default_factory=lambda: pipeline.MAX_STAGES)
    paths: int = dataclasses.field(default_factory=lambda: pipeline.MAX_EXPANDED_PATHS)
    #: References checked so far (Resolver.checks, carried from one pipeline to the next).
    references: int = 0


def size_problems(
    spec: Spec,
    matrices: dict[str, pipeline.Matrix | None],
    sizes: dict[str, int],
    doc: YamlDoc,
    budget: Budget,
) -> Iterator[Problem]:
    """Empty and oversized matrices, and a dvc.yaml whose stages or paths exceed what the budget
    has left; what fits is taken from the budget."""
    oversized = any(size > pipeline.MAX_MATRIX for size in sizes.values())
    for name, stage, _ in pipeline.bodies(spec):
        matrix = matrices.get(name)
        if stage.matrix is None or matrix is None:
            continue
        if not stage.matrix:
            yield doc.problem(("stages", name, "matrix"), "must name at least one key")
        for key, values in matrix.items():
            if not values:
                yield doc.problem(("stages", name, "matrix", key), "must list at least one value")
        size = pipeline.matrix_size(matrix)
        if size > pipeline.MAX_MATRIX:
            msg = f"expands to {size:,} stages; at most {pipeline.MAX_MATRIX:,} are allowed"
            yield doc.problem(("stages", name, "matrix"), msg)
    total = pipeline.stage_count(spec, sizes)
    paths = 0 if oversized else pipeline.expanded_paths(spec, sizes)
    before = pipeline.MAX_STAGES - budget.stages  # in the pipelines checked before this one
    if total > budget.stages and not oversized:
        msg = (
            f"the stages and their matrices make {total:,} stages in all;"
            f" at most {pipeline.MAX_STAGES:,} are allowed"
        )
        if before:
            msg = (
                f"the stages and their matrices make {total:,} stages, and those before them"
                f" {before:,}; at most {pipeline.MAX_STAGES:,} are allowed in all"
            )
        yield doc.problem(("stages",), msg, at_key=True)
    elif not oversized and paths > budget.paths:
        msg = (
            f"the stages' deps and outs make {paths:,} paths with matrices expanded;"
            f" at most {pipeline.MAX_EXPANDED_PATHS:,} are allowed"
        )
        if budget.paths < pipeline.MAX_EXPANDED_PATHS:
            msg = (
                f"the stages' deps and outs make {paths:,} paths with matrices expanded, and"
                f" those before them {pipeline.MAX_EXPANDED_PATHS - budget.paths:,}; at most"
                f" {pipeline.MAX_EXPANDED_PATHS:,} are allowed in all"
            )
        yield doc.problem(("stages",), msg, at_key=True)
    else:
        budget.stages -= total
        budget.paths -= paths
