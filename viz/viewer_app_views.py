"""The viewer's two 3D views: variant A on the left, and in compare mode variant B (or the
baseline) on the right, sharing one camera.

Rendering: a scene of at most ``LOCAL_MAX_CELLS`` cells is drawn in the browser by vtk.js
(``local``, a trame-vtk ``VtkLocalView``: turning the city costs no round trip); a larger one
is drawn on the server and sent as pictures (``remote``, a ``VtkRemoteView``: the browser never
holds the geometry). The user can switch either way in the drawer.

Linked cameras: the right scene's renderer uses the left scene's ``vtkCamera`` object, so the
server has one camera; when the user lets go of one view (``EndAnimation``) the other is sent
that camera (vtk.js) or a new picture (server-side). A press and release more than
``CLICK_SLOP`` px apart turned the view: the click the browser reports after it charts nothing.
"""

from __future__ import annotations

import numpy as np
import pyvista as pv
from trame.widgets import vtk as vtk_widgets

from metrotwin.viz.viewer_app_legend import html_legend
from metrotwin.viz.viewer_data import ViewerData
from metrotwin.viz.viewer_scene import ViewerScene

#: Largest scene (cells of every actor together) drawn in the browser by vtk.js. About 40 B a
#: cell to send once (points, cells, colours), so at most ~10 MB; a laptop's integrated GPU
#: turns 250 000 triangles smoothly. The demo's and the tests' towns are far below it.
LOCAL_MAX_CELLS = 250_000
SIDES = ("a", "b")
# what a camera is, in VTK's names (vtk.js: position, focalPoint...)
CAMERA_KEYS = ("Position", "FocalPoint", "ViewUp", "ParallelProjection", "ParallelScale",
               "ViewAngle")  # fmt: skip
COMPARE_ZOOM = 0.75  # a half-width view shows (about) the whole city at 3/4 of the zoom
CLICK_SLOP = 4  # px: a press and release this close are a click, farther a drag
INTERACTOR_EVENTS = "['EndAnimation', 'LeftButtonPress', 'LeftButtonRelease']"
LOCAL_EVENTS = "['EndAnimation', 'LeftButtonPress', 'LeftButtonRelease', 'StartMouseMove']"
# vtk.js's interactor calls a pointer move more than 200 ms after the previous one the start of
# a new movement (StartMouseMove), which its camera manipulators ignore: where frames take
# longer than that (a software-rendered browser, a slow laptop, a hand that hesitates, a
# scripted drag) a drag turned the view only by luck, or not at all. The view's interactor
# style (trame-vtk provides the view as ``view``) takes that move as a move too: a drag's moves
# turn the camera by their distance from the previous one, so nothing is turned twice.
_MOVE_AFTER_PAUSE = ("trame.refs['local_{side}']?.$.provides.view?.style"
                     ".handleMouseMove($event)")


def scene_cells(plotter: pv.Plotter) -> int:
    """Cells of every actor's data set in ``plotter`` (what vtk.js would receive)."""
    total = 0
    for actor in plotter.renderer.actors.values():
        mapper = actor.GetMapper() if hasattr(actor, "GetMapper") else None
        if mapper is not None:
            mapper.Update()
            data = mapper.GetInputDataObject(0, 0)
            total += data.GetNumberOfCells() if data is not None else 0
    return total


def camera_of(camera) -> dict:
    """The vtk.js camera (``position``, ``focalPoint``...) of a ``vtkCamera``."""
    return {key[0].lower() + key[1:]: getattr(camera, f"Get{key}")() for key in CAMERA_KEYS}


def set_camera(camera, values: dict) -> None:
    """Set a ``vtkCamera`` from a vtk.js camera (keys it lacks stay as they are)."""
    for key in CAMERA_KEYS:
        value = values.get(key[0].lower() + key[1:])
        if value is not None:
            getattr(camera, f"Set{key}")(int(value) if isinstance(value, bool) else value)


def fitting_scale(camera, bounds, aspect: float, margin: float = 1.05) -> float:
    """The parallel scale (half the view's height, m) at which the box ``bounds`` (xmin, xmax,
    ymin, ymax, zmin, zmax) seen by ``camera`` fits a view ``aspect`` (width / height) wide."""
    corners = np.array([[x, y, z] for x in bounds[:2] for y in bounds[2:4] for z in bounds[4:]])
    up = np.array(camera.GetViewUp())
    right = np.cross(np.array(camera.GetDirectionOfProjection()), up)
    across = corners @ (right / np.linalg.norm(right))
    along = corners @ (up / np.linalg.norm(up))
    half_height = max(np.ptp(along), np.ptp(across) / aspect) / 2
    return margin * float(half_height)


def render_mode_for(cells: int) -> str:
    """``local`` (vtk.js in the browser) for a scene of at most LOCAL_MAX_CELLS cells, else
    ``remote`` (pictures rendered on the server)."""
    return "local" if cells <= LOCAL_MAX_CELLS else "remote"


class CityViews:
    """The scenes of the left and right views and the trame widgets showing them."""

    def __init__(self, data: ViewerData, server):
        self.data = data
        self.server = server
        self.state = server.state
        self.scenes = {side: ViewerScene(data) for side in SIDES}
        # one camera: turning either view turns the other
        self.scenes["b"].plotter.renderer.camera = self.scenes["a"].plotter.renderer.camera
        self.widgets: dict[str, dict] = {}
        self.legend: dict = {}
        self._press: dict = {}
        self._dragged = False

    def make_widgets(self, side: str, on_click) -> None:
        """The views of ``side`` ('a' left, 'b' right) in the current layout block: vtk.js
        or server pictures, whichever ``render_mode`` says; ``on_click(side, pick)`` is called
        for a click that did not turn the view."""
        window = self.scenes[side].plotter.ren_win
        events = dict(
            interactor_events=(INTERACTOR_EVENTS,),
            LeftButtonPress=(self._pressed, f"['{side}', utils.vtk.event($event)]"),
            LeftButtonRelease=(self._released, f"['{side}', utils.vtk.event($event)]"),
            picking_modes=("['click']",), click=(self._clicked(on_click), f"['{side}', $event]"),
        )  # fmt: skip
        local = vtk_widgets.VtkLocalView(
            window, ref=f"local_{side}", context_name=f"metrotwin_{side}",
            v_if="render_mode === 'local'",
            StartMouseMove=_MOVE_AFTER_PAUSE.format(side=side),
            resize=(self.fit_to, f"['{side}', trame.refs['local_{side}'].$el.clientWidth, "
                                 f"trame.refs['local_{side}'].$el.clientHeight]"),
            EndAnimation=(self.follow, f"['{side}', trame.refs['local_{side}'].getCamera()]"),
            **{**events, "interactor_events": (LOCAL_EVENTS,)},
        )  # fmt: skip
        remote = vtk_widgets.VtkRemoteView(
            window, ref=f"remote_{side}", interactive_ratio=1, v_else=True,
            EndAnimation=(self.follow, f"['{side}']"), **events,
        )  # fmt: skip
        self.widgets[side] = {"local": local, "remote": remote}

    def _clicked(self, on_click):
        return lambda side, pick: None if self._dragged else on_click(side, pick)

    def _pressed(self, side: str, event: dict) -> None:
        self._press = (event or {}).get("position") or {}

    def _released(self, side: str, event: dict) -> None:
        """A release more than CLICK_SLOP px from the press was a drag (the view turned),
        and the click the browser reports after it is no click on the ground."""
        end = (event or {}).get("position") or {}
        moved = [float(end.get(k, 0)) - float(self._press.get(k, 0)) for k in ("x", "y")]
        self._dragged = max(map(abs, moved)) > CLICK_SLOP

    def show(self, field: str, index: int, variants: dict[str, str], difference: bool) -> None:
        """Drape ``field`` at output ``index`` on each side in ``variants`` and send it; the
        colour legend (one for both sides: they share the colour range) goes to ``legend``."""
        for side, variant in variants.items():
            scene = self.scenes[side]
            scene.show(field, index, variant, difference)
            legend = html_legend(scene.plotter, scene.legend)
            self.legend = legend if side == "a" else self.legend
            self.send(side)

    def send(self, side: str) -> None:
        """Send the side's current scene: geometry to vtk.js, or a new server picture."""
        if side in self.widgets:
            self.widgets[side][self.state.render_mode].update()

    def follow(self, moved: str, camera: dict | None = None) -> None:
        """After the user turned the ``moved`` view: the other one follows (one camera).
        ``camera``: the browser's camera of the moved view (vtk.js mode); the server's
        camera takes it too, so a switch to server pictures or a click starts from it."""
        other = "b" if moved == "a" else "a"
        shared = self.scenes["a"].plotter.renderer.GetActiveCamera()
        if self.state.render_mode == "local":
            set_camera(shared, camera if isinstance(camera, dict) else {})
            self.server.js_call(f"local_{other}", "setCamera", camera_of(shared))
        elif other in self.widgets:
            self.widgets[other]["remote"].update()

    def fit(self, compare: bool) -> None:
        """Zoom out when the view is split in two (each half as wide), back in when not."""
        camera = self.scenes["a"].plotter.renderer.GetActiveCamera()
        camera.Zoom(COMPARE_ZOOM if compare else 1 / COMPARE_ZOOM)
        if self.state.render_mode == "local":
            for side in SIDES:
                self.server.js_call(f"local_{side}", "setCamera", camera_of(camera))

    def fit_to(self, side: str, width, height) -> None:
        """Zoom so the whole city fits a view of ``width`` x ``height`` px (the left one sets
        the zoom of both): a phone's narrow view would cut the city's sides otherwise."""
        try:
            aspect = float(width) / float(height)
        except (TypeError, ValueError, ZeroDivisionError):
            return
        if side != "a" or not aspect > 0 or self.state.render_mode != "local":
            return
        camera = self.scenes["a"].plotter.renderer.GetActiveCamera()
        camera.SetParallelScale(fitting_scale(camera, self.scenes["a"].plotter.bounds, aspect))
        for each in SIDES:
            self.server.js_call(f"local_{each}", "setCamera", camera_of(camera))

    def cell_at_world(self, x: float, y: float) -> tuple[int, int] | None:
        """(row, col) of the full grid under scene point (x, y) m (what vtk.js picks)."""
        city = self.scenes["a"].city
        col, row = int(x // city.res), int((city.height - y) // city.res)
        if 0 <= row < city.ny and 0 <= col < city.nx:
            return row, col
        return None
