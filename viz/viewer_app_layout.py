"""The viewer's page: a toolbar (drawer toggle, play/pause, time), the 3D views with their
labels, the time slider under them, the click chart over them, and the controls in a
navigation drawer that is permanent on wide screens and a temporary, closed drawer on phones
(below vuetify's ``md`` breakpoint, 960 px).
"""

from __future__ import annotations

from trame.ui.vuetify3 import SinglePageWithDrawerLayout
from trame.widgets import client, html, vuetify3 as v3

from metrotwin.viz.viewer_app_views import CityViews

PHONE = "$vuetify.display.smAndDown"
# vuetify always shows the page's scroll bar; the app fills the window and never scrolls
CSS = "html { overflow-y: hidden !important; }"
OVERLAY = ("position: absolute; z-index: 2; background: rgba(255, 255, 255, 0.85); "
           "border-radius: 4px; padding: 2px 8px;")  # fmt: skip


def build_layout(server, views: CityViews, handlers) -> None:
    """The page of ``server``; ``handlers`` has on_click and on_play."""
    # each browser opens or closes its own drawer: open on a wide screen, closed on a phone
    server.state.client_only("main_drawer")
    with SinglePageWithDrawerLayout(server, show_drawer=None) as layout:
        layout.title.set_text("metrotwin view")
        client.Style(CSS)
        _toolbar(layout, handlers)
        layout.drawer.permanent = (f"!{PHONE}",)
        layout.drawer.temporary = (PHONE,)
        layout.drawer.disable_resize_watcher = False  # narrowing the window closes it
        layout.drawer.id = "controls"
        with layout.drawer:
            _controls()
        with layout.content:
            with html.Div(classes="d-flex flex-column",
                          style="position: relative; height: calc(100dvh - 64px);"):
                _views(views, handlers)
                _legend()
                v3.VSlider(v_model=("time_index",), min=0, max=("n_times - 1",), step=1,
                           classes="mx-4 flex-grow-0", id="time-slider", hide_details=True,
                           prepend_icon="mdi-clock-outline")  # fmt: skip
            _chart()
        layout.footer.hide()


def _toolbar(layout, handlers) -> None:
    layout.icon.id = "drawer-toggle"
    with layout.toolbar:
        v3.VSpacer()
        with v3.VBtn(icon=True, click=handlers.on_play, id="play-button",
                     title=("playing ? 'pause' : 'play'",)):  # fmt: skip
            v3.VIcon("{{ playing ? 'mdi-pause' : 'mdi-play' }}")
        html.Div("{{ time_label }}", classes="mx-3 text-body-2", id="time-label")


def _controls() -> None:
    v3.VSelect(v_model=("field",), items=("fields",), label="field", classes="ma-2",
               id="field-picker", hide_details=True)  # fmt: skip
    v3.VSelect(v_model=("variant",), items=("variants",), label="variant (left)",
               classes="ma-2", id="variant-picker", hide_details=True)  # fmt: skip
    v3.VSwitch(v_model=("compare",), label="compare side by side", classes="mx-2",
               id="compare-switch", hide_details=True, color="primary")  # fmt: skip
    v3.VSelect(v_model=("variant_b",), items=("variants",), label="variant (right)",
               classes="ma-2", id="variant-b-picker", hide_details=True,
               v_show=("compare",))  # fmt: skip
    v3.VSwitch(v_model=("difference",), label="difference from the baseline",
               classes="mx-2", id="difference-switch", hide_details=True, color="primary")
    v3.VSwitch(v_model=("loop",), label="loop when playing", classes="mx-2",
               id="loop-switch", hide_details=True)  # fmt: skip
    v3.VSelect(v_model=("render_mode",), items=("render_modes",), label="drawn by",
               classes="ma-2", id="render-mode", hide_details=True)  # fmt: skip
    html.Div("click the ground for a time series of every variant",
             classes="mx-4 mt-2 text-caption")
    html.Div("{{ render_note }}", classes="mx-4 mt-2 text-caption text-medium-emphasis")


def _views(views: CityViews, handlers) -> None:
    # side by side on a wide screen, one above the other on a phone
    with html.Div(classes=(f"'d-flex flex-grow-1' + ({PHONE} ? ' flex-column' : '')",),
                  style="min-height: 0;"):  # fmt: skip
        for side in ("a", "b"):
            show = {} if side == "a" else {"v_show": ("compare",)}
            with html.Div(classes="flex-grow-1", id=f"view-{side}",
                          style="position: relative; flex-basis: 0; min-height: 0; "
                                "min-width: 0;", **show):  # fmt: skip
                html.Div(f"{{{{ label_{side} }}}}", classes="text-body-2", id=f"label-{side}",
                         style=OVERLAY + " top: 6px; left: 8px; pointer-events: none;")
                views.make_widgets(side, handlers.on_click)


def _legend() -> None:
    """The colour bar over the views' top right corner: what, units, colours, values."""
    with html.Div(id="legend", classes="text-caption",
                  style=OVERLAY + " top: 6px; right: 8px; width: min(260px, 45vw);"):  # fmt: skip
        html.Div("{{ legend.title }}", id="legend-title", classes="text-body-2")
        html.Div(style=("{ background: legend.gradient, height: '12px', "
                        "borderRadius: '2px' }",))  # fmt: skip
        with html.Div(classes="d-flex justify-space-between"):
            html.Span("{{ tick }}", v_for="tick in legend.ticks")


def _chart() -> None:
    with v3.VCard(v_if=("clicked",), id="chart-card", elevation=4,
                  style="position: absolute; right: 12px; bottom: 56px; z-index: 5; "
                        "width: min(400px, 92vw);"):  # fmt: skip
        with v3.VCardText(classes="pa-2"):
            with html.Div(classes="d-flex align-center"):
                html.Div("{{ clicked }}", classes="text-caption flex-grow-1", id="clicked")
                v3.VBtn(icon="mdi-close", size="x-small", variant="text", id="chart-close",
                        click="clicked = ''; chart_svg = ''")  # fmt: skip
            html.Div(v_html=("chart_svg",), v_if=("chart_svg",), id="chart")
