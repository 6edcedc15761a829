"""Buildings on the grid: footprints with heights (or storeys x storey height), use and
roof type, rasterised into ``building_height``, ``building_id`` and ``building_use``; or,
without footprints, the parts of a DSM standing ``min_building_height`` above the DEM.

Footprints come from any OGR vector file or an OpenStreetMap ``.osm.pbf`` extract (its
``building=*`` areas, tags as attributes: ``metrotwin.city.sources.osm_areas``). A cell
belongs to the footprint that holds its centre; where footprints overlap, the taller
one wins. Buildings smaller than a cell may hold no cell centre and vanish (counted).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from metrotwin.city import landcover, tiling
from metrotwin.city.grid import Grid
from metrotwin.city.sources.datasources import BUILDING_USES, warn
from metrotwin.scenario.data import BuildingsSource, DsmSource, lookup_key
from metrotwin.city.sources.osm_areas import is_osm_pbf, read_osm_buildings
from metrotwin.city.sources.vector import (
    POLYGONS,
    burn,
    columns_hint,
    features_over_domain,
    read_vector,
)
from metrotwin.errors import DataSourceError

#: Taller than any building on Earth (828 m): heights above this are a units error.
MAX_BUILDING_HEIGHT = 900.0
_NUMBER = re.compile(r"^\s*([-+]?\d+(?:[.,]\d+)?)")


@dataclass
class Buildings:
    """The building layers on the grid, and the roof class of each building cell."""

    height: np.ndarray  # (m above ground)
    id: np.ndarray  # int32, 0 = none
    use: np.ndarray  # int8 (BUILDING_USES codes)
    roof: np.ndarray  # int16 land-cover code of the roof, where id > 0
    info: dict = field(default_factory=dict)


def no_buildings(grid: Grid) -> Buildings:
    zeros = np.zeros(grid.shape)
    return Buildings(
        zeros,
        np.zeros(grid.shape, "int32"),
        np.zeros(grid.shape, "int8"),
        np.zeros(grid.shape, "int16"),
        {"source": "default", "nodata_cells": 0, "coverage": 0.0},
    )


def buildings_from_height(height: np.ndarray, source: DsmSource, dsm_info: dict) -> Buildings:
    """Buildings where the DSM stands at least ``min_building_height`` above the ground; each
    4-connected patch is one building (residential, conventional roof)."""
    from scipy.ndimage import label

    on = height >= source.min_building_height
    ids, n = label(on)
    info = dict(dsm_info)
    info.update(
        method=f"DSM - DEM >= {source.min_building_height:g} m, 4-connected patches",
        buildings=int(n),
        coverage=float(on.mean()),
    )
    return Buildings(
        np.where(on, height, 0.0),
        ids.astype("int32"),
        np.where(on, BUILDING_USES["residential"], 0).astype("int8"),
        np.full(height.shape, landcover.code_of("roof"), dtype="int16"),
        info,
    )


def _footprints(source: BuildingsSource, grid: Grid):
    """The footprints over the domain, from any OGR vector file or an ``.osm.pbf`` extract."""
    what = "building footprints"
    if is_osm_pbf(Path(source.path)):  # GDAL's OSM driver cannot close the rings a cut opened
        osm = read_osm_buildings(Path(source.path))
        return features_over_domain(osm, source, grid, what=what, kinds=POLYGONS)
    return read_vector(source, grid, what=what, kinds=POLYGONS)


def rasterize_buildings(source: BuildingsSource, grid: Grid, *, dsm_height=None) -> Buildings:
    """Footprints of ``source`` on the grid. Heights come from ``height_attribute``, else
    ``storeys_attribute`` x ``storey_height``, else the median DSM - DEM over the footprint
    (when a DSM is given), else ``default_height``; footprints still without a height are
    refused, naming how many and which rows."""
    gdf = _footprints(source, grid)
    has_h = source.height_attribute is not None and source.height_attribute in gdf.columns
    has_s = source.storeys_attribute is not None and source.storeys_attribute in gdf.columns
    if not (has_h or has_s) and dsm_height is None and source.default_height is None:
        asked = (
            " or ".join(repr(a) for a in (source.height_attribute, source.storeys_attribute) if a)
            or "(none named)"
        )
        raise DataSourceError(
            f"building footprints file {source.path} has no height attribute {asked}; its "
            f"attributes are: {columns_hint(gdf)}; set buildings.height_attribute (m) or "
            f"storeys_attribute, give a dsm, or a default_height"
        )
    n = len(gdf)
    height = _numbers(gdf[source.height_attribute]) if has_h else np.full(n, np.nan)
    if has_s:
        storeys = _numbers(gdf[source.storeys_attribute])
        take = ~(height > 0) & (storeys > 0)
        height[take] = storeys[take] * source.storey_height
    height[~(height > 0)] = np.nan
    if np.nanmax(height, initial=0.0) > MAX_BUILDING_HEIGHT:
        worst = int(np.nanargmax(height))
        raise DataSourceError(
            f"building footprints file {source.path}: feature {gdf.index[worst]} is "
            f"{height[worst]:g} m tall; heights must be metres above ground (< "
            f"{MAX_BUILDING_HEIGHT:g} m): check the attribute and its units"
        )

    # burn ids, shortest first so that the tallest footprint wins where they overlap
    order = np.argsort(np.nan_to_num(height, nan=-1.0), kind="stable")
    ids = burn(((gdf.geometry.iloc[i], i + 1) for i in order), grid, dtype="int32")
    # which footprints hold a cell anywhere in the domain (a tile sees only its own)
    cells = tiling.overall_max(np.bincount(ids.ravel(), minlength=n + 1)[1:])

    filled = _fill_missing(height, ids, cells, source, dsm_height, gdf)
    use = _classes(gdf, source.use_attribute, source.use_mapping, source.default_use, source)
    use_code = np.array([0] + [BUILDING_USES[u] for u in use], dtype="int8")
    roof = _classes(gdf, source.roof_attribute, source.roof_mapping, source.default_roof, source)
    roof_code = np.array([0] + [landcover.code_of(r) for r in roof], dtype="int16")
    h_by_id = np.concatenate([[0.0], height])

    lost = int((cells == 0).sum())
    if lost:
        warn(
            f"building footprints file {source.path}: {lost} of {n} footprints over the domain "
            f"hold no cell centre at {grid.resolution:g} m and are left out"
        )
    on = ids > 0
    info = {
        "source": str(source.path),
        "resampling": "footprint holds the cell centre; tallest wins",
        "nodata_cells": 0,
        "coverage": float(tiling.count(on) / tiling.domain_of(grid).size),
        "buildings": int((cells > 0).sum()),
        "footprints_without_cells": lost,
        **filled,
    }
    return Buildings(h_by_id[ids], ids, use_code[ids], roof_code[ids], info)


def _numbers(column) -> np.ndarray:
    """Numbers from an attribute: numeric, or text such as "12", "12.5 m", "7,5"."""
    out = np.full(len(column), np.nan)
    for i, value in enumerate(column):
        if value is None:
            continue
        if isinstance(value, (int, float, np.number)):
            out[i] = float(value)
            continue
        match = _NUMBER.match(str(value))
        if match:
            out[i] = float(match.group(1).replace(",", "."))
    return out


def _fill_missing(height, ids, cells, source, dsm_height, gdf) -> dict:
    """Heights for footprints with none (in place); counts for the provenance."""
    from scipy.ndimage import median

    counts = {"heights_from_dsm": 0, "heights_defaulted": 0}
    need = np.flatnonzero(np.isnan(height) & (cells > 0))
    if need.size and dsm_height is not None:
        med = np.asarray(median(dsm_height, labels=ids, index=need + 1), dtype=float)
        height[need] = np.where(med > 0, med, np.nan)
        counts["heights_from_dsm"] = int(np.isfinite(height[need]).sum())
        need = need[np.isnan(height[need])]
    if need.size and source.default_height is not None:
        height[need] = source.default_height
        counts["heights_defaulted"] = int(need.size)
        warn(
            f"building footprints file {source.path}: {need.size} footprints have no height; "
            f"given default_height {source.default_height:g} m"
        )
        need = need[:0]
    if need.size:
        rows = ", ".join(str(gdf.index[i]) for i in need[:8])
        raise DataSourceError(
            f"building footprints file {source.path}: {need.size} of {len(height)} footprints "
            f"have no height (attribute {source.height_attribute!r} empty or <= 0"
            + (f", no {source.storeys_attribute!r}" if source.storeys_attribute else "")
            + f"), e.g. rows {rows}; fix them, or give buildings.default_height or a dsm"
        )
    height[np.isnan(height)] = 0.0  # footprints that hold no cell
    return counts


def _classes(gdf, attribute, mapping, default, source) -> list[str]:
    if attribute is None:
        return [default] * len(gdf)
    if attribute not in gdf.columns:
        raise DataSourceError(
            f"building footprints file {source.path}: no attribute {attribute!r}; its attributes are: "
            f"{columns_hint(gdf)}"
        )
    return [mapping.get(lookup_key(v), default) if v is not None else default for v in gdf[attribute]]
