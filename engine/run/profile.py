"""Where a run's time and memory go: wall seconds and the peak resident memory per stage.

A stage is timed with ``with profile.stage("output"): ...``; a stage entered several times
(every output time) adds up. The peak memory recorded for a stage is the process's
high-water mark when the stage last ended (``getrusage``: it never goes down), so a stage
whose peak is above the one before it is the stage that raised it.
"""

from __future__ import annotations

import resource
import time
from contextlib import contextmanager


def peak_rss_mib() -> float:
    """The process's peak resident set size so far (MiB).

    Linux's ``VmHWM`` is the peak of this program's own memory; ``getrusage``'s maximum,
    the fallback elsewhere, also carries the peak of whatever process ran before ``exec``
    (a test runner or a benchmark that started this one), so it can overstate ours."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024  # kB
    except (OSError, ValueError, IndexError):
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


class StageProfile:
    """Wall time (s) and peak memory (MiB) of named stages, in the order first seen."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.peak_mib: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str):
        start = time.perf_counter()
        try:
            yield
        finally:
            self.add(name, time.perf_counter() - start)

    def add(self, name: str, seconds: float) -> None:
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds
        self.peak_mib[name] = peak_rss_mib()

    def to_json(self) -> dict:
        return {name: {"seconds": round(s, 3), "peak_rss_mib": round(self.peak_mib[name], 1)}
                for name, s in self.seconds.items()}  # fmt: skip


def profile_table(title: str, stages: dict[str, dict]) -> str:
    """A plain-text table of ``StageProfile.to_json()`` with each stage's share of the total."""
    total = sum(s["seconds"] for s in stages.values()) or 1.0
    width = max([len(n) for n in stages] + [5])
    lines = [title, f"  {'stage':<{width}}  {'wall s':>8}  {'share':>6}  {'peak RSS MiB':>12}"]
    for name, s in stages.items():
        lines.append(f"  {name:<{width}}  {s['seconds']:8.2f}  {s['seconds'] / total:6.1%}  "
                     f"{s['peak_rss_mib']:12.0f}")  # fmt: skip
    lines.append(f"  {'total':<{width}}  {total:8.2f}")
    return "\n".join(lines)
