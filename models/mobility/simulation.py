"""The traffic state in arrays and the driver that advances it with the numba kernels.

``TrafficSim`` holds the link queues and the per-trip arrays of the cars (queue model) and
of the walkers and cyclists (free movement along fixed paths), updates the routing tables
on current travel times every ``route_interval`` seconds, and applies closures and speed
changes (floods) between steps. It knows nothing of Mesa or of the city state: the Mesa
model (``model.py``) and the metrotwin model wrap it.
"""

from __future__ import annotations

import copy
import warnings

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from metrotwin.models.mobility import kernels
from metrotwin.models.mobility.demand import CAR, Trips
from metrotwin.models.mobility.kernels import REASONS  # noqa: F401 (the model reads it here)
from metrotwin.models.mobility.network import Network, Router


class TrafficSim:
    """Cars in link queues and active travellers on paths, advanced in steps of ``dt`` (s).

    Parameters
    ----------
    network, trips : the road network and the trips (any modes).
    dt : time step of the queue model (s).
    route_interval : routing tables are recomputed this often (s).
    route_versions, route_weight : how many recent tables trips spread over, and the weight
        of the newest (see ``Router``).
    walk_speed, bike_speed : (m s-1).
    hazard_limit : flood hazard rating at which walkers and cyclists stop (FD2320: 0.75 is
        "danger for some").
    shade_preference : walkers' cost of a fully shaded link is (1 - this) x its length.
    shaded_at_link : share of each link's cells under shade (0-1), for the walking routes.
    exposure_interval : heat exposure is sampled this often (s).
    seed : seed of the trip-level route choice.
    own : which trips this simulation holds as walkers or cyclists (bool per trip; default
        all). On a decomposed grid each rank advances only its own walkers and cyclists,
        while every rank runs the queues of all the cars (see ``parallel.py``).
    """

    def __init__(self, network: Network, trips: Trips, *, dt: float = 1.0,
                 route_interval: float = 300.0, route_versions: int = 4,
                 route_weight: float = 0.5, walk_speed: float = 1.3, bike_speed: float = 4.5,
                 hazard_limit: float = 0.75, shade_preference: float = 0.0,
                 shaded_at_link: np.ndarray | None = None, exposure_interval: float = 60.0,
                 thresholds=(32.0, 38.0), seed: int = 0, own: np.ndarray | None = None):
        self.net, self.trips = network, trips
        self.dt, self.route_interval = float(dt), float(route_interval)
        self.exposure_interval = float(exposure_interval)
        self.hazard_limit = float(hazard_limit)
        self.thresholds = np.asarray(thresholds, float)
        self.time = 0.0
        net = network
        n_links = net.n_links
        self.capacity = net.capacity / 3600.0  # veh/s
        # entering a link is limited by its flow capacity too (UXsim's capacity_in; the
        # triangular diagram caps the flow at both ends of a link)
        self.entry_capacity = self.capacity.copy()
        self.storage = net.storage
        self.speed = net.free_speed.copy()
        self.closed = np.zeros(n_links, "int8")
        # link queues: ring buffers that hold at most the storage capacity
        size = np.ceil(self.storage + 1e-9).astype("int64") + 1
        self.queue_start = np.concatenate([[0], np.cumsum(size)]).astype("int64")
        self.queue_buf = np.full(self.queue_start[-1], -1, "int64")
        self.queue_head = np.zeros(n_links, "int64")
        self.queue_count = np.zeros(n_links, "int64")
        self.out_tokens = np.ones(n_links)  # an idle link has one vehicle's capacity banked
        self.in_tokens = np.ones(n_links)
        self.entries = np.zeros(n_links, "int64")
        self.exits = np.zeros(n_links, "int64")
        self.time_on_link = np.zeros(n_links)
        # cars
        self.car = np.flatnonzero(trips.mode == CAR)
        self.c_origin = trips.origin[self.car]
        self.c_dest = trips.dest[self.car]
        self.c_depart = trips.depart[self.car]
        nc = self.car.size
        self.c_status = np.zeros(nc, "int8")
        self.c_link = np.full(nc, -1, "int64")
        self.c_enter = np.zeros(nc)
        self.c_ready = np.zeros(nc)
        self.c_arrive = np.full(nc, np.nan)
        self.c_distance = np.zeros(nc)
        self.c_reason = np.zeros(nc, "int8")
        order = np.lexsort((np.arange(nc), self.c_depart, self.c_origin))
        counts = np.bincount(self.c_origin, minlength=net.n_nodes)
        self.departure_start = np.concatenate([[0], np.cumsum(counts)]).astype("int64")
        self.departure_trip = order.astype("int64")
        self.departure_next = self.departure_start[:-1].copy()
        # routing: shortest paths at free flow first (also the free-flow travel times)
        self.router = Router(net, self.c_dest if nc else np.zeros(1, int),
                             n_versions=route_versions, weight=route_weight, seed=seed)
        dist = self.router.update(self.link_cost(), reset=True)
        self.c_free_time = dist[self.router.dest_row[self.c_dest], self.c_origin] if nc else \
            np.zeros(0)
        self.unreachable = ~np.isfinite(self.c_free_time)
        if self.unreachable.any():
            pairs = sorted({(int(net.node_ids[a]), int(net.node_ids[b])) for a, b in zip(
                self.c_origin[self.unreachable], self.c_dest[self.unreachable])})
            shown = ", ".join(f"{a}->{b}" for a, b in pairs[:10])
            warnings.warn(
                f"the network is disconnected: {len(pairs)} OD pair(s) cannot be reached "
                f"({shown}{', ...' if len(pairs) > 10 else ''}); their "
                f"{int(self.unreachable.sum())} car trip(s) will be stranded with reason "
                "no_route", stacklevel=2)
        # walkers and cyclists
        held = np.ones(len(trips), bool) if own is None else np.asarray(own, bool)
        self.active = np.flatnonzero((trips.mode != CAR) & held)
        na = self.active.size
        self.a_depart = trips.depart[self.active]
        self.a_speed = np.where(trips.mode[self.active] == 1, walk_speed, bike_speed).astype(float)
        self.a_status = np.zeros(na, "int8")
        self.a_position = np.zeros(na)
        self.a_arrive = np.full(na, np.nan)
        self.a_reason = np.zeros(na, "int8")
        self.a_minutes = np.zeros((na, self.thresholds.size))
        self.a_degree_minutes = np.zeros(na)
        self.a_outdoor = np.zeros(na)
        shade = np.zeros(n_links) if shaded_at_link is None else np.asarray(shaded_at_link, float)
        self.walk_cost = net.length * (1.0 - shade_preference * np.clip(shade, 0, 1))
        self.a_path_start, self.a_path_link, self.a_path_end = self._active_paths()
        empty = self.a_path_start[1:] == self.a_path_start[:-1]
        self.a_free_time = np.full(na, np.inf)
        last = self.a_path_start[1:][~empty] - 1
        self.a_free_time[~empty] = self.a_path_end[last] / self.a_speed[~empty]
        self.hazard = np.zeros(n_links)
        self.utci = np.zeros(0)
        self._route_clock = 0.0
        self._exposure_clock = 0.0

    # -- routing -----------------------------------------------------------------------------
    def link_cost(self) -> np.ndarray:
        """Travel time (s) a car entering each link now can expect: the free-speed time, or
        the time to discharge the vehicles on it at its capacity if longer; inf if closed."""
        cost = np.maximum(self.net.length / np.maximum(self.speed, 1e-9),
                          self.queue_count / self.capacity)
        cost[self.closed != 0] = np.inf
        return cost

    def _active_paths(self):
        """Shortest walking paths (by ``walk_cost``) of the walkers and cyclists, as CSR."""
        net, trips = self.net, self.trips
        o, d = trips.origin[self.active], trips.dest[self.active]
        start = np.zeros(o.size + 1, "int64")
        if o.size == 0:
            return start, np.zeros(0, "int64"), np.zeros(0)
        # both directions are walkable: a link a->b also serves b->a (a footway)
        a = np.concatenate([net.link_from, net.link_to])
        b = np.concatenate([net.link_to, net.link_from])
        cost = np.concatenate([self.walk_cost, self.walk_cost])
        ids = np.concatenate([np.arange(net.n_links), np.arange(net.n_links)])
        order = np.lexsort((ids, cost, b, a))
        first = np.ones(order.size, bool)
        first[1:] = (a[order][1:] != a[order][:-1]) | (b[order][1:] != b[order][:-1])
        sel = order[first]
        graph = csr_matrix((np.maximum(cost[sel], 1e-6), (a[sel], b[sel])),
                           shape=(net.n_nodes,) * 2)
        link_of = {(int(x), int(y)): int(i) for x, y, i in zip(a[sel], b[sel], ids[sel])}
        origins, inverse = np.unique(o, return_inverse=True)
        _, pred = dijkstra(graph, directed=True, indices=origins, return_predecessors=True)
        links, ends = [], []
        for k in range(o.size):
            node, path = d[k], []
            p = pred[inverse[k]]
            while node != o[k] and p[node] >= 0:
                path.append(link_of[(int(p[node]), int(node))])
                node = p[node]
            if node != o[k]:
                path = []  # unreachable on foot: treated as arrived at once (warned below)
            path.reverse()
            links.extend(path)
            ends.append(np.cumsum(net.length[path]) if path else np.zeros(0))
            start[k + 1] = start[k] + len(path)
        if (start[1:] == start[:-1]).any():
            warnings.warn(f"{int((start[1:] == start[:-1]).sum())} walking/cycling trip(s) have "
                          "no path (unreachable or same node) and are stranded", stacklevel=3)
            self.a_status[start[1:] == start[:-1]] = kernels.STRANDED
            self.a_reason[start[1:] == start[:-1]] = kernels.NO_ROUTE
        return start, np.asarray(links, "int64"), (np.concatenate(ends) if ends else np.zeros(0))

    # -- inputs from other models ------------------------------------------------------------
    def set_speeds(self, speed: np.ndarray, closed: np.ndarray) -> int:
        """New link speeds (m/s) and closures; trips on a newly closed link are stranded and
        the routes are recomputed. Returns the number of trips stranded now."""
        closed = np.asarray(closed, "int8")
        newly = (closed != 0) & (self.closed == 0)
        changed = newly.any() or ((closed == 0) & (self.closed != 0)).any()
        self.speed[:] = np.where(closed != 0, self.net.free_speed, np.maximum(speed, 1e-3))
        self.closed[:] = closed
        stranded = 0
        if newly.any():
            stranded = kernels.strand_on_links(newly, self.time, self._queues(), self._cars())
        if changed:
            self.router.update(self.link_cost(), reset=True)
        return int(stranded)

    def set_hazard(self, hazard_at_link: np.ndarray) -> None:
        self.hazard[:] = hazard_at_link

    def set_utci(self, utci_flat: np.ndarray) -> None:
        self.utci = np.asarray(utci_flat, float).ravel()

    # -- time stepping -----------------------------------------------------------------------
    def advance(self, until: float) -> None:
        """Advance cars and active travellers to ``until`` (s)."""
        while self.time < until - 1e-9:
            next_route = self._route_clock + self.route_interval
            t1 = min(until, next_route)
            n = int(round((t1 - self.time) / self.dt))
            if n > 0:
                self._advance_cars(n)
                self._advance_active(self.time, self.time + n * self.dt)
                self.time += n * self.dt
            else:
                self.time = t1
            if self.time >= next_route - 1e-9:
                self._route_clock = next_route
                self.router.update(self.link_cost())

    # the kernels' argument groups, made at each call: restore() may replace an array
    def _queues(self) -> kernels.Queues:
        return kernels.Queues(self.queue_start, self.queue_buf, self.queue_head,
                              self.queue_count, self.out_tokens, self.in_tokens)

    def _cars(self) -> kernels.Cars:
        return kernels.Cars(self.c_origin, self.c_dest, self.c_depart, self.c_status,
                            self.c_link, self.c_enter, self.c_ready, self.c_arrive,
                            self.c_distance, self.c_reason)

    def _advance_cars(self, n: int) -> None:
        if self.car.size == 0:
            return
        net, r = self.net, self.router
        links = kernels.Links(net.link_to, net.length, self.speed, self.capacity,
                              self.entry_capacity, self.storage, self.closed)
        kernels.advance_queues(
            self.time, n, self.dt, links, kernels.Routes(r.next_link, r.dest_row, r.state),
            self._queues(), self._cars(),
            kernels.Departures(self.departure_start, self.departure_trip, self.departure_next),
            kernels.LinkCounts(self.entries, self.exits, self.time_on_link))

    def _advance_active(self, t0: float, t1: float) -> None:
        if self.active.size == 0:
            return
        travellers = kernels.Travellers(self.a_depart, self.a_speed, self.a_status,
                                        self.a_position, self.a_arrive, self.a_reason)
        paths = kernels.Paths(self.a_path_start, self.a_path_link, self.a_path_end)
        cells = kernels.LinkCellsCSR(self.net.cell_start, self.net.cell_index)
        conditions = kernels.Conditions(self.hazard, self.hazard_limit, self.utci,
                                        self.thresholds)
        exposure = kernels.Exposure(self.a_minutes, self.a_degree_minutes, self.a_outdoor)
        step = self.exposure_interval
        t = t0
        while t < t1 - 1e-9:
            te = min(t1, (np.floor(t / step + 1e-9) + 1) * step)
            kernels.advance_active(t, 1, te - t, travellers, paths, self.net.length, cells,
                                   conditions, exposure)
            t = te

    # -- results -----------------------------------------------------------------------------
    def status(self) -> np.ndarray:
        """Status of every trip (kernels codes), in trip order."""
        out = np.zeros(len(self.trips), "int8")
        out[self.car] = self.c_status
        out[self.active] = self.a_status
        return out

    def counts(self) -> dict[str, int]:
        """departed (departure time passed), arrived, en route (on a link, waiting at the
        origin, or walking), stranded, counted independently of each other."""
        t = self.time
        on_links = int(self.queue_count.sum())
        waiting = int(((self.c_status == kernels.SCHEDULED) & (self.c_depart < t)).sum())
        walking = int(((self.a_status == kernels.ON_LINK)
                       | ((self.a_status == kernels.SCHEDULED) & (self.a_depart < t))).sum())
        return {
            "departed": int((self.trips.depart < t).sum()),
            "arrived": int((self.c_status == kernels.ARRIVED).sum()
                           + (self.a_status == kernels.ARRIVED).sum()),
            "en_route": on_links + waiting + walking,
            "stranded": int((self.c_status == kernels.STRANDED).sum()
                            + (self.a_status == kernels.STRANDED).sum()
                            + (self.a_status == kernels.STOPPED).sum()),
        }

    def travel_times(self) -> tuple[np.ndarray, np.ndarray]:
        """(travel time, free-flow travel time) of every trip in trip order (s; nan unless
        arrived)."""
        tt = np.full(len(self.trips), np.nan)
        free = np.full(len(self.trips), np.nan)
        ok = self.c_status == kernels.ARRIVED
        tt[self.car[ok]] = self.c_arrive[ok] - self.c_depart[ok]
        free[self.car] = self.c_free_time
        ok = self.a_status == kernels.ARRIVED
        tt[self.active[ok]] = self.a_arrive[ok] - self.a_depart[ok]
        free[self.active] = self.a_free_time
        return tt, free

    def reasons(self) -> np.ndarray:
        out = np.zeros(len(self.trips), "int8")
        out[self.car] = self.c_reason
        out[self.active] = self.a_reason
        return out

    # -- checkpoint --------------------------------------------------------------------------
    _ARRAYS = ("speed", "closed", "queue_buf", "queue_head", "queue_count", "out_tokens",
               "in_tokens", "entries", "exits", "time_on_link", "c_status", "c_link", "c_enter",
               "c_ready", "c_arrive", "c_distance", "c_reason", "departure_next", "a_status",
               "a_position", "a_arrive", "a_reason", "a_minutes", "a_degree_minutes",
               "a_outdoor", "hazard", "utci")

    def checkpoint(self) -> dict:
        saved = {name: getattr(self, name).copy() for name in self._ARRAYS}
        saved["router_next_link"] = self.router.next_link.copy()
        saved["router_state"] = self.router.state.copy()
        saved["clocks"] = np.array([self.time, self._route_clock])
        return copy.deepcopy(saved)

    def restore(self, saved: dict) -> None:
        for name in self._ARRAYS:
            value = np.asarray(saved[name])
            current = getattr(self, name)
            if current.shape == value.shape:
                current[...] = value
            else:
                setattr(self, name, value.copy())
        self.router.next_link[...] = saved["router_next_link"]
        self.router.state[...] = saved["router_state"]
        self.time, self._route_clock = (float(v) for v in saved["clocks"])
