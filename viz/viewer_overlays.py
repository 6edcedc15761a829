"""Lines and labels laid over the viewer's ground: roads (one polyline per street, following
the displayed terrain) and district outlines and names, from the decimated grid of a
``metrotwin.viz.scene.CityScene``.

Everything sits a few metres above the drawn ground surface (the highest of the four cell
centres around each point, as the surface is bilinear between them), so that neither the
terrain nor the draped field hides it.
"""

from __future__ import annotations

import numpy as np
import pyvista as pv

from metrotwin.viz.scene import CityScene

ROAD_LIFT = 2.0  # m (before exaggeration) above the drawn ground: over the drape (0.6 m)
OUTLINE_LIFT = 2.5  # m, district outlines over the roads where they cross
LABEL_LIFT = 40.0  # m, district names float over the roofs
NAME_SIZE = 0.035  # height of a district name's letters, of the city's shorter side


def surface_height(city: CityScene, xl: np.ndarray, yl: np.ndarray) -> np.ndarray:
    """Altitude (m) at or above the drawn ground at local coordinates (m): the highest of the
    four decimated cell centres around each point."""
    rows, cols = city.ground.shape
    c = (np.asarray(xl, dtype="float64") - city.X[0, 0]) / city.cell
    r = (city.Y[0, 0] - np.asarray(yl, dtype="float64")) / city.cell
    out = np.full(np.shape(c), -np.inf)
    for rr in (np.floor(r), np.ceil(r)):
        for cc in (np.floor(c), np.ceil(c)):
            i = np.clip(rr, 0, rows - 1).astype(int)
            j = np.clip(cc, 0, cols - 1).astype(int)
            out = np.maximum(out, city.ground[i, j])
    return out


class Streets:
    """The road network as one polyline per street (both directions of a link merged).

    ``mesh`` has one cell per street; ``to_streets(values)`` reduces a per-link array to
    one value per street (the lower of its two directions: the speed a driver meets).
    """

    def __init__(self, city: CityScene):
        ds = city.run.ds
        px = ds["node_x"].values.astype("float64") - city.west
        py = ds["node_y"].values.astype("float64") - city.south
        a, b = ds["link_from"].values.astype(int), ds["link_to"].values.astype(int)
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        _, first, self.inverse = np.unique(lo.astype("int64") * (len(px) + 1) + hi,
                                           return_index=True, return_inverse=True)  # fmt: skip
        self.n = len(first)
        self.mesh = _polylines(city, px[lo[first]], py[lo[first]], px[hi[first]], py[hi[first]])

    def to_streets(self, values: np.ndarray) -> np.ndarray:
        """Per street, the lowest of the per-link ``values`` (NaN where all are NaN)."""
        out = np.full(self.n, np.inf)
        np.fmin.at(out, self.inverse, np.asarray(values, dtype="float64"))
        out[np.isinf(out)] = np.nan
        return out


def _polylines(city: CityScene, x0, y0, x1, y1) -> pv.PolyData:
    """Straight streets cut into pieces of about one drawn cell, each point on the ground."""
    length = np.hypot(x1 - x0, y1 - y0)
    pieces = np.clip(np.ceil(length / city.cell), 1, 64).astype(int)
    starts = np.concatenate([[0], np.cumsum(pieces + 1)[:-1]])
    fraction = np.concatenate([np.linspace(0, 1, n + 1) for n in pieces])
    street = np.repeat(np.arange(len(pieces)), pieces + 1)
    x = x0[street] + fraction * (x1 - x0)[street]
    y = y0[street] + fraction * (y1 - y0)[street]
    z = city.z(surface_height(city, x, y) + ROAD_LIFT)
    ids = [np.concatenate([[n + 1], s + np.arange(n + 1)]) for s, n in zip(starts, pieces)]
    lines = np.concatenate(ids) if ids else np.array([], int)
    return pv.PolyData(np.column_stack([x, y, z]), lines=lines)


def district_codes(city: CityScene) -> tuple[np.ndarray, dict[int, str]]:
    """The district code of each drawn cell (0 = none) and code -> name."""
    da = city.run.ds["district"]
    # the first cell of each block, as the terrain's land cover (block_reduce "first")
    codes = np.nan_to_num(da.values[::city.step, ::city.step], nan=0).astype("int32")
    names = dict(zip(np.atleast_1d(da.attrs.get("flag_values", [])).astype(int).tolist(),
                     str(da.attrs.get("flag_meanings", "")).split()))  # fmt: skip
    return codes, names


def district_outlines(city: CityScene, codes: np.ndarray) -> pv.PolyData | None:
    """The borders between drawn cells of different districts and around the domain's
    districts, as line segments on the ground."""
    h = city.cell / 2
    X, Y, segments = city.X, city.Y, []
    # east-west neighbours: a north-south edge between them
    diff = (codes[:, :-1] != codes[:, 1:]) & ((codes[:, :-1] > 0) | (codes[:, 1:] > 0))
    xe, yc = X[:, :-1][diff] + h, Y[:, :-1][diff]
    segments.append(np.column_stack([xe, yc - h, xe, yc + h]))
    # north-south neighbours (rows run north -> south): an east-west edge
    diff = (codes[:-1, :] != codes[1:, :]) & ((codes[:-1, :] > 0) | (codes[1:, :] > 0))
    xc, ys = X[:-1, :][diff], Y[:-1, :][diff] - h
    segments.append(np.column_stack([xc - h, ys, xc + h, ys]))
    for line, (dx0, dy0, dx1, dy1) in (
        ((slice(None), 0), (-h, -h, -h, h)), ((slice(None), -1), (h, -h, h, h)),
        ((0, slice(None)), (-h, h, h, h)), ((-1, slice(None)), (-h, -h, h, -h)),
    ):  # fmt: skip
        inside = codes[line] > 0
        xs, ys_ = X[line][inside], Y[line][inside]
        segments.append(np.column_stack([xs + dx0, ys_ + dy0, xs + dx1, ys_ + dy1]))
    seg = np.concatenate(segments)
    if not len(seg):
        return None
    ends = seg.reshape(-1, 2)
    z = city.z(surface_height(city, ends[:, 0], ends[:, 1]) + OUTLINE_LIFT)
    n = len(seg)
    lines = np.column_stack([np.full(n, 2), 2 * np.arange(n), 2 * np.arange(n) + 1]).ravel()
    return pv.PolyData(np.column_stack([ends, z]), lines=lines)


def district_label_points(city: CityScene, codes: np.ndarray,
                          names: dict[int, str]) -> tuple[np.ndarray, list[str]]:  # fmt: skip
    """(points, names): one point over the middle of each district's drawn cells."""
    points, labels = [], []
    for code, name in names.items():
        sel = codes == code
        if sel.any():
            x, y = float(city.X[sel].mean()), float(city.Y[sel].mean())
            ground = float(surface_height(city, np.array([x]), np.array([y]))[0])
            points.append([x, y, float(city.z(ground + LABEL_LIFT))])
            labels.append(name)
    return np.array(points, dtype="float64").reshape(-1, 3), labels


def district_name_meshes(points: np.ndarray, labels: list[str], city: CityScene
                         ) -> pv.PolyData | None:  # fmt: skip
    """The district names as flat 3D letters over the roofs at ``points`` (one mesh): a
    mesh, unlike a 2D label, reaches the browser's vtk.js scene too. Letters ``NAME_SIZE``
    of the city's shorter side high, lying on the horizontal (read from above)."""
    height = NAME_SIZE * min(city.width, city.height)
    meshes = [pv.Text3D(name, depth=0.1 * height, height=height, center=tuple(point))
              for point, name in zip(points, labels) if name.strip()]
    return pv.merge(meshes) if meshes else None


def values_on_districts(codes: np.ndarray, names: dict[int, str],
                        by_name: dict[str, float]) -> np.ndarray:  # fmt: skip
    """A per-district value spread over its drawn cells (NaN outside the districts named)."""
    lookup = np.full(max(names, default=0) + 1, np.nan)
    for code, name in names.items():
        lookup[code] = by_name.get(name, np.nan)
    inside = (codes > 0) & (codes < len(lookup))
    out = np.full(codes.shape, np.nan)
    out[inside] = lookup[codes[inside]]
    return out
