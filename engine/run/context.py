"""The run context a model receives at ``initialize``: grid, decomposition, clock, forcing,
random streams and logger. Serial and MPI runs hand models the same interface."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np

from metrotwin.city.grid import Grid
from metrotwin.hpc.decomposition import Decomposition

if TYPE_CHECKING:
    from metrotwin.run.forcing import Forcing
    from metrotwin.scenario.scenario import Scenario


@dataclass
class Clock:
    """Simulation time: seconds since ``start`` (the scenario period's start)."""

    start: datetime
    end: float
    coupling_interval: float
    output_interval: float
    now: float = 0.0

    def datetime_at(self, t: float) -> datetime:
        return self.start + timedelta(seconds=float(t))


@dataclass
class RunContext:
    """What the coupler hands every model.

    grid : the (local) grid the model's arrays are on.
    decomposition : the rank's block of the global grid; global reductions and halo exchange.
    clock : the simulation clock.
    forcing : rainfall, weather (time-dependent inputs).
    scenario : the validated scenario of this variant (read-only).
    seed : the scenario seed; use ``rng(name)`` for random numbers.
    logger : the run's logger.
    """

    grid: Grid
    decomposition: Decomposition
    clock: Clock
    forcing: Forcing
    scenario: Scenario
    seed: int
    logger: logging.Logger = field(default_factory=lambda: logging.getLogger("metrotwin"))

    def rng(self, stream: str) -> np.random.Generator:
        """A random generator for ``stream`` (e.g. a model's name), independent of the others
        and of the number of ranks: same seed and stream -> same numbers."""
        key = [ord(c) for c in stream]
        return np.random.default_rng(np.random.SeedSequence([self.seed, *key]))

    # Convenience forwarding, so models read ctx.global_min(dt) and never import MPI.
    def global_min(self, value: float) -> float:
        return self.decomposition.allreduce_min(value)

    def global_max(self, value: float) -> float:
        return self.decomposition.allreduce_max(value)

    def global_sum(self, value):
        return self.decomposition.allreduce_sum(value)

    def global_group_sums(self, values, groups, n_groups: int):
        """Exact sums, counts and maxima per group over all ranks (see
        ``Decomposition.allreduce_group_sums``), or None if a counted value is not finite."""
        return self.decomposition.allreduce_group_sums(values, groups, n_groups)

    def allgather_concat(self, array: np.ndarray) -> np.ndarray:
        return self.decomposition.allgather_concat(array)

    def exchange_halos(self, *arrays: np.ndarray) -> None:
        self.decomposition.exchange_halos(*arrays)
