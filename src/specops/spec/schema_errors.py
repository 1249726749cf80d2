"""pydantic validation errors turned into positioned, plainly worded problems."""

from __future__ import annotations

import inspect
from collections.abc import Iterator, Sequence
from typing import Any, get_args

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from specops.spec.checks import Suggestions
from specops.spec.models import FOREACH_STAGE, Foreach, Stage
from specops.spec.problems import Problem
from specops.spec.yamlfile import YamlDoc


def _models_in(annotation: Any) -> Iterator[type[BaseModel]]:
    if inspect.isclass(annotation) and issubclass(annotation, BaseModel):
        yield annotation
        return
    for arg in get_args(annotation):
        yield from _models_in(arg)


def fields_at(root: type[BaseModel], loc: Sequence[Any]) -> list[str]:
    """The keys allowed in the mapping at `loc`, for "did you mean" suggestions."""
    models = [root]
    for part in loc:
        found = [
            inner
            for model in models
            if isinstance(part, str) and part in model.model_fields
            for inner in _models_in(model.model_fields[part].annotation)
        ]
        models = found or models  # dict keys and list indexes stay on the same model
    return sorted({name for model in models for name in model.model_fields})


def describe(value: Any) -> str:
    """A value as a user would name it in their YAML."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return repr(value)
    return str(value)


def _message(
    error: ErrorDetails, root: type[BaseModel], written: str | None, suggest: Suggestions
) -> str:
    """The message for one error; `written` is the value's source text when it is a number."""
    kind, value, ctx = error["type"], error["input"], error.get("ctx", {})
    loc = error["loc"]
    if kind == "extra_forbidden" and loc[-2:-1] == (FOREACH_STAGE,):
        return _beside_foreach(str(loc[-1]), suggest)
    if kind == "extra_forbidden":
        return f"unknown key{suggest(str(loc[-1]), fields_at(root, loc[:-1]))}"
    if kind == "missing":
        return "required key is missing"
    if kind == "string_type":
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            text = written or str(value)  # as written: `3.10` is the float 3.1 once loaded
            return f'expected a string, got the number {text}; quote it, as in "{text}"'
        return f"expected a string, got {describe(value)}"
    if kind == "literal_error":
        return f"must be {ctx['expected']}, got {describe(value)}"
    if kind == "string_pattern_mismatch":
        return f"{describe(value)} does not match the pattern {ctx['pattern']}"
    if kind in ("value_error", "path_entry"):
        return str(ctx.get("error", error["msg"]))
    text = error["msg"].replace("Input should be", "must be")
    return f"{text[0].lower()}{text[1:]}, got {describe(value)}"


def _beside_foreach(key: str, suggest: Suggestions) -> str:
    """A key beside `foreach` and `do`, which DVC refuses: the stage's keys go under `do`."""
    if key == "matrix":
        return "a stage iterates over foreach or over a matrix, not both"
    if key in Stage.model_fields:
        return f"a foreach stage holds only `foreach` and `do`; move {key!r} under `do`"
    return f"unknown key{suggest(key, list(Foreach.model_fields))}"


def schema_problems(doc: YamlDoc, exc: ValidationError, root: type[BaseModel]) -> list[Problem]:
    """One problem per pydantic error, at the YAML node it is about."""
    problems = []
    suggest = Suggestions()
    for error in exc.errors(include_url=False):
        loc = error["loc"]
        path = doc.locate(loc)
        if error["type"] == "missing":
            path = (*path, loc[-1])
        # A bad mapping key is reported at the key, not at its value.
        at_key = error["type"] == "extra_forbidden" or loc[-1:] == ("[key]",)
        message = _message(error, root, doc.numbers.get(path), suggest)
        problems.append(doc.problem(path, message, at_key=at_key))
    return problems
