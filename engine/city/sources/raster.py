"""Rasters onto the scenario grid: open a GeoTIFF / netCDF (any GDAL raster) with rioxarray,
clip it to the domain, reproject and resample it onto the grid, and count its no-data cells.

Elevation and other heights are resampled bilinearly by default, classes by mode (the most
frequent value); a source may name another method (``resampling:``). GDAL widens the bilinear
kernel when the grid is coarser than the file, so a downsampled layer is an average of the
pixels under the kernel (sharp steps, e.g. roof edges, are smoothed over about one cell). Every reader returns
the values and a provenance dict (``source``, ``resampling``, ``nodata_cells``,
``coverage``) that becomes the layer's attributes.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from pyproj import CRS

from metrotwin.city import tiling
from metrotwin.city.grid import Grid
from metrotwin.city.layer_bounds import BOUNDS, check_bounds
from metrotwin.city.sources.datasources import fmt_bounds, share, warn
from metrotwin.scenario.data import (
    ConstantElevation,
    DataDomain,
    DsmSource,
    ElevationSource,
    RasterSource,
)
from metrotwin.errors import DataSourceError

NETCDF_SUFFIXES = (".nc", ".nc4", ".cdf", ".netcdf")


# -- the grid --------------------------------------------------------------------------------
def domain_grid(domain: DataDomain) -> Grid:
    """The scenario grid: ``extent`` if given, else the elevation raster's extent in the
    domain CRS (its exact cells when the CRS is the same; else the largest box inside the
    reprojected raster, snapped inwards to multiples of the resolution)."""
    res = domain.resolution
    if domain.extent is not None:
        w, s, e, n = domain.extent
        nx, ny = round((e - w) / res), round((n - s) / res)
        return Grid(ny=ny, nx=nx, resolution=res, west=w, north=n, crs=domain.crs)
    assert not isinstance(domain.elevation, ConstantElevation)  # the schema requires extent
    w, s, e, n, same = raster_extent(domain.elevation, domain.crs)
    if not same:
        w, n = math.ceil(w / res - 1e-9) * res, math.floor(n / res + 1e-9) * res
    nx, ny = math.floor((e - w) / res + 1e-6), math.floor((n - s) / res + 1e-6)
    if nx < 1 or ny < 1:
        raise DataSourceError(
            f"elevation file {domain.elevation.path}: its extent {fmt_bounds((w, s, e, n))} is "
            f"smaller than one {res:g} m cell; choose a finer resolution"
        )
    if nx * ny > 50_000_000:
        raise DataSourceError(
            f"elevation file {domain.elevation.path}: {ny}x{nx} cells at {res:g} m is more than "
            f"the 5e7 a domain allows; give a coarser resolution or an 'extent'"
        )
    return Grid(ny=ny, nx=nx, resolution=res, west=w, north=n, crs=domain.crs)


def raster_extent(source: RasterSource, crs: str) -> tuple[float, float, float, float, bool]:
    """(west, south, east, north) of the raster in ``crs``, and whether no reprojection was
    needed (then the bounds are the raster's own cell edges)."""
    da = open_raster(source, what="elevation", quiet=True)  # to_grid reads it again, and says
    src_crs = CRS.from_user_input(da.rio.crs.to_wkt())
    w, s, e, n = da.rio.bounds()
    if same_crs(src_crs, CRS.from_user_input(crs)):
        return w, s, e, n, True
    from pyproj import Transformer

    to_dst = Transformer.from_crs(src_crs, crs, always_xy=True)
    t = np.linspace(0.0, 1.0, 51)
    edges = {
        "west": to_dst.transform(np.full_like(t, w), s + t * (n - s)),
        "east": to_dst.transform(np.full_like(t, e), s + t * (n - s)),
        "south": to_dst.transform(w + t * (e - w), np.full_like(t, s)),
        "north": to_dst.transform(w + t * (e - w), np.full_like(t, n)),
    }
    inner = (
        float(np.max(edges["west"][0])),
        float(np.max(edges["south"][1])),
        float(np.min(edges["east"][0])),
        float(np.min(edges["north"][1])),
    )
    if not np.all(np.isfinite(inner)) or inner[0] >= inner[2] or inner[1] >= inner[3]:
        raise DataSourceError(
            f"elevation file {source.path}: its extent {fmt_bounds((w, s, e, n))} in "
            f"{src_crs.to_string()} cannot be expressed in the domain CRS {crs}; give an 'extent'"
        )
    return (*inner, False)


def same_crs(a: CRS, b: CRS) -> bool:
    if a.equals(b, ignore_axis_order=True):
        return True
    ea, eb = a.to_epsg(min_confidence=70), b.to_epsg(min_confidence=70)
    return ea is not None and ea == eb


# -- reading ---------------------------------------------------------------------------------
def open_raster(source: RasterSource, *, what: str, quiet: bool = False):
    """A 2-D DataArray (y, x) with its CRS; no-data is NaN. Errors name the file; ``quiet``:
    no warning (the file is read again later, and warns then)."""
    import rioxarray

    path = Path(source.path)
    try:
        if path.suffix.lower() in NETCDF_SUFFIXES:
            da = _open_netcdf(source, what)
        else:
            da = rioxarray.open_rasterio(path, masked=True)
            if "band" in da.dims:
                if source.band > da.sizes["band"]:
                    raise DataSourceError(
                        f"{what} file {path}: band {source.band} does not exist; the file has "
                        f"{da.sizes['band']} band(s)"
                    )
                da = da.isel(band=source.band - 1)
    except DataSourceError:
        raise
    except Exception as err:  # noqa: BLE001 - rasterio, GDAL, netCDF: all say the same to a user
        raise DataSourceError(f"{what} file {path}: cannot read it as a raster ({err})") from None
    file_crs = _georeferenced(da.rio.crs, source, what, quiet)
    if source.crs is not None:
        wanted = CRS.from_user_input(source.crs)
        if file_crs is not None and not same_crs(CRS.from_user_input(file_crs.to_wkt()), wanted):
            raise DataSourceError(
                f"{what} file {path}: the file's CRS is {_crs_name(file_crs)} but the scenario "
                f"says crs: {source.crs}; remove 'crs' to use the file's, or fix the file"
            )
        da = da.rio.write_crs(wanted)
    elif file_crs is None:
        raise DataSourceError(
            f"{what} file {path}: the file has no CRS; give its CRS with 'crs:' "
            f"(e.g. crs: EPSG:27700)"
        )
    return da


def _georeferenced(file_crs, source: RasterSource, what: str, quiet: bool):
    """The file's CRS, or None where it has none or only a local (engineering) one: a
    ``LOCAL_CS`` names axes and units but no datum, so it cannot be reprojected, and the
    scenario's ``crs:`` says which real system the numbers are in (momepy's Bubeneč DTM
    writes S-JTSK / Krovak East North, EPSG:5514, as a LOCAL_CS): a warning says so."""
    local = None if file_crs is None else CRS.from_user_input(file_crs.to_wkt())
    if local is None or not local.is_engineering:
        return file_crs
    name = repr(local.name)
    if source.crs is None:
        raise DataSourceError(
            f"{what} file {source.path}: the file's CRS {name} is a local system with no datum; "
            f"give the real CRS its coordinates are in with 'crs:' (e.g. crs: EPSG:5514 for "
            f"S-JTSK / Krovak East North)"
        )
    if not quiet:
        warn(f"{what} file {source.path}: its local CRS {name} (no datum) is taken to be "
             f"{source.crs}, as the scenario's 'crs:' says")
    return None


def _open_netcdf(source: RasterSource, what: str):
    import xarray as xr
    from rioxarray.exceptions import MissingSpatialDimensionError

    ds = xr.open_dataset(source.path, decode_coords="all")
    if source.variable is not None:
        if source.variable not in ds.data_vars:
            raise DataSourceError(
                f"{what} file {source.path}: no variable {source.variable!r}; it has: "
                f"{', '.join(map(str, ds.data_vars))}"
            )
        name = source.variable
    else:
        candidates = [str(v) for v in ds.data_vars if ds[v].ndim >= 2]
        if len(candidates) != 1:
            raise DataSourceError(
                f"{what} file {source.path}: give 'variable:' (2-D variables in the file: "
                f"{', '.join(candidates) or 'none'})"
            )
        name = candidates[0]
    da = ds[name]
    try:
        xdim, ydim = da.rio.x_dim, da.rio.y_dim
    except MissingSpatialDimensionError:
        raise DataSourceError(
            f"{what} file {source.path}: variable {name!r} has dims {da.dims}; metrotwin needs "
            f"x/y (or lon/lat) dimensions"
        ) from None
    extra = [d for d in da.dims if d not in (xdim, ydim)]
    big = [f"{d} ({da.sizes[d]})" for d in extra if da.sizes[d] > 1]
    if big:
        raise DataSourceError(
            f"{what} file {source.path}: variable {name!r} has further dimensions "
            f"{', '.join(big)}; metrotwin needs one 2-D field"
        )
    da = da.isel({d: 0 for d in extra}).transpose(ydim, xdim)
    if da.rio.crs is None and str(xdim).lower() in ("lon", "longitude"):
        da = da.rio.write_crs("EPSG:4326")
    return da.sortby(ydim, ascending=False)


def to_grid(source: RasterSource, grid: Grid, *, what: str, resampling: str):
    """The raster on ``grid`` (float64, NaN where no data) and its provenance."""
    from affine import Affine
    from rasterio.enums import Resampling
    from rioxarray.exceptions import NoDataInBounds, OneDimensionalRaster

    da = open_raster(source, what=what)
    method = source.resampling or resampling
    res_src = max(abs(float(r)) for r in da.rio.resolution())
    src_crs = CRS.from_user_input(da.rio.crs.to_wkt())
    margin = 2.0 * grid.resolution + (2.0 * res_src if src_crs.is_projected else 0.0)
    w, s, e, n = grid.bounds
    try:
        clipped = da.rio.clip_box(
            w - margin, s - margin, e + margin, n + margin, crs=grid.crs, auto_expand=True
        )
    except (NoDataInBounds, OneDimensionalRaster):
        if tiling.current() is None:
            raise DataSourceError(_no_overlap(source, da, grid, what)) from None
        # a tile outside the raster: no data here, which may be fine for the domain
        values = np.full(grid.shape, np.nan)
        n_missing, size = tiling.count(np.ones(grid.shape, bool)), tiling.domain_of(grid).size
        if n_missing == size:
            raise DataSourceError(_no_overlap(source, da, grid, what)) from None
        return values, {"source": str(source.path), "source_crs": _crs_name(da.rio.crs),
                        "resampling": method, "nodata_cells": n_missing,
                        "coverage": float(1.0 - n_missing / size)}
    clipped = clipped.astype("float64")
    clipped = clipped.rio.write_nodata(np.nan, encoded=False)
    out = clipped.rio.reproject(
        grid.crs,
        shape=grid.shape,
        transform=Affine(grid.resolution, 0.0, grid.west, 0.0, -grid.resolution, grid.north),
        resampling=Resampling[method],
        nodata=np.nan,
    )
    values = np.array(out.values, dtype="float64")
    missing = ~np.isfinite(values)
    n_missing, size = tiling.count(missing), tiling.domain_of(grid).size
    if n_missing == size:
        raise DataSourceError(_no_overlap(source, da, grid, what))
    values[missing] = np.nan
    info = {
        "source": str(source.path),
        "source_crs": _crs_name(da.rio.crs),
        "resampling": method,
        "nodata_cells": n_missing,
        "coverage": float(1.0 - n_missing / size),
    }
    return values, info


def _no_overlap(source, da, grid: Grid, what: str) -> str:
    grid = tiling.domain_of(grid)
    return (
        f"{what} file {source.path} does not overlap the domain: the file covers "
        f"{fmt_bounds(da.rio.bounds())} in {_crs_name(da.rio.crs)}, the domain is "
        f"{fmt_bounds(grid.bounds)} in {grid.crs}; check the domain's extent and CRS and the "
        f"file's CRS (a file with a wrong or missing CRS lands elsewhere)"
    )


def _crs_name(crs) -> str:
    try:
        return CRS.from_user_input(crs.to_wkt() if hasattr(crs, "to_wkt") else crs).to_string()
    except Exception:  # noqa: BLE001 - pragma: no cover - exotic CRS
        return str(crs)


# -- layers ----------------------------------------------------------------------------------
def read_elevation(source: ElevationSource, grid: Grid):
    """Ground altitude (m), the ``closed_cell`` layer (or None) and the provenance.

    No-data cells: ``error`` refuses the file naming the count; ``fill`` takes the nearest
    valid cell's value; ``close`` fills the same way and marks the cells closed (flood)."""
    values, info = to_grid(source, grid, what="elevation", resampling="bilinear")
    check_bounds(values, grid, layer="surface_altitude", source=f"elevation file {source.path}")
    missing = np.isnan(values)
    n, domain = info["nodata_cells"], tiling.domain_of(grid)
    closed = None
    if n:
        if source.nodata == "error":
            raise DataSourceError(
                f"elevation file {source.path}: {share(n, domain.size)} of the domain have no "
                f"data (no-data values, or outside the file {fmt_bounds(domain.bounds)}); set "
                f"elevation.nodata: fill (nearest valid value) or close (exclude the cells from "
                f"flow), or narrow the extent"
            )
        tile = tiling.current()
        if tile is None:
            values = fill_nearest(values, missing)
        else:  # the nearest valid cell may lie on another tile: fill the whole, keep ours
            with tiling.whole():
                whole, _ = to_grid(source, domain, what="elevation", resampling="bilinear")
            values = fill_nearest(whole, np.isnan(whole))[tile.window]
        if source.nodata == "close":
            closed = missing.astype("uint8")
            warn(
                f"elevation file {source.path}: {share(n, domain.size)} have no data; closed "
                f"(closed_cell = 1) and filled from the nearest valid cell"
            )
        else:
            warn(
                f"elevation file {source.path}: {share(n, domain.size)} have no data; filled "
                f"from the nearest valid cell"
            )
    info["nodata_policy"] = source.nodata
    return values, closed, info


def fill_nearest(values: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """``values`` with the ``missing`` cells taken from the nearest valid cell."""
    from scipy.ndimage import distance_transform_edt

    if not missing.any():
        return values
    index = distance_transform_edt(missing, return_distances=False, return_indices=True)
    return values[tuple(index)]


def read_dsm_height(source: DsmSource, grid: Grid, ground: np.ndarray, *, ground_source: str):
    """Height of the surface above the ground (DSM - DEM, m, >= 0; 0 where no DSM data).

    A DSM below the DEM by more than ``below_dem_tolerance`` in more than
    ``max_below_fraction`` of the cells is refused (swapped files, another vertical datum or
    units); fewer such cells are clipped to 0 with a warning."""
    dsm, info = to_grid(source, grid, what="DSM", resampling="bilinear")
    check_bounds(dsm, grid, layer="surface_model", source=f"DSM file {source.path}")
    valid = np.isfinite(dsm)
    diff = np.where(valid, dsm - ground, 0.0)
    below = diff < -source.below_dem_tolerance
    n_below, n_valid = int(below.sum()), int(valid.sum())
    if n_below > source.max_below_fraction * n_valid:
        raise DataSourceError(
            f"the DSM {source.path} is lower than the DEM {ground_source} by more than "
            f"{source.below_dem_tolerance:g} m in {share(n_below, n_valid)} (worst "
            f"{float(diff.min()):.2f} m); a DSM is ground + buildings and must not lie below the "
            f"DEM: check that the files are not swapped and share vertical datum and units "
            f"(dsm.max_below_fraction = {source.max_below_fraction:g} is the share allowed)"
        )
    if n_below:
        warn(
            f"DSM {source.path}: {share(n_below, n_valid)} lie more than "
            f"{source.below_dem_tolerance:g} m below the DEM (worst {float(diff.min()):.2f} m); "
            f"taken as ground"
        )
    info["cells_below_dem"] = n_below
    return np.maximum(diff, 0.0), info


def read_canopy(source: RasterSource, grid: Grid):
    """Tree canopy height above ground (m); no-data and negative values are 0 (no tree)."""
    values, info = to_grid(source, grid, what="tree canopy", resampling="bilinear")
    # small negative heights are noise of a CDSM (taken as no tree); huge ones are corruption
    check_bounds(values, grid, layer="tree_canopy_height",
                 source=f"tree canopy file {source.path}", low=-BOUNDS["tree_canopy_height"][1])
    values = np.where(np.isfinite(values), np.maximum(values, 0.0), 0.0)
    top = float(tiling.overall_max(float(values.max(initial=0.0))))
    if top > 150.0:
        raise DataSourceError(
            f"tree canopy file {source.path}: heights up to {top:.1f} m; a canopy "
            f"height is above ground (0-150 m); is it an absolute surface (subtract the DEM)?"
        )
    return values, info
