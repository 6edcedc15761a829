"""PNG stills of a run's 3D scene: named camera views, themes, shared colour scales.

Themes (what is drawn over the terrain and the buildings, whose roofs show their type):

- ``city``  : land cover (the interventions of a variant are visible: green or cool roofs...)
- ``flood`` : water surface coloured by depth, roads coloured by speed, closed roads marked
- ``heat``  : felt temperature (UTCI) or surface temperature draped on the ground
- ``auto``  : ``flood`` and/or ``heat`` where the run has them, else ``city``

Views are fixed for a domain (the same camera for every variant): ``overview`` (oblique,
from the south), ``top`` (plan), and one per district/municipality (its name, lower case).

    >>> from metrotwin.viz.render import render_run                      # doctest: +SKIP
    >>> render_run("runs/demo", time="08:30", view="oldtown")             # doctest: +SKIP
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")

import numpy as np  # noqa: E402

from metrotwin.errors import DataSourceError  # noqa: E402
from metrotwin.results.rundata import (  # noqa: E402
    VariantRun,
    informative,
    open_variants,
    time_index,
    time_label,
)
from metrotwin.viz.colors import (  # noqa: E402
    FIELDS,
    HEAT_FIELDS,
    ROAD_CLOSED_RGB,
    cmap_of,
    nice_range,
    shared_range,
    style_of,
)
from metrotwin.viz.overlay import Overlay, draw  # noqa: E402

THEMES = ("auto", "city", "flood", "heat")
#: at most this many land-cover classes in a still's legend (the most common ones)
LEGEND_CLASSES = 9
STILL_SIZE = (1024, 768)


@dataclass
class Scales:
    """Colour ranges shared by every picture of a comparison (display units)."""

    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)

    @classmethod
    def of(cls, runs: list[VariantRun], index: int | None = None) -> Scales:
        """One range per field over all variants: over all times (animations), or at output
        ``index`` only (stills of one time: more contrast)."""
        out = {}

        def values(run, name):
            da = run.ds[name]
            if index is not None and "time" in da.dims and index < da.sizes["time"]:
                return da.isel(time=index).values
            return informative(da.values)

        depth = [values(r, "flood_water_thickness") for r in runs if r.has("flood_water_thickness")]
        if depth:
            lo, hi = shared_range(depth, floor=0.0, robust=99.5)
            out["flood_water_thickness"] = (0.0, max(hi, 0.1))
        for name in HEAT_FIELDS:
            vals = [style_of(name).display(values(r, name)) for r in runs if r.has(name)]
            if vals:
                out[name] = shared_range(vals, robust=99.0)
        speeds = [r.ds["link_free_speed"].values for r in runs if r.has("link_free_speed")]
        if speeds:
            out["link_speed"] = (0.0, float(np.nanmax(np.concatenate(speeds))) * 3.6)
        return cls({k: nice_range(*v)[:2] for k, v in out.items()})

    def get(self, name: str, values=None) -> tuple[float, float]:
        if name in self.ranges:
            return self.ranges[name]
        if values is not None:
            return shared_range([values])
        return (0.0, 1.0)


def themes_of(run: VariantRun, theme: str = "auto") -> list[str]:
    """The themes ``theme`` stands for in this run."""
    if theme not in THEMES:
        raise DataSourceError(f"unknown theme {theme!r}; valid themes: {', '.join(THEMES)}")
    if theme != "auto":
        return [theme]
    found = []
    if run.has("flood_water_thickness") or run.has("link_speed"):
        found.append("flood")
    if any(run.has(n) for n in HEAT_FIELDS):
        found.append("heat")
    return found or ["city"]


def peak_field(run: VariantRun, theme: str) -> str | None:
    """The field whose peak ``time="peak"`` looks for in a theme."""
    if theme == "flood" and run.has("flood_water_thickness"):
        return "flood_water_thickness"
    if theme in ("heat", "auto"):
        for name in HEAT_FIELDS:
            if run.has(name):
                return name
    if run.has("flood_water_thickness"):
        return "flood_water_thickness"
    return None


class SceneRenderer:
    """One off-screen plotter for one variant: static actors once, dynamic ones per frame."""

    def __init__(self, run: VariantRun, *, theme: str, scales: Scales | None = None,
                 size=STILL_SIZE, budget: int | None = None, labels: bool = True):  # fmt: skip
        import pyvista as pv

        from metrotwin.viz.scene import CELL_BUDGET, CityScene  # inside: it loads PyVista

        self.run, self.theme = run, theme
        self.scales = scales or Scales.of([run])
        self.scene = CityScene(run, budget=budget or CELL_BUDGET)
        self.size = tuple(int(s) for s in size)
        self.pl = pv.Plotter(off_screen=True, window_size=list(self.size))
        self.pl.set_background("#f4f6f8", top="#c9d9ea")
        self.font = max(8, int(round(self.size[0] / 64)))
        self._closed_roads = False
        self._static(labels)

    # -- static ---------------------------------------------------------------------------
    def _static(self, labels: bool) -> None:
        sc, pl = self.scene, self.pl
        self.terrain = sc.terrain()
        if self.theme != "heat":
            pl.add_mesh(self.terrain, scalars="land_cover_rgb", rgb=True, name="terrain",
                        lighting=True, ambient=0.35, diffuse=0.75)  # fmt: skip
        buildings = sc.buildings()
        if buildings is not None:
            pl.add_mesh(buildings, scalars="rgb", rgb=True, name="buildings", ambient=0.3,
                        diffuse=0.8)  # fmt: skip
        roads = sc.roads()
        self.roads, self.road_links = roads if roads is not None else (None, None)
        if self.roads is not None and self.theme in ("city", "heat"):
            pl.add_mesh(self.roads, color="#4a4a50", line_width=max(1, self.size[0] // 600),
                        name="roads")  # fmt: skip
        if labels:
            centres = sc.district_centres()
            if len(centres) > 1:
                pts = np.array(list(centres.values()))
                pts[:, 2] += 60 * sc.zscale
                pl.add_point_labels(pts, list(centres), font_size=self.font + 2, point_size=1,
                                    shape_opacity=0.55, shape_color="white",
                                    text_color="#222222", always_visible=True,
                                    show_points=False, name="districts")  # fmt: skip

    def _bar(self, slot: int, title: str, clim=None) -> dict:
        """Horizontal colour bars along the bottom, side by side; ``title`` with units."""
        n_labels = nice_range(*clim)[2] if clim else 5
        return dict(title=title, vertical=False, position_x=0.04 + 0.32 * slot, position_y=0.03,
                    width=0.28, height=0.07, n_labels=n_labels, fmt="%.3g",
                    title_font_size=self.font + 2, label_font_size=self.font,
                    color="#222222")  # fmt: skip

    # -- per frame ------------------------------------------------------------------------
    def frame(self, index: int, *, view: str = "overview", title: str | None = None) -> np.ndarray:
        """Draw output ``index`` from ``view``; returns the image (H, W, 3) uint8."""
        sc, pl = self.scene, self.pl
        slot = 0
        if self.theme == "heat":
            heat = sc.heat(index)
            if heat is not None:
                name, values = heat
                style = style_of(name)
                self.terrain.point_data["heat"] = _fortran(style.display(values))
                clim = self.scales.get(name)
                pl.add_mesh(self.terrain, scalars="heat", cmap=cmap_of(style.cmap), clim=clim,
                            name="terrain", nan_color="#bbbbbb", ambient=0.35,
                            scalar_bar_args=self._bar(slot, style.title, clim))  # fmt: skip
                slot += 1
            else:
                pl.add_mesh(self.terrain, scalars="land_cover_rgb", rgb=True, name="terrain")
        if self.theme == "flood":
            water = sc.water(index)
            style = FIELDS["flood_water_thickness"]
            if water is not None:
                clim = self.scales.get("flood_water_thickness")
                pl.add_mesh(water, scalars="depth", cmap=cmap_of(style.cmap), name="water",
                            clim=clim, ambient=0.4, specular=0.3,
                            scalar_bar_args=self._bar(slot, style.title, clim))  # fmt: skip
                slot += 1
            else:
                pl.remove_actor("water")
            self._roads_by_speed(index, slot)
        if self.theme in ("flood", "heat"):
            self._agents(index)
        if view_title := title:
            pl.add_text(view_title, position="upper_left", font_size=self.font + 3,
                        color="#111111", name="title")  # fmt: skip
        set_view(pl, sc, view)
        pl.render()
        img = np.asarray(pl.screenshot(return_img=True))[..., :3]
        return self.annotate(img, title=bool(title))

    def annotate(self, img: np.ndarray, *, title: bool) -> np.ndarray:
        """The still with its scale bar, north arrow and legend (``metrotwin.viz.overlay``)."""
        from metrotwin.viz.scene import nice_length  # inside: it loads PyVista

        sc = self.scene
        fx, fy = img.shape[1] / self.size[0], img.shape[0] / self.size[1]  # hi-dpi screenshots
        h, w = img.shape[:2]
        font = int(round((self.font + 1) * fy))
        length, px = sc.scale_bar_length(), 0.0
        for _ in range(8):  # a bar of at most a third of the picture
            a, b = self.to_image(np.array(sc.ground_segment(length)), fx, fy)
            px = float(np.hypot(b[0] - a[0], b[1] - a[1]))
            if px <= w / 3 or length <= 1:
                break
            length = nice_length(length / 2)
        label = f"{length / 1000:g} km" if length >= 1000 else f"{length:g} m"
        tail, head = self.to_image(np.array(sc.north_arrow()), fx, fy)
        north = np.array([head[0] - tail[0], head[1] - tail[1]])
        north = north / np.hypot(*north) if np.hypot(*north) > 1e-6 else np.array([0.0, -1.0])
        above_bars = h * (1 - 0.03 - 0.07) - 4.5 * font  # the colour bars take the bottom 10 %
        # the heat theme drapes the ground: only the roofs keep their land-cover colours
        legend = [("plain roof" if name == "roof" else name.replace("_", " "), rgb, "box")
                  for name, rgb in sc.land_cover_classes(roofs_only=self.theme == "heat")]
        legend = legend[:LEGEND_CLASSES]
        if self._closed_roads:
            legend.append(("closed road", ROAD_CLOSED_RGB, "line"))
        overlay = Overlay(scale=((2 * font, above_bars + 2 * font), px, label),
                          north=((w - 3.2 * font, above_bars), tuple(north)), legend=legend,
                          top=int(2.4 * (self.font + 3) * fy) if title else 0)  # fmt: skip
        return draw(img, overlay, font_px=font)

    def to_image(self, points: np.ndarray, fx: float = 1.0, fy: float = 1.0) -> list[tuple]:
        """Image coordinates (pixels from the top left) of scene points, as the camera
        sees them now."""
        import vtk

        coord = vtk.vtkCoordinate()
        coord.SetCoordinateSystemToWorld()
        out = []
        for p in points:
            coord.SetValue(*(float(v) for v in p))
            x, y = coord.GetComputedDoubleDisplayValue(self.pl.renderer)
            out.append((x * fx, (self.size[1] - y) * fy))
        return out

    def _agents(self, index: int) -> None:
        """People as points: coloured by heat exposure (heat theme) or by travel mode."""
        cloud = self.scene.agents(index)
        if cloud is None:
            self.pl.remove_actor("agents")
            return
        size = max(4, self.size[0] // 160)
        if self.theme == "heat" and "agent_exposure" in cloud.point_data:
            scalars, cmap, title = "agent_exposure", "magma", "Heat exposure of people"
        elif "agent_mode" in cloud.point_data:
            scalars, cmap, title = "agent_mode", "tab10", "Travel mode"
        else:
            self.pl.add_mesh(cloud, color="#111111", point_size=size, name="agents",
                             render_points_as_spheres=True)  # fmt: skip
            return
        self.pl.add_mesh(cloud, scalars=scalars, cmap=cmap, point_size=size, name="agents",
                         render_points_as_spheres=True,
                         scalar_bar_args=self._bar(1, title))  # fmt: skip

    def _roads_by_speed(self, index: int, slot: int) -> None:
        pl = self.pl
        if self.roads is None:
            return
        speed = self.scene.road_values("link_speed", index, "min")
        free = self.scene.road_values("link_free_speed", index, "min")
        width = max(2, self.size[0] // 400)
        if speed is None:
            pl.add_mesh(self.roads, color="#4a4a50", line_width=width, name="roads")
        else:
            style = FIELDS["link_speed"]
            if free is not None:  # relative to the road's normal speed: green flows, red crawls
                with np.errstate(divide="ignore", invalid="ignore"):
                    self.roads.cell_data["speed"] = np.clip(100 * speed / free, 0, 100)
                clim, title = (0.0, 100.0), "Road speed (% of normal)"
            else:
                self.roads.cell_data["speed"] = style.display(speed)
                clim, title = self.scales.get("link_speed"), style.title
            pl.add_mesh(self.roads, scalars="speed", cmap=cmap_of(style.cmap), line_width=width,
                        clim=clim, name="roads", nan_color="#888888",
                        scalar_bar_args=self._bar(2, title, clim))  # fmt: skip
        closed = self.scene.road_values("link_closed", index, "max")
        if closed is not None and np.nansum(closed) > 0:
            sel = np.flatnonzero(closed > 0)
            mesh = self.roads.extract_cells(sel)
            pl.add_mesh(mesh, color=np.array(ROAD_CLOSED_RGB) / 255, line_width=2 * width,
                        name="closed")  # fmt: skip
            self._closed_roads = True  # in the legend drawn by ``annotate``
        else:
            pl.remove_actor("closed")
            self._closed_roads = False

    def close(self) -> None:
        self.pl.close()


def _fortran(values: np.ndarray) -> np.ndarray:
    return np.asarray(values).ravel(order="F")


def view_names(scene) -> list[str]:
    return ["overview", "top", *[n.lower() for n in scene.district_bounds()]]


def set_view(pl, scene, view: str) -> None:
    """Put the camera at a named view (fixed for a domain: the same for every variant)."""
    w, h = scene.width, scene.height
    ztop = float(np.nanmax(scene.z(scene.ground))) if scene.ground.size else 0.0
    districts = {n.lower(): b for n, b in scene.district_bounds().items()}
    if view == "overview":
        bounds, direction, zoom = (0, w, 0, h, 0, ztop), (0.1, -0.85, 0.75), 1.45
    elif view == "top":
        bounds, direction, zoom = (0, w, 0, h, 0, ztop), (0.0, -1e-3, 1.0), 1.35
    elif view.lower() in districts:
        x0, x1, y0, y1 = districts[view.lower()]
        bounds, direction, zoom = (x0, x1, y0, y1, 0, ztop), (0.15, -0.8, 0.8), 1.5
    else:
        raise DataSourceError(f"unknown view {view!r}; valid views: {', '.join(view_names(scene))}")
    direction = np.asarray(direction) / np.linalg.norm(direction)
    focal = np.array([(bounds[0] + bounds[1]) / 2, (bounds[2] + bounds[3]) / 2, ztop / 2])
    pl.camera.focal_point = tuple(focal)
    pl.camera.position = tuple(focal + max(w, h) * direction)
    pl.camera.up = (0.0, 0.0, 1.0) if view != "top" else (0.0, 1.0, 0.0)
    pl.camera.view_angle = 30.0
    pl.reset_camera(bounds=bounds)
    pl.camera.zoom(zoom)
    pl.reset_camera_clipping_range()


def title_of(run: VariantRun, index: int, theme: str) -> str:
    """``demo - green_blue - 2026-07-15 08:00 - flooding`` (no time for the static city)."""
    if theme == "city":
        return f"{run.scenario_name} - {run.name} - the city (land cover, roof types)"
    what = {"flood": "flooding", "heat": "heat"}.get(theme, theme)
    return f"{run.scenario_name} - {run.name} - {time_label(run, index)} - {what}"


def render_still(run: VariantRun, out: Path, *, time="peak", view: str = "overview",
                 theme: str = "auto", scales: Scales | None = None, size=STILL_SIZE,
                 budget: int | None = None) -> list[Path]:  # fmt: skip
    """Render one variant at ``time`` from ``view``: one PNG per theme, written to ``out``
    (a folder; files ``<theme>_<view>_<HHMM>.png``). Returns the paths."""
    import imageio.v3 as iio

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for th in themes_of(run, theme):
        index = time_index(run, time, peak_field=peak_field(run, th))
        r = SceneRenderer(run, theme=th, scales=scales, size=size, budget=budget)
        try:
            img = r.frame(index, view=view, title=title_of(run, index, th))
        finally:
            r.close()
        stamp = time_label(run, index)[-5:].replace(":", "") if len(run.times) else "static"
        path = out / f"{th}_{view.lower()}_{stamp}.png"
        iio.imwrite(path, img)
        paths.append(path)
    return paths


def render_run(run_dir, *, time="peak", view: str = "overview", theme: str = "auto",
               size=STILL_SIZE, out: Path | None = None) -> list[Path]:  # fmt: skip
    """Render every variant under ``run_dir`` (or one variant folder) with shared colour
    scales; PNGs go to ``<variant>/renders/`` (or ``out/<variant>/``)."""
    runs = open_variants(run_dir)
    scales = Scales.of(runs)
    paths = []
    for run in runs:
        folder = (Path(out) / run.name) if out else run.path / "renders"
        paths += render_still(run, folder, time=time, view=view, theme=theme, scales=scales,
                              size=size)  # fmt: skip
    for run in runs:
        run.close()
    return paths
