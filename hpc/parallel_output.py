"""Parallel output: every rank writes its own tile file; one master file maps the tiles.

The master ``fields.nc`` holds HDF5 virtual datasets, so xarray (netcdf4 or h5netcdf engine)
opens it as the global grid, while nothing of grid size passes through one rank. Its
attribute ``metrotwin_tiles`` lists the tile files: a missing tile would silently read as the
fill value, so the reader of run folders (``metrotwin.results.rundata``) refuses a master
whose tiles are not all there (``missing_tiles``).
"""

from __future__ import annotations

import json
from pathlib import Path

import h5py
import numpy as np

from metrotwin.results.georef import GRID_MAPPING, georeferenced

TILE_DIR = "tiles"
TILES_ATTR = "metrotwin_tiles"
# HDF5 attributes that netCDF-4 manages itself; not copied onto the master's variables
_NETCDF_INTERNAL = {"DIMENSION_LIST", "REFERENCE_LIST", "CLASS", "NAME", "_Netcdf4Dimid",
                    "_Netcdf4Coordinates", "_nc3_strict", "_NCProperties"}  # fmt: skip


def tile_name(rank: int) -> str:
    return f"{TILE_DIR}/fields.{rank:05d}.nc"


def write_master(master: Path, tiles: list[tuple[str, tuple[int, int], tuple[int, int]]],
                 global_x: np.ndarray, global_y: np.ndarray, geotransform: str) -> None:  # fmt: skip
    """Write the master file mapping the tiles onto the global grid.

    ``tiles`` holds (file relative to the master's folder, (row0, row1), (col0, col1)) for
    every rank, rank 0 first (its tile carries the road network and the time axis).
    """
    folder = Path(master).parent
    first = folder / tiles[0][0]
    ny, nx = len(global_y), len(global_x)
    tmp = Path(master).with_name(f".{Path(master).name}.part")
    with h5py.File(first, "r") as src, h5py.File(tmp, "w") as dst:
        for key, value in src.attrs.items():
            if key not in _NETCDF_INTERNAL:
                dst.attrs[key] = value
        dst.attrs[TILES_ATTR] = json.dumps([t[0] for t in tiles])
        nt = src["time"].shape[0]
        scales = {}
        # dimension coordinates: time from rank 0, x and y for the global grid
        for name, data in (("time", src["time"][...]), ("y", global_y), ("x", global_x)):
            ds = dst.create_dataset(name, data=data, maxshape=(None,) if name == "time" else None)
            _copy_attrs(src[name], ds)
            ds.make_scale(name)
            scales[name] = ds
        # dimensions without coordinates (link, node): netCDF-4's convention
        for name, item in src.items():
            if isinstance(item, h5py.Dataset) and item.attrs.get("CLASS") == b"DIMENSION_SCALE" \
                    and name not in scales:  # fmt: skip
                ds = dst.create_dataset(name, shape=item.shape, dtype="f4")
                ds.make_scale("This is a netCDF dimension but not a netCDF variable.")
                scales[name] = ds
        for name, item in src.items():
            if not isinstance(item, h5py.Dataset) or name in scales:
                continue
            dims = _dims(item)
            if dims is None:
                continue
            if dims[-2:] == ("y", "x"):
                shape = (nt, ny, nx) if dims[0] == "time" else (ny, nx)
                layout = h5py.VirtualLayout(shape=shape, dtype=item.dtype)
                for path, (r0, r1), (c0, c1) in tiles:
                    tile_shape = (nt, r1 - r0, c1 - c0) if dims[0] == "time" else (r1 - r0, c1 - c0)
                    source = h5py.VirtualSource(path, name, shape=tile_shape)
                    layout[..., r0:r1, c0:c1] = source
                fill = item.fillvalue
                ds = dst.create_virtual_dataset(name, layout, fillvalue=fill)
            else:  # scalars and network variables: rank 0's copy
                ds = dst.create_dataset(name, data=item[()])
            _copy_attrs(item, ds)
            if dims[-2:] == ("y", "x"):
                _georeference(ds, item)
            if name == GRID_MAPPING:  # rank 0's tile has its own corner; the master, the grid's
                ds.attrs["GeoTransform"] = np.bytes_(geotransform)
            for axis, dim in enumerate(dims):
                ds.dims[axis].attach_scale(scales[dim])
    tmp.replace(master)


def _georeference(ds, item) -> None:
    """A gridded variable names the grid mapping (``grid_mapping``) and lists it in
    ``coordinates``, so that a plain ``xr.open_dataset`` finds the CRS (as in a serial
    run's file, ``metrotwin.results.output.georeferenced``)."""
    attrs = {k: _text(v) for k, v in item.attrs.items() if k in ("grid_mapping", "coordinates")}
    for key, value in georeferenced(("y", "x"), attrs).items():
        if attrs.get(key) != value:
            ds.attrs[key] = np.bytes_(value)


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _dims(item) -> tuple[str, ...] | None:
    """The netCDF dimension names of a dataset, from its attached dimension scales."""
    if item.ndim == 0:
        return ()
    names = []
    for dim in item.dims:
        if len(dim) == 0:
            return None
        names.append(Path(dim[0].name).name)
    return tuple(names)


def _copy_attrs(src, dst) -> None:
    for key, value in src.attrs.items():
        if key not in _NETCDF_INTERNAL:
            dst.attrs[key] = value


def missing_tiles(master: Path) -> list[str]:
    """The tile files (relative to the master's folder) that ``master`` lists and that are
    not there; empty for a master whose tiles are all there and for a serial run's file."""
    with h5py.File(master, "r") as f:
        listed = f.attrs.get(TILES_ATTR)
    if listed is None:
        return []
    return [t for t in json.loads(listed) if not (Path(master).parent / t).exists()]
