"""Whether the scenario fits this machine: its estimate (``metrotwin.run.estimate``) at the
chosen resolution, and the finest resolution that would fit when it does not."""

from __future__ import annotations

import copy
import math

from metrotwin.run.estimate import BASE_MEMORY, Estimate, available_memory, estimate
from metrotwin.run.init.inputs import InitError
from metrotwin.run.scenario import parse_scenario
from metrotwin.scenario.data import MAX_CELLS

#: share of the available memory a run may plan to use (the rest: the OS, other programs)
MEMORY_SHARE = 0.8
#: resolutions suggested: these times a power of ten (m)
NICE_STEPS = (1.0, 2.0, 2.5, 5.0)


def shape_of(extent, resolution: float) -> tuple[int, int]:
    w, s, e, n = extent
    return round((n - s) / resolution), round((e - w) / resolution)


def cost(data: dict, base_dir, source: str) -> Estimate:
    """The estimate of the scenario ``data`` (parsed YAML) on its own grid; a grid of more
    cells than a domain may have is priced on a coarser copy with the same models."""
    domain = data["domain"]["data"]
    shape = shape_of(domain["extent"], domain["resolution"])
    probe = data
    if shape[0] * shape[1] > MAX_CELLS:
        probe = copy.deepcopy(data)
        w, s, _, _ = domain["extent"]
        probe["domain"]["data"].update(resolution=1.0, extent=[w, s, w + 100.0, s + 100.0])
    return estimate(parse_scenario(probe, source=source, base_dir=base_dir), shape=shape)


def finest_fitting(est: Estimate, resolution: float) -> float:
    """The finest nice resolution (m) at which the estimate's cells fit in memory and in the
    most cells a domain may have."""
    per_cell = max((est.memory_bytes - BASE_MEMORY) / est.cells, 1.0)
    budget = MEMORY_SHARE * available_memory() - BASE_MEMORY
    cells = min(MAX_CELLS, budget / per_cell) if budget > 0 else 1.0
    wanted = resolution * math.sqrt(est.cells / max(cells, 1.0))
    power = 10.0 ** math.floor(math.log10(wanted))
    return next(power * k for k in (*NICE_STEPS, 10.0) if power * k >= wanted * (1 - 1e-9))


def fits(est: Estimate) -> bool:
    return est.cells <= MAX_CELLS and est.memory_bytes <= MEMORY_SHARE * available_memory()


def refuse(est: Estimate, resolution: float, option: str) -> InitError:
    """The error of a scenario too large for this machine, with a resolution that fits."""
    suggested = finest_fitting(est, resolution)
    return InitError(
        f"{option} {resolution:g}: the scenario would not fit this machine: {est.line()} "
        f"(at most {MAX_CELLS:,} cells and {MEMORY_SHARE:.0%} of the "
        f"{available_memory() / 2**30:.3g} GiB available); try --resolution {suggested:g}"
    )
