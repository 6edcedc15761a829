"""How a gridded variable names its grid mapping in a CF netCDF file: the serial writer
(``metrotwin.results.output``) and the tiles of a decomposed run
(``metrotwin.hpc.parallel_output``) write the same attributes."""

from __future__ import annotations

#: the grid mapping variable (rioxarray's name); its attributes hold ``crs_wkt`` and
#: ``spatial_ref`` (WKT), the CF grid-mapping parameters and GDAL's ``GeoTransform``
GRID_MAPPING = "spatial_ref"


def georeferenced(dims, attrs: dict) -> dict:
    """The attributes of a variable on dimensions ``dims``; a gridded one (on y and x) gets
    ``grid_mapping`` and lists the grid mapping variable in ``coordinates``.

    Why both: xarray reads a variable named only by ``grid_mapping`` as a coordinate only
    with ``decode_coords="all"``; listed in ``coordinates`` it is one on a plain
    ``xr.open_dataset(path)`` too, so ``ds.rio.crs`` finds the CRS there (as it did with the
    files rioxarray and older xarray wrote)."""
    attrs = dict(attrs)
    if {"y", "x"} <= set(dims):
        attrs["grid_mapping"] = GRID_MAPPING
        listed = str(attrs.get("coordinates", "")).split()
        attrs["coordinates"] = " ".join([*listed, GRID_MAPPING] if GRID_MAPPING not in listed
                                        else listed)  # fmt: skip
    return attrs
