"""The browser viewer's 3D scene: the city of ``metrotwin.viz.scene`` with one field draped
over the ground, re-coloured in place when the field, time, variant or difference mode
changes (server-side rendering; the browser receives pictures).
"""

from __future__ import annotations

import io

import numpy as np
import pyvista as pv
from matplotlib.figure import Figure
from vtkmodules.vtkRenderingCore import vtkCellPicker

from metrotwin.results.fields import FIELDS
from metrotwin.viz.colors import cmap_of, shared_range
from metrotwin.viz.scene import CityScene, _points
from metrotwin.viz.viewer_data import ViewerData

DRAPE_LIFT = 0.6  # m (before exaggeration) above the ground, so the layer never hides in it
DIVERGING = "RdBu_r"


class ViewerScene:
    """A PyVista plotter holding the city and the draped field of the current view."""

    def __init__(self, data: ViewerData, *, budget: int = 40_000, size=(960, 640)):
        self.data = data
        self.city = CityScene(data.runs[data.baseline], budget=budget)
        self.plotter = pv.Plotter(off_screen=True, window_size=list(size))
        self.plotter.set_background("white")
        self.plotter.add_mesh(self.city.terrain(), scalars="land_cover_rgb", rgb=True,
                              name="terrain", pickable=True)  # fmt: skip
        buildings = self.city.buildings()
        if buildings is not None:
            self.plotter.add_mesh(buildings, scalars="rgb", rgb=True, name="buildings")
        c = self.city
        self.drape = pv.StructuredGrid(c.X, c.Y, c.z(c.ground + DRAPE_LIFT))
        self._ranges: dict[tuple[str, bool], tuple[float, float]] = {}
        self.plotter.view_isometric()
        self.plotter.enable_parallel_projection()
        self.legend = ""

    def colour_range(self, field: str, difference: bool) -> tuple[float, float]:
        """One range per field and mode for the whole session (so the pictures of different
        times and variants compare): from the last output time of every variant."""
        key = (field, difference)
        if key not in self._ranges:
            last = self.data.n_times - 1
            arrays = [self.data.frame(v, field, last, self.city.step, difference=difference)
                      for v in self.data.variants if not (difference and v == self.data.baseline)]
            floor = None if difference else FIELDS[field].threshold
            self._ranges[key] = shared_range(arrays or [np.zeros(1)], symmetric=difference,
                                             floor=floor)  # fmt: skip
        return self._ranges[key]

    def show(self, field: str, index: int, variant: str, difference: bool) -> None:
        """Drape ``field`` at output ``index`` of ``variant`` (minus the baseline's with
        ``difference``) and redraw its legend."""
        values = self.data.frame(variant, field, index, self.city.step, difference=difference)
        threshold = FIELDS[field].threshold
        if threshold is not None and not difference:
            values = np.where(values > threshold, values, np.nan)
        self.drape.point_data["value"] = _points(values)
        self.legend = self.data.label(field, difference=difference)
        self.plotter.remove_scalar_bar() if self.plotter.scalar_bars else None
        self.plotter.add_mesh(
            self.drape, scalars="value", name="field", clim=self.colour_range(field, difference),
            cmap=DIVERGING if difference else cmap_of(FIELDS[field].cmap), nan_opacity=0.0,
            opacity=0.85, copy_mesh=True, pickable=False,
            scalar_bar_args={"title": self.legend, "vertical": True, "fmt": "%.2g",
                             "position_x": 0.8, "title_font_size": 14, "label_font_size": 12},
        )  # fmt: skip

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


def series_png(data: ViewerData, field: str, row: int, col: int) -> bytes:
    """A small chart (PNG) of the cell's values over time, one line per variant."""
    fig = Figure(figsize=(4.2, 2.6), dpi=100)
    ax = fig.add_subplot()
    minutes = data.minutes()
    for name, values in data.series(field, row, col).items():
        ax.plot(minutes, values, label=name)
    ax.set_xlabel("minutes since start")
    ax.set_ylabel(data.label(field))
    ax.set_title(f"cell row {row}, column {col}", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()
