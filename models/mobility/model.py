"""Agent-based mobility: the metrotwin model (``MobilityModel``) over a Mesa model of
travellers on the road network (``mesa_model.TrafficModel``), coupled to flood and heat
through the state.

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

This module wires the parts (the package docstring says where each lives).

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

import numpy as np

from metrotwin.models.mobility.demand_source import draw_trips
from metrotwin.models.mobility.exchange import LinkExchange, shaded_share_at_link
from metrotwin.models.mobility.indicators import trip_indicators
from metrotwin.models.mobility.mesa_model import TrafficModel
from metrotwin.models.mobility.network import Network
from metrotwin.models.mobility.parallel import (
    ACTIVE_ARRAYS,
    LinkCells,
    TripOwnership,
    gather_active,
)
from metrotwin.models.mobility.params import Params
from metrotwin.models.mobility.variables import VARIABLES
from metrotwin.results.indicators import Indicator
from metrotwin.run.model import Model


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
    Params = Params
    variables = VARIABLES

    # -- setup -----------------------------------------------------------------------------
    def initialize(self, state, ctx) -> None:
        p = self.params
        self.ctx = ctx
        self.dec = state.decomposition
        net = self._network(state)
        grid = state.global_grid
        # the cells of the links in the global (serial) order; the network refers to entries
        # of that list, so per-cell values along links are arrays over its entries
        self.cells = LinkCells(state, ctx, grid)
        net.cell_start = self.cells.start
        net.cell_index = np.arange(self.cells.n_entries, dtype="int64")
        rng = ctx.rng(self.name)
        start = ctx.clock.start
        trips = draw_trips(p, state, net, rng, start.hour + start.minute / 60 + start.second / 3600,
                           grid)
        self.owner = TripOwnership(state, grid, net)
        self.traffic = TrafficModel(
            net, trips, step_length=p.step_length, rng=rng, own=self.owner.of(trips), dt=p.dt,
            route_interval=p.route_interval, route_weight=p.route_weight,
            walk_speed=p.walk_speed, bike_speed=p.bike_speed, hazard_limit=p.hazard_limit,
            shade_preference=p.shade_preference,
            shaded_at_link=shaded_share_at_link(self.cells, state, net.n_links),
            exposure_interval=p.exposure_interval, thresholds=p.utci_thresholds)
        self.net = net
        planned = np.asarray(state["link_closed"]).astype(bool).copy() if \
            "link_closed" in state else np.zeros(net.n_links, bool)
        self.exchange = LinkExchange(self.cells, p, ctx, planned)
        self.exchange.start(self.traffic.sim)
        self.exchange.read(state, self.traffic.sim)
        self._write(state, 0.0)

    def _network(self, state) -> Network:
        """The routing graph of the state's links; a sample of the commuters sees a network
        whose flow and storage capacity are scaled alike (MATSim's capacity factors)."""
        p = self.params
        scale = p.sample_fraction if (p.demand == "synthetic" and p.scale_capacity) else 1.0
        net = Network.from_state(state, jam_density=p.jam_density * scale)
        net.capacity = net.capacity * scale
        return net

    # -- stepping --------------------------------------------------------------------------
    def advance(self, state, until: float) -> None:
        self.exchange.read(state, self.traffic.sim)
        self.traffic.advance(until)
        self._write(state, until)

    def _write(self, state, until: float) -> None:
        sim = self.traffic.sim
        self.exchange.write(state, sim, until)
        # the walkers' and cyclists' state of every rank, by trip id, for checkpoint()
        self._active = gather_active(self.dec, sim, len(sim.trips))

    # -- results ---------------------------------------------------------------------------
    def indicators(self, state) -> dict[str, Indicator]:
        """Totals and means over the trips, the same on any number of ranks
        (``indicators.py``)."""
        return trip_indicators(self.traffic.sim, self.traffic.own, self.ctx.global_sum)

    def checkpoint(self) -> dict:
        """The whole state, independent of the decomposition: link and car arrays (the same
        on every rank) and the walkers' and cyclists' arrays of all ranks by trip id."""
        saved = self.traffic.sim.checkpoint()
        for name in ACTIVE_ARRAYS:
            saved[name] = self._active[name].copy()
        saved["model"] = {**self.exchange.checkpoint(),
                          "rng": self.traffic.rng.bit_generator.state}
        return saved

    def restore(self, saved: dict) -> None:
        sim = self.traffic.sim
        mine = dict(saved)
        for name in ACTIVE_ARRAYS:  # this rank's own walkers and cyclists
            mine[name] = np.asarray(saved[name])[sim.active]
        sim.restore(mine)
        self.exchange.restore(saved["model"])
        self.traffic._last_status = sim.status()
        self.traffic.rng.bit_generator.state = saved["model"]["rng"]
        self._active = {name: np.asarray(saved[name]).copy() for name in ACTIVE_ARRAYS}
