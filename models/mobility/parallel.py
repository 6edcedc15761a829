"""The mobility model on a grid split over MPI ranks (issue 6): what is replicated, what is
spread, and how the grid-derived inputs are made the same on every rank.

Design
------
* The road network (nodes and links) and the trips (origin, destination, departure, mode,
  group, district) are small and known on every rank: the demand is drawn from the same
  random stream on every rank, from inputs made global first (building records, layer
  values at nodes; see ``demand.py``).
* **Link state is replicated.** Every rank runs the same link-queue simulation of all the
  cars (``TrafficSim``), fed by the same global departures: vehicles enter a link in the
  order of the queue kernel, which only depends on the global trip order (departure time,
  then global trip id) and on the link and node numbers, never on a rank's share of the
  grid. Occupancy, flows, closures, speeds and the routing tables are therefore equal, bit
  for bit, on every rank and on any number of ranks, and no exchange is needed during a
  step. (The queue model is cheap next to the grid models; what scales with the grid is
  spread, below.)
* **Agents are spread.** A trip belongs to the rank owning the grid cell of its origin node
  (``TripOwnership``; nodes outside the grid count for the nearest cell), a rule that does
  not depend on the number of ranks beyond who owns which cell. Each rank creates the Mesa
  agents (``Driver``, ``Pedestrian``, ``Cyclist``) of its own trips only, notifies only them,
  and advances and books only its own walkers and cyclists (paths, position, heat
  exposure). Per-trip indicators sum over each rank's own trips with exact sums
  (``ctx.global_sum`` of per-trip values), so they are independent of the layout. (Mesa's
  DataCollector series and ``TrafficSim.counts()`` stay rank-local views: every car, but
  only the rank's own walkers and cyclists.)
* **Grid inputs along the links.** ``LinkCells`` holds, on every rank, the global list of
  the cells each link crosses (the serial run's ``link_cell_index``, rebuilt from the
  global grid's geometry and kept where some rank's tile has the cell on that link), which
  of those cells this rank owns, and their local indices. A per-link maximum (flood depth,
  hazard rating) is taken over the owned cells and combined with ``ctx.global_max``;
  per-cell values along the links (UTCI for the exposure, shade) are put at their place in
  the global list by the owning rank and combined with an elementwise ``global_max``.
  That is the size of the network's cell list, never of the grid, and exact.
* **Grid outputs.** ``traffic_heat_flux`` is written by every rank on its own cells from
  the (replicated) link flows, each link's heat shared over its global number of cells, in
  link order, as in serial; the halo is then exchanged.
* **Checkpoints** hold the replicated link and car state as it is, and the per-trip state
  of the walkers and cyclists gathered by global trip id after every step
  (``gather_active``), so that rank 0's ``checkpoint()`` is the whole, layout-independent
  state; ``restore`` on any layout takes back the rows of its own trips.

In a serial run the same code runs with a one-rank decomposition (the reductions are
identities), which is what makes the serial result the reference bit for bit:

>>> import numpy as np
>>> from metrotwin.run.testing import make_grid, make_state
>>> from metrotwin.models.mobility.network import Network
>>> grid = make_grid(4, 30, resolution=10.0)
>>> state = make_state(grid)
>>> x0, y = grid.x[0], grid.y[1]
>>> Network([x0, x0 + 100, x0 + 200], [y, y, y], [0, 1], [1, 2], [100.0, 100.0], [1, 1],
...         [10.0, 10.0], [1800.0, 1800.0]).add_to_state(state)
>>> cells = LinkCells(state, None, grid)
>>> cells.counts.tolist(), bool(cells.owned.all())
([11, 11], True)
>>> field = np.zeros(grid.shape); field[1, 10] = 2.0
>>> float(cells.entry_values(field).max()), float(values_at(state, field, [1], [10])[0])
(2.0, 2.0)
"""

from __future__ import annotations

import numpy as np

from metrotwin.city.network import cells_along_links, filter_csr


def global_cells(grid, x, y):
    """Global (row, col) of the cells holding points (x, y), clipped to the grid, and
    whether each point is inside it."""
    r, c = grid.index_of(x, y)
    inside = (r >= 0) & (r < grid.ny) & (c >= 0) & (c < grid.nx)
    return np.clip(r, 0, grid.ny - 1), np.clip(c, 0, grid.nx - 1), inside


def values_at(state, field, rows, cols, fill=-np.inf) -> np.ndarray:
    """The values of the local grid array ``field`` at global cells (rows, cols), on every
    rank: each value comes from the rank owning the cell (an elementwise maximum over the
    ranks with ``fill`` elsewhere, exact). Non-finite values are returned as ``fill``."""
    dec = state.decomposition
    rows, cols = np.asarray(rows, "int64"), np.asarray(cols, "int64")
    out = np.full(rows.size, fill, float)
    own = dec.owns(rows, cols)
    if own.any():
        lr, lc = dec.glb_to_loc(rows[own], cols[own])
        v = np.asarray(field, float)[lr, lc]
        out[own] = np.where(np.isfinite(v), v, fill)
    return np.asarray(dec.allreduce_max(out), float)


class TripOwnership:
    """Which trips (and Mesa agents) this rank holds: those whose origin node lies in the
    rank's owned block of the global grid (all of them in a serial run)."""

    def __init__(self, state, grid, net):
        r, c, _ = global_cells(grid, net.node_x, net.node_y)
        self.node_owned = np.asarray(state.decomposition.owns(r, c), bool)

    def of(self, trips) -> np.ndarray:
        return self.node_owned[trips.origin]


class LinkCells:
    """The cells each link crosses, in the global order of the serial run, on every rank.

    ``start``, ``cells`` : CSR of global flat cell indices (row * global nx + col).
    ``owned`` : per entry, whether this rank owns the cell. ``local`` : the local flat index
    of each owned entry (-1 elsewhere). ``counts`` : cells per link (global).
    """

    def __init__(self, state, ctx, grid):
        dec = state.decomposition
        lstart = np.asarray(state["link_cell_start"], "int64")
        lindex = np.asarray(state["link_cell_index"], "int64")
        self.dec = dec
        if not dec.is_parallel:
            self.start, self.cells = lstart, lindex
            self.owned = np.ones(lindex.size, bool)
            self.local = lindex.copy()
        else:
            gnx = grid.nx
            start, cells = cells_along_links(grid, state["node_x"], state["node_y"],
                                             state["link_from"], state["link_to"])
            n_links = start.size - 1
            # the cells this rank's tile has on each link (local lists are filtered like the
            # global one, e.g. for bridges over water): keep a global entry where its owner has it
            rows, cols = dec.local_window
            lnx = cols.stop - cols.start
            lr, lc = np.divmod(lindex, lnx)
            lkey = (np.repeat(np.arange(n_links), np.diff(lstart)) * grid.size
                    + (lr + rows.start) * gnx + (lc + cols.start))
            gkey = np.repeat(np.arange(n_links), np.diff(start)) * grid.size + cells
            gr, gc = np.divmod(cells, gnx)
            mine = np.isin(gkey, lkey) & dec.owns(gr, gc)
            keep = np.asarray(dec.allreduce_max(mine.astype("int8"))) > 0
            self.start, self.cells = filter_csr(start, cells, keep)
            gr, gc = np.divmod(self.cells, gnx)
            self.owned = np.asarray(dec.owns(gr, gc), bool)
            r, c = dec.glb_to_loc(gr, gc)
            self.local = np.where(self.owned, r * lnx + c, -1).astype("int64")
        self.counts = np.diff(self.start)
        self._own_start, self._own_local = filter_csr(self.start, self.local, self.owned)

    @property
    def n_entries(self) -> int:
        return self.cells.size

    def entry_values(self, field, fill=-np.inf) -> np.ndarray:
        """The values of the local grid array ``field`` at every entry of the global list
        (non-finite values and cells of no rank as ``fill``), the same on every rank."""
        out = np.full(self.n_entries, fill, float)
        flat = np.asarray(field, float).ravel()
        v = flat[self.local[self.owned]]
        out[self.owned] = np.where(np.isfinite(v), v, fill)
        return np.asarray(self.dec.allreduce_max(out), float)

    def owned_csr(self):
        """(start, local flat index) of the owned cells of each link, for per-link kernels
        whose result is then combined over ranks."""
        return self._own_start, self._own_local

    def spread(self, value_at_link, cell_area, out_flat) -> None:
        """Add each link's power (W) onto its owned cells of the local flat grid ``out_flat``
        as a flux (W m-2), in equal shares over the link's global number of cells (the same
        arithmetic, in the same link order, as ``kernels.spread_on_cells`` in serial)."""
        value = np.asarray(value_at_link, float)
        share = np.zeros_like(value)
        ok = (self.counts > 0) & (value != 0.0)
        share[ok] = value[ok] / (self.counts[ok] * cell_area)
        per_entry = np.repeat(share, self.counts)
        sel = self.owned & np.repeat(ok, self.counts)
        np.add.at(out_flat, self.local[sel], per_entry[sel])


#: per-trip arrays of the walkers and cyclists (``TrafficSim``) that checkpoints gather
ACTIVE_ARRAYS = ("a_status", "a_position", "a_arrive", "a_reason", "a_minutes",
                 "a_degree_minutes", "a_outdoor")


def gather_active(dec, sim, n_trips: int) -> dict:
    """The walkers' and cyclists' per-trip arrays of every rank as arrays over all trips
    (rows of car trips unused), by global trip id: the same on every rank and layout."""
    ids = dec.allgather_concat(np.asarray(sim.active, "int64"))
    out = {}
    for name in ACTIVE_ARRAYS:
        local = np.asarray(getattr(sim, name))
        width = int(np.prod(local.shape[1:]))
        every = dec.allgather_concat(local.reshape(-1)).reshape(ids.size, width)
        full = np.zeros((n_trips, width), local.dtype)
        if name == "a_arrive":
            full[...] = np.nan
        full[ids] = every
        out[name] = full.reshape(n_trips, *local.shape[1:])
    return out
