"""Read a model's versions and stages from the repository's tags, in GTO's format.

`git for-each-ref` lists every tag with its commit, tagger and message in one call. Only
annotated tags of commits count, as in GTO. Stage events are ordered by their counter `#N`,
which each new tag takes from the tags present (one more than the model's highest), so the
order holds even when two tags fall in the same second or clocks differ; GTO's simple
`name#stage` tags, which have no counter, come first, in time order.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

from specops.registry.git import run_git

Kind = Literal["register", "deregister", "assign", "unassign", "deprecate"]

_NAME = r"[a-zA-Z0-9]([a-zA-Z0-9-/_=]*[a-zA-Z0-9])?"
_SEMVER = (
    r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    # SemVer 2.0: numeric prerelease identifiers have no leading zero, as GTO requires.
    r"(?:-(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*))*)?"
    r"(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?"
)
#: GTO's tag grammar (gto.constants.tag_re), with named groups for what specops uses.
TAG_RE = re.compile(
    rf"^(?P<model>{_NAME})"
    rf"(?:(?:#(?P<stage>{_NAME})|@(?P<version>v{_SEMVER}))(?P<cancel>!?)|@(?P<deprecated>deprecated))"
    r"(?:#(?P<counter>[0-9]+))?\Z"  # \Z: `$` would allow a line break at the end
)
VERSION_RE = re.compile(rf"^v?(?P<core>{_SEMVER})\Z")

# git writes %00 as NUL and %01 as \x01, which no tag name or message holds.
_SEP = "\x00\x01"
_FORMAT = "%00%01".join(
    [
        "%(refname:strip=2)",
        "%(objecttype)",
        "%(*objecttype)",
        "%(*objectname)",
        "%(taggerdate:unix)",
        "%(taggername)",
        "%(taggeremail)",
        "%(contents)",
    ]
)
_RECORD = "\x00\x02"
_RECORD_FORMAT = "%00%02"


@dataclass(frozen=True)
class StageRef:
    """The version that holds a stage, and the tag that assigned it."""

    commit: str
    version: str
    tag: str


@dataclass(frozen=True)
class TagEvent:
    """One registry tag: what it does, to which commit, who made it and why."""

    tag: str
    kind: Kind
    model: str
    version: str | None  # named in register/deregister tags; resolved from the commit otherwise
    stage: str | None
    counter: int | None
    commit: str
    timestamp: int
    tagger: str
    message: str

    @property
    def created_at(self) -> str:
        return datetime.fromtimestamp(self.timestamp, timezone.utc).isoformat()

    @property
    def evidence(self) -> dict[str, Any] | None:
        """The JSON document after the message's first paragraph, when specops wrote it."""
        _, _, body = self.message.partition("\n\n")
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):  # RecursionError: nested deeper than Python goes
            return None
        return data if isinstance(data, dict) else None

    @property
    def summary(self) -> str:
        return self.message.partition("\n")[0].strip()

    def as_dict(self) -> dict[str, Any]:
        return {
            "tag": self.tag,
            "event": self.kind,
            "model": self.model,
            "version": self.version,
            "stage": self.stage,
            "commit": self.commit,
            "created_at": self.created_at,
            "tagger": self.tagger,
            "summary": self.summary,
            "evidence": self.evidence,
        }


def version_key(version: str) -> tuple[int, int, int, int]:
    """Sort key of `v1.2.3`: a pre-release sorts before its release."""
    match = VERSION_RE.match(version)
    if not match:
        return (-1, -1, -1, -1)
    core = match["core"]
    major, minor, patch = (int(p) for p in re.split(r"[.+-]", core)[:3])
    return (major, minor, patch, 0 if "-" in core.split("+")[0] else 1)


def parse_tag(name: str) -> dict[str, Any] | None:
    """What a tag name says in GTO's grammar, or None when it is not a registry tag."""
    match = TAG_RE.match(name)
    if not match:
        return None
    cancel = match["cancel"] == "!"
    kind: Kind
    if match["deprecated"]:
        kind = "deprecate"
    elif match["version"]:
        kind = "deregister" if cancel else "register"
    else:
        kind = "unassign" if cancel else "assign"
    counter = match["counter"]
    return {
        "model": match["model"].replace("=", ":"),
        "kind": kind,
        "version": match["version"],
        "stage": match["stage"],
        "counter": int(counter) if counter else None,
    }


@dataclass
class ModelTags:
    """Every registry tag of one model, in order, and what they add up to."""

    model: str
    events: list[TagEvent] = field(default_factory=list)

    @property
    def registrations(self) -> list[TagEvent]:
        return [e for e in self.events if e.kind == "register"]

    def deregistered(self, commit: str) -> bool:
        """Whether the version at `commit` was deregistered after it was registered."""
        direct = [e for e in self.events if e.commit == commit and e.kind in _VERSION_KINDS]
        return bool(direct) and direct[-1].kind == "deregister"

    def version_at(self, commit: str) -> str | None:
        """The version registered at `commit` and not deregistered since."""
        for event in self.registrations:
            if event.commit == commit and not self.deregistered(commit):
                return event.version
        return None

    def commit_of(self, version: str) -> str | None:
        """The commit of a registered version, deregistered or not."""
        return next((e.commit for e in self.registrations if e.version == version), None)

    def latest_version(self) -> str | None:
        """The highest version ever registered, deregistered ones too: numbers are not reused."""
        versions = [e.version for e in self.registrations if e.version]
        return max(versions, key=version_key) if versions else None

    def next_counter(self) -> int:
        """The `#N` of the next stage tag: one more than any the model has, as GTO counts."""
        return max((e.counter or 0 for e in self.events), default=0) + 1

    @property
    def deprecated(self) -> bool:
        """Whether a `name@deprecated` tag is newer than every other tag of the model."""
        last = max((e.timestamp for e in self.events if e.kind == "deprecate"), default=None)
        return last is not None and all(
            e.timestamp <= last for e in self.events if e.kind != "deprecate"
        )

    def stage_holder(self, stage: str) -> TagEvent | None:
        """The assignment that holds `stage`: the latest one whose version was neither
        unassigned from the stage since nor deregistered."""
        if self.deprecated:
            return None
        held: dict[str, tuple[int, TagEvent]] = {}
        for index, event in enumerate(self.events):
            if event.stage != stage:
                continue
            if event.kind == "assign":
                held[event.commit] = (index, event)
            elif event.kind == "unassign":
                held.pop(event.commit, None)
        live = [pair for commit, pair in held.items() if not self.deregistered(commit)]
        return max(live, key=lambda pair: pair[0])[1] if live else None

    def stages(self) -> dict[str, TagEvent]:
        """Each stage that is held now, and the assignment that holds it."""
        names = dict.fromkeys(e.stage for e in self.events if e.stage)
        found = {name: self.stage_holder(name) for name in names}
        return {name: event for name, event in found.items() if event is not None}


_VERSION_KINDS = ("register", "deregister")


def _order(event: TagEvent) -> tuple[int, int, int]:
    # Version events come before stage events of the same second (GTO indexes them first);
    # stage events follow their counters.
    if event.stage is not None:
        return (1, event.counter or 0, event.timestamp)
    return (0, event.timestamp, _PRIORITY[event.kind])


_PRIORITY = {"deprecate": 0, "register": 1, "deregister": 2, "assign": 3, "unassign": 4}


def read_tags(root: Path, model: str | None = None) -> dict[str, ModelTags]:
    """Every model's registry tags in the repository at `root` (or only `model`'s)."""
    out = run_git(root, "for-each-ref", f"--format={_FORMAT}{_RECORD_FORMAT}", "refs/tags")
    raw: list[tuple[dict[str, Any], list[str]]] = []
    for record in out.split(_RECORD):
        fields = record.lstrip("\n").split(_SEP)
        # Lightweight tags are not registry tags, nor tags of a tree, a blob or another tag.
        if len(fields) != 8 or fields[1:3] != ["tag", "commit"]:
            continue
        parsed = parse_tag(fields[0])
        if parsed and (model is None or parsed["model"] == model):
            raw.append((parsed, fields))
    models: dict[str, ModelTags] = {}
    # Version tags first: assignments take their version from the commit's registration.
    raw.sort(key=lambda item: item[0]["stage"] is not None)
    for parsed, (name, _, _, commit, stamp, tagger, email, message) in raw:
        tags = models.setdefault(parsed["model"], ModelTags(parsed["model"]))
        version = parsed["version"]
        if version is None and parsed["kind"] != "deprecate":
            version = next((e.version for e in tags.registrations if e.commit == commit), commit)
        tags.events.append(
            TagEvent(
                tag=name,
                kind=parsed["kind"],
                model=parsed["model"],
                version=version,
                stage=parsed["stage"],
                counter=parsed["counter"],
                commit=commit,
                timestamp=int(stamp or 0),
                tagger=f"{tagger} {email}".strip(),
                message=message,
            )
        )
    for tags in models.values():
        tags.events.sort(key=_order)
    return models


def model_tags(root: Path, model: str) -> ModelTags:
    """One model's registry tags (none when it has no tags yet)."""
    return read_tags(root, model).get(model, ModelTags(model))


def stage_commit(root: Path, model: str, stage: str) -> StageRef | None:
    """The commit of the version that holds `stage` of `model` now, or None."""
    holder = model_tags(root, model).stage_holder(stage)
    if holder is None:
        return None
    return StageRef(commit=holder.commit, version=holder.version or holder.commit, tag=holder.tag)
