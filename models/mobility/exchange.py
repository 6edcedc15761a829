"""The link side of the coupling: the flood and heat fields of the state into the traffic
simulation (link speeds and closures after Pregnolato et al. 2017, the FD2320 hazard rating
along each link, UTCI along the walkers' paths), and the simulation's link speeds, flows,
occupancy, closures and traffic heat back into the state.

Per-link values are taken over the cells this rank owns and combined over the ranks
(``ctx.global_max``, exact), so that they are the same on any number of ranks
(``parallel.py``).
"""

from __future__ import annotations

import numpy as np

from metrotwin.city.network import max_along_links
from metrotwin.models.mobility import kernels
from metrotwin.models.mobility.parallel import LinkCells
from metrotwin.models.mobility.simulation import TrafficSim

#: heat released per vehicle and metre driven (J m-1): Sailor & Lu 2004, Atmos. Environ. 38,
#: 2737-2748 (doi:10.1016/j.atmosenv.2004.01.034).
VEHICLE_HEAT_PER_METRE = 3975.0


def shaded_share_at_link(cells: LinkCells, state, n_links: int) -> np.ndarray:
    """The share (0-1) of each link's cells under tree canopy, for the walking routes (0
    without a canopy layer)."""
    if not cells.n_entries or "tree_canopy_height" not in state:
        return np.zeros(n_links)
    shade = (cells.entry_values(state["tree_canopy_height"], fill=0.0) > 0)
    counts = cells.counts
    link_of_entry = np.repeat(np.arange(n_links), counts)
    sums = np.bincount(link_of_entry, weights=shade.astype(float), minlength=n_links)
    return np.where(counts > 0, sums * (counts > 0) / np.maximum(counts, 1), 0.0)


class LinkExchange:
    """Reads the state into one ``TrafficSim`` and writes its link results back.

    Args:
        cells: the cells of the links (``parallel.LinkCells``).
        params: the model's ``Params`` (closed_depth, debris_depth).
        ctx: the run context (global maxima, halo exchange).
        planned: links closed by an intervention for the whole run (bool per link).
    """

    def __init__(self, cells: LinkCells, params, ctx, planned: np.ndarray):
        self.cells, self.params, self.ctx = cells, params, ctx
        self.planned = planned
        self.speed = None  # the link speeds (m/s) last given to the simulation
        self.exits = None  # the simulation's exits per link at the last write
        self.time = 0.0  # the time (s) of the last write

    def start(self, sim: TrafficSim) -> None:
        """Free-flowing links, nothing counted yet."""
        self.speed = sim.net.free_speed.copy()
        self.exits = np.zeros(sim.net.n_links, "int64")
        self.time = 0.0

    # -- state -> simulation ---------------------------------------------------------------
    def read(self, state, sim: TrafficSim) -> None:
        """Flood -> link speeds, closures and hazard; heat -> UTCI for the exposure."""
        net = sim.net
        speed = net.free_speed.copy()
        depth = self._depth(state)
        if depth is not None:
            kernels.speed_in_flood(depth, net.free_speed, self.params.closed_depth, speed)
        closed = self.planned | (speed <= 0)
        if (closed != (sim.closed != 0)).any() or not np.allclose(speed, self.speed):
            sim.set_speeds(speed, closed)
            self.speed = speed
        if "flood_water_thickness" in state and self.cells.n_entries:
            sim.set_hazard(self._hazard(state))
        if "universal_thermal_comfort_index" in state:
            # UTCI at every entry of the links' cell list (cells of no rank: -inf, skipped)
            sim.set_utci(self.cells.entry_values(state["universal_thermal_comfort_index"]))

    def _depth(self, state) -> np.ndarray | None:
        """The deepest flood water along each link (m), or None without a flood."""
        if "link_max_flood_depth" in state:
            return np.asarray(state["link_max_flood_depth"], float)  # global already
        if "flood_water_thickness" not in state or not self.cells.n_entries:
            return None
        start, local = self.cells.owned_csr()
        d = np.ascontiguousarray(state["flood_water_thickness"], float).ravel()
        return np.fmax(self.ctx.global_max(max_along_links(d, start, local)), 0.0)  # dry: 0

    def _hazard(self, state) -> np.ndarray:
        """The largest FD2320 hazard rating along each link (1)."""
        start, local = self.cells.owned_csr()
        d = np.ascontiguousarray(state["flood_water_thickness"], float).ravel()
        v = (np.ascontiguousarray(state["flood_water_speed"], float).ravel()
             if "flood_water_speed" in state else np.zeros_like(d))
        return np.asarray(self.ctx.global_max(kernels.hazard_rating_at_link(
            d, v, start, local, self.params.debris_depth)), float)

    # -- simulation -> state ---------------------------------------------------------------
    def write(self, state, sim: TrafficSim, until: float) -> None:
        """The link results at ``until`` (s); flows and traffic heat over the interval since
        the last write (none at its start)."""
        net = sim.net
        interval = until - self.time
        left = sim.exits - self.exits
        self.exits = sim.exits.copy()
        self.time = until
        cost = sim.link_cost()
        state["link_speed"][:] = np.where(np.isfinite(cost), net.length / cost, 0.0)
        state["link_occupancy"][:] = sim.queue_count
        state["link_closed"][:] = sim.closed
        state["link_flood_hazard"][:] = sim.hazard
        if interval <= 0:
            return
        state["link_flow"][:] = left * 3600.0 / interval
        if self.cells.n_entries:
            flux = state["traffic_heat_flux"]
            flux[...] = 0.0
            power = left * net.length * VEHICLE_HEAT_PER_METRE / interval  # W
            self.cells.spread(power.astype(float), state.grid.cell_area, flux.reshape(-1))
            self.ctx.exchange_halos(flux)

    # -- checkpoint ------------------------------------------------------------------------
    def checkpoint(self) -> dict:
        return {"exits": self.exits.copy(), "time": self.time, "speed": self.speed.copy()}

    def restore(self, saved: dict) -> None:
        self.exits, self.time = np.asarray(saved["exits"]).copy(), float(saved["time"])
        self.speed = np.asarray(saved["speed"]).copy()
