"""The files `specops init` writes: a small project that validates, renders and reproduces."""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from string import Template

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


def files(root: Path, spec_name: str) -> list[Rendered]:
    """The scaffold's files with the project's name filled in, the spec first."""
    here = resources.files(__package__)
    out = []
    for source, target in _FILES.items():
        text = here.joinpath(source).read_text(encoding="utf-8")
        if target is None:
            out.append(Rendered(spec_name, Template(text).substitute(name=project_name(root))))
        else:
            out.append(Rendered(target, text))
    return out
