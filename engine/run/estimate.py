"""What a scenario will cost before it runs: cells, time steps, memory and run time.

Each model declares its costs (``Model.memory_per_cell_bytes``, ``seconds_per_cell_step``,
``seconds_per_step``, ``time_step_fields``, from the measurements in the README's "Capacity"
table); the estimate adds ``BASE_MEMORY`` for Python, numba and the libraries. The figures are
orders of magnitude: enough to refuse a run that cannot fit in this machine's memory before it
allocates anything (``check_resources``), or one whose models would take more than
``MAX_MODEL_STEPS`` steps, unless the user insists (``--force``).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field

from metrotwin.city.sources import raster as sources_raster
from metrotwin.errors import ScenarioError
from metrotwin.run.registry import get_model

#: memory of Python, numba and the libraries in one process (bytes), README "Capacity"
BASE_MEMORY = 300 * 2**20
#: most steps one model may take in a run (e.g. 115 days of queues at 1 s)
MAX_MODEL_STEPS = 10_000_000


class ResourceError(ScenarioError):
    """The scenario needs more than this machine has (memory), or absurdly many steps."""


@dataclass
class Estimate:
    """The cost of one variant of a scenario (variants run one after another)."""

    shape: tuple[int, int]
    coupling_steps: int
    #: model -> its own steps over the period (a lower bound for an adaptive step)
    model_steps: dict[str, int] = field(default_factory=dict)
    memory_bytes: float = BASE_MEMORY
    seconds: float = 0.0
    variants: int = 1

    @property
    def cells(self) -> int:
        return self.shape[0] * self.shape[1]

    def line(self) -> str:
        """One line for ``metrotwin validate``."""
        steps = ", ".join(f"{name} {n:,}" for name, n in self.model_steps.items())
        per = " per variant" if self.variants > 1 else ""
        return (
            f"estimate: {self.shape[0]}x{self.shape[1]} = {self.cells:,} cells, "
            f"{self.coupling_steps:,} coupling steps{f' (model steps: {steps})' if steps else ''}, "
            f"memory ~{_bytes(self.memory_bytes)}, run time ~{_duration(self.seconds)}{per}"
        )


def estimate(scenario, shape: tuple[int, int] | None = None) -> Estimate:
    """The estimate of ``scenario``'s most expensive variant (see the module docstring), on
    its own grid or on ``shape`` (rows, columns) when given (the cost of another resolution)."""
    shape = grid_shape(scenario) if shape is None else shape
    cells = shape[0] * shape[1]
    seconds = scenario.period.seconds
    coupling = scenario.period.coupling_interval
    worst = None
    for name in scenario.variant_names:
        variant = scenario.resolve_variant(name) if name != "baseline" else scenario
        est = Estimate(shape, math.ceil(seconds / coupling - 1e-9),
                       variants=len(scenario.variant_names))
        for model_name, params in variant.models.items():
            cls = get_model(model_name)
            step = next((getattr(params, f) for f in cls.time_step_fields
                         if getattr(params, f, None) is not None), None)
            steps = math.ceil(seconds / min(step, coupling) - 1e-9) if step else est.coupling_steps
            est.model_steps[model_name] = steps
            est.memory_bytes += cells * cls.memory_per_cell_bytes
            est.seconds += steps * (cells * cls.seconds_per_cell_step + cls.seconds_per_step)
        if worst is None or (est.memory_bytes, est.seconds) > (worst.memory_bytes, worst.seconds):
            worst = est
    return worst


def grid_shape(scenario) -> tuple[int, int]:
    """(rows, columns) of the scenario's grid; a data domain without ``extent`` reads the
    elevation raster's header for it."""
    generated = scenario.domain.generated
    if generated is not None:
        return round(generated.size_y / generated.resolution), round(
            generated.size_x / generated.resolution
        )
    data = scenario.domain.data
    if data.extent is not None:
        w, s, e, n = data.extent
        return round((n - s) / data.resolution), round((e - w) / data.resolution)
    return sources_raster.domain_grid(data).shape


def available_memory() -> float:
    """Memory this machine can give a new run now (bytes): MemAvailable of /proc/meminfo,
    else the free physical pages."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return float(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not a POSIX system
        return math.inf


def check_resources(scenario, *, force: bool = False, source: str = "scenario") -> Estimate:
    """The estimate of ``scenario``; ResourceError when it needs more memory than this machine
    has available or a model takes more than MAX_MODEL_STEPS steps (unless ``force``)."""
    est = estimate(scenario)
    if force:
        return est
    have = available_memory()
    if est.memory_bytes > have:
        raise ResourceError(
            f"{est.cells:,} cells ({est.shape[0]}x{est.shape[1]}) need about "
            f"{_bytes(est.memory_bytes)} of memory, and this machine has {_bytes(have)} "
            f"available; choose a coarser resolution or a smaller domain, run it on more "
            f"nodes with MPI, or add --force to try anyway",
            source=source,
        )
    for name, steps in est.model_steps.items():
        if steps > MAX_MODEL_STEPS:
            raise ResourceError(
                f"model {name} would take {steps:,} steps over the period (more than "
                f"{MAX_MODEL_STEPS:,}); lengthen its time step or shorten the period, or add "
                f"--force to try anyway",
                source=source,
            )
    return est


def _bytes(n: float) -> str:
    for unit, size in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n / 1024:.3g} KiB"


def _duration(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds / size:.2g} {unit}"
    return f"{max(seconds, 1):.0f} s"
