"""Land cover from a raster or polygons, mapped onto metrotwin's classes
(:mod:`metrotwin.city.landcover`) with a preset (``umep``, ``esa_worldcover``) or a user table."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from metrotwin.city import landcover, tiling
from metrotwin.city.grid import Grid
from metrotwin.city.sources.datasources import share, warn
from metrotwin.scenario.data import LandCoverSource, lookup_key
from metrotwin.city.sources.raster import to_grid
from metrotwin.city.sources.vector import POLYGONS, burn, columns_hint, read_vector
from metrotwin.errors import DataSourceError

RASTER_SUFFIXES = (".tif", ".tiff", ".vrt", ".img", ".asc", ".nc", ".nc4", ".cdf", ".netcdf")


def read_land_cover(source: LandCoverSource | None, grid: Grid, *, default: str):
    """Land-cover codes (int16) on the grid and their provenance. Cells the source does not
    cover (no-data, outside the file, no polygon) get ``default``."""
    fill = landcover.code_of(default)
    if source is None:
        info = {"source": "default", "nodata_cells": 0, "coverage": 0.0, "default_class": default}
        return np.full(grid.shape, fill, dtype="int16"), info
    if Path(source.path).suffix.lower() in RASTER_SUFFIXES:
        return _from_raster(source, grid, fill, default)
    return _from_polygons(source, grid, fill, default)


def _codes(source: LandCoverSource, values, default: str) -> dict:
    """file value -> metrotwin code for the given values; unmapped ones refused or defaulted."""
    table = source.table
    codes, unmapped = {}, []
    for value in values:
        name = table.get(lookup_key(value))
        if name is None:
            unmapped.append(value)
            name = default
        codes[value] = landcover.code_of(name)
    if unmapped and source.unmapped == "error":
        shown = ", ".join(lookup_key(v) for v in sorted(unmapped, key=lambda v: _num(lookup_key(v)))[:12])
        raise DataSourceError(
            f"land cover file {source.path}: values {shown} have no class in the mapping "
            f"(mapped: {', '.join(sorted(table, key=_num))}); add them to land_cover.mapping "
            f"(classes: {', '.join(landcover.NAMES)}) or set land_cover.unmapped: default"
        )
    if unmapped:
        warn(
            f"land cover file {source.path}: values {', '.join(lookup_key(v) for v in unmapped)} "
            f"have no class; used {default!r}"
        )
    return codes


def _num(key: str):
    try:
        return (0, float(key), "")
    except ValueError:
        return (1, 0.0, key)


def _from_raster(source: LandCoverSource, grid: Grid, fill: int, default: str):
    values, info = to_grid(source, grid, what="land cover", resampling="mode")
    valid = np.isfinite(values)
    out = np.full(grid.shape, fill, dtype="int16")
    present = tiling.union(values[valid])  # the domain's values: one mapping, one message
    codes = _codes(source, [float(v) for v in present], default)
    for value, code in codes.items():
        out[values == value] = code
    info["mapping"] = source.mapping if isinstance(source.mapping, str) else "user table"
    info["default_class"] = default
    if info["nodata_cells"]:
        warn(
            f"land cover file {source.path}: "
            f"{share(info['nodata_cells'], tiling.domain_of(grid).size)} have no "
            f"data; given the default class {default!r}"
        )
    return out, info


def _from_polygons(source: LandCoverSource, grid: Grid, fill: int, default: str):
    gdf = read_vector(source, grid, what="land cover", kinds=POLYGONS)
    if source.attribute is None or source.attribute not in gdf.columns:
        raise DataSourceError(
            f"land cover file {source.path}: "
            + (
                "give land_cover.attribute, the column holding the class; "
                if source.attribute is None
                else f"no attribute {source.attribute!r}; "
            )
            + f"its attributes are: {columns_hint(gdf)}"
        )
    raw = gdf[source.attribute]
    codes = _codes(source, [v for v in raw.dropna().unique()], default)
    shapes = [(geom, codes[v]) for geom, v in zip(gdf.geometry, raw) if v in codes]
    out = burn(shapes, grid, fill=-1, dtype="int32")
    missing = out < 0
    out[missing] = fill
    n = tiling.count(missing)
    info = {
        "source": str(source.path),
        "resampling": "polygon holds the cell centre",
        "nodata_cells": n,
        "coverage": float(1.0 - n / tiling.domain_of(grid).size),
        "mapping": source.mapping if isinstance(source.mapping, str) else "user table",
        "default_class": default,
    }
    return out.astype("int16"), info
