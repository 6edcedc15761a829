"""Vector files onto the scenario grid: read with geopandas (any OGR format: GeoPackage,
GeoJSON, Shapefile, ...), reproject to the grid CRS, keep the features over the domain, and
burn polygons into grid cells (a cell belongs to the polygon that holds its centre)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pyproj import CRS

from metrotwin.city import tiling
from metrotwin.city.grid import Grid
from metrotwin.city.sources.datasources import fmt_bounds
from metrotwin.scenario.data import VectorSource
from metrotwin.city.sources.raster import same_crs
from metrotwin.errors import DataSourceError

POLYGONS = ("Polygon", "MultiPolygon")
LINES = ("LineString", "MultiLineString")


def read_vector(source: VectorSource, grid: Grid, *, what: str, kinds: tuple[str, ...]):
    """The features of ``source`` of geometry ``kinds``, in the grid CRS, that touch the
    domain. Errors name the file: unreadable, no CRS, CRS conflict, wrong geometry type, no
    feature over the domain."""
    import geopandas as gpd

    path = Path(source.path)
    try:
        gdf = gpd.read_file(path, layer=getattr(source, "layer", None))
    except Exception as err:  # noqa: BLE001 - pyogrio / GDAL errors
        raise DataSourceError(
            f"{what} file {path}: cannot read it as vector data ({err})"
        ) from None
    return features_over_domain(gdf, source, grid, what=what, kinds=kinds)


def features_over_domain(gdf, source: VectorSource, grid: Grid, *, what: str,
                         kinds: tuple[str, ...]):  # fmt: skip
    """The features of ``gdf`` (read from ``source``) of geometry ``kinds``, in the grid CRS,
    that touch the domain; errors as :func:`read_vector`'s."""
    from shapely.geometry import box

    path = Path(source.path)
    gdf = gdf[gdf.geometry.notna() & ~gdf.geometry.is_empty]
    if gdf.empty:
        raise DataSourceError(f"{what} file {path}: the file has no features with a geometry")
    if source.crs is not None:
        wanted = CRS.from_user_input(source.crs)
        if gdf.crs is not None and not _same(gdf.crs, wanted):
            raise DataSourceError(
                f"{what} file {path}: the file's CRS is {gdf.crs.to_string()} but the scenario "
                f"says crs: {source.crs}; remove 'crs' to use the file's, or fix the file"
            )
        gdf = gdf.set_crs(wanted, allow_override=True)
    elif gdf.crs is None:
        raise DataSourceError(
            f"{what} file {path}: the file has no CRS; give its CRS with 'crs:' (e.g. crs: EPSG:4326)"
        )
    types = set(gdf.geom_type)
    if not types & set(kinds):
        raise DataSourceError(
            f"{what} file {path}: geometries are {', '.join(sorted(types))}; {what} must be "
            f"{' or '.join(kinds)}"
        )
    gdf = gdf[gdf.geom_type.isin(kinds)]
    grid = tiling.domain_of(grid)  # a tile keeps the domain's features, in the file's order
    file_crs, file_bounds = gdf.crs.to_string(), gdf.total_bounds
    gdf = gdf.to_crs(grid.crs)
    inside = gdf[gdf.intersects(box(*grid.bounds))]
    if inside.empty:
        raise DataSourceError(
            f"{what} file {path}: no feature lies over the domain; the features span "
            f"{fmt_bounds(file_bounds)} in {file_crs}, the domain is {fmt_bounds(grid.bounds)} "
            f"in {grid.crs}; check the extent and the CRS of both"
        )
    return inside


def _same(a, b) -> bool:
    return same_crs(CRS.from_user_input(a), CRS.from_user_input(b))


def burn(shapes, grid: Grid, *, fill: int = 0, dtype: str = "int32") -> np.ndarray:
    """Rasterise (geometry, value) pairs: each cell gets the value of the last shape that
    holds its centre, else ``fill``."""
    from affine import Affine
    from rasterio.features import rasterize

    shapes = list(shapes)
    out = np.full(grid.shape, fill, dtype=dtype)
    if not shapes:
        return out
    transform = Affine(grid.resolution, 0.0, grid.west, 0.0, -grid.resolution, grid.north)
    return rasterize(
        shapes,
        out_shape=grid.shape,
        transform=transform,
        fill=fill,
        out=out,
        all_touched=False,
        dtype=dtype,
    )


def columns_hint(gdf) -> str:
    cols = [str(c) for c in gdf.columns if c != gdf.geometry.name]
    return ", ".join(cols) if cols else "none"
