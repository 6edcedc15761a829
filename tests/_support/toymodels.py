"""Small models for engine tests: a tracer source, a diffusion that reads it, a failing one."""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict

from metrotwin import Indicator, Model, VarSpec


class SourceParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    rate: float = 1.0


class Source(Model):
    """Adds ``rate`` (units per second) of tracer on the lowest cells."""

    name = "source"
    variables = {
        "surface_altitude": VarSpec("in", "m", "ground elevation", standard_name="surface_altitude"),
        "tracer": VarSpec("out", "kg m-2", "tracer load"),
    }
    Params = SourceParams

    def initialize(self, state, ctx):
        self.t = 0.0
        z = state["surface_altitude"]
        self.where = z <= np.quantile(z, 0.05)

    def advance(self, state, until):
        state["tracer"][self.where] += self.params.rate * (until - self.t)
        self.t = until

    def indicators(self, state):
        return {"tracer_total": Indicator(float(state["tracer"].sum()), "kg m-2", "tracer sum")}


class Spread(Model):
    """Reads the tracer and writes a smoothed copy (a reader of Source)."""

    name = "spread"
    variables = {
        "tracer": VarSpec("in", "kg m-2", "tracer load"),
        "tracer_smooth": VarSpec("out", "kg m-2", "smoothed tracer"),
    }
    halo = 1

    def initialize(self, state, ctx):
        pass

    def advance(self, state, until):
        tr = state["tracer"]
        out = state["tracer_smooth"]
        out[...] = tr
        out[1:-1, 1:-1] = (tr[:-2, 1:-1] + tr[2:, 1:-1] + tr[1:-1, :-2] + tr[1:-1, 2:]) / 4


class Failing(Model):
    """Raises in advance after the first output, to test that nothing half-written remains."""

    name = "failing"
    variables = {"junk": VarSpec("out", "1", "junk")}

    def initialize(self, state, ctx):
        pass

    def advance(self, state, until):
        if until > 600:
            raise RuntimeError("deliberate failure")
