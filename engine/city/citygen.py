"""The demo city: a synthetic town generated deterministically from a seed.

A river meanders west to east through a valley; the south bank's old town sits on a
low-lying terrace with a shallow bowl where a cloudburst ponds; a street grid with avenues
every fourth street carries a road network with bridges; blocks hold buildings (taller in the
centre), parks with trees and a pond, plazas; the outskirts are fields. Three municipalities
split the town: Northbank (north of the river), Oldtown (south-west) and Eastfield
(south-east).

Everything is a function of metric coordinates, so the same seed gives the same city at any
resolution (up to the cell sampling).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from metrotwin.city.grid import Grid
from metrotwin.city.landcover import CODE, cf_flag_attrs
from metrotwin.city.network import add_network
from metrotwin.city.state import CityState, empty_state

if TYPE_CHECKING:
    from metrotwin.scenario.scenario import GeneratedCity

DISTRICTS = {1: "Northbank", 2: "Oldtown", 3: "Eastfield"}
AVENUE_EVERY = 4  # every 4th street is a two-lane avenue
STREET_WIDTH = 12.0  # m
AVENUE_WIDTH = 20.0  # m
USE_RESIDENTIAL, USE_COMMERCIAL, USE_INDUSTRIAL, USE_PUBLIC = 1, 2, 3, 4


def city_grid(params: GeneratedCity) -> Grid:
    """The global grid of a generated city."""
    return Grid(
        ny=int(round(params.size_y / params.resolution)),
        nx=int(round(params.size_x / params.resolution)),
        resolution=params.resolution,
        west=params.west,
        north=params.north,
        crs=params.crs,
    )


def generate_city(params: GeneratedCity, seed: int, window: tuple[slice, slice] | None = None) -> CityState:
    """Build the synthetic city's state (all standard static layers and the road network).

    ``window`` (rows, cols of the global grid) builds only that tile, with the same values
    the whole city has there: every random choice is keyed by the block or the cell it is
    for, never drawn in sequence, so each MPI rank builds its own tile and nothing of grid
    size passes between ranks.
    """
    full = city_grid(params)
    rows, cols = window if window is not None else (slice(0, full.ny), slice(0, full.nx))
    grid = Grid(ny=rows.stop - rows.start, nx=cols.stop - cols.start, resolution=full.resolution,
                west=full.west + cols.start * full.resolution,
                north=full.north - rows.start * full.resolution, crs=full.crs)  # fmt: skip
    row_index, col_index = np.meshgrid(np.arange(rows.start, rows.stop), np.arange(cols.start, cols.stop),
                                       indexing="ij")  # fmt: skip
    u = (grid.x - full.west)[None, :] * np.ones((grid.ny, 1))
    v = (grid.y - full.south)[:, None] * np.ones((1, grid.nx))
    town = _Town(params, seed, row_index * full.nx + col_index)

    river_v = town.river_centre(u[:1]) * np.ones((grid.ny, 1))  # a function of u alone
    dist = np.abs(v - river_v)  # distance to the river's centre line (m)
    north_bank = v > river_v
    elevation = town.terrain(u, v, dist, north_bank)
    river = dist < params.river_width / 2

    land_cover = np.full(grid.shape, CODE["grass"], dtype="int16")
    building_height = np.zeros(grid.shape)
    building_id = np.zeros(grid.shape, dtype="int32")
    building_use = np.zeros(grid.shape, dtype="int8")
    canopy = np.zeros(grid.shape)

    street, avenue = town.streets(u, v, params.resolution)
    outskirts = town.outskirts(u, v)
    land_cover[outskirts] = CODE["cropland"]
    town.fill_blocks(u, v, street | river | outskirts,
                     land_cover, building_height, building_id, building_use, canopy)  # fmt: skip
    land_cover[street & ~river] = CODE["road"]
    town.street_trees(street, avenue, land_cover, canopy, building_height)
    land_cover[river] = CODE["water"]
    building_height[river] = building_id[river] = building_use[river] = canopy[river] = 0
    elevation[river] = town.river_bed(u)[river]
    pond = (land_cover == CODE["water"]) & ~river
    elevation[pond] = town.pond_floors(u[pond], v[pond])

    district = np.where(north_bank, 1, np.where(u < params.size_x / 2, 2, 3)).astype("int16")
    drainage = np.where(district == 2, 15.0, 25.0)  # the old town's sewers are older and smaller
    drainage[(land_cover == CODE["cropland"]) | (land_cover == CODE["water"])] = 0.0

    state = empty_state(grid)
    for name, values in {
        "surface_altitude": elevation,
        "building_height": building_height,
        "building_id": building_id,
        "building_use": building_use,
        "land_cover": land_cover,
        "tree_canopy_height": canopy,
        "district": district,
        "drainage_capacity": drainage,
    }.items():
        state.add_layer(name, values)
    state.ds["land_cover"].attrs.update(cf_flag_attrs())
    state.ds["district"].attrs.update(
        flag_values=np.array(list(DISTRICTS), dtype="int16"),
        flag_meanings=" ".join(DISTRICTS.values()),
    )
    town.add_roads(state, full)
    return state


def cell_uniform(seed: int, stream: int, index: np.ndarray) -> np.ndarray:
    """Uniform [0, 1) numbers keyed by (seed, stream, cell index): splitmix64 of the key, so
    a cell gets the same number whichever tile it is generated in."""
    with np.errstate(over="ignore"):
        z = (np.asarray(index, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
             + np.uint64((seed * 0x2545F4914F6CDD1D + stream * 0xBF58476D1CE4E5B9) % 2**64))  # fmt: skip
        z ^= z >> np.uint64(30)
        z *= np.uint64(0xBF58476D1CE4E5B9)
        z ^= z >> np.uint64(27)
        z *= np.uint64(0x94D049BB133111EB)
        z ^= z >> np.uint64(31)
    return (z >> np.uint64(11)).astype(np.float64) / float(2**53)


class _Town:
    """The generator's shape functions, all in local metres (u east, v north from the
    south-west corner)."""

    def __init__(self, p: GeneratedCity, seed: int, cell_index: np.ndarray):
        self.p = p
        self.seed = seed
        self.cell_index = cell_index
        rng = np.random.default_rng(np.random.SeedSequence([seed, 0xC17]))
        self.phase = rng.uniform(0, 2 * np.pi)
        self.wavelength = rng.uniform(0.8, 1.3) * p.size_x
        self.amplitude = 0.07 * p.size_y
        self.bowl_u = rng.uniform(0.18, 0.32) * p.size_x  # centre of the old town's low bowl
        self.noise = [(rng.uniform(300, 900), rng.uniform(300, 900), rng.uniform(0, 2 * np.pi),
                       rng.uniform(0.2, 0.5)) for _ in range(4)]  # fmt: skip
        self.offset = (rng.uniform(0, p.block_size), rng.uniform(0, p.block_size))

    def cell_random(self, stream: int) -> np.ndarray:
        return cell_uniform(self.seed, stream, self.cell_index)

    def river_centre(self, u):
        return 0.45 * self.p.size_y + self.amplitude * np.sin(
            2 * np.pi * u / self.wavelength + self.phase
        )

    def river_bed(self, u):
        return 100.0 - 0.0008 * u  # 0.8 m/km down to the east

    def terrain(self, u, v, dist, north_bank):
        p = self.p
        floodplain = self.river_bed(u) + 2.5
        # the valley side rises beyond the floodplain; the south bank's terrace is wider
        flat = np.where(north_bank, 120.0, 380.0) + p.river_width / 2
        rise = np.clip((dist - flat) / (0.45 * p.size_y), 0.0, 1.0)
        z = floodplain + p.relief * rise * rise * (3 - 2 * rise)
        # on the grid (u varies along rows, v down columns) the noise is separable: sines
        # along a row and cosines down a column, multiplied out (the same products as cell
        # by cell, for 1/ny and 1/nx of the trigonometry)
        su, sv = (u[:1], v[:, :1]) if np.ndim(u) == 2 else (u, v)
        for lu, lv, ph, amp in self.noise:
            z += amp * np.sin(2 * np.pi * su / lu + ph) * np.cos(2 * np.pi * sv / lv - ph)
        # the old town's bowl: up to 1.2 m below the terrace, where a cloudburst ponds
        bowl_v = self.river_centre(np.array(self.bowl_u)) - p.river_width / 2 - 200.0
        r2 = ((u - self.bowl_u) ** 2 + (v - bowl_v) ** 2) / 180.0**2
        z -= 1.2 * np.exp(-r2)
        return z

    def block_interior(self, ku: int, kv: int) -> tuple[float, float, float, float]:
        """(u0, u1, v0, v1) of block (``ku``, ``kv``): its buildable interior between the
        street lines around it (analytic, so that a block cut by a tile boundary is laid out
        as a whole)."""
        B = self.p.block_size
        return (self.offset[0] + ku * B + float(self.half_width(ku)),
                self.offset[0] + (ku + 1) * B - float(self.half_width(ku + 1)),
                self.offset[1] + kv * B + float(self.half_width(kv)),
                self.offset[1] + (kv + 1) * B - float(self.half_width(kv + 1)))  # fmt: skip

    def pond_floors(self, u, v) -> np.ndarray:
        """Ground (m) of pond cells at (``u``, ``v``): each pond's floor is level, 1.5 m below
        the lowest ground on its shore (its rim circle, sampled at 64 points of the terrain
        function: the same on every tile). A floor that followed the terrain (the ground
        lowered by 1.5 m) held no still water on a valley side: 1 m of initial water there
        ran off as a sheet at tens of metres per second."""
        B = self.p.block_size
        ku = np.floor((u - self.offset[0]) / B).astype(int)
        kv = np.floor((v - self.offset[1]) / B).astype(int)
        floors = np.empty(np.shape(u))
        angles = np.linspace(0.0, 2 * np.pi, 64, endpoint=False)
        for a, b in set(zip(ku.tolist(), kv.tolist())):
            u0, u1, v0, v1 = self.block_interior(a, b)
            ru = (u0 + u1) / 2 + 0.25 * B * np.cos(angles)
            rv = (v0 + v1) / 2 + 0.25 * B * np.sin(angles)
            centre = self.river_centre(ru)
            shore = self.terrain(ru, rv, np.abs(rv - centre), rv > centre)
            floors[(ku == a) & (kv == b)] = shore.min() - 1.5
        return floors

    def half_width(self, line_index):
        """Half the width (m) of the street on grid line ``line_index``."""
        return np.where(np.asarray(line_index) % AVENUE_EVERY == 0, AVENUE_WIDTH / 2, STREET_WIDTH / 2)

    def streets(self, u, v, resolution):
        """Masks of street and avenue cells."""
        p = self.p
        iu = np.round((u - self.offset[0]) / p.block_size)
        iv = np.round((v - self.offset[1]) / p.block_size)
        du = np.abs(u - self.offset[0] - iu * p.block_size)
        dv = np.abs(v - self.offset[1] - iv * p.block_size)
        half_u = np.maximum(self.half_width(iu), resolution / 2)
        half_v = np.maximum(self.half_width(iv), resolution / 2)
        on_u, on_v = du < half_u, dv < half_v
        avenue = (on_u & (iu % AVENUE_EVERY == 0)) | (on_v & (iv % AVENUE_EVERY == 0))
        town = ~self.outskirts(u, v)
        return (on_u | on_v) & town, avenue & town

    def outskirts(self, u, v):
        """Fields beyond the built-up area (a margin around the domain)."""
        m = 0.08
        return (
            (u < m * self.p.size_x) | (u > (1 - m) * self.p.size_x)
            | (v < m * self.p.size_y) | (v > (1 - m) * self.p.size_y)
        )  # fmt: skip

    def fill_blocks(self, u, v, taken, land_cover, height, bid, use, canopy):
        """Give every block between the streets a use: buildings on lots, a park (trees,
        pond) or a plaza. A block's choices come from a generator keyed by the block.

        The free cells are grouped by block once (a sort), so each block works on its own
        cells only: linear in the cells, not blocks x cells (105 s -> seconds for the
        2.6 M cells of an 11 x 6 km city at 5 m), with the same values cell for cell."""
        p, B = self.p, self.p.block_size
        free = np.flatnonzero(~taken.ravel())
        flat_u, flat_v = u.reshape(-1)[free], v.reshape(-1)[free]
        bu = np.floor((flat_u - self.offset[0]) / B).astype(int)
        bv = np.floor((flat_v - self.offset[1]) / B).astype(int)
        order = np.lexsort((bv, bu))  # blocks in (ku, kv) order, cells in grid order within
        free, flat_u, flat_v, bu, bv = free[order], flat_u[order], flat_v[order], bu[order], bv[order]
        starts = np.flatnonzero(np.r_[True, (bu[1:] != bu[:-1]) | (bv[1:] != bv[:-1])])
        ends = np.r_[starts[1:], len(free)]
        layers = _BlockLayers(land_cover, height, bid, use, canopy)
        randoms = (self.cell_random(1), self.cell_random(2), self.cell_random(3))
        tree, tree_h, yard = (r.reshape(-1)[free] for r in randoms)
        for a, b in zip(starts.tolist(), ends.tolist()):
            cells = _BlockCells(free[a:b], flat_u[a:b], flat_v[a:b], tree[a:b], tree_h[a:b], yard[a:b])
            self._fill_block(int(bu[a]), int(bv[a]), cells, layers)

    def _fill_block(self, ku: int, kv: int, cells: "_BlockCells", out: "_BlockLayers") -> None:
        """Lay out block (``ku``, ``kv``) on its free ``cells`` (flat indices and their
        coordinates, in grid order)."""
        p, B = self.p, self.p.block_size
        nb_u = int(np.ceil(p.size_x / B)) + 2
        centre_u, centre_v = 0.55 * p.size_x, 0.62 * p.size_y
        rng = np.random.default_rng(np.random.SeedSequence([self.seed, 0xB10C, ku + 10_000, kv + 10_000]))
        index, u, v = cells.index, cells.u, cells.v
        lc, canopy = out.land_cover, out.canopy
        u0, u1, v0, v1 = self.block_interior(ku, kv)
        mid_u, mid_v = (u0 + u1) / 2, (v0 + v1) / 2
        kind = rng.random()
        near_river = abs(mid_v - float(self.river_centre(np.array(mid_u)))) < p.river_width / 2 + 90
        if near_river or kind < 0.10:  # riverside and town parks
            lc[index] = CODE["grass"]
            trees = cells.tree < 0.35
            canopy[index[trees]] = 8 + 12 * cells.tree_height[trees]
            lc[index[trees]] = CODE["trees"]
            if not near_river and rng.random() < 0.5:
                pond = index[np.hypot(u - mid_u, v - mid_v) < 0.25 * B]
                lc[pond] = CODE["water"]
                canopy[pond] = 0
            return
        if kind < 0.15:  # plaza
            lc[index] = CODE["paved"]
            return
        # built block: sidewalks, lots with buildings, yards
        lc[index] = CODE["paved"]
        inset = 4.0
        r_centre = np.hypot(mid_u - centre_u, mid_v - centre_v) / p.size_x
        south = mid_v < float(self.river_centre(np.array(mid_u)))
        industry = south and mid_u > 0.72 * p.size_x
        n_lots = 1 if industry else int(rng.integers(2, 4))
        edges_u = np.linspace(u0 + inset, u1 - inset, n_lots + 1)
        lot = 0
        for a, b in zip(edges_u[:-1], edges_u[1:]):
            for c, d in ((v0 + inset, mid_v - 2), (mid_v + 2, v1 - inset)):
                setback = rng.uniform(0, 5)
                if industry:
                    h, kind_use = rng.uniform(8, 14), USE_INDUSTRIAL
                elif r_centre < 0.18:
                    h, kind_use = rng.uniform(18, 45), USE_COMMERCIAL
                else:
                    h = rng.uniform(6, 18)
                    draw = rng.random()
                    kind_use = USE_PUBLIC if draw < 0.05 else (
                        USE_COMMERCIAL if draw < 0.20 else USE_RESIDENTIAL)  # fmt: skip
                lot += 1
                inside = index[(u >= a + setback) & (u <= b - setback) & (v >= c) & (v <= d)]
                out.height[inside] = round(h, 1)
                out.building_id[inside] = ((kv + 1) * nb_u + (ku + 1)) * 8 + lot
                out.use[inside] = kind_use
                lc[inside] = CODE["roof"]
        yard = index[(lc[index] == CODE["paved"]) & (cells.yard < 0.45)]
        lc[yard] = CODE["grass"]

    def street_trees(self, street, avenue, land_cover, canopy, height):
        """Trees along avenues, on the sealed ground beside the carriageway."""
        beside = np.zeros_like(street)
        beside[1:, :] |= avenue[:-1, :]
        beside[:-1, :] |= avenue[1:, :]
        beside[:, 1:] |= avenue[:, :-1]
        beside[:, :-1] |= avenue[:, 1:]
        spots = beside & ~street & (land_cover == CODE["paved"]) & (height <= 0)
        plant = spots & (self.cell_random(4) < 0.5)
        canopy[plant] = 8 + 6 * self.cell_random(5)[plant]

    def add_roads(self, state: CityState, grid: Grid):
        """Intersections of the street grid as nodes, street segments as two directed links;
        segments across the river only where an avenue bridges it."""
        p = self.p
        south = grid.north - grid.ny * grid.resolution
        us = self.offset[0] + p.block_size * np.arange(-1, int(p.size_x / p.block_size) + 2)
        vs = self.offset[1] + p.block_size * np.arange(-1, int(p.size_y / p.block_size) + 2)
        iu_all = np.round((us - self.offset[0]) / p.block_size).astype(int)
        iv_all = np.round((vs - self.offset[1]) / p.block_size).astype(int)
        keep_u = (us > 0.08 * p.size_x) & (us < 0.92 * p.size_x)
        keep_v = (vs > 0.08 * p.size_y) & (vs < 0.92 * p.size_y)
        us, iu_all = us[keep_u], iu_all[keep_u]
        vs, iv_all = vs[keep_v], iv_all[keep_v]
        nu, nv = len(us), len(vs)
        node_u = np.repeat(us[None, :], nv, axis=0).ravel()
        node_v = np.repeat(vs[:, None], nu, axis=1).ravel()
        river_half = p.river_width / 2
        wet = np.abs(node_v - self.river_centre(node_u)) < river_half + 5
        frm, to, avenue = [], [], []
        for j in range(nv):
            for i in range(nu):
                a = j * nu + i
                for b, along_u in ((a + 1, True) if i + 1 < nu else (None, True),
                                   (a + nu, False) if j + 1 < nv else (None, False)):  # fmt: skip
                    if b is None or wet[a] or wet[b]:
                        continue
                    is_av = (iv_all[j] % AVENUE_EVERY == 0) if along_u else (iu_all[i] % AVENUE_EVERY == 0)
                    crosses = np.sign(node_v[a] - self.river_centre(node_u[a])) != np.sign(
                        node_v[b] - self.river_centre(node_u[b])
                    )
                    if crosses and not is_av:
                        continue  # only avenues bridge the river
                    frm += [a, b]
                    to += [b, a]
                    avenue += [is_av, is_av]
        frm, to, avenue = np.array(frm), np.array(to), np.array(avenue, dtype=bool)
        # keep the largest connected part (isolated corners carry no traffic)
        n = nu * nv
        graph = coo_matrix((np.ones(len(frm)), (frm, to)), shape=(n, n))
        _, label = connected_components(graph, directed=False)
        main = np.bincount(label[frm]).argmax() if len(frm) else 0
        used = np.zeros(n, bool)
        used[frm[label[frm] == main]] = True
        renumber = -np.ones(n, int)
        renumber[used] = np.arange(used.sum())
        keep = label[frm] == main
        frm, to, avenue = renumber[frm[keep]], renumber[to[keep]], avenue[keep]
        add_network(
            state,
            grid.west + node_u[used],
            south + node_v[used],
            frm,
            to,
            lanes=np.where(avenue, 2, 1),
            free_speed=np.where(avenue, 50 / 3.6, 30 / 3.6),
            capacity=np.where(avenue, 2 * 1800.0, 900.0),
        )


class _BlockCells(NamedTuple):
    """The free cells of one block: flat indices into the tile, local metres, and the
    cell-keyed random numbers the layout draws on."""

    index: np.ndarray
    u: np.ndarray
    v: np.ndarray
    tree: np.ndarray
    tree_height: np.ndarray
    yard: np.ndarray


class _BlockLayers:
    """Flat (1-D) views of the layers a block writes into."""

    def __init__(self, land_cover, height, building_id, use, canopy):
        self.land_cover = _flat_view(land_cover)
        self.height = _flat_view(height)
        self.building_id = _flat_view(building_id)
        self.use = _flat_view(use)
        self.canopy = _flat_view(canopy)


def _flat_view(array: np.ndarray) -> np.ndarray:
    flat = array.reshape(-1)
    assert np.shares_memory(flat, array), "layers must be contiguous to be filled in place"
    return flat
