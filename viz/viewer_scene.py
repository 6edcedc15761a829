"""The browser viewer's 3D scene: the city of ``metrotwin.viz.scene`` (terrain, buildings
extruded by height), its roads, district outlines and names, and the chosen field: draped
over the ground (water depth, maximum depth so far, heat, exposure by district) or colouring
the roads (traffic speed). Re-coloured in place when the field, time, variant or difference
mode changes (server-side rendering; the browser receives pictures).
"""

from __future__ import annotations

import textwrap

import numpy as np
import pyvista as pv
from vtkmodules.vtkRenderingCore import vtkCellPicker

from metrotwin.viz.colors import cmap_of, shared_range
from metrotwin.viz.maps import diverging_cmap
from metrotwin.viz.scene import CityScene, _points
from metrotwin.viz.viewer_data import ViewerData
from metrotwin.viz.viewer_fields import view_field
from metrotwin.viz.viewer_overlays import (
    Streets,
    district_codes,
    district_label_points,
    district_name_meshes,
    district_outlines,
    values_on_districts,
)

DRAPE_LIFT = 0.6  # m (before exaggeration) above the ground, so the layer never hides in it
DIFFERENCE_HINT = "green = better, pink = worse"  # the comparison report's colours
ROAD_GREY = (90, 90, 90)
OUTLINE_COLOUR = (70, 30, 110)
NAME_COLOUR = (40, 15, 70)  # darker than the outlines: letters read over roofs and water
BAR = {"vertical": True, "fmt": "%.3g", "position_x": 0.82, "position_y": 0.08, "width": 0.06,
       "height": 0.66, "title_font_size": 13, "label_font_size": 12, "color": "black"}  # fmt: skip


class CityMeshes:
    """What does not change during a session: the city's meshes (terrain, buildings,
    streets, district outlines and name points), built once and shared by the scenes of
    the same run (two views side by side)."""

    def __init__(self, data: ViewerData, budget: int):
        self.city = c = CityScene(data.runs[data.baseline], budget=budget)
        self.terrain = c.terrain()
        self.buildings = c.buildings()
        self.streets = Streets(c) if _has_network(c) else None
        self.codes, self.district_names = None, {}
        self.outlines, self.label_points, self.labels = None, None, []
        self.names = None
        if "district" in c.run.ds.data_vars:
            self.codes, self.district_names = district_codes(c)
            self.outlines = district_outlines(c, self.codes)
            self.label_points, self.labels = district_label_points(c, self.codes,
                                                                   self.district_names)
            self.names = district_name_meshes(self.label_points, self.labels, c)

    def add_to(self, plotter: pv.Plotter) -> None:
        """Draw the meshes in ``plotter``."""
        plotter.add_mesh(self.terrain, scalars="land_cover_rgb", rgb=True, name="terrain",
                         pickable=True)  # fmt: skip
        if self.buildings is not None:
            plotter.add_mesh(self.buildings, scalars="rgb", rgb=True, name="buildings")
        if self.outlines is not None:
            plotter.add_mesh(self.outlines, color=OUTLINE_COLOUR, line_width=3,
                             name="district_outlines", pickable=False)  # fmt: skip
        if self.names is not None:  # letters, not 2D labels: vtk.js in the browser draws them
            plotter.add_mesh(self.names, color=NAME_COLOUR, name="district_names",
                             pickable=False, lighting=False)  # fmt: skip


class ViewerScene:
    """A PyVista plotter holding the city and the field of the current view.

    ``like``: another scene of the same ``data`` whose city meshes this one shares (a second
    view side by side: the static meshes are built once); its budget then applies.
    """

    def __init__(self, data: ViewerData, *, budget: int = 40_000, size=(960, 640),
                 like: ViewerScene | None = None):  # fmt: skip
        self.data = data
        self.meshes = like.meshes if like is not None else CityMeshes(data, budget)
        m = self.meshes
        self.city, self.streets = m.city, m.streets
        self.codes, self.district_names = m.codes, m.district_names
        self.plotter = pv.Plotter(off_screen=True, window_size=list(size))
        self.plotter.set_background("white")
        m.add_to(self.plotter)
        c = self.city
        self.drape = pv.StructuredGrid(c.X, c.Y, c.z(c.ground + DRAPE_LIFT))
        self._ranges = like._ranges if like is not None else {}  # the same colours in both
        # from the south-west, north away from the viewer as on a map (PyVista's isometric view
        # looks from the north-east: the names read mirrored)
        self.plotter.view_vector((-1.0, -1.0, 1.0), viewup=(0.0, 0.0, 1.0))
        self.plotter.enable_parallel_projection()
        self.plotter.camera.zoom(1.3)  # the city, not the white margin, fills the view
        self.legend = ""  # the field and its units ("change in ..." in a difference)
        self.legend_hint = ""  # how to read the colours of a difference

    # -- the shown field -------------------------------------------------------------------
    def show(self, field: str, index: int, variant: str, difference: bool) -> None:
        """Show ``field`` at output ``index`` of ``variant`` (minus the baseline's with
        ``difference``) and redraw its legend."""
        kind = self.data.kind(field)
        self.legend = self.data.label(field, difference=difference)
        self.legend_hint = DIFFERENCE_HINT if difference else ""
        if self.plotter.scalar_bars:
            self.plotter.remove_scalar_bar()
        if kind == "link":
            self.plotter.remove_actor("field")
            self._draw_roads(self.road_values(field, index, variant, difference),
                             self._cmap(field, difference),
                             self.colour_range(field, difference, current=None))  # fmt: skip
            return
        self._draw_roads(None)
        values = self.drape_values(field, index, variant, difference)
        clim = self.colour_range(field, difference, current=values)
        shown = self._drawn_part(values)
        if shown is None:
            self.plotter.remove_actor("field")
            return
        # opaque: a translucent layer vanished behind the terrain in the EGL renderer
        self.plotter.add_mesh(shown, scalars="value", name="field", pickable=False,
                              cmap=self._cmap(field, difference), clim=clim,
                              scalar_bar_args=self._bar())  # fmt: skip

    def _bar(self) -> dict:
        """The colour bar's settings: the legend as its title, wrapped to stay in the view."""
        title = f"{self.legend}; {self.legend_hint}" if self.legend_hint else self.legend
        return {"title": textwrap.fill(title, 30), **BAR}

    def _drawn_part(self, values: np.ndarray):
        """The drape's cells whose corners all have a value (None when none has)."""
        finite = np.isfinite(_points(values))
        if not finite.any():
            return None
        self.drape.point_data["value"] = _points(values)
        if finite.all():
            return self.drape.copy()
        part = self.drape.extract_points(finite, adjacent_cells=False)
        return part if part.n_cells else None

    def drape_values(self, field: str, index: int, variant: str, difference: bool) -> np.ndarray:
        """The draped values on the decimated grid (NaN: not drawn, e.g. dry ground)."""
        if self.data.kind(field) == "district":
            by_name = self.data.district_values(variant, field, difference=difference)
            return values_on_districts(self.codes, self.district_names, by_name)
        data, step = self.data, self.city.step
        values = data.frame(variant, field, index, step, difference=difference)
        threshold = view_field(field).style.threshold
        if threshold is None:
            return values
        # dry ground is not drawn; in a difference, ground dry in both variants
        shown = [variant, data.baseline] if difference else [variant]
        wet = np.logical_or.reduce([data.frame(v, field, index, step) > threshold for v in shown])
        return np.where(wet, values, np.nan)

    def road_values(self, field: str, index: int, variant: str, difference: bool) -> np.ndarray:
        """One value per street (the lower of its two directions; with ``difference``, the
        variant's minus the baseline's)."""
        per_street = self.streets.to_streets
        values = per_street(self.data.link_values(variant, field, index))
        if difference:
            values = values - per_street(self.data.link_values(self.data.baseline, field, index))
        return values

    def _draw_roads(self, values, cmap=None, clim=None) -> None:
        """The streets in grey, or coloured by ``values`` (one per street) with a legend."""
        if self.streets is None:
            return
        mesh = self.streets.mesh
        if values is None:
            self.plotter.add_mesh(mesh, color=ROAD_GREY, line_width=3, name="roads",
                                  pickable=False)  # fmt: skip
            return
        mesh = mesh.copy(deep=False)  # the geometry is shared with the other view's scene
        mesh.cell_data["value"] = values
        self.plotter.add_mesh(mesh, scalars="value", cmap=cmap, clim=clim, line_width=5,
                              render_lines_as_tubes=True, nan_color=ROAD_GREY, name="roads",
                              pickable=False,
                              scalar_bar_args=self._bar())  # fmt: skip

    def _cmap(self, field: str, difference: bool):
        """The field's colour map; in a difference, the report's: green where the variant is
        better, pink where it is worse (by the field's ``better``)."""
        style = view_field(field).style
        return diverging_cmap(style.better) if difference else cmap_of(style.cmap)

    def colour_range(self, field: str, difference: bool, *,
                     current: np.ndarray | None = None) -> tuple[float, float]:  # fmt: skip
        """One range per field and mode, kept while the session lasts (so that pictures of
        different times and variants compare): from the last output time of every variant,
        widened (never narrowed) when a shown picture goes beyond it. Road fields take every
        output time at once (a link array is small)."""
        key = (field, difference)
        floor = None if difference else view_field(field).style.threshold
        if key not in self._ranges:
            self._ranges[key] = shared_range(self._reference(field, difference) or
                                             [np.zeros(1)], symmetric=difference, floor=floor)
        if current is not None and np.isfinite(current).any():
            now = shared_range([current], symmetric=difference, floor=floor)
            lo, hi = self._ranges[key]
            self._ranges[key] = (min(lo, now[0]), max(hi, now[1]))
        return self._ranges[key]

    def _reference(self, field: str, difference: bool) -> list[np.ndarray]:
        data, kind = self.data, self.data.kind(field)
        others = [v for v in data.variants if not (difference and v == data.baseline)]
        if kind == "link":
            return [self.road_values(field, i, v, difference)
                    for v in others for i in range(data.n_times)]  # fmt: skip
        return [self.drape_values(field, data.n_times - 1, v, difference) for v in others]

    # -- picking ---------------------------------------------------------------------------
    def cell_at(self, x: float, y: float) -> tuple[int, int] | None:
        """(row, col) of the full grid under the display pixel (x, y) (origin bottom-left),
        None when the pixel shows no ground."""
        picker = vtkCellPicker()
        picker.SetTolerance(0.0005)
        if not picker.Pick(x, y, 0, self.plotter.renderer):
            return None
        px, py, _ = picker.GetPickPosition()
        c = self.city
        col, row = int(px // c.res), int((c.height - py) // c.res)
        if 0 <= row < c.ny and 0 <= col < c.nx:
            return row, col
        return None


def _has_network(city: CityScene) -> bool:
    ds = city.run.ds
    return all(n in ds.data_vars for n in ("node_x", "node_y", "link_from", "link_to")) and (
        ds.sizes.get("link", 0) > 0
    )
