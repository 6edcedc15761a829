"""The ground the domain may hold: the DEM read onto the grid (``metrotwin.city.sources``), the
domain trimmed edge by edge while an edge has no-data cells (a reprojected raster's tilted
corners), and what is left to fill from the nearest valid cell."""

from __future__ import annotations

import numpy as np

from metrotwin.city.grid import Grid
from metrotwin.city.sources.raster import to_grid
from metrotwin.run.init.inputs import InitError
from metrotwin.scenario.data import RasterSource

#: most of the domain the trimming may take away; beyond, the holes are filled instead
MAX_TRIMMED = 0.5


def valid_box(valid: np.ndarray) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) row/column bounds (end exclusive) of a box whose edges hold
    no invalid cell, found by trimming the worst edge at a time; stops when the box would
    keep less than 1 - MAX_TRIMMED of the cells (the box so far is returned)."""
    top, bottom, left, right = 0, valid.shape[0], 0, valid.shape[1]
    least = (1 - MAX_TRIMMED) * valid.size
    while bottom - top > 2 and right - left > 2:
        box = valid[top:bottom, left:right]
        bad = {"top": 1 - box[0].mean(), "bottom": 1 - box[-1].mean(),
               "left": 1 - box[:, 0].mean(), "right": 1 - box[:, -1].mean()}  # fmt: skip
        edge = max(bad, key=bad.get)
        if bad[edge] == 0:
            break
        rows, cols = bottom - top - (edge in ("top", "bottom")), right - left - (
            edge in ("left", "right"))  # fmt: skip
        if rows * cols < least:
            break
        top += edge == "top"
        bottom -= edge == "bottom"
        left += edge == "left"
        right -= edge == "right"
    return top, bottom, left, right


def trim_to_data(dem_path, crs: str, extent, resolution: float):
    """(the extent trimmed to the DEM's data, the no-data cells left in it, a log line or
    None); InitError when the DEM holds no data over the domain."""
    w, s, e, n = extent
    grid = Grid(ny=round((n - s) / resolution), nx=round((e - w) / resolution),
                resolution=resolution, west=w, north=n, crs=crs)  # fmt: skip
    values, _ = to_grid(RasterSource(path=dem_path), grid, what="elevation",
                        resampling="bilinear")  # fmt: skip
    valid = np.isfinite(values)
    if not valid.any():
        raise InitError(f"--dem {dem_path}: the file holds no data over the domain")
    top, bottom, left, right = valid_box(valid)
    left_over = int((~valid[top:bottom, left:right]).sum())
    if (top, bottom, left, right) == (0, grid.ny, 0, grid.nx):
        return extent, left_over, None
    trimmed = (w + left * resolution, n - bottom * resolution,
               w + right * resolution, n - top * resolution)  # fmt: skip
    cut = 1 - (bottom - top) * (right - left) / grid.size
    note = (f"--dem {dem_path}: {int((~valid).sum())} cells at the domain's edges have no data; "
            f"the domain is trimmed to its data ({cut:.0%} of the cells cut)")
    return tuple(float(round(v, 6)) for v in trimmed), left_over, note
