"""A diffusing tracer written the way metrotwin's grid models must be for MPI: halo exchange
after every sub-step, global time step and sums through the run context, indicators over the
owned cells only. Used by the MPI tests (registered through the entry point beside it)."""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict

from metrotwin import Indicator, Model, VarSpec


class Params(BaseModel):
    model_config = ConfigDict(extra="forbid")
    diffusivity: float = 5.0  # m2/s
    below: float = 103.0  # m: cells lower than this start with tracer 1
    fail_on_rank: int = -1  # raise in advance on this rank (to test job abort)
    bad_tile_on_rank: int = -1  # an input error in initialize on this rank only
    sleep_per_step: float = 0.0  # wall seconds per coupling step (to catch a run mid-way)


class Diffuse(Model):
    name = "diffuse"
    halo = 1
    variables = {
        "surface_altitude": VarSpec("in", "m", "ground elevation", standard_name="surface_altitude"),
        "tracer": VarSpec("out", "1", "tracer concentration"),
    }
    Params = Params

    def initialize(self, state, ctx):
        self.ctx = ctx
        if ctx.decomposition.rank == self.params.bad_tile_on_rank:
            from metrotwin.errors import ModelError

            raise ModelError(f"diffuse: bad data on the tile of rank {ctx.decomposition.rank}")
        ctx.global_sum(1.0)  # a collective of the set-up, which the failing rank never joins
        self.t = 0.0
        tracer = state["tracer"]
        tracer[...] = (state["surface_altitude"] < self.params.below).astype(float)
        ctx.exchange_halos(tracer)

    def advance(self, state, until):
        if self.ctx.decomposition.rank == self.params.fail_on_rank and until > 600:
            raise RuntimeError(f"deliberate failure on rank {self.ctx.decomposition.rank}")
        if self.params.sleep_per_step:
            import time

            time.sleep(self.params.sleep_per_step)
        c = state["tracer"]
        dx = self.ctx.grid.resolution
        dt_stable = 0.2 * dx * dx / self.params.diffusivity
        dt = self.ctx.global_min(dt_stable)
        while self.t < until - 1e-9:
            step = min(dt, until - self.t)
            flux_x = np.diff(c, axis=1)  # zero flux across the array edges
            flux_y = np.diff(c, axis=0)
            change = np.zeros_like(c)
            change[:, :-1] += flux_x
            change[:, 1:] -= flux_x
            change[:-1, :] += flux_y
            change[1:, :] -= flux_y
            c += self.params.diffusivity * step / (dx * dx) * change
            self.ctx.exchange_halos(c)
            self.t += step

    def indicators(self, state):
        owned = state.owned(state["tracer"])
        return {
            "tracer_total": Indicator(self.ctx.global_sum(owned), "1", "sum of the tracer"),
            "tracer_max": Indicator(self.ctx.global_max(float(owned.max())), "1", "peak tracer"),
            "ranks": Indicator(float(self.ctx.decomposition.size), "1", "ranks (not compared)"),
        }

    def checkpoint(self):
        return {"t": self.t}

    def restore(self, saved):
        self.t = saved["t"]


class Whole(Diffuse):
    """The same model, declared as unable to run on a decomposed grid."""

    name = "whole"
    decomposable = False
