"""What `specops drift` compares and how: the settings of one run, from the spec and the command."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from specops.spec.monitoring import threshold_problem
from specops.spec.problems import Problem, SpecError

#: Up to this many rows on both sides together, Wasserstein's distance is always exact (and
#: equal to Evidently's); above, only where its bounds hold the threshold.
EXACT_ROWS = 100_000
#: Told of each batch read: which side, how many batches are done, and how many there are.
Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class Settings:
    """What to compare and how; None takes the default."""

    method: str = "auto"
    threshold: float | None = None
    share: float = 0.5
    columns: list[str] | None = None
    exclude: frozenset[str] = frozenset()
    types: dict[str, str] = field(default_factory=dict)
    exact_rows: int = EXACT_ROWS
    progress: Progress | None = None


def check_settings(settings: Settings) -> None:
    """Refuse a threshold with `auto`, which picks a method, and so a threshold, per column."""
    if settings.method == "auto" and settings.threshold is not None:
        reason = threshold_problem("auto", settings.threshold)
        raise SpecError([Problem.plain("--threshold", reason or "")])
