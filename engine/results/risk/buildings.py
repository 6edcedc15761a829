"""The buildings of a city, as the impact computations see them, from a run's static layers.

A building is the set of cells of one ``building_id`` (> 0). Its footprint area is its cells
times the cell area (m²); its use the ``building_use`` code most of its cells have (1
residential, 2 commercial, 3 industrial, 4 public; ties to the lower code), its district
likewise; its storeys ``max(1, round(height / storey_height))`` from its tallest cell.

Where its water depth and its residents' outdoor exposure are read: buildings are raised
blocks in the flood model (water stands next to them, not on them) and UTCI is not defined on
them, so a building's *border* is the cells sharing a face with its footprint that are not
part of it (4-neighbours: a cell touching only at a corner does not wet a wall).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from metrotwin.results.risk import RiskInputError

#: ``building_use`` codes of the city state and their names (damage.USE_CLASS keys)
USE_NAMES = {1: "residential", 2: "commercial", 3: "industrial", 4: "public"}
RESIDENTIAL = 1
#: public buildings (schools, hospitals, town halls): the critical facilities
PUBLIC = 4
_FACES = ((-1, 0), (1, 0), (0, -1), (0, 1))


@dataclass(frozen=True)
class Buildings:
    """One entry per building (sorted by id), and where each is on the grid.

    ``cell``/``building`` of ``footprint`` and ``border`` are parallel arrays: a flat grid
    index and the index (into the per-building arrays) of the building it belongs to or
    borders."""

    ids: np.ndarray
    use_code: np.ndarray
    footprint_m2: np.ndarray
    storeys: np.ndarray
    district: np.ndarray
    centroid_cell: np.ndarray
    centroid_xy: np.ndarray
    footprint: tuple[np.ndarray, np.ndarray]
    border: tuple[np.ndarray, np.ndarray]

    @property
    def count(self) -> int:
        return int(self.ids.size)

    @property
    def uses(self) -> np.ndarray:
        """The use names (text) of the buildings."""
        return np.array([USE_NAMES[int(c)] for c in self.use_code], dtype=object)


def cell_area(ds: xr.Dataset) -> float:
    """Area of one grid cell (m²), from the spacing of the x and y coordinates."""
    x, y = np.asarray(ds["x"].values, float), np.asarray(ds["y"].values, float)
    if x.size < 2 or y.size < 2:
        raise RiskInputError("the grid needs at least 2 cells along x and y to know its cell area")
    return float(abs(x[1] - x[0]) * abs(y[1] - y[0]))


def _mode(index: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """Per group ``index`` (0..n-1), the most frequent of ``values`` (ties: the lowest)."""
    pairs, counts = np.unique(np.stack([index, values]), axis=1, return_counts=True)
    order = np.lexsort((pairs[1], -counts, pairs[0]))  # by group, then most cells, then code
    first = np.unique(pairs[0, order], return_index=True)[1]
    out = np.zeros(n, dtype=values.dtype)
    out[pairs[0, order][first]] = pairs[1, order][first]
    return out


def _border(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(building index, flat cell) of each face neighbour of a footprint outside it."""
    ny, nx = labels.shape
    buildings, cells = [], []
    rows, cols = np.nonzero(labels >= 0)
    for dy, dx in _FACES:
        r, c = rows + dy, cols + dx
        inside = (r >= 0) & (r < ny) & (c >= 0) & (c < nx)
        r0, c0, r, c = rows[inside], cols[inside], r[inside], c[inside]
        other = labels[r, c] != labels[r0, c0]
        buildings.append(labels[r0, c0][other])
        cells.append((r * nx + c)[other])
    pairs = np.unique(np.stack([np.concatenate(buildings), np.concatenate(cells)]), axis=1)
    return pairs[0].astype(np.int64), pairs[1].astype(np.int64)


def building_table(ds: xr.Dataset, storey_height: float) -> Buildings:
    """The buildings of the static layers of ``ds`` (a run's fields): building_id,
    building_use, building_height, district and the x, y coordinates."""
    ids_grid = np.asarray(ds["building_id"].values).astype(np.int64)
    ids, labels = np.unique(ids_grid, return_inverse=True)
    labels = labels.reshape(ids_grid.shape) - (1 if ids.size and ids[0] == 0 else 0)
    labels[ids_grid <= 0] = -1
    ids = ids[ids > 0]
    n = ids.size
    cell = np.flatnonzero(labels.ravel() >= 0)
    owner = labels.ravel()[cell]
    use = _mode(owner, np.asarray(ds["building_use"].values).ravel()[cell].astype(np.int64), n)
    unknown = sorted(set(use.tolist()) - set(USE_NAMES))
    if unknown:
        which = ids[np.isin(use, unknown)][:5].tolist()
        raise RiskInputError(
            f"building_use code {unknown[0]} (buildings {which}) has no damage curve; the codes "
            f"with one are {', '.join(f'{k} {v}' for k, v in USE_NAMES.items())}"
        )
    height = np.zeros(n)
    np.maximum.at(height, owner, np.nan_to_num(np.asarray(ds["building_height"].values,
                                                          float).ravel()[cell]))  # fmt: skip
    storeys = np.maximum(1, np.rint(height / storey_height)).astype(np.int64)
    district = _mode(owner, np.asarray(ds["district"].values).ravel()[cell].astype(np.int64), n)
    cells = np.bincount(owner, minlength=n)
    ny, nx = ids_grid.shape
    rows, cols = np.divmod(cell, nx)
    mean_row = np.bincount(owner, rows, minlength=n) / cells
    mean_col = np.bincount(owner, cols, minlength=n) / cells
    x, y = np.asarray(ds["x"].values, float), np.asarray(ds["y"].values, float)
    centroid_xy = np.stack([np.bincount(owner, x[cols], minlength=n) / cells,
                            np.bincount(owner, y[rows], minlength=n) / cells], axis=1)
    centroid_cell = (np.clip(np.rint(mean_row), 0, ny - 1) * nx
                     + np.clip(np.rint(mean_col), 0, nx - 1)).astype(np.int64)  # fmt: skip
    return Buildings(ids=ids, use_code=use, footprint_m2=cells * cell_area(ds),
                     storeys=storeys, district=district, centroid_cell=centroid_cell,
                     centroid_xy=centroid_xy, footprint=(owner, cell),
                     border=_border(labels))  # fmt: skip


def depth_at_buildings(buildings: Buildings, peak_depth, how: str = "border") -> np.ndarray:
    """Water depth (m) at each building from a peak-depth grid (m; NaN counts as dry):
    ``border``, the largest depth in its border cells; ``centroid``, the depth in the cell of
    its footprint centroid (Delft-FIAT's 'centroid': meaningful where the depth map covers
    footprints, which the flood model's raised blocks do not)."""
    depth = np.nan_to_num(np.asarray(peak_depth, float).ravel(), nan=0.0)
    if how == "centroid":
        return np.maximum(depth[buildings.centroid_cell], 0.0)
    if how != "border":
        raise RiskInputError(f"depth_at must be 'border' or 'centroid', got {how!r}")
    out = np.zeros(buildings.count)
    owner, cell = buildings.border
    np.maximum.at(out, owner, np.maximum(depth[cell], 0.0))
    return out


def border_mean(buildings: Buildings, grid) -> np.ndarray:
    """Mean of ``grid`` (y, x) over each building's border cells, finite values only; NaN
    for a building with none (e.g. one filling the whole domain)."""
    values = np.asarray(grid, float).ravel()
    owner, cell = buildings.border
    v = values[cell]
    ok = np.isfinite(v)
    total = np.bincount(owner[ok], v[ok], minlength=buildings.count)
    count = np.bincount(owner[ok], minlength=buildings.count)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)
