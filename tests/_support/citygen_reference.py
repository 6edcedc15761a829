"""The generator's block layout as it was first written: one whole-grid mask per block
(quadratic in the city's size, so only for small test cities). The test oracle for the
sorted, per-block layout in ``metrotwin.city.citygen``, which must give the same town bit for bit.
"""

from __future__ import annotations

import numpy as np

from metrotwin.city.citygen import USE_COMMERCIAL, USE_INDUSTRIAL, USE_PUBLIC, USE_RESIDENTIAL
from metrotwin.city.landcover import CODE


def fill_blocks_by_masks(town, u, v, taken, land_cover, height, bid, use, canopy):
    p, B = town.p, town.p.block_size
    bu = np.floor((u - town.offset[0]) / B).astype(int)
    bv = np.floor((v - town.offset[1]) / B).astype(int)
    nb_u = int(np.ceil(p.size_x / B)) + 2
    free = ~taken
    centre_u, centre_v = 0.55 * p.size_x, 0.62 * p.size_y
    r_tree, r_tree_h, r_yard = town.cell_random(1), town.cell_random(2), town.cell_random(3)
    for ku, kv in sorted(set(zip(bu[free].tolist(), bv[free].tolist()))):
        rng = np.random.default_rng(np.random.SeedSequence([town.seed, 0xB10C, ku + 10_000, kv + 10_000]))
        in_block = free & (bu == ku) & (bv == kv)
        u0 = town.offset[0] + ku * B + float(town.half_width(ku))
        u1 = town.offset[0] + (ku + 1) * B - float(town.half_width(ku + 1))
        v0 = town.offset[1] + kv * B + float(town.half_width(kv))
        v1 = town.offset[1] + (kv + 1) * B - float(town.half_width(kv + 1))
        mid_u, mid_v = (u0 + u1) / 2, (v0 + v1) / 2
        kind = rng.random()
        near_river = abs(mid_v - float(town.river_centre(np.array(mid_u)))) < p.river_width / 2 + 90
        lc = land_cover
        if near_river or kind < 0.10:
            lc[in_block] = CODE["grass"]
            trees = in_block & (r_tree < 0.35)
            canopy[trees] = 8 + 12 * r_tree_h[trees]
            lc[trees] = CODE["trees"]
            if not near_river and rng.random() < 0.5:
                pond = in_block & (np.hypot(u - mid_u, v - mid_v) < 0.25 * B)
                lc[pond] = CODE["water"]
                canopy[pond] = 0
            continue
        if kind < 0.15:
            lc[in_block] = CODE["paved"]
            continue
        lc[in_block] = CODE["paved"]
        inset = 4.0
        r_centre = np.hypot(mid_u - centre_u, mid_v - centre_v) / p.size_x
        south = mid_v < float(town.river_centre(np.array(mid_u)))
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
                inside = in_block & (u >= a + setback) & (u <= b - setback) & (v >= c) & (v <= d)
                height[inside] = round(h, 1)
                bid[inside] = ((kv + 1) * nb_u + (ku + 1)) * 8 + lot
                use[inside] = kind_use
                lc[inside] = CODE["roof"]
        yard = in_block & (lc == CODE["paved"]) & (r_yard < 0.45)
        lc[yard] = CODE["grass"]


def terrain_on_full_grid(town, u, v, dist, north_bank):
    """The terrain with its noise evaluated on every cell (not separably)."""
    p = town.p
    floodplain = town.river_bed(u) + 2.5
    flat = np.where(north_bank, 120.0, 380.0) + p.river_width / 2
    rise = np.clip((dist - flat) / (0.45 * p.size_y), 0.0, 1.0)
    z = floodplain + p.relief * rise * rise * (3 - 2 * rise)
    for lu, lv, ph, amp in town.noise:
        z += amp * np.sin(2 * np.pi * u / lu + ph) * np.cos(2 * np.pi * v / lv - ph)
    bowl_v = town.river_centre(np.array(town.bowl_u)) - p.river_width / 2 - 200.0
    r2 = ((u - town.bowl_u) ** 2 + (v - bowl_v) ** 2) / 180.0**2
    z -= 1.2 * np.exp(-r2)
    return z
