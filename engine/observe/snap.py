"""Sensor positions onto the model: WGS84 to the scenario CRS, points to grid cells and to the
nearest road link, with the distance of each snap (m)."""

from __future__ import annotations

import numpy as np
from pyproj import Transformer

from metrotwin.city.grid import Grid


def lonlat_to_crs(lon, lat, crs) -> tuple[np.ndarray, np.ndarray]:
    """Eastings and northings (m) in ``crs`` of WGS84 longitudes and latitudes (degrees)."""
    to_crs = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    x, y = to_crs.transform(np.asarray(lon, float), np.asarray(lat, float))
    return np.asarray(x, float), np.asarray(y, float)


def snap_to_cells(grid: Grid, x, y) -> tuple[np.ndarray, np.ndarray]:
    """Flat index (row * nx + col) of the cell holding each point (-1 outside the grid or
    without a position) and the distance from the point to that cell's centre (m; NaN)."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    finite = np.isfinite(x) & np.isfinite(y)
    row, col = grid.index_of(np.where(finite, x, 0.0), np.where(finite, y, 0.0))
    inside = finite & (row >= 0) & (row < grid.ny) & (col >= 0) & (col < grid.nx)
    cell = np.where(inside, row * grid.nx + col, -1).astype(np.int64)
    cx = grid.west + (col + 0.5) * grid.resolution
    cy = grid.north - (row + 0.5) * grid.resolution
    distance = np.where(inside, np.hypot(x - cx, y - cy), np.nan)
    return cell, distance


def snap_to_links(node_x, node_y, link_from, link_to, x, y, *, chunk: int = 256):
    """Index of the road link nearest each point (its centre line: the straight segment between
    its nodes) and the distance to it (m). Of two links equally near (the two directions of a
    road) the lower index is taken. -1 and NaN where there is no link or no position."""
    x, y = np.asarray(x, float), np.asarray(y, float)
    link = np.full(x.shape, -1, np.int64)
    distance = np.full(x.shape, np.nan)
    if len(link_from) == 0:
        return link, distance
    ax, ay = np.asarray(node_x)[link_from], np.asarray(node_y)[link_from]
    dx, dy = np.asarray(node_x)[link_to] - ax, np.asarray(node_y)[link_to] - ay
    length2 = np.where(dx * dx + dy * dy > 0, dx * dx + dy * dy, 1.0)
    finite = np.flatnonzero(np.isfinite(x) & np.isfinite(y))
    for start in range(0, finite.size, chunk):
        rows = finite[start : start + chunk]
        px, py = x[rows, None] - ax, y[rows, None] - ay
        s = np.clip((px * dx + py * dy) / length2, 0.0, 1.0)
        d = np.hypot(px - s * dx, py - s * dy)
        best = np.argmin(d, axis=1)  # first minimum: the lower index on a tie
        link[rows] = best
        distance[rows] = d[np.arange(rows.size), best]
    return link, distance
