"""The routing graph of the mobility model: links with length, lanes, flow and storage
capacity and free speed, and the grid cells each link crosses.

Built from the state's link variables (``metrotwin.city.network``), from TNTP files
(Transportation Networks for Research, https://github.com/bstabler/TransportationNetworks)
or from the CSV export of a UXsim scenario; ``grid_network`` makes the square test grids of
the benchmarks. ``Router`` keeps the next-link tables of the shortest paths to every
destination on the current link travel times (scipy.sparse.csgraph Dijkstra).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from metrotwin.city.network import add_network
from metrotwin.city.sources import tntp
from metrotwin.models.mobility import kernels
from metrotwin.models.mobility.errors import MobilityError


class NetworkError(MobilityError):
    """A road network that cannot be simulated (zero length or capacity, bad node)."""


#: jam density of one lane (veh/m): UXsim's default (Seo 2025, doi:10.48550/arXiv.2309.17114);
#: MATSim uses 7.5 m per car (0.133 veh/m).
JAM_DENSITY = 0.2


@dataclass
class Network:
    """A directed road network on plain arrays.

    node_x, node_y : node coordinates (m). link_from, link_to : node indices.
    length (m), lanes, free_speed (m s-1), capacity (veh h-1) per link; storage (veh) is
    length x lanes x jam density, at least one vehicle. cell_start, cell_index : CSR of
    the flat grid cells each link crosses (empty without a grid). node_ids : the node
    numbers of the source file (TNTP, UXsim), for reading demand.
    """

    node_x: np.ndarray
    node_y: np.ndarray
    link_from: np.ndarray
    link_to: np.ndarray
    length: np.ndarray
    lanes: np.ndarray
    free_speed: np.ndarray
    capacity: np.ndarray
    jam_density: float = JAM_DENSITY
    cell_start: np.ndarray = field(default_factory=lambda: np.zeros(1, "int64"))
    cell_index: np.ndarray = field(default_factory=lambda: np.zeros(0, "int64"))
    node_ids: np.ndarray | None = None
    source: str = "network"

    def __post_init__(self):
        self.node_x = np.asarray(self.node_x, float)
        self.node_y = np.asarray(self.node_y, float)
        self.link_from = np.asarray(self.link_from, "int64")
        self.link_to = np.asarray(self.link_to, "int64")
        self.length = np.asarray(self.length, float)
        self.lanes = np.asarray(self.lanes, "int64")
        self.free_speed = np.asarray(self.free_speed, float)
        self.capacity = np.asarray(self.capacity, float)
        if self.cell_start.size == 1 and self.n_links:
            self.cell_start = np.zeros(self.n_links + 1, "int64")
        if self.node_ids is None:
            self.node_ids = np.arange(self.n_nodes)
        self.validate()

    @property
    def n_nodes(self) -> int:
        return self.node_x.size

    @property
    def n_links(self) -> int:
        return self.link_from.size

    @property
    def storage(self) -> np.ndarray:
        """Storage capacity (veh): length x lanes x jam density, at least 1."""
        return np.maximum(1.0, self.length * self.lanes * self.jam_density)

    def validate(self) -> None:
        n = self.n_links
        for name in ("link_to", "length", "lanes", "free_speed", "capacity"):
            if getattr(self, name).shape != (n,):
                raise NetworkError(f"{self.source}: {name} has {getattr(self, name).size} values, "
                                   f"expected one per link ({n})")
        bad = (self.link_from < 0) | (self.link_from >= self.n_nodes) | (self.link_to < 0) | (
            self.link_to >= self.n_nodes)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise NetworkError(f"{self.source}: link {self._name(i)} refers to a node that does not "
                               f"exist (nodes are 0..{self.n_nodes - 1})")
        for name, what in (("length", "m"), ("capacity", "veh/h"), ("free_speed", "m/s"),
                           ("lanes", "lanes")):
            values = getattr(self, name)
            bad = ~(values > 0) | ~np.isfinite(values)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                raise NetworkError(
                    f"{self.source}: link {self._name(i)} has {name} {values[i]:g} {what}; every link "
                    f"needs a positive, finite {name} ({int(bad.sum())} link(s) affected)")

    def _name(self, i: int) -> str:
        ids = self.node_ids
        a, b = self.link_from[i], self.link_to[i]
        if 0 <= a < ids.size and 0 <= b < ids.size:
            return f"#{i} ({ids[a]}->{ids[b]})"
        return f"#{i}"

    def node_index(self, ids, *, what: str = "node") -> np.ndarray:
        """Indices of the nodes with the source's node numbers ``ids``; an error names the
        first number that does not exist."""
        ids = np.asarray(ids)
        order = np.argsort(self.node_ids)
        pos = np.searchsorted(self.node_ids[order], ids)
        pos = np.clip(pos, 0, self.node_ids.size - 1)
        found = self.node_ids[order][pos] == ids
        if not found.all():
            bad = ids[~found][0]
            raise MobilityError(
                f"{what} {bad} does not exist in the network {self.source} (node numbers "
                f"{self.node_ids.min()}..{self.node_ids.max()})")
        return order[pos]

    @classmethod
    def from_state(cls, state, *, jam_density: float = JAM_DENSITY) -> Network:
        """The network of a city state (``metrotwin.city.network.add_network``)."""
        if "link_from" not in state:
            raise NetworkError("the city state has no road network (link_from, link_to, ...); "
                               "the mobility model needs one")
        # node numbers of the source file: a node_id variable, or TNTP's 1..N
        ids = None
        if "node_id" in state:
            ids = np.asarray(state["node_id"], "int64")
        elif state.ds["link_length"].attrs.get("format") == "tntp":
            ids = np.arange(1, state.ds.sizes["node"] + 1)
        return cls(state["node_x"], state["node_y"], state["link_from"], state["link_to"],
                   state["link_length"], state["link_lanes"], state["link_free_speed"],
                   state["link_capacity"], jam_density=jam_density, node_ids=ids,
                   cell_start=np.asarray(state["link_cell_start"], "int64"),
                   cell_index=np.asarray(state["link_cell_index"], "int64"), source="city state")

    def add_to_state(self, state) -> None:
        """Put this network into a state (and compute the cells each link crosses)."""
        add_network(state, self.node_x, self.node_y, self.link_from, self.link_to,
                    lanes=self.lanes, free_speed=self.free_speed, capacity=self.capacity,
                    length=self.length)
        self.cell_start = np.asarray(state["link_cell_start"], "int64")
        self.cell_index = np.asarray(state["link_cell_index"], "int64")

    def free_travel_time(self) -> np.ndarray:
        """Free-flow travel time of each link (s)."""
        return self.length / self.free_speed


# -- readers ---------------------------------------------------------------------------------
def read_tntp_network(net_path, node_path=None, *, length_factor: float = 1609.344,
                      time_factor: float = 60.0, lane_capacity: float = 1800.0,
                      crs: str | None = None, jam_density: float = JAM_DENSITY) -> Network:
    """A network from a TNTP ``_net.tntp`` file (and its ``_node.tntp`` coordinates), read by
    :func:`metrotwin.city.sources.tntp.read_tntp` (units and defaults there)."""
    try:
        t = tntp.read_tntp(net_path, node_path, length_factor=length_factor,
                           time_factor=time_factor, lane_capacity=lane_capacity, crs=crs)
    except tntp.TntpLinkError as err:
        raise NetworkError(str(err)) from None
    except tntp.TntpError as err:
        raise MobilityError(str(err)) from None
    return Network(t.node_x, t.node_y, t.link_from, t.link_to, t.length, t.lanes, t.free_speed,
                   t.capacity, jam_density=jam_density, node_ids=t.node_ids, source=t.source)


def grid_network(n: int, spacing: float, *, free_speed: float = 20.0, lanes: int = 1,
                 capacity: float | None = None, jam_density: float = JAM_DENSITY,
                 reaction_time: float = 1.0) -> Network:
    """An n x n grid of nodes ``spacing`` m apart joined by links both ways (4 n (n - 1)
    links). Capacity (veh/h) defaults to the triangular diagram's, as in UXsim."""
    i, j = np.divmod(np.arange(n * n), n)
    x, y = j * spacing, -i * spacing
    a, b = [], []
    for r in range(n):
        for c in range(n):
            k = r * n + c
            if c + 1 < n:
                a += [k, k + 1]
                b += [k + 1, k]
            if r + 1 < n:
                a += [k, k + n]
                b += [k + n, k]
    if capacity is None:
        w = 1.0 / (reaction_time * jam_density)
        capacity = free_speed * w * jam_density / (free_speed + w) * 3600.0 * lanes
    m = len(a)
    return Network(x, y, a, b, np.full(m, float(spacing)), np.full(m, lanes),
                   np.full(m, free_speed), np.full(m, capacity), jam_density=jam_density,
                   source=f"grid {n}x{n}")


# -- routing ---------------------------------------------------------------------------------
class Router:
    """Next-link tables of the shortest paths to every destination, on link costs (s).

    The last ``n_versions`` tables are kept: a trip follows the newest with probability
    ``weight`` and older ones with geometrically smaller ones, which spreads traffic over
    the routes that were best recently instead of switching everyone at once.
    """

    def __init__(self, network: Network, destinations, *, n_versions: int = 4,
                 weight: float = 0.5, seed: int = 0):
        self.net = network
        self.destinations = np.unique(np.asarray(destinations, "int64"))
        self.dest_row = np.full(network.n_nodes, -1, "int64")
        self.dest_row[self.destinations] = np.arange(self.destinations.size)
        self.next_link = np.full((n_versions, self.destinations.size, network.n_nodes), -1,
                                 "int64")
        # [versions filled, newest, epoch, seed, weight]
        self.state = np.array([0.0, n_versions - 1.0, 0.0, float(seed % 2**31), weight])

    def distances(self, cost: np.ndarray) -> np.ndarray:
        """Cost (s) from every node to each destination: (destinations, nodes)."""
        net = self.net
        finite = np.isfinite(cost)
        a, b, c = net.link_from[finite], net.link_to[finite], np.maximum(cost[finite], 1e-6)
        order = np.lexsort((c, b, a))
        a, b, c = a[order], b[order], c[order]
        first = np.ones(a.size, bool)
        first[1:] = (a[1:] != a[:-1]) | (b[1:] != b[:-1])  # cheapest of parallel links
        graph = csr_matrix((c[first], (b[first], a[first])), shape=(net.n_nodes,) * 2)
        return dijkstra(graph, directed=True, indices=self.destinations)

    def update(self, cost: np.ndarray, *, reset: bool = False) -> np.ndarray:
        """New tables on link costs ``cost`` (s, inf = closed); ``reset`` forgets the older
        tables (after a closure). Returns the distances."""
        dist = self.distances(cost)
        h = self.next_link.shape[0]
        newest = (int(self.state[1]) + 1) % h
        kernels.next_link_from_dist(dist, self.net.link_from, self.net.link_to,
                                    np.asarray(cost, float), self.next_link[newest])
        if reset:
            self.next_link[:] = self.next_link[newest]
            self.state[0] = 1
        else:
            self.state[0] = min(self.state[0] + 1, h)
        self.state[1] = newest
        self.state[2] += 1
        return dist
