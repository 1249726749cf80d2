"""What scoring a batch costs: its wall time and the peak memory of the process meanwhile.

"Peak memory of scoring the batch" is the high-water mark of the resident set (RSS) of the
process that scores it, from just before scoring to just after: on Linux the kernel's peak
(`VmHWM` in /proc/self/status) is reset first (`5` written to /proc/self/clear_refs), so the
peak is the scoring's own, model and data in memory included. Elsewhere, or where the reset is
refused, it is the process's peak since it started (`getrusage`), and `since_start` says so.
The live service exposes its current memory instead (`process_resident_memory_bytes` on
/metrics), which says nothing of one batch.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


@dataclass(frozen=True)
class Usage:
    """One scoring run: seconds, the resident memory before it and its peak during it."""

    seconds: float
    rss_before_bytes: int
    peak_rss_bytes: int
    #: The peak is the process's since it started, not the scoring's alone.
    since_start: bool

    def as_dict(self) -> dict[str, float | int | bool]:
        return dict(self.__dict__)


def _status(field: str) -> int | None:
    """A memory line of /proc/self/status in bytes, or None off Linux."""
    try:
        text = _STATUS.read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) * 1024  # kB
    return None


def _reset_peak() -> bool:
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


def _peak_since_start() -> int:
    import resource
    import sys

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)  # bytes on macOS, else KiB


def measure(score: Callable[[], T]) -> tuple[T, Usage]:
    """Call `score()` and return what it returned with what it cost: for a `monitor` stage
    that scores the batch itself, e.g. `measure(lambda: model.predict_proba(rows))`."""
    before = _status("VmRSS") or 0
    reset = _reset_peak() and _status("VmHWM") is not None
    start = time.perf_counter()
    result = score()
    seconds = time.perf_counter() - start
    peak = _status("VmHWM") if reset else None
    if peak is None:
        return result, Usage(seconds, before, _peak_since_start(), True)
    return result, Usage(seconds, before, peak, False)
