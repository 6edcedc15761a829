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

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from metrotwin.grid import Grid
from metrotwin.landcover import CODE
from metrotwin.network import add_network
from metrotwin.scenario import GeneratedCity
from metrotwin.state import CityState, empty_state

DISTRICTS = {1: "Northbank", 2: "Oldtown", 3: "Eastfield"}
AVENUE_EVERY = 4  # every 4th street is a two-lane avenue
STREET_WIDTH = 12.0  # m
AVENUE_WIDTH = 20.0  # m
USE_RESIDENTIAL, USE_COMMERCIAL, USE_INDUSTRIAL, USE_PUBLIC = 1, 2, 3, 4


def generate_city(params: GeneratedCity, seed: int) -> CityState:
    """Build the synthetic city's state (all standard static layers and the road network)."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0xC17]))
    nx = int(round(params.size_x / params.resolution))
    ny = int(round(params.size_y / params.resolution))
    grid = Grid(ny=ny, nx=nx, resolution=params.resolution, west=params.west,
                north=params.north, crs=params.crs)  # fmt: skip
    # local metric coordinates of the cell centres: u east, v north, from the SW corner
    u = (grid.x - grid.west)[None, :] * np.ones((ny, 1))
    v = (grid.y - grid.south)[:, None] * np.ones((1, nx))
    town = _Town(params, rng)

    river_v = town.river_centre(u)
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
    town.fill_blocks(u, v, dist, north_bank, street | river, outskirts,
                     land_cover, building_height, building_id, building_use, canopy, rng)  # fmt: skip
    land_cover[street & ~river] = CODE["road"]
    town.street_trees(u, v, street, avenue, land_cover, canopy, building_height, rng)
    land_cover[river] = CODE["water"]
    building_height[river] = building_id[river] = building_use[river] = canopy[river] = 0
    elevation[river] = town.river_bed(u)[river]
    # ponds are already carved by fill_blocks into land_cover; lower their bed
    pond = (land_cover == CODE["water"]) & ~river
    elevation[pond] -= 1.5

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
    from metrotwin.landcover import cf_flag_attrs

    state.ds["land_cover"].attrs.update(cf_flag_attrs())
    state.ds["district"].attrs.update(
        flag_values=np.array(list(DISTRICTS), dtype="int16"),
        flag_meanings=" ".join(DISTRICTS.values()),
    )
    town.add_roads(state, grid)
    return state


class _Town:
    """The generator's shape functions, all in local metres (u east, v north)."""

    def __init__(self, p: GeneratedCity, rng: np.random.Generator):
        self.p = p
        self.phase = rng.uniform(0, 2 * np.pi)
        self.wavelength = rng.uniform(0.8, 1.3) * p.size_x
        self.amplitude = 0.07 * p.size_y
        self.bowl = (rng.uniform(0.18, 0.32) * p.size_x, None)  # centre u of the low bowl
        self.noise = [(rng.uniform(300, 900), rng.uniform(300, 900), rng.uniform(0, 2 * np.pi),
                       rng.uniform(0.2, 0.5)) for _ in range(4)]  # fmt: skip
        self.offset = (rng.uniform(0, p.block_size), rng.uniform(0, p.block_size))

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
        for lu, lv, ph, amp in self.noise:
            z += amp * np.sin(2 * np.pi * u / lu + ph) * np.cos(2 * np.pi * v / lv - ph)
        # the old town's bowl: up to 1.2 m below the terrace, where a cloudburst ponds
        bowl_u = self.bowl[0]
        bowl_v = self.river_centre(np.array(bowl_u)) - p.river_width / 2 - 200.0
        r2 = ((u - bowl_u) ** 2 + (v - bowl_v) ** 2) / 180.0**2
        z -= 1.2 * np.exp(-r2)
        return z

    def streets(self, u, v, resolution):
        """Masks of street and avenue cells."""
        p = self.p
        half = max(STREET_WIDTH / 2, resolution / 2)
        half_av = max(AVENUE_WIDTH / 2, resolution / 2)
        iu = np.round((u - self.offset[0]) / p.block_size)
        iv = np.round((v - self.offset[1]) / p.block_size)
        du = np.abs(u - self.offset[0] - iu * p.block_size)
        dv = np.abs(v - self.offset[1] - iv * p.block_size)
        av_u, av_v = (iu % AVENUE_EVERY == 0), (iv % AVENUE_EVERY == 0)
        avenue = ((du < half_av) & av_u) | ((dv < half_av) & av_v)
        street = avenue | (du < half) | (dv < half)
        town = ~self.outskirts(u, v)
        return street & town, avenue & town

    def outskirts(self, u, v):
        """Fields beyond the built-up area (a margin around the domain)."""
        m = 0.08
        return (
            (u < m * self.p.size_x) | (u > (1 - m) * self.p.size_x)
            | (v < m * self.p.size_y) | (v > (1 - m) * self.p.size_y)
        )  # fmt: skip

    def block_of(self, u, v):
        p = self.p
        bu = np.floor((u - self.offset[0]) / p.block_size + 0.5).astype(int)
        bv = np.floor((v - self.offset[1]) / p.block_size + 0.5).astype(int)
        return bu, bv

    def fill_blocks(self, u, v, dist, north_bank, street, outskirts,
                    land_cover, height, bid, use, canopy, rng):  # fmt: skip
        """Give every block a use: buildings on lots, a park (trees, pond), or a plaza."""
        p = self.p
        bu, bv = self.block_of(u, v)
        keys = bu * 100_003 + bv
        order = np.argsort(keys, axis=None, kind="stable")
        sorted_keys = keys.ravel()[order]
        bounds = np.flatnonzero(np.diff(sorted_keys)) + 1
        centre_u, centre_v = 0.55 * p.size_x, 0.62 * p.size_y
        next_id = 1
        for cells in np.split(order, bounds):
            cells = cells[~street.ravel()[cells] & ~outskirts.ravel()[cells]]
            if cells.size == 0:
                continue
            cu, cv = u.ravel()[cells], v.ravel()[cells]
            near_river = dist.ravel()[cells].mean() < p.river_width / 2 + 90
            kind = rng.random()
            lc = land_cover.ravel()
            if near_river or kind < 0.10:  # riverside and town parks
                lc[cells] = CODE["grass"]
                trees = rng.random(cells.size) < 0.35
                canopy.ravel()[cells[trees]] = rng.uniform(8, 20, trees.sum())
                lc[cells[trees]] = CODE["trees"]
                if not near_river and cells.size > 60 and rng.random() < 0.5:
                    r = np.hypot(cu - cu.mean(), cv - cv.mean())
                    pond = r < 0.25 * p.block_size
                    lc[cells[pond]] = CODE["water"]
                    canopy.ravel()[cells[pond]] = 0
                continue
            if kind < 0.15:  # plaza
                lc[cells] = CODE["paved"]
                continue
            # built block: sidewalk ring, lots with buildings, yards
            lc[cells] = CODE["paved"]
            u0, u1, v0, v1 = cu.min(), cu.max(), cv.min(), cv.max()
            inset = 6.0
            r_centre = np.hypot(cu.mean() - centre_u, cv.mean() - centre_v) / p.size_x
            east_industry = (not north_bank.ravel()[cells[0]]) and cu.mean() > 0.72 * p.size_x
            n_lots = 1 if east_industry else int(rng.integers(2, 4))
            edges_u = np.linspace(u0 + inset, u1 - inset, n_lots + 1)
            for a, b in zip(edges_u[:-1], edges_u[1:]):
                for c, d in ((v0 + inset, (v0 + v1) / 2 - 2), ((v0 + v1) / 2 + 2, v1 - inset)):
                    setback = rng.uniform(0, 5)
                    inside = (cu >= a + setback) & (cu <= b - setback) & (cv >= c) & (cv <= d)
                    if inside.sum() < 2:
                        continue
                    if east_industry:
                        h, kind_use = rng.uniform(8, 14), USE_INDUSTRIAL
                    elif r_centre < 0.18:
                        h, kind_use = rng.uniform(18, 45), USE_COMMERCIAL
                    else:
                        h = rng.uniform(6, 18)
                        kind_use = USE_PUBLIC if rng.random() < 0.05 else (
                            USE_COMMERCIAL if rng.random() < 0.15 else USE_RESIDENTIAL)  # fmt: skip
                    sel = cells[inside]
                    height.ravel()[sel] = round(h, 1)
                    bid.ravel()[sel] = next_id
                    use.ravel()[sel] = kind_use
                    lc[sel] = CODE["roof"]
                    next_id += 1
            yard = (lc[cells] == CODE["paved"]) & (rng.random(cells.size) < 0.45)
            lc[cells[yard]] = CODE["grass"]

    def street_trees(self, u, v, street, avenue, land_cover, canopy, height, rng):
        """Trees along avenues, on the sealed ground beside the carriageway."""
        beside = np.zeros_like(street)
        beside[1:, :] |= avenue[:-1, :]
        beside[:-1, :] |= avenue[1:, :]
        beside[:, 1:] |= avenue[:, :-1]
        beside[:, :-1] |= avenue[:, 1:]
        spots = beside & ~street & (land_cover == CODE["paved"]) & (height <= 0)
        plant = spots & (rng.random(spots.shape) < 0.5)
        canopy[plant] = rng.uniform(8, 14, plant.sum())

    def add_roads(self, state: CityState, grid: Grid):
        """Intersections of the street grid as nodes, street segments as two directed links;
        segments across the river only where an avenue bridges it."""
        p = self.p
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
            grid.south + node_v[used],
            frm,
            to,
            lanes=np.where(avenue, 2, 1),
            free_speed=np.where(avenue, 50 / 3.6, 30 / 3.6),
            capacity=np.where(avenue, 2 * 1800.0, 900.0),
        )
