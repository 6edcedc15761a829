"""Travel demand: trips with an origin and destination node, a departure time, a mode, a
population group and a home municipality.

From an OD matrix with a departure-time window (TNTP ``_trips.tntp``, or a CSV of
time-dependent OD flows as UXsim writes it), or a synthetic population drawn from the
city's land use (homes in residential floor area, jobs in commercial, industrial and public
floor area, destination by a gravity model, mode by distance). Deterministic given the
random generator.
"""

from __future__ import annotations

import csv
import logging
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from metrotwin.city.sources import tntp
from metrotwin.hpc.decomposition import exact_sum_finish, exact_sum_partial
from metrotwin.models.mobility import agents, kernels
from metrotwin.models.mobility.errors import MobilityError
from metrotwin.models.mobility.network import JAM_DENSITY, Network
from metrotwin.models.mobility.parallel import global_cells, values_at
from metrotwin.scenario.messages import short_repr

MODES = ("car", "walk", "bike")
CAR, WALK, BIKE = 0, 1, 2


class DemandError(MobilityError):
    """A demand file or synthetic population that cannot be used."""


@dataclass
class Trips:
    """One trip per traveller, sorted by departure time (then by the order given).

    origin, dest : node indices. depart : departure time (s since the start of the run).
    mode : 0 car, 1 walk, 2 bike. group : index into ``group_names``. district : home
    municipality code (a key of ``district_names``).
    """

    origin: np.ndarray
    dest: np.ndarray
    depart: np.ndarray
    mode: np.ndarray = None
    group: np.ndarray = None
    district: np.ndarray = None
    group_names: list[str] = field(default_factory=lambda: ["all"])
    district_names: dict[int, str] = field(default_factory=lambda: {0: "all"})

    def __post_init__(self):
        n = np.asarray(self.origin).size
        self.origin = np.asarray(self.origin, "int64")
        self.dest = np.asarray(self.dest, "int64")
        self.depart = np.asarray(self.depart, float)
        self.mode = np.zeros(n, "int8") if self.mode is None else np.asarray(self.mode, "int8")
        self.group = np.zeros(n, "int16") if self.group is None else np.asarray(self.group, "int16")
        self.district = (np.full(n, min(self.district_names), "int16") if self.district is None
                         else np.asarray(self.district, "int16"))
        order = np.argsort(self.depart, kind="stable")
        if (order != np.arange(n)).any():
            for name in ("origin", "dest", "depart", "mode", "group", "district"):
                setattr(self, name, getattr(self, name)[order])

    def __len__(self) -> int:
        return self.origin.size

    def subset(self, keep: np.ndarray) -> Trips:
        return replace(self, origin=self.origin[keep], dest=self.dest[keep],
                       depart=self.depart[keep], mode=self.mode[keep], group=self.group[keep],
                       district=self.district[keep])


# -- OD demand -------------------------------------------------------------------------------
def read_od_csv(path) -> np.ndarray:
    """Rows (orig, dest, t_start (s), t_end (s), flow (veh/s)) of a CSV with those columns."""
    path = Path(path)
    rows = []
    try:
        with open(path, newline="") as f:
            for n, r in enumerate(csv.DictReader(f), start=2):
                try:
                    rows.append((int(r["orig"]), int(r["dest"]), float(r["t_start_s"]),
                                 float(r["t_end_s"]), float(r["flow_vehps"])))
                except (KeyError, TypeError, ValueError):
                    # the line itself is not quoted: the file may be anything (/etc/passwd)
                    raise DemandError(
                        f"{path}, line {n}: cannot parse it; expected columns orig, dest, "
                        "t_start_s, t_end_s, flow_vehps with numbers") from None
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise DemandError(f"cannot read {path} as CSV ({type(err).__name__})") from None
    rows = np.array(rows, float).reshape(-1, 5)
    bad = (rows[:, 4] < 0) | (rows[:, 3] < rows[:, 2])
    if bad.any():
        raise DemandError(f"{path}: row {int(np.flatnonzero(bad)[0]) + 2} has a negative flow or "
                          "ends before it starts")
    return rows


def read_tntp_trips(path):
    """(orig ids, dest ids, trips) of a TNTP ``_trips.tntp`` OD matrix; the sum must match
    its ``<TOTAL OD FLOW>``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as err:
        raise DemandError(f"cannot read {path}: {type(err).__name__}") from None
    meta, _, body = text.partition("<END OF METADATA>")
    declared = None
    for line in meta.splitlines():
        if line.strip().upper().startswith("<TOTAL OD FLOW>"):
            value = line.split(">", 1)[1].strip()
            try:
                declared = float(value)
            except ValueError:
                # a value after the TNTP tag only (an arbitrary file has no such line)
                raise DemandError(
                    f"{path}: <TOTAL OD FLOW> {short_repr(value, 40)} is not a number"
                ) from None
    if not body:
        raise DemandError(f"{path}: no <END OF METADATA> line; is this a TNTP trips file?")
    orig, dest, vol = [], [], []
    current = None
    # errors give line numbers, never the line: the file may be anything
    for n, line in enumerate(body.splitlines(), start=meta.count("\n") + 1):
        line = line.strip()
        if not line or line.startswith("~"):
            continue
        if line.lower().startswith("origin"):
            try:
                current = int(line.split()[1])
            except (IndexError, ValueError):
                raise DemandError(f"{path}, line {n}: cannot parse it as 'Origin <id>'") from None
            continue
        if current is None:
            raise DemandError(f"{path}, line {n}: OD values before any 'Origin' line")
        for item in line.split(";"):
            if not item.strip():
                continue
            try:
                d, v = item.split(":")
                orig.append(current)
                dest.append(int(d))
                vol.append(float(v))
            except ValueError:
                raise DemandError(f"{path}, line {n}: cannot parse an OD entry of origin "
                                  f"{current}; expected 'destination : trips'") from None
    vol = np.array(vol)
    if declared is None:
        raise DemandError(f"{path}: no <TOTAL OD FLOW> in the metadata")
    if not np.isclose(vol.sum(), declared, rtol=1e-6, atol=1e-6):
        raise DemandError(f"{path}: the OD values sum to {vol.sum():g}, but <TOTAL OD FLOW> says "
                          f"{declared:g}")
    if (vol < 0).any():
        raise DemandError(f"{path}: negative OD values")
    return np.array(orig), np.array(dest), vol


def trips_from_od(net: Network, orig_ids, dest_ids, volume, *, t_start: float, t_end: float,
                  scale: float = 1.0, dt: float = 1.0) -> Trips:
    """Car trips of an OD matrix (volumes x ``scale``) spread evenly over [t_start, t_end)."""
    span = t_end - t_start
    if not span > 0:
        raise DemandError(f"the departure window must be positive, got {t_start:g}..{t_end:g} s")
    rows = np.column_stack([orig_ids, dest_ids, np.full(len(volume), t_start),
                            np.full(len(volume), t_end), np.asarray(volume) * scale / span])
    return trips_from_rows(net, rows, dt=dt)


def trips_from_rows(net: Network, rows: np.ndarray, *, dt: float = 1.0) -> Trips:
    """Car trips of time-dependent OD rows (orig id, dest id, t_start, t_end, flow veh/s)."""
    rows = np.asarray(rows, float).reshape(-1, 5)
    o = net.node_index(rows[:, 0].astype(int), what="origin node")
    d = net.node_index(rows[:, 1].astype(int), what="destination node")
    origin, dest, depart = [], [], []
    for k in range(rows.shape[0]):
        times = kernels.departures_from_flow(rows[k, 2], rows[k, 3], rows[k, 4], dt)
        origin.append(np.full(times.size, o[k]))
        dest.append(np.full(times.size, d[k]))
        depart.append(times)
    cat = (lambda xs: np.concatenate(xs)) if rows.shape[0] else (lambda xs: np.zeros(0))
    return Trips(cat(origin), cat(dest), cat(depart))


# -- synthetic population --------------------------------------------------------------------
def synthetic_population(state, net: Network, params, rng: np.random.Generator, *,
                         start_hour: float, choose_modes=None, grid=None) -> Trips:
    """Morning commuters drawn from the city's buildings (see the module docstring).

    Homes: residential buildings (building_use 1), floor area = footprint x storeys
    (building_height / ``params.storey_height``), one resident per
    ``params.floor_area_per_resident``; each resident commutes with probability
    ``params.commuter_share`` x ``params.sample_fraction`` (x ``params.demand_scale``, a
    factor on the demand whatever its source). Jobs: buildings of use 2, 3, 4,
    one job per ``params.floor_area_per_job``. The workplace is drawn with probability
    proportional to jobs x exp(-distance / ``params.distance_scale``); the mode by
    ``choose_modes`` (default ``agents.choose_modes``: shares by distance band), the group by ``params.group_shares``; departures are normal around
    ``params.departure_peak`` (h) with ``params.departure_spread`` (h).

    On a decomposed grid ``grid`` is the whole grid (``state.grid`` is the rank's tile): the
    buildings are summarised by ``building_table`` over all ranks and the home districts read
    where their cells are owned, so every rank draws the same population.
    """
    grid = state.grid if grid is None else grid
    ids, cells, cx, cy, mean_h, b_use = building_table(state, grid)
    if ids.size == 0:
        raise DemandError("the city has no buildings (building_id): the synthetic population "
                          "needs homes and jobs; give an OD demand instead")
    storeys = np.maximum(1, np.round(mean_h / params.storey_height))
    floor = cells * grid.cell_area * storeys
    home = b_use == 1
    jobs = np.where(np.isin(b_use, (2, 3, 4)), floor / params.floor_area_per_job, 0.0)
    if not home.any() or jobs.sum() <= 0:
        raise DemandError("the city has no residential buildings (building_use 1) or no "
                          "workplaces (building_use 2, 3, 4): the synthetic population needs both")
    expected = floor[home] / params.floor_area_per_resident * params.commuter_share
    expected *= params.sample_fraction * params.demand_scale
    n_home = np.floor(expected + rng.random(expected.size)).astype(int)
    hx, hy = np.repeat(cx[home], n_home), np.repeat(cy[home], n_home)
    n = hx.size
    if n == 0:
        raise DemandError("the synthetic population is empty; raise sample_fraction "
                          f"(now {params.sample_fraction})")
    # workplace by a gravity model, building by building
    job_b = np.flatnonzero(jobs > 0)
    wx, wy = np.empty(n), np.empty(n)
    k = 0
    for b, m in zip(np.flatnonzero(home), n_home):
        if m == 0:
            continue
        dist = np.hypot(cx[job_b] - cx[b], cy[job_b] - cy[b])
        p = jobs[job_b] * np.exp(-dist / params.distance_scale)
        cum = np.cumsum(p)
        pick = job_b[np.searchsorted(cum, rng.random(m) * cum[-1], side="right").clip(0, job_b.size - 1)]
        wx[k:k + m], wy[k:k + m] = cx[pick], cy[pick]
        k += m
    dist_km = np.hypot(wx - hx, wy - hy) * params.detour_factor / 1000.0
    mode = (choose_modes or agents.choose_modes)(dist_km, params.mode_shares, rng)
    names = list(params.group_shares)
    shares = np.array([params.group_shares[g] for g in names], float)
    group = np.searchsorted(np.cumsum(shares) / shares.sum(), rng.random(n), side="right")
    depart = rng.normal(params.departure_peak, params.departure_spread, n)
    depart = np.round((depart - start_hour) * 3600.0)
    r, c, _ = global_cells(grid, hx, hy)
    district = values_at(state, state["district"], r, c).astype("int16")
    origin, dest = nearest_nodes(net, hx, hy), nearest_nodes(net, wx, wy)
    keep = (depart >= 0) & (origin != dest)
    if (~keep).any():
        _warn_once(f"synthetic population: {int((~keep).sum())} of {n} commuters dropped "
                   "(departure before the start of the run, or home and work at the same "
                   "street node)")  # fmt: skip
    group = group.clip(0, len(names) - 1)
    return Trips(origin[keep], dest[keep], depart[keep], mode[keep], group[keep], district[keep],
                 group_names=names, district_names=dict(state.district_names))


_WARNED: set[str] = set()


def _warn_once(message: str) -> None:
    """A warning on the screen once per process (a ``metrotwin run``), not once per variant:
    the variants draw the same population. Later ones say it in their run.log only."""
    if message in _WARNED:
        logging.getLogger("metrotwin.mobility").info(message)
        return
    _WARNED.add(message)
    warnings.warn(message, stacklevel=3)


def building_table(state, grid):
    """(ids, cells, centre x, centre y, mean height, use) of every building of the whole city,
    sorted by id, the same on every rank and bit for bit independent of the decomposition.

    Each rank summarises the buildings' cells it owns (cell count, sums of global row and
    column in integers, the exact partial sum of the heights, the use of the building's last
    cell in global row-major order); these per-building records (not grid-sized) are
    gathered and combined. Centres are cell centres of the mean row and column; the mean
    height is the correctly rounded sum over cells / cells (``exact_sum_partial``).
    """
    dec = state.decomposition
    bid = np.asarray(state.owned(state["building_id"]))
    rows, cols = dec.glb_slices
    has = bid > 0
    r, c = np.nonzero(has)
    r, c = r.astype("int64") + rows.start, c.astype("int64") + cols.start
    b = bid[has].astype("int64")
    height = np.asarray(state.owned(state["building_height"]), float)[has]
    use = np.asarray(state.owned(state["building_use"]))[has]
    flat = r * grid.nx + c
    order = np.lexsort((flat, b))
    b, r, c, height, use, flat = b[order], r[order], c[order], height[order], use[order], flat[order]
    starts = np.flatnonzero(np.r_[True, b[1:] != b[:-1]]) if b.size else np.zeros(0, int)
    ends = np.r_[starts[1:], b.size].astype(int)
    records = [(int(b[i]), int(j - i), int(r[i:j].sum()), int(c[i:j].sum()),
                exact_sum_partial(height[i:j]), int(flat[j - 1]), int(use[j - 1]))
               for i, j in zip(starts, ends)]
    merged = {}
    for part in dec.gather_object(records):
        for key, n, sr, sc, hp, last, u in part:
            m = merged.setdefault(key, [0, 0, 0, [], -1, 0])
            m[0], m[1], m[2] = m[0] + n, m[1] + sr, m[2] + sc
            m[3].append(hp)
            if last > m[4]:
                m[4], m[5] = last, u
    ids = np.array(sorted(merged), "int64")
    cells = np.array([merged[k][0] for k in ids], float)
    mean_row = np.array([merged[k][1] / merged[k][0] for k in ids], float)
    mean_col = np.array([merged[k][2] / merged[k][0] for k in ids], float)
    mean_h = np.array([exact_sum_finish(merged[k][3]) for k in ids], float) / np.maximum(cells, 1)
    b_use = np.array([merged[k][5] for k in ids], int)
    cx = grid.west + (mean_col + 0.5) * grid.resolution
    cy = grid.north - (mean_row + 0.5) * grid.resolution
    return ids, cells, cx, cy, mean_h, b_use


def nearest_nodes(net: Network, x, y) -> np.ndarray:
    """The network node nearest to each point."""
    from scipy.spatial import cKDTree

    tree = cKDTree(np.column_stack([net.node_x, net.node_y]))
    return tree.query(np.column_stack([x, y]))[1].astype("int64")


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
    x, y = tntp.project_lonlat(np.array([float(r["x_lon"]) for r in nodes]),
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
    return net, read_od_csv(folder / "demand.csv")
