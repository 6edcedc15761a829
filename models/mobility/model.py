"""Agent-based mobility: a Mesa model of travellers on the road network (``TrafficModel``)
and its metrotwin wrapper (``MobilityModel``) coupled to flood and heat through the state.

Cars move through link queues in the style of MATSim's QSim (free-speed travel time, flow
and storage capacity, spillback) advanced by numba kernels; they route on current travel
times and reroute at every node, so a road that floods (Pregnolato et al. 2017 speeds,
closed from 0.3 m) is avoided as soon as it closes. Walkers and cyclists stop before water
that is dangerous to people (hazard rating of Defra/EA FD2320) and are exposed to the UTCI
of the cells they pass. Traffic heat (Sailor & Lu 2004) goes back onto the grid.

On a grid split over MPI ranks (``decomposable``) every rank runs the same link queues of
all the cars, with per-link flood and heat inputs combined over the ranks; the agents, the
walkers' and cyclists' movement and exposure, and the indicator sums are spread over the
ranks by the owner of each trip's origin cell. Results are bit-identical on any number of
ranks; ``parallel.py`` explains the design.

One step on a tiny grid (two streets in a row, one car):

>>> import numpy as np
>>> from metrotwin.run.testing import make_grid, make_state, make_context
>>> from metrotwin.models.mobility.network import Network
>>> from metrotwin.models.mobility import MobilityModel
>>> grid = make_grid(4, 30, resolution=10.0)
>>> state = make_state(grid)
>>> x0, y = grid.x[0], grid.y[1]
>>> Network([x0, x0 + 100, x0 + 200], [y, y, y], [0, 1], [1, 2], [100.0, 100.0], [1, 1],
...         [10.0, 10.0], [1800.0, 1800.0]).add_to_state(state)
>>> ctx = make_context(grid, duration=600.0, coupling_interval=60.0)
>>> model = MobilityModel(MobilityModel.Params(demand="od", od=[[0, 2, 0.0, 1.0, 1.0]]))
>>> for name, spec in MobilityModel.variables.items():
...     _ = state.add_variable(name, spec) if spec.writes else None
>>> model.initialize(state, ctx)
>>> model.advance(state, 60.0)
>>> model.traffic.sim.counts()["arrived"], float(model.traffic.sim.travel_times()[0][0])
(1, 20.0)
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import mesa
import numpy as np
from pydantic import ConfigDict, Field, field_validator, model_validator

from metrotwin.city.network import max_along_links
from metrotwin.city.variables import VarSpec
from metrotwin.models.mobility import kernels
from metrotwin.models.mobility.agents import Cyclist, Driver, Pedestrian
from metrotwin.models.mobility.demand import (
    CAR,
    Trips,
    read_od_csv,
    read_tntp_trips,
    synthetic_population,
    trips_from_od,
    trips_from_rows,
)
from metrotwin.models.mobility.network import JAM_DENSITY, Network
from metrotwin.models.mobility.parallel import (
    ACTIVE_ARRAYS,
    LinkCells,
    TripOwnership,
    gather_active,
    global_cells,
    values_at,
)
from metrotwin.models.mobility.simulation import REASONS, TrafficSim
from metrotwin.results.indicators import Indicator
from metrotwin.run.model import Model
from metrotwin.scenario.files import check_file
from metrotwin.scenario.schema import StrictModel

#: heat released per vehicle and metre driven (J m-1): Sailor & Lu 2004, Atmos. Environ. 38,
#: 2737-2748 (doi:10.1016/j.atmosenv.2004.01.034).
VEHICLE_HEAT_PER_METRE = 3975.0


class TrafficModel(mesa.Model):
    """Travellers on a road network, as a Mesa model.

    Args:
        network: the road network (``network.Network``).
        trips: the trips (``demand.Trips``), one agent each.
        step_length: simulated seconds per Mesa ``step()``.
        rng: seed or generator (Mesa's ``rng``); also seeds the route choice.
        agent_classes: {"car": cls, "walk": cls, "bike": cls} to replace the agent types.
        **options: passed on to ``simulation.TrafficSim`` (dt, route_interval, ...).
    """

    def __init__(self, network: Network, trips: Trips, *, step_length: float = 60.0,
                 rng=None, agent_classes: dict | None = None, own: np.ndarray | None = None,
                 **options):
        super().__init__(rng=rng)
        self.step_length = float(step_length)
        #: the trips this rank holds as agents (all in serial; see ``parallel.py``)
        self.own = np.ones(len(trips), bool) if own is None else np.asarray(own, bool)
        self.sim = TrafficSim(network, trips, seed=int(self.rng.integers(2**31)), own=self.own,
                              **options)
        classes = {"car": Driver, "walk": Pedestrian, "bike": Cyclist, **(agent_classes or {})}
        sim = self.sim
        self.agent_of = np.empty(len(trips), object)
        rows = np.flatnonzero(self.own[sim.car])
        if rows.size:
            made = classes["car"].create_agents(self, rows.size, index=sim.car[rows], row=rows)
            self.agent_of[sim.car[rows]] = list(made)
        for code, name in ((1, "walk"), (2, "bike")):
            rows = np.flatnonzero(trips.mode[sim.active] == code)
            if rows.size:
                made = classes[name].create_agents(self, rows.size, index=sim.active[rows],
                                                   row=rows)
                self.agent_of[sim.active[rows]] = list(made)
        self._last_status = sim.status()
        self.datacollector = mesa.DataCollector(model_reporters={
            "time": lambda m: m.sim.time,
            "departed": lambda m: m.sim.counts()["departed"],
            "arrived": lambda m: m.sim.counts()["arrived"],
            "en_route": lambda m: m.sim.counts()["en_route"],
            "stranded": lambda m: m.sim.counts()["stranded"],
        })
        self.datacollector.collect(self)

    def step(self):
        """Advance the traffic by ``step_length`` seconds."""
        self.advance(self.sim.time + self.step_length)

    def advance(self, until: float) -> None:
        """Advance to ``until`` (s), tell the agents what happened, collect the data."""
        self.sim.advance(until)
        self._notify()
        self.datacollector.collect(self)

    def _notify(self) -> None:
        status = self.sim.status()
        changed = np.flatnonzero(status != self._last_status)
        self._last_status = status
        reasons = self.sim.reasons()
        for i in changed:
            agent = self.agent_of[i]
            if agent is None:  # a trip of another rank (its car runs here too)
                continue
            if status[i] == kernels.ARRIVED:
                agent.on_arrival()
            elif status[i] in (kernels.STRANDED, kernels.STOPPED):
                agent.on_stranded(REASONS.get(int(reasons[i]), "unknown"))


# -- the metrotwin model ---------------------------------------------------------------------
class ModeBand(StrictModel):
    """Mode shares of trips shorter than ``max_km`` (and longer than the band before)."""

    model_config = ConfigDict(extra="forbid")
    max_km: float = Field(gt=0, description="upper distance of the band (km)")
    walk: float = Field(ge=0, le=1, description="share walking")
    bike: float = Field(ge=0, le=1, description="share cycling (the rest drive)")

    @model_validator(mode="after")
    def _sum(self):
        if self.walk + self.bike > 1 + 1e-9:
            raise ValueError(f"walk + bike shares are {self.walk + self.bike:g}; at most 1")
        return self


def _default_bands():
    return [ModeBand(max_km=1.0, walk=0.55, bike=0.2), ModeBand(max_km=3.0, walk=0.1, bike=0.35),
            ModeBand(max_km=1e9, walk=0.0, bike=0.15)]


class MobilityParams(StrictModel):
    """Parameters of the mobility model (``models: mobility:`` in a scenario)."""

    model_config = ConfigDict(extra="forbid")

    demand: Literal["synthetic", "od", "od_csv", "tntp"] = Field(
        "synthetic", description="synthetic population from land use, OD rows, or a file")
    od: list[tuple[int, int, float, float, float]] | None = Field(
        None, description="[[orig node, dest node, t_start (s), t_end (s), flow (veh/s)], ...]")
    od_file: Path | None = Field(None, description="CSV: orig,dest,t_start_s,t_end_s,flow_vehps")
    tntp_trips: Path | None = Field(None, description="TNTP _trips.tntp OD matrix")
    departure_window: tuple[float, float] = Field((0.0, 3600.0), description="TNTP trips (s)")
    demand_scale: float = Field(1.0, gt=0, le=100, description="factor on OD volumes")
    sample_fraction: float = Field(0.1, gt=0, le=1, description="share of commuters simulated")
    scale_capacity: bool = Field(True, description="scale flow and storage capacity by the "
                                 "sample fraction (MATSim's flow/storage capacity factors)")
    commuter_share: float = Field(0.45, ge=0, le=1, description="residents commuting (1)")
    floor_area_per_resident: float = Field(45.0, gt=0, description="(m2)")
    floor_area_per_job: float = Field(30.0, gt=0, description="(m2)")
    storey_height: float = Field(3.0, gt=0, description="(m)")
    distance_scale: float = Field(2000.0, gt=0, description="gravity model decay length (m)")
    detour_factor: float = Field(1.3, ge=1, description="network / straight distance")
    departure_peak: float = Field(7.5, ge=0, lt=24, description="hour of the departure peak")
    departure_spread: float = Field(0.5, gt=0, le=12, description="standard deviation (h)")
    group_shares: dict[str, float] = Field(
        default_factory=lambda: {"18-29": 0.2, "30-44": 0.32, "45-64": 0.38, "65+": 0.1},
        description="population groups (age bands) and their shares")
    mode_shares: list[ModeBand] = Field(default_factory=_default_bands)
    dt: float = Field(1.0, ge=0.1, le=10, description="queue model time step (s)")
    step_length: float = Field(60.0, ge=1, le=3600, description="Mesa step (s)")
    route_interval: float = Field(300.0, ge=1, description="routing update interval (s)")
    route_weight: float = Field(0.5, gt=0, le=1, description="weight of the newest routes")
    jam_density: float = Field(JAM_DENSITY, gt=0, le=1, description="per lane (veh/m)")
    walk_speed: float = Field(1.3, gt=0, le=3, description="(m/s)")
    bike_speed: float = Field(4.5, gt=0, le=12, description="(m/s)")
    closed_depth: float = Field(0.3, gt=0, description="flood depth closing a road (m)")
    hazard_limit: float = Field(0.75, gt=0, description="FD2320 rating stopping walkers (1)")
    debris_depth: float = Field(0.25, ge=0, description="depth above which DF = 1 (m)")
    shade_preference: float = Field(0.3, ge=0, lt=1, description="walk cost cut in shade (1)")
    utci_thresholds: tuple[float, float] = Field((32.0, 38.0), description="(degC)")
    exposure_interval: float = Field(60.0, gt=0, description="exposure sampling (s)")

    @field_validator("od_file", "tntp_trips", mode="before")
    @classmethod
    def _exists(cls, value, info):
        return None if value is None else check_file(value, info)

    @field_validator("group_shares")
    @classmethod
    def _groups(cls, value):
        if not value or any(not v >= 0 for v in value.values()) or sum(value.values()) <= 0:
            raise ValueError(f"group_shares needs at least one group and shares >= 0, got {value}")
        return value

    @model_validator(mode="after")
    def _demand_source(self):
        need = {"od": "od", "od_csv": "od_file", "tntp": "tntp_trips"}.get(self.demand)
        if need and getattr(self, need) is None:
            raise ValueError(f"demand {self.demand!r} needs '{need}'")
        if any(b.max_km <= a.max_km for a, b in zip(self.mode_shares, self.mode_shares[1:])):
            raise ValueError("mode_shares bands must have increasing max_km")
        return self


def _var(intent, units, doc, mapping="grid", **kw):
    return VarSpec(intent=intent, units=units, doc=doc, mapping=mapping, **kw)


class MobilityModel(Model):
    """Commuters by car, on foot and by bike through floods and heat (see module docstring).

    References: Pregnolato, Ford, Wilkinson & Dawson 2017, doi:10.1016/j.trd.2017.06.020;
    HR Wallingford 2006, FD2320 Technical Report 2; Sailor & Lu 2004,
    doi:10.1016/j.atmosenv.2004.01.034; Horni, Nagel & Axhausen 2016, The Multi-Agent
    Transport Simulation MATSim, doi:10.5334/baw.
    """

    name = "mobility"
    halo = 0
    # README "Capacity": flood + heat + mobility ~1.4 KiB per cell, less flood and heat; the
    # synthetic population grows with the built floor area, hence with the cells
    memory_per_cell_bytes = 0.6 * 1024
    seconds_per_step = 3e-4  # the demo: ~7 s of mobility for 21,600 queue steps
    time_step_fields = ("dt",)
    decomposable = True  # link state replicated, agents spread over ranks: see parallel.py
    Params = MobilityParams
    variables = {
        "link_max_flood_depth": _var("in", "m", "maximum flood depth along the link", "link",
                                     optional=True),
        "flood_water_thickness": _var("in", "m", "flood water depth", optional=True,
                                      standard_name="flood_water_thickness"),
        "flood_water_speed": _var("in", "m s-1", "flood water speed", optional=True,
                                  standard_name="flood_water_speed"),
        "universal_thermal_comfort_index": _var(
            "in", "degree_C", "universal thermal climate index", optional=True,
            standard_name="universal_thermal_comfort_index"),
        "traffic_heat_flux": _var("out", "W m-2", "anthropogenic heat flux from road traffic"),
        "link_speed": _var("out", "m s-1", "speed a car entering the link can expect", "link"),
        "link_flow": _var("out", "h-1", "vehicles leaving the link per hour", "link"),
        "link_occupancy": _var("out", "1", "vehicles on the link", "link"),
        "link_closed": _var("out", "1", "link closed (1) by flood or intervention", "link",
                            dtype="int8", attrs={"flag_values": [0, 1],
                                                 "flag_meanings": "open closed"}),
        "link_flood_hazard": _var("out", "1", "largest flood hazard rating along the link "
                                  "(FD2320)", "link"),
    }

    # -- setup -----------------------------------------------------------------------------
    def initialize(self, state, ctx) -> None:
        p = self.params
        self.ctx = ctx
        self.dec = state.decomposition
        scale = p.sample_fraction if (p.demand == "synthetic" and p.scale_capacity) else 1.0
        net = Network.from_state(state, jam_density=p.jam_density * scale)
        net.capacity = net.capacity * scale  # a sample sees a network scaled alike (MATSim)
        grid = state.global_grid
        # the cells of the links in the global (serial) order; the network refers to entries
        # of that list, so per-cell values along links are arrays over its entries
        self.cells = LinkCells(state, ctx, grid)
        net.cell_start = self.cells.start
        net.cell_index = np.arange(self.cells.n_entries, dtype="int64")
        rng = ctx.rng(self.name)
        start = ctx.clock.start
        trips = self._demand(state, net, rng, start.hour + start.minute / 60 + start.second / 3600,
                             grid)
        trips = _apply_demand_layers(state, grid, net, trips, rng)
        shaded = np.zeros(net.n_links)
        if self.cells.n_entries and "tree_canopy_height" in state:
            shade = (self.cells.entry_values(state["tree_canopy_height"], fill=0.0) > 0)
            counts = self.cells.counts
            link_of_entry = np.repeat(np.arange(net.n_links), counts)
            sums = np.bincount(link_of_entry, weights=shade.astype(float), minlength=net.n_links)
            shaded = np.where(counts > 0, sums * (counts > 0) / np.maximum(counts, 1), 0.0)
        self.owner = TripOwnership(state, grid, net)
        self.traffic = TrafficModel(
            net, trips, step_length=p.step_length, rng=rng, own=self.owner.of(trips), dt=p.dt,
            route_interval=p.route_interval, route_weight=p.route_weight,
            walk_speed=p.walk_speed, bike_speed=p.bike_speed, hazard_limit=p.hazard_limit,
            shade_preference=p.shade_preference, shaded_at_link=shaded,
            exposure_interval=p.exposure_interval, thresholds=p.utci_thresholds)
        self.net = net
        self.planned = np.asarray(state["link_closed"]).astype(bool).copy() if \
            "link_closed" in state else np.zeros(net.n_links, bool)
        self._depth = np.zeros(net.n_links)
        self._speed = net.free_speed.copy()
        self._exits = np.zeros(net.n_links, "int64")
        self._time = 0.0
        self._update_inputs(state)
        self._write(state, 0.0)

    def _demand(self, state, net, rng, start_hour, grid) -> Trips:
        p = self.params
        if p.demand == "synthetic":
            return synthetic_population(state, net, p, rng, start_hour=start_hour, grid=grid)
        if p.demand == "od":
            rows = np.array(p.od, float).reshape(-1, 5)
            rows[:, 4] *= p.demand_scale
            return trips_from_rows(net, rows, dt=p.dt)
        if p.demand == "od_csv":
            rows = read_od_csv(p.od_file)
            rows[:, 4] *= p.demand_scale
            return trips_from_rows(net, rows, dt=p.dt)
        o, d, vol = read_tntp_trips(p.tntp_trips)
        return trips_from_od(net, o, d, vol, t_start=p.departure_window[0],
                             t_end=p.departure_window[1], scale=p.demand_scale, dt=p.dt)

    # -- stepping --------------------------------------------------------------------------
    def _update_inputs(self, state) -> None:
        """Flood -> link speeds, closures and hazard; heat -> UTCI for the exposure. Per-link
        maxima are taken over the owned cells and combined over the ranks (exact)."""
        net, p, sim, ctx = self.net, self.params, self.traffic.sim, self.ctx
        start, local = self.cells.owned_csr()
        depth = None
        if "link_max_flood_depth" in state:
            depth = np.asarray(state["link_max_flood_depth"], float)  # global already
        elif "flood_water_thickness" in state and self.cells.n_entries:
            d = np.ascontiguousarray(state["flood_water_thickness"], float).ravel()
            depth = np.fmax(ctx.global_max(max_along_links(d, start, local)), 0.0)  # dry: 0
        speed = net.free_speed.copy()
        if depth is not None:
            kernels.speed_in_flood(depth, net.free_speed, p.closed_depth, speed)
        closed = self.planned | (speed <= 0)
        if (closed != (sim.closed != 0)).any() or not np.allclose(speed, self._speed):
            sim.set_speeds(speed, closed)
            self._speed = speed
        if "flood_water_thickness" in state and self.cells.n_entries:
            d = np.ascontiguousarray(state["flood_water_thickness"], float).ravel()
            v = (np.ascontiguousarray(state["flood_water_speed"], float).ravel()
                 if "flood_water_speed" in state else np.zeros_like(d))
            sim.set_hazard(np.asarray(ctx.global_max(kernels.hazard_rating_at_link(
                d, v, start, local, p.debris_depth)), float))
        if "universal_thermal_comfort_index" in state:
            # UTCI at every entry of the links' cell list (cells of no rank: -inf, skipped)
            sim.set_utci(self.cells.entry_values(state["universal_thermal_comfort_index"]))

    def advance(self, state, until: float) -> None:
        self._update_inputs(state)
        self.traffic.advance(until)
        self._write(state, until)

    def _write(self, state, until: float) -> None:
        sim, net = self.traffic.sim, self.net
        interval = until - self._time
        left = sim.exits - self._exits
        self._exits = sim.exits.copy()
        self._time = until
        cost = sim.link_cost()
        if "link_speed" in state:
            state["link_speed"][:] = np.where(np.isfinite(cost), net.length / cost, 0.0)
        if "link_occupancy" in state:
            state["link_occupancy"][:] = sim.queue_count
        if "link_closed" in state:
            state["link_closed"][:] = sim.closed
        if "link_flood_hazard" in state:
            state["link_flood_hazard"][:] = sim.hazard
        if interval > 0:
            if "link_flow" in state:
                state["link_flow"][:] = left * 3600.0 / interval
            if "traffic_heat_flux" in state and self.cells.n_entries:
                flux = state["traffic_heat_flux"]
                flux[...] = 0.0
                power = left * net.length * VEHICLE_HEAT_PER_METRE / interval  # W
                self.cells.spread(power.astype(float), state.grid.cell_area, flux.reshape(-1))
                self.ctx.exchange_halos(flux)
        # the walkers' and cyclists' state of every rank, by trip id, for checkpoint()
        self._active = gather_active(self.dec, sim, len(sim.trips))

    # -- results ---------------------------------------------------------------------------
    def indicators(self, state) -> dict[str, Indicator]:
        """Totals and means over the trips; each rank counts its own trips (``own``) and the
        totals go through ``ctx.global_sum`` of per-trip values (exact), so that they are
        the same on any number of ranks."""
        sim = self.traffic.sim
        trips = sim.trips
        own = self.traffic.own
        gsum = self.ctx.global_sum
        status = sim.status()
        departed = (trips.depart < sim.time) & own
        arrived = (status == kernels.ARRIVED) & own
        stranded = ((status == kernels.STRANDED) | (status == kernels.STOPPED)) & own
        tt, free = sim.travel_times()
        reasons = sim.reasons()
        districts = {c: n for c, n in trips.district_names.items() if (trips.district == c).any()}
        groups = list(enumerate(trips.group_names))

        def split(values, mask, how):
            by_d = {n: how(values[mask & (trips.district == c)]) for c, n in districts.items()}
            by_g = {n: how(values[mask & (trips.group == g)]) for g, n in groups}
            return how(values[mask]), by_d, by_g

        def count(x):
            return float(gsum(np.ones(x.size)))

        def mean(x):
            n = gsum(np.ones(x.size))
            total = gsum(x)
            return float(total / n) if n else float("nan")

        ones = np.ones(len(trips))
        out = {}
        for key, mask, desc, better in (
                ("trips_completed", arrived, "trips that reached their destination", "higher"),
                ("trips_stranded", stranded, "trips that cannot finish (roads closed, flood "
                 "dangerous to walkers or cyclists)", "lower"),
                ("trips_departed", departed, "trips that have set off", "higher")):
            v, d, g = split(ones, mask, count)
            out[key] = Indicator(v, "1", desc, by_district=d, by_group=g, better=better)
        for code, reason in REASONS.items():
            out[f"trips_stranded_{reason}"] = Indicator(
                count(ones[stranded & (reasons == code)]), "1", f"trips stranded: {reason}")
        v, d, g = split(tt, arrived, mean)
        out["mean_travel_time"] = Indicator(v, "s", "mean door-to-door time of completed trips",
                                            by_district=d, by_group=g)
        v, d, g = split(tt - free, arrived, mean)
        out["mean_delay"] = Indicator(v, "s", "mean travel time above free flow, completed trips",
                                      by_district=d, by_group=g)
        out["vehicle_km"] = Indicator(gsum(sim.c_distance[own[sim.car]]) / 1000.0,
                                      "km", "distance driven by cars", better="lower")
        active = np.zeros(len(trips), bool)
        active[sim.active] = True
        for k, t in enumerate(sim.thresholds):
            minutes = np.zeros(len(trips))
            minutes[sim.active] = sim.a_minutes[:, k]
            v, d, g = split(minutes, active & departed, mean)
            out[f"heat_exposure_minutes_above_{t:g}"] = Indicator(
                v, "min", f"mean minutes a walker or cyclist spends outdoors above UTCI {t:g} degC",
                by_district=d, by_group=g)
        dm = np.zeros(len(trips))
        dm[sim.active] = sim.a_degree_minutes
        v, d, g = split(dm, active & departed, mean)
        out["heat_exposure_degree_minutes"] = Indicator(
            v, "K min", f"mean UTCI degree-minutes above {sim.thresholds[0]:g} degC per walker "
            "or cyclist", by_district=d, by_group=g)
        return out

    def checkpoint(self) -> dict:
        """The whole state, independent of the decomposition: link and car arrays (the same
        on every rank) and the walkers' and cyclists' arrays of all ranks by trip id."""
        saved = self.traffic.sim.checkpoint()
        for name in ACTIVE_ARRAYS:
            saved[name] = self._active[name].copy()
        saved["model"] = {"exits": self._exits.copy(), "time": self._time,
                          "speed": self._speed.copy(),
                          "rng": self.traffic.rng.bit_generator.state}
        return saved

    def restore(self, saved: dict) -> None:
        sim = self.traffic.sim
        mine = dict(saved)
        for name in ACTIVE_ARRAYS:  # this rank's own walkers and cyclists
            mine[name] = np.asarray(saved[name])[sim.active]
        sim.restore(mine)
        m = saved["model"]
        self._exits, self._time = np.asarray(m["exits"]).copy(), float(m["time"])
        self._speed = np.asarray(m["speed"]).copy()
        self.traffic._last_status = sim.status()
        self.traffic.rng.bit_generator.state = m["rng"]
        self._active = {name: np.asarray(saved[name]).copy() for name in ACTIVE_ARRAYS}


def _apply_demand_layers(state, grid, net: Network, trips: Trips, rng) -> Trips:
    """Apply the demand interventions (layers written by ``demand_change`` and
    ``mode_shift``) at each trip's origin: drop the share working from home, move a share
    of car trips to walking or cycling. ``grid`` is the whole grid; the layers are read at
    the nodes' cells by the ranks owning them."""
    if len(trips) == 0:
        return trips
    r, c, inside = global_cells(grid, net.node_x, net.node_y)

    def share_at_origins(name):
        at_node = np.where(inside, values_at(state, state[name], r, c), 0.0)
        return at_node[trips.origin]

    if "mobility_work_from_home" in state:
        trips = trips.subset(rng.random(len(trips)) >= share_at_origins("mobility_work_from_home"))
    for name, code in (("mobility_shift_to_walk", 1), ("mobility_shift_to_bike", 2)):
        if name in state:
            move = (trips.mode == CAR) & (rng.random(len(trips)) < share_at_origins(name))
            trips.mode[move] = code
    return trips
