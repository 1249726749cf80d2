"""The text of the spec import writes.

Preferably the dvc.yaml files' own text: the spec's three keys, then the root dvc.yaml as it is
written (its comments, order, anchors and quoting kept), then each subfolder's dvc.yaml indented
under `pipelines: {FOLDER: ...}`. A text that cannot be set there as it is (a document marker, a
directive, a top-level flow mapping), or that would read differently there, is dumped from its
data instead, each comment moved above the key or list item it was next to.
"""

from __future__ import annotations

import re
from typing import Any

from specops.generators.dvc import dump
from specops.spec.yamlfile import YamlDoc

from . import comments
from .convert import PIPELINES, Source, Sources

#: What a dvc.yaml set into the spec as it is may not hold: `---`, `...`, `%` directives.
_DOCUMENT = re.compile(r"^(?:---|\.\.\.)(?:[ \t]|$)|^%", re.M)
_BREAKS = re.compile("\r\n?")


def _own_text(source: Source) -> str | None:
    """The text of `source` with `\\n` line breaks, when its top level is a block mapping at
    the start of its lines and it is one plain document; else None."""
    text = source.text
    first = next(iter(source.doc.keys.values()), None)
    if first is None or first[1] != 1 or _DOCUMENT.search(text):
        return None
    # YAML reads any line break in a value as `\n`: only the file's bytes change.
    text = _BREAKS.sub("\n", text).lstrip("\n")
    return text if text.endswith("\n") else text + "\n"


def _key(value: str) -> str:
    """`value` as a mapping key, quoted when YAML (or DVC) would read it as something else."""
    return dump([value])[2:].rstrip("\n")


def copied(sources: Sources, head: dict[str, Any]) -> str | None:
    """The spec: `head`'s keys, then each dvc.yaml's own text; None when one cannot be set
    into the spec as it is."""
    parts = [dump(head), "\n"]
    folders = []
    for source in sources.files:
        text = _own_text(source)
        if text is None:
            return None
        if not source.prefix:
            parts.append(text)
        else:
            # Every line but the empty ones moves alike: a block scalar's lines of spaces too.
            lines = text.splitlines(keepends=True)
            indented = "".join(line if line == "\n" else f"    {line}" for line in lines)
            folders.append(f"  {_key(source.folder)}:\n{indented}")
    if folders:
        parts += ["\n" if len(parts) > 2 else "", f"{PIPELINES}:\n", *folders]
    return "".join(parts)


def counts(sources: Sources) -> dict[str, list[comments.Comment]]:
    """The comments of each dvc.yaml."""
    return {s.path: comments.find(s.text, s.doc.data) for s in sources.files}


def _spaced(text: str) -> str:
    """A blank line before each top-level section after the spec's own three keys, and before
    the comments above it."""
    out: list[str] = []
    keys = 0
    for line in text.splitlines(keepends=True):
        if line[:1] not in ("", " ", "#", "-", "\n"):
            keys += 1
            if keys > 3:
                at = len(out)
                while at and out[at - 1].startswith("#"):
                    at -= 1
                out.insert(at, "\n")
        out.append(line)
    return "".join(out)


def with_comments(
    text: str, doc: YamlDoc, sources: Sources, found: dict[str, list[comments.Comment]]
) -> str:
    """The dumped spec `text` (whose positions are `doc`'s) with every dvc.yaml comment on a
    line of its own above the key or item it was next to, and blank lines between sections.
    Neither changes a value: they are added once the data has been validated."""
    attached: dict[comments.Anchor | None, list[str]] = {}
    for source in sources.files:
        for anchor, texts in comments.attach(source.doc, found[source.path]).items():
            key = None if anchor is None else ((*source.prefix, *anchor[0]), anchor[1])
            attached.setdefault(key, []).extend(texts)
    return _spaced(comments.place(text, doc, attached) if attached else text)
