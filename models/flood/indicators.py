"""The indicators of the flood model: flooded area and peak volume (by district), buildings
with water at the door, the volume accounts, and the maximum depth along each road link that
the mobility model reads. Over the cells each rank owns, summed exactly across ranks."""

from __future__ import annotations

import numpy as np

from metrotwin.city import landcover
from metrotwin.city.network import max_along_links
from metrotwin.results.indicators import Indicator

#: the volume accounts reported as indicators (``volume_<key>``, m3)
_VOLUMES = (("rain", "rain fallen on the domain"), ("inflow", "inflow hydrographs"),
            ("boundary_out", "net outflow through the domain boundaries"),
            ("infiltration", "infiltrated into the soil"),
            ("drainage", "taken by the drainage inlets"),
            ("retention", "retained on green roofs"),
            ("storage", "water on the surface at the end"))  # fmt: skip


def door_cells(building_id, active, own):
    """(cell, building) pairs: the flat indices of the owned open cells next to a building's
    footprint (4-neighbours), with the building's id."""
    ny, nx = building_id.shape
    pairs = []
    for dr, dc in ((0, 1), (0, -1), (1, 0), (-1, 0)):
        src = building_id[max(0, -dr): ny - max(0, dr), max(0, -dc): nx - max(0, dc)]
        rows, cols = np.nonzero(src > 0)
        rows, cols = rows + max(0, -dr), cols + max(0, -dc)
        nr, nc = rows + dr, cols + dc
        ok = (building_id[nr, nc] == 0) & (active[nr, nc] > 0) & own[nr, nc]
        pairs.append(np.stack([nr[ok] * nx + nc[ok], building_id[rows[ok], cols[ok]]], axis=1))
    return np.unique(np.concatenate(pairs), axis=0) if pairs else np.zeros((0, 2), int)


def building_districts(state, district, own, decomposition) -> dict[int, int]:
    """Each building's district: that of its first cell in the global row-major order."""
    bid = np.asarray(state["building_id"])
    gidx = state.global_cell_index()[own]
    ids = bid[own]
    order = np.lexsort((gidx, ids))
    ids, gidx, dist = ids[order], gidx[order], district[own][order]
    first = np.r_[True, ids[1:] != ids[:-1]] & (ids > 0)
    best = {}
    for part in decomposition.gather_object(
            list(zip(ids[first].tolist(), gidx[first].tolist(), dist[first].tolist()))):
        for b, g, d in part:
            if b not in best or g < best[b][0]:
                best[b] = (g, d)
    return {b: d for b, (g, d) in best.items()}


class FloodIndicators:
    """The static lookups of the indicators (district per cell, the cells at the doors, each
    building's district, the road links' owned cells) and the peak volumes sampled at the
    coupling times. ``owned`` the local slices this rank owns, ``active`` (uint8) the cells
    open to flow, ``area`` the cell area (m2)."""

    def __init__(self, state, ctx, owned, active, area: float):
        self.ctx, self.area = ctx, area
        own = np.zeros(state.grid.shape, dtype=bool)
        own[owned] = True
        district = np.asarray(state["district"]).astype(np.int64)
        self.names = state.district_names
        flood_cells = (active > 0) & (state["land_cover"] != landcover.code_of("water"))
        self.flood_own = flood_cells & own
        self.district_own = {name: self.flood_own & (district == code)
                             for code, name in self.names.items()}  # fmt: skip
        pairs = door_cells(np.asarray(state["building_id"]), active, own)
        self.door_cell, self.door_building = pairs[:, 0], pairs[:, 1]
        self.building_district = building_districts(state, district, own, ctx.decomposition)
        self.peak_volume = 0.0
        self.peak_volume_by = {name: 0.0 for name in self.names.values()}
        self.link_csr = None
        if "link_cell_start" in state and "link_max_flood_depth" in state:
            start, index = state["link_cell_start"], state["link_cell_index"]
            keep = own.ravel()[index]
            kept = np.concatenate([[0], np.cumsum(keep, dtype=np.int64)])
            self.link_csr = (kept[start], index[keep])  # each link's owned cells only

    def sample(self, state, h) -> None:
        """At a coupling time, with depths ``h`` (m): the maximum depth along each road link
        (for the mobility model) and the peak flooded volumes."""
        if self.link_csr is not None:
            state["link_max_flood_depth"][...] = self.ctx.global_max(
                max_along_links(h, *self.link_csr)
            )
        gsum = self.ctx.global_sum
        self.peak_volume = max(self.peak_volume, gsum(h[self.flood_own]) * self.area)
        for name, cells in self.district_own.items():
            self.peak_volume_by[name] = max(self.peak_volume_by[name],
                                            gsum(h[cells]) * self.area)

    def flooded_areas(self, depth_max) -> dict[str, Indicator]:
        """The area where the maximum depth ``depth_max`` (m) exceeded 10 and 30 cm."""
        ind = {}
        gsum = self.ctx.global_sum
        for thr in (0.1, 0.3):
            wet = (depth_max > thr).astype(float)  # cells, counted exactly over the owned ones
            ind[f"flooded_area_{int(round(thr * 100)):02d}cm"] = Indicator(
                gsum(wet[self.flood_own]) * self.area, "m2",
                f"area (outside open water) where the maximum depth exceeded {thr:g} m",
                by_district={name: gsum(wet[cells]) * self.area
                             for name, cells in self.district_own.items()},  # fmt: skip
            )
        return ind

    def buildings_at_door(self, depth_max, door_depth: float) -> Indicator:
        """The buildings with more than ``door_depth`` (m) of maximum depth next to them."""
        wet_doors = self.door_building[depth_max.ravel()[self.door_cell] > door_depth]
        gathered = self.ctx.decomposition.gather_object(np.unique(wet_doors).tolist())
        wet_ids = np.unique(np.array([b for part in gathered for b in part], dtype=np.int64))
        by = {name: 0.0 for name in self.names.values()}
        for b in wet_ids.tolist():
            by[self.names[self.building_district[b]]] += 1.0
        return Indicator(
            float(wet_ids.size), "1",
            f"buildings with more than {door_depth:g} m of water next to their footprint",
            by_district=by,
        )

    def indicators(self, depth_max, door_depth: float, balance: dict,
                   limited: int) -> dict[str, Indicator]:
        """Every indicator, from the maximum depths ``depth_max`` (m), the volume
        ``balance`` (``VolumeAccounts.balance``) and the ``limited`` cell-steps."""
        ind = self.flooded_areas(depth_max)
        ind["peak_flood_volume"] = Indicator(
            self.peak_volume, "m3",
            "largest volume of water standing outside open water (sampled at coupling times)",
            by_district=dict(self.peak_volume_by),
        )
        ind["buildings_water_at_door"] = self.buildings_at_door(depth_max, door_depth)
        ind["volume_balance_error"] = Indicator(
            balance["relative_error"], "1",
            "relative error of the water volume balance (storage change vs in - out)",
        )
        for key, text in _VOLUMES:
            ind[f"volume_{key}"] = Indicator(balance[key], "m3", f"volume {text}")
        ind["limited_cell_steps"] = Indicator(
            float(limited), "1", "cell-steps where the outflow limiter acted"
        )
        return ind

    def checkpoint(self) -> dict:
        saved = {"peak_volume": self.peak_volume}
        for name, v in self.peak_volume_by.items():
            saved[f"peak_volume_by/{name}"] = v
        return saved

    def restore(self, saved: dict) -> None:
        self.peak_volume = float(saved["peak_volume"])
        for name in self.peak_volume_by:
            self.peak_volume_by[name] = float(saved[f"peak_volume_by/{name}"])
