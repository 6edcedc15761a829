"""The road network in the shared state: nodes and links (dims ``node``, ``link``) and the
grid cells each link crosses, so that models can sample grid fields along a road (flood depth,
UTCI) and spread link quantities onto the grid (traffic heat)."""

from __future__ import annotations

import numpy as np
import xarray as xr

from metrotwin.city.landcover import CODE
from metrotwin.city.state import CityState, filter_csr

#: CF metadata of the network variables.
NETWORK_VARIABLES: dict[str, dict] = {
    "node_x": {"units": "m", "long_name": "easting of the network node"},
    "node_y": {"units": "m", "long_name": "northing of the network node"},
    "link_from": {"units": "1", "long_name": "index of the link's upstream node"},
    "link_to": {"units": "1", "long_name": "index of the link's downstream node"},
    "link_length": {"units": "m", "long_name": "length of the road link"},
    "link_lanes": {"units": "1", "long_name": "number of lanes"},
    "link_free_speed": {"units": "m s-1", "long_name": "free-flow speed of the link"},
    "link_capacity": {"units": "h-1", "long_name": "flow capacity of the link (vehicles per hour)"},
    "link_cell_start": {
        "units": "1",
        "long_name": "offset of the link's first cell in link_cell_index (CSR, n_link + 1 values)",
    },
    "link_cell_index": {
        "units": "1",
        "long_name": "flat (row * nx + col) indices of the grid cells the links cross",
    },
}


def add_network(
    state: CityState,
    node_x: np.ndarray,
    node_y: np.ndarray,
    link_from: np.ndarray,
    link_to: np.ndarray,
    *,
    lanes: np.ndarray,
    free_speed: np.ndarray,
    capacity: np.ndarray,
    length: np.ndarray | None = None,
) -> None:
    """Put a directed road network into the state (links run from ``link_from`` to
    ``link_to`` node indices; ``length`` defaults to the straight distance)."""
    node_x, node_y = np.asarray(node_x, float), np.asarray(node_y, float)
    link_from, link_to = np.asarray(link_from, "int32"), np.asarray(link_to, "int32")
    if length is None:
        length = np.hypot(node_x[link_to] - node_x[link_from], node_y[link_to] - node_y[link_from])
    start, index = cells_along_links(state.grid, node_x, node_y, link_from, link_to)
    start, index = drop_bridged_water(state, start, index)
    values = {
        "node_x": ("node", node_x),
        "node_y": ("node", node_y),
        "link_from": ("link", link_from),
        "link_to": ("link", link_to),
        "link_length": ("link", np.asarray(length, float)),
        "link_lanes": ("link", np.asarray(lanes, "int16")),
        "link_free_speed": ("link", np.asarray(free_speed, float)),
        "link_capacity": ("link", np.asarray(capacity, float)),
        "link_cell_start": ("link_bound", start),
        "link_cell_index": ("link_cell", index),
    }
    for name, (dim, data) in values.items():
        state.ds[name] = xr.Variable(dim, data, NETWORK_VARIABLES[name])


def drop_bridged_water(state: CityState, start: np.ndarray, index: np.ndarray):
    """Leave open water out of the links' cells: a road that crosses a river does so on a
    bridge, so the river's depth is no flood on the road (and traffic heat falls on land)."""
    if "land_cover" not in state or index.size == 0:
        return start, index
    dry = state["land_cover"].ravel()[index] != CODE["water"]
    return filter_csr(start, index, dry)


def cells_along_links(grid, node_x, node_y, link_from, link_to):
    """CSR arrays (start, flat index) of the in-grid cells each straight link crosses,
    sampled every quarter cell so that no crossed cell is skipped."""
    starts = [0]
    chunks = []
    for a, b in zip(link_from, link_to):
        x0, y0, x1, y1 = node_x[a], node_y[a], node_x[b], node_y[b]
        n = max(2, int(np.ceil(4 * np.hypot(x1 - x0, y1 - y0) / grid.resolution)) + 1)
        s = np.linspace(0.0, 1.0, n)
        row, col = grid.index_of(x0 + s * (x1 - x0), y0 + s * (y1 - y0))
        inside = (row >= 0) & (row < grid.ny) & (col >= 0) & (col < grid.nx)
        flat = row[inside] * grid.nx + col[inside]
        _, first = np.unique(flat, return_index=True)
        flat = flat[np.sort(first)]  # in order along the link
        chunks.append(flat.astype("int64"))
        starts.append(starts[-1] + flat.size)
    index = np.concatenate(chunks) if chunks else np.zeros(0, "int64")
    return np.asarray(starts, dtype="int64"), index


def max_along_links(field: np.ndarray, start: np.ndarray, index: np.ndarray) -> np.ndarray:
    """The maximum of a grid field over each link's cells (CSR ``start``, flat ``index``):
    cells without a value (NaN) are skipped; a link with no cells, or none with a value,
    gets 0. The flood model's peak depth along each road and the mobility model's come
    from here."""
    flat = field.ravel()[index]
    out = np.zeros(len(start) - 1)
    nonempty = start[1:] > start[:-1]
    if flat.size:
        # fmax, not maximum: one cell without data must not hide the water on the others
        out[nonempty] = np.fmax.reduceat(flat, start[:-1][nonempty])
    return np.where(np.isnan(out), 0.0, out)
