"""``metrotwin view``: a local web app (trame) to explore a run's 3D city in a browser.

Field picker, time slider with play, variant picker, difference mode (variant − baseline,
diverging colours), two views side by side with one camera, a legend with units, and a click
on the ground that charts the cell's values over time for every variant. Drawn in the browser
(vtk.js) when the scene is small, on the server otherwise (``viewer_app_views``). Data are read
one output time at a time from ``fields.nc``; nothing is written: the app registers no upload
or file endpoint (HTTP serves the page's static files; the websocket carries state, pictures
and geometry). Serves on 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import os
import socket
import sys
from types import SimpleNamespace

os.environ.setdefault("VTK_DEFAULT_OPENGL_WINDOW", "vtkEGLRenderWindow")

from trame.app import get_server  # noqa: E402

from metrotwin.errors import DataSourceError  # noqa: E402
from metrotwin.viz.viewer_app_chart import series_svg  # noqa: E402
from metrotwin.viz.viewer_app_layout import build_layout  # noqa: E402
from metrotwin.viz.viewer_app_play import Player  # noqa: E402
from metrotwin.viz.viewer_app_views import (  # noqa: E402
    LOCAL_MAX_CELLS,
    CityViews,
    render_mode_for,
    scene_cells,
)
from metrotwin.viz.viewer_data import ViewerData  # noqa: E402

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
RENDER_MODES = [{"title": "the browser (vtk.js)", "value": "local"},
                {"title": "the server (pictures)", "value": "remote"}]  # fmt: skip


def build_app(paths, *, name: str = "metrotwin-view", render: str = "auto"):
    """The trame server of the viewer for the run folders ``paths`` (not started).
    ``render``: auto (vtk.js for a small scene, server pictures for a large one), local or
    remote."""
    data = ViewerData(paths)
    if not data.fields:
        raise DataSourceError(
            f"{', '.join(map(str, paths))}: no field the viewer shows (it shows "
            "flood_water_thickness, universal_thermal_comfort_index, air_temperature...) "
            "with time and a grid"
        )
    server = get_server(name, client_type="vue3")
    state = server.state
    views = CityViews(data, server)
    last = data.n_times - 1
    views.scenes["a"].show(data.fields[0], last, data.variants[-1], False)
    cells = scene_cells(views.scenes["a"].plotter)
    state.update(field=data.fields[0], fields=[{"title": data.label(f), "value": f}
                                               for f in data.fields],
                 variants=data.variants, variant=data.variants[-1], variant_b=data.baseline,
                 difference=False, compare=False, time_index=last, n_times=data.n_times,
                 playing=False, loop=False, legend={}, clicked="", chart_svg="",
                 chart_series=[], render_modes=RENDER_MODES,
                 render_mode=render_mode_for(cells) if render == "auto" else render,
                 render_note=f"scene: {cells:,} cells; drawn in the browser up to "
                             f"{LOCAL_MAX_CELLS:,}")  # fmt: skip
    _wire(server, data, views)
    return server


def _wire(server, data: ViewerData, views: CityViews) -> None:
    """The state's reactions: re-draw on any change, play, click, linked cameras."""
    state = server.state
    good = {"field": state.field, "variant": state.variant, "variant_b": state.variant_b,
            "compare": False, "render_mode": state.render_mode, "index": state.time_index}

    @state.change("field", "variant", "variant_b", "difference", "time_index", "compare",
                  "render_mode")  # fmt: skip
    def _redraw(field, variant, variant_b, difference, time_index, compare, render_mode, **_):
        # the browser may send anything: keep the last valid choice
        index = _index(time_index, data.n_times)
        good["index"] = good["index"] if index is None else index
        for key, value, valid in (("field", field, data.fields), ("variant", variant,
                                  data.variants), ("variant_b", variant_b, data.variants),
                                  ("render_mode", render_mode, ("local", "remote"))):
            good[key] = value if value in valid else good[key]
        state.render_mode = good["render_mode"]
        index = good["index"]
        shown = {"a": good["variant"], **({"b": good["variant_b"]} if compare else {})}
        if bool(compare) != good["compare"]:
            views.fit(bool(compare))  # both views see the same, the whole city
            good["compare"] = bool(compare)
        views.show(good["field"], index, shown, bool(difference))
        state.legend = views.legend
        state.time_label = f"{data.minutes()[index]:.0f} min"
        minus = f" − {data.baseline}" if difference else ""
        state.label_a = f"{good['variant']}{minus}"
        state.label_b = f"{good['variant_b']}{minus}"

    def on_click(side, event):
        cell = _clicked_cell(views, side, event)
        if cell is None:
            state.update(clicked="no ground under the click", chart_svg="", chart_series=[])
            return
        svg, names = series_svg(data, good["field"], *cell)
        state.update(chart_svg=svg, chart_series=names,
                     clicked=f"cell row {cell[0]}, column {cell[1]}")  # fmt: skip

    player = Player(state, data.n_times)
    handlers = SimpleNamespace(on_click=on_click, on_play=player.toggle)
    build_layout(server, views, handlers)


def _index(value, n_times: int) -> int | None:
    """The output time index the slider sent, within 0..n_times-1; None when no number."""
    try:
        return min(max(int(float(value)), 0), n_times - 1)
    except (TypeError, ValueError, OverflowError):
        return None


def _clicked_cell(views: CityViews, side, event) -> tuple[int, int] | None:
    """The grid cell under a click: vtk.js picks a scene point, the server a pixel; None
    for no ground (or an event that is not a click's)."""
    if not isinstance(event, dict):
        return None
    try:
        if event.get("mode") == "local":
            x, y = list(event.get("worldPosition") or (-1.0, -1.0))[:2]
            return views.cell_at_world(float(x), float(y))
        pos = event.get("position") or {}
        scene = views.scenes.get(side, views.scenes["a"])
        return scene.cell_at(float(pos.get("x", -1)), float(pos.get("y", -1)))
    except (TypeError, ValueError, AttributeError):
        return None


def _check_port(host: str, port: int) -> None:
    """A clear message when the port is taken (instead of the web server's traceback)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        # as the web server binds: a port whose last server just stopped (connections in
        # TIME_WAIT) is free, one with a listening server is not
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as err:
            raise DataSourceError(
                f"--port {port}: cannot serve on {host}:{port} ({err.strerror}); give a free "
                "port, e.g. --port 8090"
            ) from None


def serve(paths, *, host: str = "127.0.0.1", port: int = 8080, render: str = "auto") -> None:
    """Serve the viewer until interrupted; warn when it is reachable from the network."""
    if host not in LOCAL_HOSTS:
        print(f"metrotwin: warning: --host {host} makes the twin reachable from the network "
              "(anyone who can reach this machine can see the run)", file=sys.stderr)  # fmt: skip
    server = build_app(paths, render=render)
    _check_port(host, port)
    server.start(host=host, port=port, open_browser=False, show_connection_info=False)
