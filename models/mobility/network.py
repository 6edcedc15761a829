"""The routing graph of the mobility model: links with length, lanes, flow and storage
capacity and free speed, and the grid cells each link crosses.

Built from the state's link variables (``metrotwin.city.network``), from TNTP files
(Transportation Networks for Research, https://github.com/bstabler/TransportationNetworks)
or from the CSV export of a UXsim scenario; ``grid_network`` makes the square test grids of
the benchmarks. ``Router`` keeps the next-link tables of the shortest paths to every
destination on the current link travel times (scipy.sparse.csgraph Dijkstra).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from metrotwin.errors import MetrotwinError
from metrotwin.models.mobility import kernels


class MobilityError(MetrotwinError):
    """Bad input to the mobility model (network, demand, parameters)."""


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
        from metrotwin.city.network import add_network

        add_network(state, self.node_x, self.node_y, self.link_from, self.link_to,
                    lanes=self.lanes, free_speed=self.free_speed, capacity=self.capacity,
                    length=self.length)
        self.cell_start = np.asarray(state["link_cell_start"], "int64")
        self.cell_index = np.asarray(state["link_cell_index"], "int64")

    def free_travel_time(self) -> np.ndarray:
        """Free-flow travel time of each link (s)."""
        return self.length / self.free_speed


# -- readers ---------------------------------------------------------------------------------
def _tntp_rows(path: Path):
    """The data rows of a TNTP file after <END OF METADATA> (';'-terminated)."""
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError as err:
        raise MobilityError(f"cannot read {path}: {err}") from None
    meta, _, body = text.partition("<END OF METADATA>")
    if not body:
        raise MobilityError(f"{path}: no <END OF METADATA> line; is this a TNTP file?")
    return meta, body


def _meta(meta: str, key: str, path) -> str | None:
    for line in meta.splitlines():
        if line.strip().upper().startswith(f"<{key}>"):
            return line.split(">", 1)[1].strip()
    return None


def read_tntp_network(net_path, node_path=None, *, length_factor: float = 1609.344,
                      time_factor: float = 60.0, lane_capacity: float = 1800.0,
                      crs: str | None = None, jam_density: float = JAM_DENSITY) -> Network:
    """A network from a TNTP ``_net.tntp`` file (and its ``_node.tntp`` coordinates).

    Lengths are file units x ``length_factor`` (m; TNTP files mostly use miles), free speed
    = length / (free_flow_time x ``time_factor``) (s per file unit, minutes by default),
    capacity in veh/h, lanes = ceil(capacity / ``lane_capacity``). Node coordinates in
    lon/lat are projected to ``crs`` (default: the UTM zone of the network's centre).
    """
    meta, body = _tntp_rows(net_path)
    rows = []
    # errors give line numbers, never the line: the file may be anything (od_file: /etc/passwd)
    first_line = meta.count("\n") + 1
    for n, line in enumerate(body.splitlines(), start=first_line):
        line = line.strip()
        if not line or line.startswith("~"):
            continue
        parts = line.rstrip(";").split()
        try:
            a, b, cap, length, fft = int(parts[0]), int(parts[1]), *map(float, parts[2:5])
        except (ValueError, IndexError):
            raise MobilityError(f"{net_path}, line {n}: cannot parse it as a link; expected "
                                "init_node term_node capacity length free_flow_time ...") from None
        rows.append((a, b, cap, length, fft))
    if not rows:
        raise MobilityError(f"{net_path}: no links")
    a, b, cap, length, fft = (np.array(c) for c in zip(*rows))
    declared = _meta(meta, "NUMBER OF LINKS", net_path)
    if declared is not None and declared.isdigit() and int(declared) != len(rows):
        raise MobilityError(f"{net_path}: <NUMBER OF LINKS> is {declared} but {len(rows)} links "
                            "were read")
    ids = np.unique(np.concatenate([a, b]))
    x = y = None
    if node_path is not None:
        x, y, node_ids = _read_tntp_nodes(node_path)
        missing = np.setdiff1d(ids, node_ids)
        if missing.size:
            raise MobilityError(f"{node_path}: no coordinates for node(s) {missing[:5].tolist()}")
        ids = node_ids
    length_m = length * length_factor
    fft_s = fft * time_factor
    if (fft_s <= 0).any():
        i = int(np.flatnonzero(fft_s <= 0)[0])
        raise NetworkError(f"{net_path}: link {a[i]}->{b[i]} has free_flow_time {fft[i]:g}; "
                           "it must be positive")
    speed = length_m / fft_s
    order = np.argsort(ids)
    if x is None:
        x = np.zeros(ids.size)
        y = np.zeros(ids.size)
    elif np.all(np.abs(x) <= 180) and np.all(np.abs(y) <= 90):
        x, y = _project_lonlat(x, y, crs)
    idx = lambda v: order[np.searchsorted(ids[order], v)]  # noqa: E731
    lanes = np.maximum(1, np.ceil(cap / lane_capacity - 1e-9)).astype(int)
    return Network(x, y, idx(a), idx(b), length_m, lanes, speed, cap, jam_density=jam_density,
                   node_ids=ids, source=str(net_path))


def _read_tntp_nodes(path):
    ids, xs, ys = [], [], []
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError as err:
        raise MobilityError(f"cannot read {path}: {type(err).__name__}") from None
    for n, line in enumerate(text.splitlines()[1:], start=2):
        parts = line.replace(";", " ").split()
        if len(parts) >= 3:
            try:
                ids.append(int(parts[0]))
                xs.append(float(parts[1]))
                ys.append(float(parts[2]))
            except ValueError:
                raise MobilityError(f"{path}, line {n}: cannot parse it as a node; expected "
                                    "node x y") from None
    return np.array(xs), np.array(ys), np.array(ids)


def _project_lonlat(lon, lat, crs):
    from pyproj import Transformer

    if crs is None:
        zone = int((np.mean(lon) + 180) // 6) + 1
        crs = f"EPSG:{32600 + zone if np.mean(lat) >= 0 else 32700 + zone}"
    x, y = Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(lon, lat)
    return np.asarray(x), np.asarray(y)


def read_uxsim_csv(folder, *, reaction_time: float = 1.0, crs: str | None = None):
    """The network and demand of a UXsim scenario exported to CSV (nodes.csv, links.csv,
    demand.csv), with UXsim's link model: one lane, jam density 0.2 veh/m, flow capacity
    the smaller of ``capacity_out`` and the triangular fundamental diagram's
    u w kappa / (u + w) with w = 1 / (reaction_time kappa) (Newell 2002,
    doi:10.1016/S0191-2615(00)00044-8, as UXsim implements it).

    Returns (Network, rows) where rows are (orig id, dest id, t_start, t_end, flow veh/s).
    """
    folder = Path(folder)
    with open(folder / "nodes.csv", newline="") as f:
        nodes = list(csv.DictReader(f))
    with open(folder / "links.csv", newline="") as f:
        links = list(csv.DictReader(f))
    ids = np.array([int(r["name"]) for r in nodes])
    x, y = _project_lonlat(np.array([float(r["x_lon"]) for r in nodes]),
                           np.array([float(r["y_lat"]) for r in nodes]), crs)
    pos = {i: k for k, i in enumerate(ids)}
    u = np.array([float(r["free_flow_speed_mps"]) for r in links])
    kappa = JAM_DENSITY
    w = 1.0 / (reaction_time * kappa)
    fd_capacity = u * w * kappa / (u + w)
    cap_out = np.array([float(r["capacity_out_vehps"] or np.inf) for r in links])
    net = Network(x, y, [pos[int(r["start_node"])] for r in links],
                  [pos[int(r["end_node"])] for r in links],
                  [float(r["length_m"]) for r in links], np.ones(len(links), int), u,
                  np.minimum(cap_out, fd_capacity) * 3600.0, jam_density=kappa, node_ids=ids,
                  source=str(folder / "links.csv"))
    from metrotwin.models.mobility.demand import read_od_csv

    return net, read_od_csv(folder / "demand.csv")


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
