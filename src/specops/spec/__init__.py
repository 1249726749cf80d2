"""The spec: its schema, how it is loaded with positions, and the checks it must pass."""

from specops.spec.load import SPEC_FILE, Project, load_spec, parse_spec
from specops.spec.models import Spec
from specops.spec.problems import Problem, SpecError

__all__ = ["SPEC_FILE", "Problem", "Project", "Spec", "SpecError", "load_spec", "parse_spec"]
