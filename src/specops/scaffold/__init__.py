"""The files `specops init` writes: a small project that validates, renders and reproduces."""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path
from string import Template

from specops import __version__
from specops.generators import Rendered

#: Scaffold file -> where it goes in the new project.
_FILES = {
    "specops.yaml.tmpl": None,
    "params.yaml": "params.yaml",
    "requirements.txt": "requirements.txt",
    "train.py.tmpl": "src/train.py",
    "gitignore": ".gitignore",
}


def project_name(folder: Path) -> str:
    """A valid spec name from a folder name, as close to it as the name rules allow."""
    name = re.sub(r"[^a-z0-9-]+", "-", folder.resolve().name.lower()).strip("-")
    return name[:64].strip("-") or "my-project"


#: Scaffold files with `$name` (the project's) and `$version` (this specops's) to fill in.
_FILLED = ("specops.yaml.tmpl", "requirements.txt")


def files(root: Path, spec_name: str, branch: str = "main") -> list[Rendered]:
    """The scaffold's files with the project's name and specops's version filled in, the spec
    first. requirements.txt pins specops to the version that wrote the files, which renders
    the workflows exactly as they are; CI runs on pushes to `branch`."""
    here = resources.files(__package__)
    values = {"name": project_name(root), "version": __version__, "branch": json.dumps(branch)}
    out = []
    for source, target in _FILES.items():
        text = here.joinpath(source).read_text(encoding="utf-8")
        if source in _FILLED:
            text = Template(text).substitute(values)
        out.append(Rendered(spec_name if target is None else target, text))
    return out
