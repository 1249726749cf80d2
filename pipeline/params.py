"""Read stage parameters from ``params.yaml`` in the working directory."""

from pathlib import Path
from typing import Any

import yaml

PARAMS_FILE = Path("params.yaml")


def load_params(section: str) -> dict[str, Any]:
    """Return one top-level section of ``params.yaml`` (DVC runs stages from the repo root)."""
    with PARAMS_FILE.open(encoding="utf-8") as f:
        params = yaml.safe_load(f) or {}
    if section not in params:
        raise KeyError(f"section {section!r} missing from {PARAMS_FILE}")
    return dict(params[section])
