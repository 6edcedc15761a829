"""ParaView-ready output: the fields of a variant as a time series ParaView opens directly.

``write_paraview(variant_dir)`` reads ``<variant_dir>/fields.nc`` and writes
``<variant_dir>/paraview/``:

- ``fields.pvd``   a collection of ``.vti`` image pieces, one per output time (and per MPI
  rank's block of the grid when ``topology`` is given), with every grid field as cell data
  (static layers included, so each time step is complete on its own) in real projected
  coordinates (m), and the time in seconds since the start;
- ``network.pvd``  the road network as ``.vtp`` lines per time step, with the link fields
  (speed, flow, closure...) as cell data, when the run has a road network.

In ParaView: File > Open ``fields.pvd``, Apply; colour by a field; "Warp By Scalar" with
``surface_altitude`` gives relief. Grid cells are VTK cells: the value of cell (row, col)
sits at its centre, ``x[col], y[row]`` of fields.nc.
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from pathlib import Path

os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")

import numpy as np  # noqa: E402
import xarray as xr  # noqa: E402

from metrotwin.errors import DataSourceError  # noqa: E402
from metrotwin.hpc.decomposition import Decomposition
from metrotwin.results.output import FIELDS_FILE, atomic_path  # noqa: E402
from metrotwin.results.rundata import open_fields  # noqa: E402

FOLDER = "paraview"
#: grid layers that are identifiers or categories: written as integers
_INTEGER_KINDS = "iub"


def write_paraview(variant_dir: Path, *, topology: tuple[int, int] | None = None,
                   rank: int | None = None) -> Path:  # fmt: skip
    """Write ``<variant_dir>/paraview/fields.pvd`` (and ``network.pvd``) from ``fields.nc``.

    topology : (ranks along y, ranks along x) of a parallel run: the grid is written as one
        piece per rank (the same blocks as ``metrotwin.hpc.decomposition``); default one piece.
    rank : write only this rank's pieces (each rank calls it for its own block); the
        collection files are written by rank 0 (they name every piece). Default: all pieces.

    Returns the path of ``fields.pvd``.
    """
    variant_dir = Path(variant_dir)
    src = variant_dir / FIELDS_FILE
    if not src.is_file():
        raise DataSourceError(f"{variant_dir}: no {FIELDS_FILE} to convert for ParaView")
    out = variant_dir / FOLDER
    out.mkdir(parents=True, exist_ok=True)
    if rank is None:  # a fresh series: drop the pieces of an earlier layout
        for old in [*out.glob("fields_t*_p*.vti"), *out.glob("network_t*.vtp")]:
            old.unlink()
    with open_fields(variant_dir, decode_coords=True) as ds:
        times = _seconds(ds)
        blocks = _blocks(ds.sizes["y"], ds.sizes["x"], topology or (1, 1))
        entries = []
        for i, t in enumerate(times):
            for r, (rows, cols) in enumerate(blocks):
                name = f"fields_t{i:04d}_p{r}.vti"
                entries.append((t, r, name))
                if rank is None or rank == r:
                    _write_piece(ds, i if "time" in ds.dims else None, rows, cols, out / name)
        pvd = out / "fields.pvd"
        if rank in (None, 0):
            _write_pvd(pvd, entries)
            if _has_network(ds):
                net = []
                for i, t in enumerate(times):
                    name = f"network_t{i:04d}.vtp"
                    _write_network(ds, i if "time" in ds.dims else None, out / name)
                    net.append((t, 0, name))
                _write_pvd(out / "network.pvd", net)
    return pvd


def _seconds(ds: xr.Dataset) -> list[float]:
    if "time" not in ds.dims or ds.sizes["time"] == 0:
        return [0.0]
    t = ds["time"].values
    if np.issubdtype(t.dtype, np.datetime64):
        return [float(s) for s in (t - t[0]) / np.timedelta64(1, "s")]
    return [float(s) for s in t]


def _blocks(ny: int, nx: int, topology: tuple[int, int]):
    py, px = topology
    if py < 1 or px < 1:
        raise ValueError(f"topology must be positive ranks along (y, x), got {topology}")
    return [Decomposition((ny, nx), (py, px), (iy, ix)).glb_slices
            for iy in range(py) for ix in range(px)]  # fmt: skip


def _grid_arrays(ds: xr.Dataset, index: int | None):
    """name -> (ny, nx) values of every grid variable at output ``index``."""
    for name, da in ds.data_vars.items():
        if da.dims[-2:] != ("y", "x") or da.ndim not in (2, 3):
            continue
        if da.ndim == 3:
            if da.dims[0] != "time" or index is None:
                continue
            da = da.isel(time=index)
        values = da.values
        if values.dtype.kind in _INTEGER_KINDS:
            values = values.astype("int32")
        else:
            values = values.astype("float32")
        yield name, values, da.attrs.get("units", "")


def _write_piece(ds, index, rows: slice, cols: slice, path: Path) -> None:
    import pyvista as pv

    x, y = ds["x"].values, ds["y"].values
    res = float(abs(x[1] - x[0])) if len(x) > 1 else 1.0
    sub_x, sub_y = x[cols], y[rows]
    image = pv.ImageData(
        dimensions=(len(sub_x) + 1, len(sub_y) + 1, 1),
        spacing=(res, res, 1.0),
        origin=(float(sub_x.min()) - res / 2, float(sub_y.min()) - res / 2, 0.0),
    )
    for name, values, units in _grid_arrays(ds, index):
        # rows run north -> south in fields.nc; VTK's y index runs south -> north
        image.cell_data[name] = np.ascontiguousarray(values[rows, cols][::-1, :]).ravel()
    if index is not None and "time" in ds:
        image.field_data["time"] = np.array([_seconds(ds)[index]])
        image.field_data["datetime"] = [str(ds["time"].values[index])[:19]]
    with atomic_path(path) as tmp:
        image.save(tmp.with_suffix(".vti"), compression="lz4")
        tmp.with_suffix(".vti").replace(tmp)


def _has_network(ds) -> bool:
    return all(n in ds.data_vars for n in ("node_x", "node_y", "link_from", "link_to"))


def _write_network(ds, index, path: Path) -> None:
    import pyvista as pv

    pts = np.column_stack([ds["node_x"].values, ds["node_y"].values,
                           np.zeros(ds.sizes["node"])])  # fmt: skip
    a, b = ds["link_from"].values.astype(int), ds["link_to"].values.astype(int)
    lines = np.column_stack([np.full(len(a), 2), a, b]).ravel()
    mesh = pv.PolyData(pts, lines=lines)
    for name, da in ds.data_vars.items():
        if da.dims == ("link",):
            mesh.cell_data[name] = da.values
        elif da.dims == ("time", "link") and index is not None:
            mesh.cell_data[name] = da.isel(time=index).values
    with atomic_path(path) as tmp:
        mesh.save(tmp.with_suffix(".vtp"), compression="lz4")
        tmp.with_suffix(".vtp").replace(tmp)


def _write_pvd(path: Path, entries) -> None:
    root = ET.Element("VTKFile", type="Collection", version="0.1", byte_order="LittleEndian")
    coll = ET.SubElement(root, "Collection")
    for t, part, name in entries:
        ET.SubElement(coll, "DataSet", timestep=repr(float(t)), group="", part=str(part),
                      file=name)  # fmt: skip
    ET.indent(root)
    with atomic_path(path) as tmp:
        ET.ElementTree(root).write(tmp, xml_declaration=True, encoding="utf-8")


def read_pvd(path: Path) -> list[tuple[float, int, Path]]:
    """(time, part, file) of every piece a ``.pvd`` names (for tests and scripts)."""
    root = ET.parse(path).getroot()
    return [(float(d.get("timestep")), int(d.get("part", 0)), Path(path).parent / d.get("file"))
            for d in root.iter("DataSet")]  # fmt: skip
