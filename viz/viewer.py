"""``metrotwin view``: a local web app (trame) to explore a run's 3D city in a browser.

Field picker, time slider, variant picker, difference mode (variant − baseline, diverging
colours), a legend with units, and a click on the ground that charts the cell's values over
time for every variant. Data are read one output time at a time from ``fields.nc``; nothing
is written. Serves on 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import base64
import os
import socket
import sys

os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")

from trame.app import get_server  # noqa: E402
from trame.ui.vuetify3 import SinglePageWithDrawerLayout  # noqa: E402
from trame.widgets import html, vuetify3 as v3  # noqa: E402
from trame.widgets import vtk as vtk_widgets  # noqa: E402

from metrotwin.errors import DataSourceError  # noqa: E402
from metrotwin.viz.viewer_data import ViewerData  # noqa: E402
from metrotwin.viz.viewer_scene import ViewerScene, series_png  # noqa: E402

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def build_app(paths, *, name: str = "metrotwin-view"):
    """The trame server of the viewer for the run folders ``paths`` (not started)."""
    data = ViewerData(paths)
    if not data.fields:
        raise DataSourceError(
            f"{', '.join(map(str, paths))}: no field the viewer shows (it shows "
            "flood_water_thickness, universal_thermal_comfort_index, air_temperature...) "
            "with time and a grid"
        )
    scene = ViewerScene(data)
    server = get_server(name, client_type="vue3")
    state, ctrl = server.state, server.controller
    state.update(field=data.fields[0], fields=[{"title": data.label(f), "value": f}
                                               for f in data.fields],
                 variants=data.variants, variant=data.variants[-1], difference=False,
                 time_index=data.n_times - 1, n_times=data.n_times, legend="", chart="",
                 clicked="click the ground for a time series")  # fmt: skip

    @state.change("field", "variant", "difference", "time_index")
    def _redraw(field, variant, difference, time_index, **_):
        scene.show(field, int(time_index), variant, bool(difference))
        state.legend = scene.legend
        state.time_label = f"{data.minutes()[int(time_index)]:.0f} min"
        ctrl.view_update()

    def on_click(event):
        pos = (event or {}).get("position") or {}
        cell = scene.cell_at(float(pos.get("x", -1)), float(pos.get("y", -1)))
        if cell is None:
            state.clicked = "no ground under the click"
            return
        png = series_png(data, state.field, *cell)
        state.chart = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
        state.clicked = f"cell row {cell[0]}, column {cell[1]}"

    _layout(server, scene, on_click)
    return server


def _layout(server, scene: ViewerScene, on_click) -> None:
    """The page: controls in a drawer, the 3D view in the middle."""
    with SinglePageWithDrawerLayout(server) as layout:
        layout.title.set_text("metrotwin view")
        with layout.drawer:
            v3.VSelect(v_model=("field",), items=("fields",), label="field", classes="ma-2",
                       id="field-picker")  # fmt: skip
            v3.VSelect(v_model=("variant",), items=("variants",), label="variant",
                       classes="ma-2", id="variant-picker")  # fmt: skip
            v3.VSwitch(v_model=("difference",), label="difference from the baseline",
                       classes="ma-2", id="difference-switch")  # fmt: skip
            v3.VSlider(v_model=("time_index",), min=0, max=("n_times - 1",), step=1,
                       label="time", classes="ma-2", id="time-slider", hide_details=True)
            html.Div("{{ time_label }}", classes="mx-4 text-caption", id="time-label")
            html.Div("{{ legend }}", classes="ma-4 text-body-2", id="legend")
            html.Div("{{ clicked }}", classes="mx-4 text-caption", id="clicked")
            html.Img(src=("chart",), v_if=("chart",), style="width: 100%", id="chart")
        with layout.content:
            with v3.VContainer(fluid=True, classes="pa-0 fill-height"):
                view = vtk_widgets.VtkRemoteView(
                    scene.plotter.ren_win, interactive_ratio=1,
                    interactor_events=("['LeftButtonPress']",),
                    LeftButtonPress=(on_click, "[utils.vtk.event($event)]"),
                )  # fmt: skip
                server.controller.view_update = view.update
                server.controller.view_reset_camera = view.reset_camera


def _check_port(host: str, port: int) -> None:
    """A clear message when the port is taken (instead of the web server's traceback)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        try:
            probe.bind((host, port))
        except OSError as err:
            raise DataSourceError(
                f"--port {port}: cannot serve on {host}:{port} ({err.strerror}); give a free "
                "port, e.g. --port 8090"
            ) from None


def serve(paths, *, host: str = "127.0.0.1", port: int = 8080) -> None:
    """Serve the viewer until interrupted; warn when it is reachable from the network."""
    if host not in LOCAL_HOSTS:
        print(f"metrotwin: warning: --host {host} makes the twin reachable from the network "
              "(anyone who can reach this machine can see the run)", file=sys.stderr)  # fmt: skip
    server = build_app(paths)
    _check_port(host, port)
    server.start(host=host, port=port, open_browser=False, show_connection_info=False)
