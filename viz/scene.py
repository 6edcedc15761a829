"""3D scenes of a run with PyVista: terrain, extruded buildings, water, heat, roads, agents.

The meshes are built from one variant's ``fields.nc``, decimated to a cell budget (a real
city is far bigger than what a software renderer draws quickly), in *local* coordinates
(metres east and north of the grid's south-west corner, heights exaggerated by ``zscale``)
so that single-precision graphics keep their accuracy. Every function degrades gracefully:
a field that the run did not write is simply not drawn.

Only ``metrotwin.viz`` imports PyVista; import this module after setting
``VTK_DEFAULT_OPENGL_WINDOW`` (``metrotwin.viz.render`` does it) for headless EGL.
"""

from __future__ import annotations

import os

os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")

import numpy as np  # noqa: E402
import pyvista as pv  # noqa: E402

from metrotwin.viz.colors import (  # noqa: E402
    BUILDING_RGB,
    HEAT_FIELDS,
    land_cover_rgb,
)
from metrotwin.results.rundata import VariantRun  # noqa: E402
from metrotwin.viz.decimate import block_reduce, decimation_factor  # noqa: E402

#: Default number of grid cells drawn in 3D (the grid is block-averaged down to it).
CELL_BUDGET = 40_000
WALL_RGB = (196, 188, 176)
WATER_LIFT = 0.4  # m (before exaggeration) above the ground, so water never hides in it


class CityScene:
    """The meshes of one variant at a decimation ``step`` (1 = every cell).

    Static meshes (terrain, buildings, roads geometry) are built once; ``water(i)``,
    ``heat(i)``, ``road_values(i)`` give the dynamic layers at output index ``i``.
    """

    def __init__(self, run: VariantRun, *, budget: int = CELL_BUDGET, zscale: float = 1.5):
        self.run = run
        ds = run.ds
        self.zscale = zscale
        self.ny, self.nx = ds.sizes["y"], ds.sizes["x"]
        x, y = ds["x"].values, ds["y"].values
        self.res = float(abs(x[1] - x[0])) if len(x) > 1 else 1.0
        self.west = float(x.min()) - self.res / 2
        self.south = float(y.min()) - self.res / 2
        self.width, self.height = self.nx * self.res, self.ny * self.res
        self.step = decimation_factor((self.ny, self.nx), budget)
        s = self.step
        # local coordinates of the decimated cell centres (rows north -> south): block means
        # of the 1D coordinates (a full-grid meshgrid took seconds on a 10⁷-cell run)
        xs = block_reduce((x - self.west)[None, :], s, "mean")[0]
        ys = block_reduce((y - self.south)[:, None], s, "mean")[:, 0]
        self.X, self.Y = np.meshgrid(xs, ys)
        self.ground = block_reduce(self._static("surface_altitude", 0.0), s, "mean")
        self.z0 = float(np.nanmin(self.ground)) if self.ground.size else 0.0
        self.cell = s * self.res  # size of a decimated cell (m)

    # -- helpers -------------------------------------------------------------------------
    def _static(self, name: str, default: float) -> np.ndarray:
        ds = self.run.ds
        if name in ds.data_vars and ds[name].dims == ("y", "x"):
            return np.nan_to_num(ds[name].values.astype("float64"), nan=default)
        return np.full((self.ny, self.nx), default)

    def z(self, altitude) -> np.ndarray:
        """Scene height of an altitude (m): relative to the lowest ground, exaggerated."""
        return (np.asarray(altitude, dtype="float64") - self.z0) * self.zscale

    def field(self, name: str, index: int, how: str = "mean") -> np.ndarray | None:
        """A grid field at output ``index``, decimated; None when the run has no such field."""
        ds = self.run.ds
        if name not in ds.data_vars or ds[name].dims[-2:] != ("y", "x"):
            return None
        da = ds[name]
        values = da.isel(time=index).values if "time" in da.dims else da.values
        return block_reduce(values.astype("float64"), self.step, how)

    def sample_ground(self, xl: np.ndarray, yl: np.ndarray) -> np.ndarray:
        """Ground altitude (m) at local coordinates, from the full-resolution layer."""
        alt = self._static("surface_altitude", 0.0)
        col = np.clip((np.asarray(xl) / self.res).astype(int), 0, self.nx - 1)
        row = np.clip(((self.height - np.asarray(yl)) / self.res).astype(int), 0, self.ny - 1)
        return alt[row, col]

    # -- static meshes ---------------------------------------------------------------------
    def terrain(self) -> pv.StructuredGrid:
        """The ground as a surface through the cell centres, with land-cover colours."""
        mesh = pv.StructuredGrid(self.X, self.Y, self.z(self.ground))
        ds = self.run.ds
        if "land_cover" in ds.data_vars:
            attrs = ds["land_cover"].attrs
            codes = block_reduce(ds["land_cover"].values, self.step, "first")
            rgb = land_cover_rgb(
                codes, attrs.get("flag_values", []), attrs.get("flag_meanings", "")
            )
        else:
            rgb = np.tile(np.array([170, 205, 130], "uint8"), (*self.ground.shape, 1))
        mesh.point_data["land_cover_rgb"] = _points(rgb.reshape(*self.ground.shape, 3))
        return mesh

    def buildings(self) -> pv.PolyData | None:
        """Buildings extruded from their heights: roofs coloured by roof type, walls plain."""
        height = block_reduce(self._static("building_height", 0.0), self.step, "max")
        if not (height > 0).any():
            return None
        ds = self.run.ds
        roof_rgb = np.tile(np.array(BUILDING_RGB, "uint8"), (*height.shape, 1))
        if "land_cover" in ds.data_vars:
            attrs = ds["land_cover"].attrs
            lc = ds["land_cover"].values.copy()
            lc[self._static("building_height", 0.0) <= 0] = -1
            codes = block_reduce(np.where(lc < 0, np.nan, lc), self.step, "max")
            roof_codes = np.nan_to_num(codes, nan=0).astype(int)
            rgb = land_cover_rgb(
                roof_codes, attrs.get("flag_values", []), attrs.get("flag_meanings", "")
            )
            has = np.isfinite(codes)
            roof_rgb[has] = rgb[has]
        return extrude_cells(self.X, self.Y, self.z(self.ground), height * self.zscale,
                             self.cell, roof_rgb=roof_rgb, wall_rgb=WALL_RGB)  # fmt: skip

    def roads(self) -> tuple[pv.PolyData, np.ndarray] | None:
        """Road centre lines (one line per street, both directions merged) and, for each
        line, the index of one of its directed links (to map link values onto it)."""
        ds = self.run.ds
        need = ("node_x", "node_y", "link_from", "link_to")
        if not all(n in ds.data_vars for n in need) or ds.sizes.get("link", 0) == 0:
            return None
        nx_ = ds["node_x"].values - self.west
        ny_ = ds["node_y"].values - self.south
        a, b = ds["link_from"].values.astype(int), ds["link_to"].values.astype(int)
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        key = lo.astype("int64") * (len(nx_) + 1) + hi
        _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
        z = self.z(self.sample_ground(nx_, ny_)) + 1.5 * self.zscale
        points = np.column_stack([nx_, ny_, z])
        lines = np.column_stack([np.full(len(first), 2), lo[first], hi[first]]).ravel()
        mesh = pv.PolyData(points, lines=lines)
        self._road_inverse = inverse
        self._n_roads = len(first)
        return mesh, first

    def road_values(self, name: str, index: int, how: str = "min") -> np.ndarray | None:
        """A link field at output ``index`` reduced over the two directions of each street
        (``how`` = "min" or "max"); None when absent. Call ``roads()`` first."""
        ds = self.run.ds
        if (
            name not in ds.data_vars
            or "link" not in ds[name].dims
            or not hasattr(self, "_road_inverse")
        ):
            return None
        da = ds[name]
        values = (da.isel(time=index).values if "time" in da.dims else da.values).astype("float64")
        out = np.full(self._n_roads, np.inf if how == "min" else -np.inf)
        (np.minimum if how == "min" else np.maximum).at(out, self._road_inverse, values)
        out[~np.isfinite(out)] = np.nan
        return out

    # -- dynamic layers --------------------------------------------------------------------
    def water(self, index: int, *, threshold: float = 0.02) -> pv.UnstructuredGrid | None:
        """The water surface where the flood depth exceeds ``threshold`` (m), with point data
        ``depth`` (m); None without flood output or when everything is dry."""
        depth = self.field("flood_water_thickness", index, "max")
        if depth is None:
            return None
        depth = np.nan_to_num(depth, nan=0.0)
        if not (depth > threshold).any():
            return None
        surface = self.z(self.ground + depth + WATER_LIFT)
        mesh = pv.StructuredGrid(self.X, self.Y, surface)
        mesh.point_data["depth"] = _points(depth)
        wet = mesh.threshold(threshold, scalars="depth", all_scalars=False)
        return wet if wet.n_cells else None

    def heat(self, index: int) -> tuple[str, np.ndarray] | None:
        """(field name, values in the field's units) of the first heat field present."""
        for name in HEAT_FIELDS:
            values = self.field(name, index)
            if values is not None:
                return name, values
        return None

    def agents(self, index: int) -> pv.PolyData | None:
        """Agents as points (variables ``agent_x``, ``agent_y`` on an ``agent`` dimension,
        optionally with ``agent_mode`` and ``agent_exposure``); None when absent."""
        ds = self.run.ds
        if not {"agent_x", "agent_y"} <= set(ds.data_vars):
            return None
        pick = {"time": index} if "time" in ds["agent_x"].dims else {}
        ax = ds["agent_x"].isel(pick).values.astype("float64") - self.west
        ay = ds["agent_y"].isel(pick).values.astype("float64") - self.south
        ok = np.isfinite(ax) & np.isfinite(ay)
        if not ok.any():
            return None
        pts = np.column_stack([ax[ok], ay[ok], self.z(self.sample_ground(ax[ok], ay[ok])) + 3.0])
        cloud = pv.PolyData(pts)
        for name in ("agent_mode", "agent_exposure"):
            if name in ds.data_vars:
                cloud.point_data[name] = ds[name].isel(pick).values[ok].astype("float64")
        return cloud

    def district_centres(self) -> dict[str, np.ndarray]:
        """Scene coordinates of each district's centre (for labels and views)."""
        ds = self.run.ds
        if "district" not in ds.data_vars:
            return {}
        attrs = ds["district"].attrs
        codes = np.atleast_1d(attrs.get("flag_values", []))
        names = str(attrs.get("flag_meanings", "")).split()
        d = ds["district"].values
        xx, yy = np.meshgrid(ds["x"].values - self.west, ds["y"].values - self.south)
        alt = self._static("surface_altitude", 0.0)
        out = {}
        for code, name in zip(codes, names):
            sel = d == code
            if sel.any():
                out[name] = np.array([xx[sel].mean(), yy[sel].mean(), self.z(alt[sel].mean())])
        return out

    def land_cover_classes(self, *, roofs_only: bool = False) -> list[tuple[str, tuple]]:
        """(class name, RGB) of the land-cover classes drawn (on the ground and the roofs, or
        on the roofs only), most cells first: the entries of the picture's legend."""
        ds = self.run.ds
        if "land_cover" not in ds.data_vars:
            return []
        attrs = ds["land_cover"].attrs
        lc = ds["land_cover"].values
        if roofs_only:
            lc = lc[self._static("building_height", 0.0) > 0]
        codes, counts = np.unique(lc, return_counts=True)
        names = dict(zip((int(c) for c in np.atleast_1d(attrs.get("flag_values", []))),
                         str(attrs.get("flag_meanings", "")).split()))  # fmt: skip
        out = []
        for code in codes[np.argsort(-counts, kind="stable")]:
            if int(code) in names:
                rgb = land_cover_rgb(np.array([code]), list(names), " ".join(names.values()))[0]
                out.append((names[int(code)], tuple(int(c) for c in rgb)))
        return out

    def scale_bar_length(self) -> float:
        """A round length (m) about a fifth of the domain's width: the scale bar's."""
        return nice_length(self.width / 5)

    def ground_segment(self, length: float) -> tuple[np.ndarray, np.ndarray]:
        """A west-east ground segment of ``length`` m centred on the domain's south edge
        (scene coordinates): what the scale bar measures."""
        x, y = self.width / 2, 0.02 * self.height
        return self._on_ground(x - length / 2, y), self._on_ground(x + length / 2, y)

    def north_arrow(self) -> tuple[np.ndarray, np.ndarray]:
        """A ground segment pointing north (grid +y, the projected CRS's north) from the
        domain's centre: (tail, head), scene coordinates."""
        x, y = self.width / 2, self.height / 2
        return self._on_ground(x, y), self._on_ground(x, y + 0.1 * min(self.height, self.width))

    def _on_ground(self, xl: float, yl: float) -> np.ndarray:
        return np.array([xl, yl, float(self.z(self.sample_ground(xl, yl)))])

    def district_bounds(self) -> dict[str, tuple[float, float, float, float]]:
        """Local (xmin, xmax, ymin, ymax) of each district."""
        ds = self.run.ds
        if "district" not in ds.data_vars:
            return {}
        attrs = ds["district"].attrs
        d = ds["district"].values
        x, y = ds["x"].values - self.west, ds["y"].values - self.south
        out = {}
        for code, name in zip(np.atleast_1d(attrs.get("flag_values", [])),
                              str(attrs.get("flag_meanings", "")).split()):  # fmt: skip
            rows, cols = np.nonzero(d == code)
            if rows.size:
                out[name] = (float(x[cols].min()), float(x[cols].max()),
                             float(y[rows].min()), float(y[rows].max()))  # fmt: skip
        return out


def nice_length(approx: float) -> float:
    """The round length (1, 2 or 5 x 10^k m) at or below ``approx`` (> 0)."""
    if not approx > 0:
        return 1.0
    mag = 10 ** np.floor(np.log10(approx))
    return float(max(m * mag for m in (1, 2, 5) if m * mag <= approx))


def _points(values: np.ndarray) -> np.ndarray:
    """Point data of a StructuredGrid built from (ny, nx) arrays: VTK wants x fastest, in the
    Fortran order of the meshgrid arrays pyvista received."""
    values = np.asarray(values)
    if values.ndim == 3:
        return values.reshape(-1, values.shape[-1], order="F")
    return values.ravel(order="F")


def extrude_cells(X: np.ndarray, Y: np.ndarray, ground: np.ndarray, height: np.ndarray,
                  cell: float, *, roof_rgb: np.ndarray, wall_rgb) -> pv.PolyData:  # fmt: skip
    """Boxes over the cells with ``height`` > 0, as one surface: a roof quad per building
    cell and a wall quad wherever neighbouring tops differ (inner walls are left out).

    X, Y : cell centres (m); ground : ground height (scene units); height : building height
    (scene units, 0 = none); cell : cell size (m). Cell data ``rgb`` (uint8) colours roofs by
    ``roof_rgb`` and walls by ``wall_rgb``.
    """
    built = height > 0
    top = np.where(built, ground + height, ground)
    h = cell / 2
    quads, colours = [], []
    # roofs
    r, c = np.nonzero(built)
    if r.size:
        xc, yc, zt = X[r, c], Y[r, c], top[r, c]
        quads.append(np.stack([
            np.column_stack([xc - h, yc - h, zt]), np.column_stack([xc + h, yc - h, zt]),
            np.column_stack([xc + h, yc + h, zt]), np.column_stack([xc - h, yc + h, zt]),
        ], axis=1))  # fmt: skip
        colours.append(roof_rgb[r, c])
    ny, nx = built.shape

    def walls(t0, t1, b0, b1, x0, y0, x1, y1):
        """Walls along the shared edge from (x0, y0) to (x1, y1) between tops t0 and t1."""
        need = (b0 | b1) & (np.abs(t0 - t1) > 1e-6)
        lo, hi = np.minimum(t0, t1)[need], np.maximum(t0, t1)[need]
        x0, y0, x1, y1 = x0[need], y0[need], x1[need], y1[need]
        if lo.size:
            quads.append(np.stack([
                np.column_stack([x0, y0, lo]), np.column_stack([x1, y1, lo]),
                np.column_stack([x1, y1, hi]), np.column_stack([x0, y0, hi]),
            ], axis=1))  # fmt: skip
            colours.append(np.tile(np.array(wall_rgb, "uint8"), (lo.size, 1)))

    # between east-west neighbours (edge at the east side of the left cell)
    xe = X[:, :-1] + h
    walls(
        top[:, :-1], top[:, 1:], built[:, :-1], built[:, 1:], xe, Y[:, :-1] - h, xe, Y[:, :-1] + h
    )
    # between north-south neighbours (rows go north -> south: edge at the south of row i)
    ys = Y[:-1, :] - h
    walls(
        top[:-1, :], top[1:, :], built[:-1, :], built[1:, :], X[:-1, :] - h, ys, X[:-1, :] + h, ys
    )
    # the outer edges of buildings on the domain border: down to the ground
    for sl, (dx0, dy0, dx1, dy1) in (
        ((slice(None), 0), (-h, -h, -h, h)), ((slice(None), nx - 1), (h, -h, h, h)),
        ((0, slice(None)), (-h, h, h, h)), ((ny - 1, slice(None)), (-h, -h, h, -h)),
    ):  # fmt: skip
        b, t, g = built[sl], top[sl], ground[sl]
        xs, ysl = X[sl], Y[sl]
        walls(t, g, b, b, xs + dx0, ysl + dy0, xs + dx1, ysl + dy1)
    pts = np.concatenate(quads).reshape(-1, 3)
    n = len(pts) // 4
    faces = np.column_stack([np.full(n, 4), np.arange(4 * n).reshape(n, 4)]).ravel()
    mesh = pv.PolyData(pts, faces=faces)
    mesh.cell_data["rgb"] = np.concatenate(colours).astype("uint8")
    return mesh
