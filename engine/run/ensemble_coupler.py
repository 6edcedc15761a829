"""The assimilating coupler: an ensemble of a variant's models kept in step with the sensors.

It has the interface of :class:`metrotwin.run.coupler.Coupler` and holds N member couplers,
each on its own copy of the variant's state with perturbed forcing (``metrotwin.run.members``),
and a control: the free run, on the variant's own forcing, never updated. At each coupling
time the members and the control advance to it; the readings since the last one are
compared with what every member gives at the sensors (``metrotwin.observe.operator``), and
the local ensemble transform Kalman filter (``metrotwin.observe.letkf``) updates

* the water depth, with the log of each member's rain multiplier field (the rain correction
  persists), observed by depth and stage gauges; negative depths are set to zero, and the
  volume the analysis adds or removes is booked in an account of its own, so that the
  members' volume balance still closes;
* the near-surface air temperature, with each member's air-temperature offset (a global
  parameter: the correction persists where the heat model recomputes the field each step);
* the link flows, observed by traffic counters.

The variant's state (what ``fields.nc`` gets) holds the ensemble mean of every output field
and the spread of the assimilated ones (``<field>_spread``). The model values at every
reading (free run, forecast and analysis mean and spread) are kept for ``observations.nc``.

On a grid split over ranks every member is split alike: the model values at the readings are
gathered over the ranks in a fixed order (``OwnedReadings``), so every rank holds the same
observation-space numbers, and each rank analyses its local cells (the LETKF is local per
cell), halo included, which then agree with their owners'. Sums go through the exact global
sums: 1 rank and N ranks give the same analysis bit for bit. A checkpoint keeps the members,
the control and the filter's state (``metrotwin.run.ensemble_checkpoint``).
"""

from __future__ import annotations

import time
from datetime import timezone
from functools import cached_property
from pathlib import Path

import numpy as np

from metrotwin.city.variables import VarSpec
from metrotwin.observe.ensemble import (
    analyse_fields,
    analyse_parameters,
    ensemble_mean,
    ensemble_spread,
)
from metrotwin.observe.flags import GOOD
from metrotwin.observe.letkf import clip_negative
from metrotwin.observe.operator import OwnedReadings
from metrotwin.observe.skill import skill_indicators
from metrotwin.observe.table import ObservationSet
from metrotwin.observe.variables import OBSERVED
from metrotwin.observe.write import OBSERVATIONS_FILE, write_observations
from metrotwin.results.indicators import Indicator
from metrotwin.run.coupler import Coupler
from metrotwin.run.ensemble_checkpoint import FilterState, run_arrays

#: the assimilated field of each observed variable, and its spread's name
ASSIMILATED_FIELDS = {"water_depth": "flood_water_thickness",
                      "water_level": "flood_water_thickness",
                      "air_temperature": "air_temperature",
                      "vehicle_count": "link_flow"}  # fmt: skip
#: model values kept at every reading (``write_observations``' ``model_values``)
VALUE_KINDS = ("free_run", "background_mean", "background_spread", "analysis_mean",
               "analysis_spread")  # fmt: skip


def reading_seconds(obs: ObservationSet, start) -> np.ndarray:
    """Time of every reading in seconds since ``start`` (a datetime; naive: UTC); NaN NaT."""
    if start.tzinfo is not None:
        start = start.astimezone(timezone.utc).replace(tzinfo=None)
    seconds = (obs.time - np.datetime64(start, "ns")) / np.timedelta64(1, "s")
    return np.where(np.isnat(obs.time), np.nan, seconds)


class AssimilatingCoupler(Coupler):
    """An ensemble of ``members`` (couplers on their own states, with ``forcings``: their
    ``MemberForcing``) and a ``control`` (the free run) advanced in lock-step; the variant's
    ``state`` holds their analysis mean. ``settings``: the ``AssimilationSection``; ``obs``:
    the readings, snapped to the variant's grid."""

    def __init__(self, members: list[Coupler], forcings: list, control: Coupler, state, ctx,
                 settings, obs: ObservationSet):  # fmt: skip
        self.members, self.forcings, self.control = members, forcings, control
        self.models, self.lagged = control.models, control.lagged
        self.state, self.ctx = state, ctx
        self.settings, self.obs = settings, obs
        self.seconds = reading_seconds(obs, ctx.clock.start)
        self.values = {kind: np.full(obs.n_obs, np.nan) for kind in VALUE_KINDS}
        self.increment_volume = np.zeros(len(members))  # m3 the analysis added, per member
        self.cycles = 0  # analyses with at least one reading
        self.assimilated = 0  # readings used by the analyses
        self.analysis_seconds = 0.0
        self._t = ctx.clock.now
        self.window = 0.0  # s: the length of the cycle being analysed
        grid = state.grid
        self.cell_x, self.cell_y = np.tile(grid.x, grid.ny), np.repeat(grid.y, grid.nx)
        self.readings = OwnedReadings(obs, state.decomposition)
        self.station_x, self.station_y = self._station_positions()

    def observe(self, obs: ObservationSet) -> None:
        """Take ``obs`` as the readings from now on: a live twin's, which grow between its
        cycles. They begin with the readings held so far, in the same order (the model
        values kept at those stay); the analyses then see them as a run that read them all
        from the start would (``metrotwin.live.cycle``)."""
        held = self.obs.n_obs
        if obs.n_obs < held or obs.n_station < self.obs.n_station:
            raise ValueError(f"{obs.n_obs} readings of {obs.n_station} stations do not "
                             f"extend the {held} of {self.obs.n_station} held")  # fmt: skip
        self.obs = obs
        self.seconds = reading_seconds(obs, self.ctx.clock.start)
        self.values = {kind: np.concatenate([values, np.full(obs.n_obs - held, np.nan)])
                       for kind, values in self.values.items()}  # fmt: skip
        self.readings = OwnedReadings(obs, self.state.decomposition)
        self.station_x, self.station_y = self._station_positions()

    def _station_positions(self) -> tuple[np.ndarray, np.ndarray]:
        """x and y (m) of every station's cell centre or link midpoint (NaN: neither)."""
        obs, whole = self.obs, self.state.global_grid
        x, y = np.full(obs.n_station, np.nan), np.full(obs.n_station, np.nan)
        on_cell = obs.cell >= 0
        row, col = np.divmod(obs.cell[on_cell], whole.nx)
        x[on_cell], y[on_cell] = whole.x[col], whole.y[row]
        on_link = ~on_cell & (obs.link >= 0)
        if on_link.any():
            mid_x, mid_y = self.link_midpoints
            x[on_link], y[on_link] = mid_x[obs.link[on_link]], mid_y[obs.link[on_link]]
        return x, y

    # -- the Coupler interface ------------------------------------------------------------
    @property
    def wall_time(self) -> dict[str, float]:
        """Seconds each model spent over the members and the control, and the analyses'."""
        total = {m.name: 0.0 for m in self.models}
        for coupler in [*self.members, self.control]:
            for name, seconds in coupler.wall_time.items():
                total[name] += seconds
        return {**total, "assimilation": self.analysis_seconds}

    def spread_fields(self) -> dict[str, VarSpec]:
        """``<field>_spread`` of every assimilated field the models write."""
        out = {}
        written = self.control.output_variables()
        for name in sorted(set(ASSIMILATED_FIELDS.values())):
            spec = written.get(name)
            if spec is not None:
                out[f"{name}_spread"] = VarSpec(
                    "out", spec.units, f"ensemble spread (standard deviation) of the {spec.doc}",
                    mapping=spec.mapping, fill=np.nan if spec.mapping == "grid" else 0.0)
        return out

    def allocate(self) -> None:
        for coupler in [*self.members, self.control]:
            coupler.allocate()
        for name, spec in {**self.control.output_variables(), **self.spread_fields()}.items():
            if name not in self.state:  # kept, as allocate_variables keeps what is there
                self.state.add_variable(name, spec)

    def initialize(self) -> None:
        """Allocate (as ``Coupler.initialize`` does), then initialize every member and the
        control (whose own allocation then keeps what is there), and publish their mean."""
        self.allocate()
        for coupler in [*self.members, self.control]:
            coupler.initialize()
        self._publish()

    def output_variables(self) -> dict[str, object]:
        return {**self.control.output_variables(), **self.spread_fields()}

    def advance_to(self, until: float) -> None:
        for coupler in [*self.members, self.control]:
            coupler.advance_to(until)
        t0 = time.perf_counter()
        self._cycle(self._t, until)
        self._publish()
        self._t = until
        self.analysis_seconds += time.perf_counter() - t0

    def finalize(self) -> None:
        for coupler in [*self.members, self.control]:
            coupler.finalize()
        self._publish()

    def write_outputs(self, folder: Path) -> None:
        """``observations.nc`` in ``folder``: every reading with its flag and the free-run,
        forecast and analysis values at it."""
        write_observations(Path(folder) / OBSERVATIONS_FILE, self.obs,
                           crs_wkt=self.state.grid.pyproj_crs.to_wkt(),
                           attrs={"assimilation_method": self.settings.method,
                                  "ensemble_members": len(self.members)},
                           model_values=self.values)  # fmt: skip

    def indicators(self) -> dict[str, dict[str, Indicator]]:
        """Each model's indicators as the mean over the members; the flood's volume balance
        with the analysis' increment account; the assimilation's own counts."""
        per_member = [coupler.indicators() for coupler in self.members]
        out = {model: _mean_indicators([ind[model] for ind in per_member])
               for model in per_member[0]}  # fmt: skip
        if "flood" in out:
            out["flood"].update(self._balance())
        out["assimilation"] = {
            "members": Indicator(float(len(self.members)), "1", "ensemble members",
                                 better="neither"),
            "analysis_cycles": Indicator(float(self.cycles), "1", "coupling times at which "
                                         "readings were assimilated", better="neither"),
            "readings_assimilated": Indicator(float(self.assimilated), "1", "readings the "
                                              "analyses used", better="neither"),
            **sensor_skill(self.obs, self.values, len(self.members)),
        }  # fmt: skip
        return out

    # -- checkpoints (``metrotwin.run.ensemble_checkpoint``) --------------------------------
    def checkpoint_arrays(self) -> dict[str, tuple[np.ndarray, bool]]:
        """The members' and the control's fields and the members' rain multiplier fields."""
        out = run_arrays("control", self.control)
        for i, (coupler, forcing) in enumerate(zip(self.members, self.forcings)):
            out.update(run_arrays(f"member{i}", coupler))
            out[f"member{i}/log_rain"] = (forcing.log_rain, True)
        return out

    def checkpoint_models(self) -> dict:
        """The members' models and the filter's own state (last: it republishes the mean)."""
        out = {f"member{i}.{model.name}": model
               for i, coupler in enumerate(self.members) for model in coupler.models}
        out["assimilation"] = FilterState(self)
        return out

    def refresh_after_restore(self) -> None:
        """After a restart: the flood models' largest depth and the variant's mean fields."""
        for coupler in self.members:
            refresh_flood(coupler)
        self._publish()

    # -- the analysis ---------------------------------------------------------------------
    def _cycle(self, t0: float, t1: float) -> None:
        """Assimilate the readings with ``t0 < time <= t1`` (s) at ``t1``."""
        obs = self.obs
        rows = np.flatnonzero(obs.usable & (self.seconds > t0) & (self.seconds <= t1 + 1e-9))
        if rows.size == 0:
            return
        self.window = t1 - t0
        hx = self._member_values(rows, t1)
        forcing = self.ctx.forcing
        self.values["free_run"][rows] = self.readings.values(
            [(self.control.state, forcing.rain_rate(t1) if forcing.has_rain else None)], rows)[0]
        self.values["background_mean"][rows] = ensemble_mean(hx)
        self.values["background_spread"][rows] = ensemble_spread(hx)
        variable = obs.variable[obs.station[rows]]
        good = (obs.flag[rows] == GOOD) & np.isfinite(obs.value[rows]) & np.isfinite(hx).all(0)
        used = 0
        if self.settings.gauge_adjusted_rain:
            self._adjust_rain(rows[good & (variable == "rain_rate")], t1)
        for group in (("water_depth", "water_level"), ("air_temperature",), ("vehicle_count",)):
            chosen = good & np.isin(variable, group) & np.isin(variable, self.settings.variables)
            if chosen.any():
                used += self._analyse(group[0], rows[chosen], hx[:, chosen])
        if used:
            self.cycles += 1
            self.assimilated += used
        after = self._member_values(rows, t1)
        self.values["analysis_mean"][rows] = ensemble_mean(after)
        self.values["analysis_spread"][rows] = ensemble_spread(after)

    def _member_values(self, rows: np.ndarray, t: float) -> np.ndarray:
        """H(x) of every member at readings ``rows``: (members, readings)."""
        return self.readings.values([(c.state, f.rain_rate(t) if f.has_rain else None)
                                     for c, f in zip(self.members, self.forcings)], rows)

    def _analyse(self, kind: str, rows: np.ndarray, hx: np.ndarray) -> int:
        """Analyse the field (and parameters) of observed ``kind`` from readings ``rows``
        whose model values are ``hx`` (members, readings; a stage is the depth plus the
        ground's altitude in every member, so its departures are the depth's)."""
        obs = self.obs
        st = obs.station[rows]
        at = (self.station_x[st], self.station_y[st])
        readings = (hx, at, obs.value[rows], obs.error_std[st])
        if kind == "vehicle_count":  # counts in an interval as the link flow (h-1)
            per_hour = 3600.0 / obs.interval[st]
            readings = (hx * per_hour, at, readings[2] * per_hour, readings[3] * per_hour)
        {"water_depth": self._analyse_depth, "air_temperature": self._analyse_air,
         "vehicle_count": self._analyse_links}[kind](*readings)  # fmt: skip
        return int(rows.size)

    def _stack(self, name: str) -> np.ndarray:
        return np.stack([np.asarray(c.state[name], float).ravel() for c in self.members])

    def _analyse_depth(self, hx, at, values, std) -> None:
        s = self.settings
        before = self._stack("flood_water_thickness")
        fields = [before]
        if s.estimate_forcing and self.ctx.forcing.has_rain:
            fields.append(np.stack([f.log_rain.ravel() for f in self.forcings]))
        analysed = analyse_fields(fields, hx, at, values, std, (self.cell_x, self.cell_y),
                                  s.localisation_radius, **self._grid_options())
        self._store_depth(analysed[0], before)
        if len(analysed) > 1:
            for forcing, log_rain in zip(self.forcings, analysed[1]):
                forcing.log_rain[...] = log_rain.reshape(forcing.log_rain.shape)

    def _store_depth(self, depth: np.ndarray, before: np.ndarray) -> None:
        """The members' analysed depths (members, cells), negatives set to zero, into their
        states; the volume they add over ``before`` booked in the increment account."""
        area = self.state.grid.resolution**2
        clip_negative(depth, area)
        shape, owned = self.state.grid.shape, self.state.decomposition.owned
        for i, (after, prior) in enumerate(zip(depth, before)):
            # exact sums over the owned cells: the same on any number of ranks
            change = (after - prior).reshape(shape)[owned]
            self.increment_volume[i] += self.ctx.global_sum(change) * area
        for i, coupler in enumerate(self.members):
            h = coupler.state["flood_water_thickness"]
            h[...] = depth[i].reshape(h.shape)
            refresh_flood(coupler)

    def _analyse_air(self, hx, at, values, std) -> None:
        s = self.settings
        if s.estimate_forcing:
            before = np.array([[f.air_temperature_offset] for f in self.forcings])
            offsets = analyse_parameters(before, hx, values, std, inflation=s.inflation,
                                         rtps=s.rtps)  # fmt: skip
            for f, offset in zip(self.forcings, offsets[:, 0]):
                f.air_temperature_offset = float(offset)
            # a member's air temperature is the heat model's anomaly plus its weather, offset
            # included: the offset's increment moves the whole field at once (not only within
            # reach of a sensor, which left held-back stations a cycle behind), and the local
            # analysis below works on what is left
            shift = offsets[:, 0] - before[:, 0]
            for coupler, d in zip(self.members, shift):
                coupler.state["air_temperature"][...] += d
            hx = hx + shift[:, None]
        (air,) = analyse_fields([self._stack("air_temperature")], hx, at, values, std,
                                (self.cell_x, self.cell_y), s.localisation_radius,
                                **self._grid_options())  # fmt: skip
        for i, coupler in enumerate(self.members):
            ta = coupler.state["air_temperature"]
            ta[...] = air[i].reshape(ta.shape)

    def _grid_options(self) -> dict:
        """The analysis options of a grid field: inflation, RTPS and the transform step, with
        the rank's window in the whole grid (the same coarse points on any number of ranks)."""
        s = self.settings
        rows, cols = self.state.decomposition.local_window
        whole = self.state.global_grid
        return {"inflation": s.inflation, "rtps": s.rtps, "transform_step": s.transform_step,
                "grid": (self.state.grid.shape, (rows.start, cols.start, whole.y, whole.x))}

    @cached_property
    def link_midpoints(self) -> tuple[np.ndarray, np.ndarray]:
        """x and y (m) of every road link's midpoint (the network does not move: once)."""
        ds = self.state.ds
        start, end = ds["link_from"].values, ds["link_to"].values
        return (0.5 * (ds["node_x"].values[start] + ds["node_x"].values[end]),
                0.5 * (ds["node_y"].values[start] + ds["node_y"].values[end]))  # fmt: skip

    def _analyse_links(self, hx, at, values, std) -> None:
        s = self.settings
        (flow,) = analyse_fields([self._stack("link_flow")], hx, at, values, std,
                                 self.link_midpoints, s.localisation_radius,
                                 inflation=s.inflation, rtps=s.rtps)  # fmt: skip
        np.maximum(flow, 0.0, out=flow)  # a flow is never negative
        for i, coupler in enumerate(self.members):
            coupler.state["link_flow"][...] = flow[i]

    def _adjust_rain(self, rows: np.ndarray, t: float) -> None:
        """Mean field bias: the members' rain from now on scaled by the gauges' total over
        the variant's rain at the gauges (Wilson & Brandes 1979)."""
        forcing = self.ctx.forcing
        if rows.size == 0 or not forcing.has_rain:
            return
        modelled = self.readings.values([(self.control.state, forcing.rain_rate(t))], rows)[0]
        if modelled.sum() > 0.0:
            bias = float(self.obs.value[rows].sum() / modelled.sum())
            for f in self.forcings:
                f.rain_bias = bias

    # -- the variant's state --------------------------------------------------------------
    def _publish(self) -> None:
        """The ensemble mean of every output field and the spread of the assimilated ones
        into the variant's state."""
        spreads = self.spread_fields()
        for name in self.control.output_variables():
            target = self.state[name]
            stack = np.stack([np.asarray(c.state[name]) for c in self.members])
            if np.issubdtype(target.dtype, np.floating):
                target[...] = ensemble_mean(stack.astype(np.float64))
                if f"{name}_spread" in spreads:
                    self.state[f"{name}_spread"][...] = ensemble_spread(stack.astype(np.float64))
            else:  # a class or a count: the control's
                target[...] = self.control.state[name]

    def _balance(self) -> dict[str, Indicator]:
        """The flood's volume balance over the members with the analysis' increment account
        (m3): storage change = rain + inflow - losses + increment."""
        errors, increments = [], []
        for coupler, increment in zip(self.members, self.increment_volume):
            flood = next(m for m in coupler.models if m.name == "flood")
            b = flood.volume_balance()
            gain = b["rain"] + b["inflow"] + increment
            loss = b["boundary_out"] + b["infiltration"] + b["drainage"] + b["retention"]
            error = abs(b["storage"] - b["storage_initial"] - (gain - loss))
            scale = max(b["rain"] + b["inflow"], b["storage"], b["storage_initial"],
                        abs(b["boundary_out"]), abs(increment), 1e-300)  # fmt: skip
            errors.append(error / scale)
            increments.append(increment)
        return {
            "volume_balance_error": Indicator(
                max(errors), "1", "relative error of the water volume balance (storage change "
                "vs in - out, with the analysis increments), largest over the members"),
            "volume_assimilation_increment": Indicator(
                float(np.mean(increments)), "m3", "volume the analyses added (mean over the "
                "members)", better="neither"),
        }


def refresh_flood(coupler: Coupler) -> None:
    """After the analysis changed a member's depths: the flood model's largest depth, which
    sets its next Courant-limited step."""
    for model in coupler.models:
        if model.name == "flood" and hasattr(model, "h_max"):
            rows, cols = model.owned
            model.h_max = float(model.ctx.global_max(float(model.h[rows, cols].max())))


def _mean_indicators(per_member: list[dict[str, Indicator]]) -> dict[str, Indicator]:
    """Each indicator's value (and per-district, per-group values) as the members' mean."""
    out = {}
    for key, first in per_member[0].items():
        inds = [m[key] for m in per_member]

        def mean_of(attr):
            parts = [getattr(i, attr) for i in inds]
            if parts[0] is None:
                return None
            return {k: float(np.mean([p[k] for p in parts])) for k in parts[0]}

        out[key] = Indicator(float(np.mean([i.value for i in inds])), first.units,
                             f"{first.description} (ensemble mean)",
                             by_district=mean_of("by_district"), by_group=mean_of("by_group"),
                             better=first.better)  # fmt: skip
    return out


#: the skill indicators a run reports (``metrotwin.observe.skill``): units (None: the observed
#: variable's), which direction is better, and what they say
_SKILL = {
    "rmse_free": (None, "lower", "RMSE of the free run"),
    "rmse_analysis": (None, "lower", "RMSE of the analysis mean"),
    "bias_analysis": (None, "neither", "bias of the analysis mean"),
    "rmse_reduction": ("1", "higher", "RMSE reduction of the analysis against the free run"),
    "spread_skill": ("1", "neither", "spread-skill ratio of the forecast ensemble against "
                     "the readings (observation error in the spread; 1: reliable)"),
}


def sensor_skill(obs: ObservationSet, values: dict[str, np.ndarray],
                 members: int) -> dict[str, Indicator]:  # fmt: skip
    """The skill at the sensors as indicators ``<variable>_<set>_<indicator>`` (set:
    ``assimilated`` or ``withheld``), from the readings sampled so far."""
    out = {}
    for key, value in skill_indicators(obs, values, members=members).items():
        variable, where, what = key.split(".")
        if what not in _SKILL or not np.isfinite(value):
            continue
        units, better, text = _SKILL[what]
        out[f"{variable}_{where}_{what}"] = Indicator(
            float(value), units or OBSERVED[variable].units,
            f"{text} at the {where} {variable.replace('_', ' ')} sensors", better=better)
    return out
