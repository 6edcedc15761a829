"""The forecast of a live twin: from the analysis, the variant's models run free (nothing
assimilated) for a horizon, the key fields kept at every coupling time.

The forecast starts from the ensemble mean: every field the models write is the members'
mean (a class or a count: the first member's), and each model's own state (``checkpoint()``:
time, accounts, random generators) the first member's, as a restart would take them back.
Its forcing is the variant's, with the corrections the filter estimated (the members' mean
log rain multiplier, rain bias and air-temperature offset), so that what the sensors taught
the ensemble carries into the forecast. The ensemble itself is not touched: its models run
on their own states, and the forecast on copies.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field

import numpy as np

from metrotwin.run.context import Clock
from metrotwin.run.coupler import Coupler
from metrotwin.run.ensemble_coupler import refresh_flood
from metrotwin.run.members import MemberForcing, MemberPrior
from metrotwin.run.registry import get_model

#: the fields a live twin publishes (those its models write): flood depth and its maximum,
#: the heat's air temperature and UTCI, their ensemble spread in a nowcast
KEY_FIELDS = ("flood_water_thickness", "flood_depth_max", "air_temperature",
              "universal_thermal_comfort_index", "flood_water_thickness_spread",
              "air_temperature_spread")  # fmt: skip


@dataclass
class Forecast:
    """A forecast issued at ``issued`` (s since the period's start): the key ``fields`` at
    each of ``times`` (s since the start), name -> (times, ny, nx) array in the fields'
    units, and the forecast's indicators at its end (``coupler``: the run, for its files)."""

    issued: float
    times: np.ndarray
    fields: dict[str, np.ndarray]
    coupler: Coupler | None = None
    indicators: dict = field(default_factory=dict)

    @property
    def horizon(self) -> float:
        """Seconds forecast."""
        return float(self.times[-1] - self.issued) if len(self.times) else 0.0


def forecast_forcing(ensemble) -> MemberForcing:
    """The variant's forcing with the ensemble's mean corrections (``ensemble``: an
    ``AssimilatingCoupler``)."""
    forcings = ensemble.forcings
    shape = ensemble.state.decomposition.global_shape
    prior = MemberPrior(np.zeros(shape),
                        float(np.mean([f.air_temperature_offset for f in forcings])),
                        float(np.mean([f.log_demand for f in forcings])))  # fmt: skip
    out = MemberForcing(ensemble.ctx.forcing, prior, ensemble.state.decomposition.local_window)
    out.log_rain = np.mean([f.log_rain for f in forcings], axis=0)
    out.rain_bias = float(np.mean([f.rain_bias for f in forcings]))
    return out


def start_from_mean(run: Coupler, ensemble) -> None:
    """Set the initialized ``run``'s fields to the members' mean and its models' own state
    to the first member's (copies: the ensemble goes on untouched)."""
    members = [c.state for c in ensemble.members]
    for model in run.models:
        for name in model.writes():
            if name not in run.state.ds or name not in members[0].ds:
                continue
            target = run.state[name]
            stack = np.stack([np.asarray(s[name]) for s in members])
            if np.issubdtype(target.dtype, np.floating):
                target[...] = stack.astype(np.float64).mean(axis=0)
            else:
                target[...] = stack[0]
    first = {m.name: m for m in ensemble.members[0].models}
    for model in run.models:
        model.restore(copy.deepcopy(first[model.name].checkpoint()))
    refresh_flood(run)


def run_forecast(ensemble, scenario, horizon: float, *, fields=KEY_FIELDS) -> Forecast:
    """Run ``scenario``'s models free for ``horizon`` seconds from the analysis of
    ``ensemble`` (an ``AssimilatingCoupler`` at its last analysis), keeping ``fields`` (those
    the models write) at every coupling time. The forecast may run past the period's end
    (on the forcing as it is there: a hyetograph past its last point rains no more)."""
    ctx = ensemble.ctx
    now = ctx.clock.now
    clock = Clock(start=ctx.clock.start, end=now + horizon,
                  coupling_interval=ctx.clock.coupling_interval,
                  output_interval=ctx.clock.coupling_interval, now=now)  # fmt: skip
    run_ctx = dataclasses.replace(ctx, clock=clock, forcing=forecast_forcing(ensemble),
                                  logger=ctx.logger.getChild("forecast"))  # fmt: skip
    models = [get_model(name)(params) for name, params in scenario.models.items()]
    run = Coupler(models, ensemble.control.state.copy(), run_ctx)
    run.initialize()
    start_from_mean(run, ensemble)
    kept = [name for name in fields if name in run.output_variables()]
    times, series = [], {name: [] for name in kept}

    def keep(t: float) -> None:
        if t > now:
            times.append(t)
            for name in kept:
                series[name].append(np.array(run.state[name], dtype=np.float64))

    run.run(keep)
    run.finalize()
    return Forecast(now, np.asarray(times), {n: np.stack(v) for n, v in series.items() if v},
                    coupler=run, indicators=run.indicators())  # fmt: skip
