"""Gate evaluation: a candidate's metrics against the thresholds and baselines in the spec.

Pure: metric files come in as bytes through callables, so nothing here touches Git or DVC.
"""

from specops.gates.result import GateResult, Status

__all__ = ["GateResult", "Status"]
