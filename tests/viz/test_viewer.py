"""``metrotwin view`` driven in a real browser (headless Debian chromium + chromedriver with
selenium): the page loads, the 3D view is not blank, the time slider, play and the variant
picker change the picture, compare mode shows two views that turn together, a click on the
ground charts the cell's time series with one line per variant, the drawing moves between the
browser (vtk.js, the default for the small town) and the server, and a phone-sized window gets
the drawer toggle. The tests install nothing: .ci/run installs chromium and chromium-driver, so
in CI a missing one fails."""

from __future__ import annotations

import io
import os
import shutil
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

from metrotwin.cli import main

from tests._support.browser import wait_for

CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM = "/usr/bin/chromium"
DESKTOP, PHONE = (1400, 900), (390, 844)


def _missing() -> str | None:
    """Why the browser test cannot run here (None when it can)."""
    for module in ("trame", "trame_vtk", "trame_vuetify", "selenium", "PIL"):
        try:
            __import__(module)
        except ImportError:
            return f"{module} is not installed (pip install -e '.[test]')"
    for exe in (CHROMIUM, CHROMEDRIVER):
        if not (shutil.which(os.path.basename(exe)) or os.path.exists(exe)):
            return f"{exe} is missing (Debian: apt-get install chromium chromium-driver)"
    return None


@pytest.fixture(scope="module")
def browser_ok():
    _require_browser()


def _require_browser() -> None:
    """Skip without the browser tools; fail in CI, where .ci/run installs them."""
    why = _missing()
    if why and os.environ.get("CI", "").lower() in ("true", "1"):
        pytest.fail(f"in CI: {why}; .ci/run installs it as root")
    if why:
        pytest.skip(why)


@pytest.mark.parametrize("ci, outcome", [("true", pytest.fail.Exception),
                                          ("", pytest.skip.Exception)])  # fmt: skip
def test_missing_chromedriver_fails_in_ci_and_skips_elsewhere(monkeypatch, tmp_path, ci, outcome):
    monkeypatch.setattr(f"{__name__}.CHROMEDRIVER", str(tmp_path / "chromedriver"))
    monkeypatch.setattr(shutil, "which", lambda name: None)
    monkeypatch.setenv("CI", ci)
    with pytest.raises(outcome, match="chromedriver"):
        _require_browser()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _picture(element) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(element.screenshot_as_png)).convert("RGB"), "int16")


_wait = wait_for


def _not_blank(img: np.ndarray) -> bool:
    """More than a background: many distinct colours over a good part of the view."""
    colours = np.unique(img.reshape(-1, 3), axis=0)
    return len(colours) > 200 and float(img.std()) > 10


def _changed(a: np.ndarray, b: np.ndarray) -> float:
    """Fraction of pixels that changed visibly (> 30 in the sum of the channels)."""
    return float((np.abs(a - b).sum(axis=-1) > 30).mean())


@pytest.fixture(scope="module")
def app(fake_run, browser_ok):
    """The viewer serving the small run, and a headless chromium on it; yields (driver,
    seconds from the command's start to the first non-blank frame)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    files_before = _tree(fake_run)
    port = _free_port()
    env = {**os.environ, "NUMBA_NUM_THREADS": "1"}
    start = time.monotonic()
    server = subprocess.Popen([sys.executable, "-m", "metrotwin", "view", str(fake_run),
                               "--port", str(port)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)  # fmt: skip
    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                f"--window-size={DESKTOP[0]},{DESKTOP[1]}"):  # fmt: skip
        options.add_argument(arg)
    options.binary_location = shutil.which("chromium") or CHROMIUM
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or CHROMEDRIVER),
                              options=options)  # fmt: skip
    try:
        _wait("the server", lambda: server.poll() is None and _listening(port), 40)
        driver.get(f"http://127.0.0.1:{port}/")
        canvas = _wait("the 3D view", lambda: driver.find_elements("css selector", "canvas"))
        _wait("a first frame", lambda: _not_blank(_picture(canvas[0])))
        yield driver, time.monotonic() - start
    finally:
        server.terminate()  # first: a browser leaving while a picture is sent is no error
        out = server.communicate(timeout=10)[0].decode(errors="replace")
        driver.quit()
        assert "Traceback" not in out and "exception" not in out, out
        assert _tree(fake_run) == files_before, "the viewer wrote into the run folder"


def _tree(folder) -> dict[str, int]:
    """Every file under ``folder`` with its modification time (ns)."""
    return {str(p): p.stat().st_mtime_ns for p in sorted(folder.rglob("*")) if p.is_file()}


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _view(driver, side: str = "a"):
    """The canvas the user sees in the left ('a') or right ('b') view."""
    return driver.execute_script(
        "return [...document.querySelectorAll(`#view-${arguments[0]} canvas`)].find(c => {"
        "const r = c.getBoundingClientRect(); return r.width > 20 && r.left >= 0; })", side)


def _settled(driver, side: str = "a") -> np.ndarray:
    """The view's picture once two screenshots in a row agree."""
    last = _picture(_view(driver, side))
    for _ in range(40):
        time.sleep(0.3)
        now = _picture(_view(driver, side))
        if _changed(now, last) == 0:
            return now
        last = now
    return last


def _change_from(driver, before: np.ndarray, timeout: float = 15.0, side: str = "a") -> float:
    """The fraction of the view's pixels that changed from ``before`` once the new picture
    has arrived (0 when none arrives within ``timeout`` s)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        now = _picture(_view(driver, side))
        if now.shape == before.shape and _changed(before, now) > 0:
            return _changed(before, _settled(driver, side))
        time.sleep(0.2)
    return 0.0


# Rendering (vtk.js or the server's) is deterministic: an unchanged scene gives exactly the same
# pixels, so any visible change counts. The small town's variants differ in a few ponds at the last time
# (a few hundred pixels of 650 000): 1e-4 asks for at least ~65 pixels.
MIN_CHANGE = 1e-4


def test_page_loads_with_a_legend_with_units(app):
    driver, first_frame = app
    print(f"time to first frame: {first_frame:.1f} s")
    assert driver.find_element("id", "legend-title").text == "Water depth (m)"
    ticks = driver.find_elements("css selector", "#legend span")
    assert len(ticks) == 3 and float(ticks[0].text) < float(ticks[-1].text)
    # the small town (7 666 cells) is drawn in the browser by vtk.js: the default mode
    assert "vtk.js" in driver.find_element("id", "render-mode").find_element(
        "xpath", "./ancestor::div[contains(@class, 'v-select')]").text  # fmt: skip
    assert first_frame < 60


def test_play_steps_the_time_and_stops_at_the_end(app):
    from selenium.webdriver.common.keys import Keys

    driver, _ = app
    label = driver.find_element("id", "time-label")
    driver.find_element("css selector", ".v-slider-thumb").send_keys(Keys.HOME)
    _wait("the first time", lambda: label.text == "0 min", 10)
    first = _settled(driver)
    play = driver.find_element("id", "play-button")
    play.click()
    _wait("the next time", lambda: label.text not in ("0 min", ""), 10)
    assert play.get_attribute("title") == "pause"
    # 7 output times, 0.6 s apart (PLAY_PERIOD) after each picture: stops at the last one
    _wait("the end", lambda: play.get_attribute("title") == "play", 20)
    assert label.text == "180 min"
    assert _change_from(driver, first) > 0.01, "playing did not change the picture"


def test_time_slider_changes_the_picture(app):
    from selenium.webdriver.common.keys import Keys

    driver, _ = app
    before = _settled(driver)
    thumb = driver.find_element("css selector", "#time-slider .v-slider-thumb, "
                                                ".v-slider-thumb")  # fmt: skip
    thumb.send_keys(Keys.HOME)  # the first output time: (almost) no water yet
    _wait("the time label", lambda: driver.find_element("id", "time-label").text == "0 min", 10)
    assert _change_from(driver, before) > 0.01, "the picture did not change with the time"
    thumb.send_keys(Keys.END)
    _wait("the time label", lambda: driver.find_element("id", "time-label").text != "0 min", 10)


def test_variant_picker_changes_the_picture(app):
    from selenium.webdriver.common.action_chains import ActionChains

    driver, _ = app
    before = _settled(driver)
    picker = driver.find_element("css selector", "#variant-picker")
    ActionChains(driver).move_to_element(picker).click().perform()  # where a user clicks
    item = _wait("the variant list", lambda: [e for e in driver.find_elements(
        "css selector", ".v-list-item") if e.text.strip() == "baseline"])  # fmt: skip
    ActionChains(driver).move_to_element(item[0]).click().perform()
    _wait("the variant", lambda: "baseline" in driver.find_element(
        "css selector", ".v-select .v-select__selection, #variant-picker").text
        or driver.execute_script("return document.getElementById('variant-picker').value")
        == "baseline", 10)  # fmt: skip
    assert _change_from(driver, before) > MIN_CHANGE, "the picture did not change with the variant"


def test_click_on_the_ground_charts_one_line_per_variant(app):
    from selenium.webdriver.common.action_chains import ActionChains

    driver, _ = app
    ActionChains(driver).move_to_element(_view(driver)).click().perform()
    _wait("the chart", lambda: driver.find_elements("css selector", "#chart svg"), 15)
    assert driver.find_element("id", "clicked").text.startswith("cell row ")
    # each variant's line is its own group in the chart's SVG, named in its legend
    lines = driver.find_elements("css selector", "#chart svg g[id^='series-'] path")
    legend = [t.text for t in driver.find_elements("css selector", "#chart svg text")]
    assert len(lines) == 3, "one line per variant (baseline, cool_city, green_blue)"
    assert {"baseline", "cool_city", "green_blue"} <= set(legend)
    # a drag turns the view and charts nothing: the chart stays that of the click
    clicked = driver.find_element("id", "clicked").text
    before = _settled(driver)
    _drag(driver, _view(driver), 3)
    assert _change_from(driver, before) > 0.05, "the drag did not turn the view"
    assert driver.find_element("id", "clicked").text == clicked


HESITATION = 0.15  # s between a drag's moves


def _drag(driver, element, steps: int, dx: int = 12) -> None:
    """Turn the view: press on ``element``, move ``steps`` times by ``dx`` px, release.
    Paced like a hand that hesitates (or a browser whose frames are slow): each move comes
    more than the 200 ms after the previous one at which vtk.js calls it the start of a new
    movement (selenium spends 250 ms on a move, and the hand pauses 150 ms)."""
    from selenium.webdriver.common.action_chains import ActionChains

    chain = ActionChains(driver).move_to_element(element).click_and_hold()
    for _ in range(steps):
        chain = chain.pause(HESITATION).move_by_offset(dx, 0)
    chain.release().perform()


def test_compare_mode_turns_both_views_together(app):
    from selenium.webdriver.common.action_chains import ActionChains

    driver, _ = app
    for close in driver.find_elements("id", "chart-close"):
        close.click()  # the chart would cover the right view
    _pick(driver, "variant-picker", "baseline")
    switch = driver.find_element("id", "compare-switch")
    ActionChains(driver).move_to_element(switch).click().perform()
    _wait("the right view", lambda: _view(driver, "b"), 15)
    _wait("its picture", lambda: _not_blank(_picture(_view(driver, "b"))), 15)
    assert driver.find_element("id", "label-a").text == "baseline"
    assert driver.find_element("id", "label-b").text == "baseline"
    left, right = _settled(driver, "a"), _settled(driver, "b")
    # one drag of the left view turns it, and the right one follows
    _drag(driver, _view(driver, "a"), 5)
    assert _change_from(driver, left) > 0.05, "the left view did not turn under the drag"
    assert _change_from(driver, right, side="b") > 0.05, "the right view did not turn"
    left, right = _settled(driver, "a"), _settled(driver, "b")
    h, w = min(left.shape[0], right.shape[0]), min(left.shape[1], right.shape[1])
    # one camera: the city's outline (pixels that are not the white background) is the same
    # in both views (unlinked, the left one alone turned and its outline moved by ~10 % of
    # the view); below the labels and the legend (top 80 px); the lights may shade roofs a
    # little differently; 1 % allows the views' widths to differ by a pixel
    outline_l, outline_r = (p[80:h, :w].sum(axis=-1) < 3 * 245 for p in (left, right))
    same = float((outline_l != outline_r).mean())
    assert same < 0.01, f"the views show different cameras ({same:.1%} of the outline)"
    ActionChains(driver).move_to_element(switch).click().perform()
    _wait("one view", lambda: not _view(driver, "b"), 10)


def test_series_has_one_line_per_variant(fake_run):
    from metrotwin.viz.viewer_data import ViewerData

    data = ViewerData([fake_run])
    series = data.series("flood_water_thickness", 10, 10)
    assert list(series) == data.variants and len(data.variants) == 3
    assert all(len(v) == data.n_times for v in series.values())
    # one output time at a time: drawing a frame does not load the whole field
    frame = data.frame("green_blue", "flood_water_thickness", 2, 2, difference=True)
    assert frame.shape == (24, 30)  # the 48 x 60 grid averaged in 2 x 2 blocks
    assert not any(run.ds["flood_water_thickness"].variable._in_memory
                   for run in data.runs.values())  # fmt: skip
    data.close()


def test_busy_port_and_open_host_are_refused_or_warned(fake_run, capsys, browser_ok):
    with socket.socket() as busy:
        busy.bind(("0.0.0.0", 0))
        port = busy.getsockname()[1]
        busy.listen()
        assert main(["view", str(fake_run), "--host", "0.0.0.0", "--port", str(port)]) == 2
    err = capsys.readouterr().err
    assert "reachable from the network" in err
    assert f"--port {port}" in err and "free port" in err


def _pick(driver, picker_id: str, text: str) -> None:
    """Choose ``text`` in a drop-down, clicking where a user clicks."""
    from selenium.webdriver.common.action_chains import ActionChains

    ActionChains(driver).move_to_element(driver.find_element("id", picker_id)).click().perform()
    item = _wait(f"{text} in the list", lambda: [e for e in driver.find_elements(
        "css selector", ".v-overlay--active .v-list-item") if e.text.strip() == text])  # fmt: skip
    ActionChains(driver).move_to_element(item[0]).click().perform()


def test_no_web_endpoint_takes_a_file(app):
    """The web server answers GETs only (the page and the websocket): an upload or a write
    is refused (the run folder is checked unchanged when the app stops)."""
    import urllib.error
    import urllib.request

    driver, _ = app
    base = driver.current_url.split("#")[0].rstrip("/")
    for method, path in (("POST", "/"), ("PUT", "/index.html"), ("POST", "/upload"),
                         ("PUT", "/fields.nc")):  # fmt: skip
        request = urllib.request.Request(base + path, data=b"x" * 64, method=method)
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=5)
        assert refused.value.code in (404, 405), (method, path, refused.value.code)


def test_nonsense_from_the_browser_keeps_the_last_valid_view(app):
    """The page's state comes from the browser: a forged value is ignored (the server's
    output is checked free of exceptions when the app stops)."""
    driver, _ = app
    label = driver.find_element("id", "time-label")
    shown = label.text
    for key, value in (("time_index", "soon"), ("field", "../../etc/passwd"),
                       ("variant", None), ("render_mode", "webgpu")):  # fmt: skip
        driver.execute_script("window.trame.state.set(arguments[0], arguments[1])", key, value)
    _wait("the render mode back", lambda: driver.execute_script(
        "return window.trame.state.get('render_mode')") == "local", 10)  # fmt: skip
    assert label.text == shown
    assert driver.find_element("id", "legend-title").text == "Water depth (m)"


def test_drawing_on_the_server_instead_of_in_the_browser(app):
    from selenium.webdriver.common.keys import Keys

    driver, _ = app
    _pick(driver, "render-mode", "the server (pictures)")
    _wait("the server's picture", lambda: driver.find_elements(
        "css selector", "#view-a .vtk-remote-view, #view-a img, #view-a canvas"), 10)  # fmt: skip
    _wait("a server picture", lambda: _not_blank(_picture(_view(driver))), 20)
    driver.find_element("css selector", ".v-slider-thumb").send_keys(Keys.HOME)
    shown = _settled(driver)
    driver.find_element("css selector", ".v-slider-thumb").send_keys(Keys.END)
    assert _change_from(driver, shown) > 0.01, "the server's picture did not follow the time"
    shown = _settled(driver)
    _drag(driver, _view(driver), 3)  # the server turns its camera and sends a new picture
    assert _change_from(driver, shown) > 0.05, "a drag did not turn the server's view"


def test_difference_mode_and_field_picker(app):
    from selenium.webdriver.common.action_chains import ActionChains

    driver, _ = app
    _pick(driver, "variant-picker", "green_blue")
    before = _settled(driver)
    switch = driver.find_element("id", "difference-switch")
    ActionChains(driver).move_to_element(switch).click().perform()
    legend = driver.find_element("id", "legend-title")
    _wait("the difference legend", lambda: legend.text == "change in Water depth (m)", 10)
    assert _change_from(driver, before) > MIN_CHANGE, "difference mode did not change the view"
    before = _settled(driver)
    _pick(driver, "field-picker", "Felt temperature (UTCI) (°C)")
    _wait("the UTCI legend", lambda: legend.text == "change in Felt temperature (UTCI) (°C)", 10)
    assert _change_from(driver, before) > 0.01, "the field picker did not change the view"


def test_phone_width_collapses_the_controls_into_a_drawer(app):
    driver, _ = app
    driver.set_window_size(*PHONE)
    drawer = driver.find_element("id", "controls")
    _wait("the drawer to close", lambda: "--active" not in drawer.get_attribute("class")
          and drawer.rect["x"] + drawer.rect["width"] <= 0, 10)  # fmt: skip
    toggle = driver.find_element("id", "drawer-toggle")
    assert toggle.is_displayed()
    assert "v-navigation-drawer--temporary" in drawer.get_attribute("class")
    _wait("the view at phone width", lambda: _view(driver) is not None
          and _view(driver).size["width"] <= PHONE[0], 10)  # fmt: skip
    _wait("its picture", lambda: _not_blank(_picture(_view(driver))), 15)
    toggle.click()
    _wait("the drawer to open", lambda: "--active" in drawer.get_attribute("class"), 10)
    _wait("the controls on the screen", lambda: drawer.rect["x"] >= 0, 5)
    driver.set_window_size(*DESKTOP)


def test_without_trame_view_says_which_extra_to_install(fake_run, monkeypatch, capsys):
    monkeypatch.delitem(sys.modules, "metrotwin.viz.viewer", raising=False)
    monkeypatch.setitem(sys.modules, "trame.app", None)  # import trame.app raises ImportError
    assert main(["view", str(fake_run)]) == 2
    err = capsys.readouterr().err
    assert "trame.app is missing" in err and "metrotwin[viewer]" in err


def test_render_mode_follows_the_scene_size(fake_run):
    from metrotwin.viz.viewer_app_views import LOCAL_MAX_CELLS, render_mode_for, scene_cells
    from metrotwin.viz.viewer_data import ViewerData
    from metrotwin.viz.viewer_scene import ViewerScene

    data = ViewerData([fake_run])
    scene = ViewerScene(data)
    scene.show("flood_water_thickness", 0, "baseline", False)
    cells = scene_cells(scene.plotter)
    # terrain (2 880 cells of the 48 x 60 grid) + buildings + roads and outlines (the draped
    # field has no cell at the start: dry ground is not drawn)
    assert 48 * 60 < cells < LOCAL_MAX_CELLS
    assert render_mode_for(cells) == "local"
    assert render_mode_for(LOCAL_MAX_CELLS + 1) == "remote"
    data.close()


class _State:
    """Stands in for trame's state: attributes, and a ``with`` block that re-draws (slowly)."""

    def __init__(self, redraw_s: float):
        self.playing, self.loop, self.time_index = False, False, 0
        self.redraw_s, self.drawn = redraw_s, []

    def __enter__(self):
        return self

    def __exit__(self, *_):
        if self.time_index != (self.drawn[-1][1] if self.drawn else 0):
            time.sleep(self.redraw_s)  # a new time is re-drawn when the block is left
            self.drawn.append((time.monotonic(), self.time_index))


def test_play_never_piles_up_pictures_and_stops_at_the_end():
    import asyncio

    from metrotwin.viz.viewer_app_play import Player, next_index

    assert [next_index(i, 3, False) for i in range(3)] == [1, 2, None]
    assert next_index(2, 3, True) == 0

    async def play():
        state = _State(redraw_s=0.03)
        player = Player(state, 4, period=0.01)
        player.toggle()
        player.toggle()  # pause ...
        player.toggle()  # ... and play again at once: still one timer
        await asyncio.sleep(0.5)
        return state

    state = asyncio.run(play())
    indices = [i for _, i in state.drawn]
    assert indices == [1, 2, 3], indices  # one step at a time, each once, then stopped
    assert not state.playing
    gaps = np.diff([t for t, _ in state.drawn])
    # the next step waits for the previous picture (30 ms) plus the period (10 ms)
    assert (gaps >= 0.035).all(), gaps


def test_port_of_a_just_stopped_server_is_free():
    from metrotwin.viz.viewer import _check_port

    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as aiohttp's does
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        client = socket.create_connection(("127.0.0.1", port))
        served, _ = listener.accept()
        served.close()  # the server closes first: its port waits in TIME_WAIT
        client.close()
    _check_port("127.0.0.1", port)  # like the web server, may bind it again


def test_zoom_fits_the_city_in_a_narrow_view():
    from vtkmodules.vtkRenderingCore import vtkCamera

    from metrotwin.viz.viewer_app_views import fitting_scale

    top = vtkCamera()  # looking down on a 100 m (x) by 50 m (y) town, north up
    top.SetPosition(50, 25, 500)
    top.SetFocalPoint(50, 25, 0)
    top.SetViewUp(0, 1, 0)
    bounds = (0, 100, 0, 50, 0, 10)
    # a wide view: the 100 m fit across 2 x 50 m at aspect 1 (scale = half height, 5 % margin)
    assert fitting_scale(top, bounds, 1.0) == pytest.approx(1.05 * 50)
    assert fitting_scale(top, bounds, 4.0) == pytest.approx(1.05 * 25)  # the height limits
    # a phone held upright (390 x 844 px): the 100 m across need a view 216 m tall
    assert fitting_scale(top, bounds, 390 / 844) == pytest.approx(1.05 * 50 * 844 / 390)
