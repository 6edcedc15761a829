"""The files handed to ``metrotwin init``, looked at before a scenario is written: each file's
kind, CRS and bounds from its header (a raster's with rasterio, a vector's with pyogrio), so
that a bad file is refused naming its option before anything is read in full."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pyproj import CRS

from metrotwin.city.sources.datasources import fmt_bounds
from metrotwin.errors import ScenarioError

RASTER_SUFFIXES = (".tif", ".tiff", ".vrt", ".nc", ".asc", ".img")
OSM_SUFFIXES = (".osm", ".osm.pbf", ".osm.bz2", ".osm.gz", ".pbf")


class InitError(ScenarioError):
    """An input of ``metrotwin init`` cannot be used (message names the option and file)."""


@dataclass
class Layer:
    """One input file: its option (``--dem``), path, CRS and (west, south, east, north) in it."""

    option: str
    path: Path
    crs: CRS | None
    bounds: tuple[float, float, float, float] | None
    raster: bool

    def describe(self) -> str:
        where = fmt_bounds(self.bounds) if self.bounds else "(no extent)"
        return f"{self.option} {self.path}: {where} in {_crs_name(self.crs)}"


def _crs_name(crs: CRS | None) -> str:
    if crs is None:
        return "no CRS"
    epsg = crs.to_epsg(min_confidence=70)
    return f"EPSG:{epsg}" if epsg else crs.name


def is_osm(path: Path) -> bool:
    return "".join(path.suffixes).lower().endswith(OSM_SUFFIXES)


def look_at(option: str, path: Path, *, raster: bool) -> Layer:
    """The layer's header; InitError when the file is missing, unreadable or has no usable CRS
    (none, or a local engineering system that cannot be placed on the Earth)."""
    path = Path(path)
    if not path.is_file():
        raise InitError(f"{option} {path}: no such file")
    if raster:
        crs, bounds = _raster_header(option, path)
    elif is_osm(path):  # OSM is always WGS 84
        return Layer(option, path, CRS.from_epsg(4326), _osm_bounds(option, path), False)
    else:
        crs, bounds = _vector_header(option, path)
    if crs is None:
        raise InitError(
            f"{option} {path}: the file has no CRS; write one into it (e.g. gdal_edit.py -a_srs "
            f"EPSG:XXXX for a raster, ogr2ogr -a_srs for vectors) and run init again"
        )
    if not (crs.is_projected or crs.is_geographic):
        raise InitError(
            f"{option} {path}: its CRS {crs.name!r} is a local system that cannot be placed on "
            f"the Earth; write the file's EPSG code into it (gdal_edit.py -a_srs / ogr2ogr "
            f"-a_srs) and run init again"
        )
    return Layer(option, path, crs, bounds, raster)


def _raster_header(option: str, path: Path):
    import rasterio  # the raster stack loads only when a raster is given

    try:
        with rasterio.open(path) as src:
            crs = _crs_of(src.crs)
            return crs, tuple(float(v) for v in src.bounds)
    except rasterio.errors.RasterioIOError as err:
        raise InitError(f"{option} {path}: cannot read it as a raster ({err})") from None


def _crs_of(crs) -> CRS | None:
    """A rasterio CRS as pyproj's: by its EPSG code when GDAL knows one (a WKT read back from
    a GeoTIFF may not match its code in pyproj), else by its WKT."""
    if not crs:
        return None
    epsg = crs.to_epsg()
    return CRS.from_epsg(epsg) if epsg else CRS.from_wkt(crs.to_wkt())


def _vector_header(option: str, path: Path):
    import pyogrio  # vectors load only when one is given

    try:
        info = pyogrio.read_info(path, force_total_bounds=True)
    except Exception as err:  # noqa: BLE001 - GDAL says the same thing many ways
        raise InitError(f"{option} {path}: cannot read it as vector data ({err})") from None
    if not info.get("features"):
        raise InitError(f"{option} {path}: the file has no features")
    crs = CRS.from_user_input(info["crs"]) if info.get("crs") else None
    return crs, tuple(float(v) for v in info["total_bounds"])


def _osm_bounds(option: str, path: Path):
    """The extent of an OpenStreetMap extract's ways (GDAL's OSM driver)."""
    import pyogrio

    try:
        info = pyogrio.read_info(path, layer="lines", force_total_bounds=True)
    except Exception as err:  # noqa: BLE001 - GDAL says the same thing many ways
        raise InitError(f"{option} {path}: cannot read it as OpenStreetMap data ({err})") from None
    return tuple(float(v) for v in info["total_bounds"])


def vector_columns(path: Path) -> tuple[dict[str, list], int]:
    """The attribute table of a vector file (no geometry): column -> values, and the number
    of features."""
    import pyogrio

    table = pyogrio.read_dataframe(path, read_geometry=False)
    count = int(pyogrio.read_info(path)["features"])
    return {str(c): list(table[c]) for c in table.columns}, count
