"""`specops import`: adopt a DVC project, its dvc.yaml files becoming the spec."""

from specops.importing.find import dvc_root
from specops.importing.plan import Imported, ImportPlan, prepare

__all__ = ["ImportPlan", "Imported", "dvc_root", "prepare"]
