"""The standalone page of ``metrotwin view RUN_DIR --export``: contents, size, safety, and what
a real browser (headless Debian chromium driven by selenium, the page opened from a file:// URL)
draws from it with vtk.js: time slider, play, variant switch, click plot, phone-width drawer.

METROTWIN_SCREENSHOT_DIR=folder keeps the desktop and phone screenshots the tests take."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import re
import shutil
import time
from pathlib import Path

import numpy as np
import pytest

from metrotwin.cli import main

from tests._support.browser import wait_for
from metrotwin.errors import DataSourceError, OutputError
from metrotwin.viz.viewer_export import export_page, quantise
from metrotwin.viz.viewer_export_page import inline_script, library_size, static_text

FIELD = "flood_water_thickness"


@pytest.fixture(scope="module")
def page(flood_only_run, tmp_path_factory) -> Path:
    return export_page(flood_only_run, tmp_path_factory.mktemp("page") / "city.html")


def _scene(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    found = re.search(r'<script id="scene" type="application/json">(.*?)</script>', text, re.S)
    return json.loads(found.group(1))


def test_page_embeds_every_variant_and_time_as_bytes(page, flood_only_run):
    import xarray as xr

    scene = _scene(page)
    ny, nx = scene["shape"]
    values = np.frombuffer(base64.b64decode(scene["values"]), "uint8")
    assert len(scene["variants"]) >= 2
    assert values.size == len(scene["variants"]) * len(scene["times"]) * ny * nx
    # the decoded first frame of the baseline is the field within half a quantisation step
    # (the small town is under the cell budget: no decimation, cells match one to one)
    with xr.open_dataset(Path(flood_only_run) / scene["variants"][0] / "fields.nc") as ds:
        truth = ds[FIELD].isel(time=len(scene["times"]) - 1).values
    assert truth.shape == (ny, nx)
    frame = values.reshape(len(scene["variants"]), len(scene["times"]), ny, nx)[0, -1]
    decoded = scene["offset"] + frame * scene["scale"]
    ok = frame != 255
    assert np.abs(decoded[ok] - truth[ok]).max() <= scene["scale"] / 2 + 1e-6


def test_page_loads_nothing_from_outside(page):
    text = page.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", text)
    # the page's own script fetches nothing; vtk.js can (its readers), but only when asked
    own = static_text("viewer_export.html") + static_text("viewer_export.js")
    assert not re.search(r"import\(|fetch\(|XMLHttpRequest|\bsrc\s*=", own)
    # the browser tests check that opening the page requests no resource at all


def test_inlined_vtkjs_is_the_file_the_notice_describes(page):
    notice = static_text("NOTICE")
    digest = re.search(r"sha256 of this file: ([0-9a-f]{64})", notice).group(1)
    library = static_text("vtk.js")
    assert hashlib.sha256(library.encode("utf-8")).hexdigest() == digest
    assert "BSD-3-Clause" in notice and "Redistribution and use" in notice
    assert library in page.read_text(encoding="utf-8")


def test_a_script_that_would_end_its_element_is_refused():
    with pytest.raises(ValueError, match="</script"):
        inline_script("let s = '</script>';", "x.js")


def test_quantise_round_trip_and_no_data():
    values = np.array([[0.0, 0.5], [np.nan, 2.0]])
    codes, offset, scale = quantise(values)
    assert codes[1, 0] == 255
    ok = np.isfinite(values)
    assert np.abs(offset + codes[ok] * scale - values[ok]).max() <= scale / 2
    assert codes[ok].max() == 254


def test_a_small_size_budget_decimates_the_grid(flood_only_run, tmp_path):
    big = _scene(export_page(flood_only_run, tmp_path / "big.html"))
    # vtk.js and the page's script are a fixed cost; the budget beyond them is for the scene
    max_bytes = library_size() + 200_000
    small_page = export_page(flood_only_run, tmp_path / "small.html", max_bytes=max_bytes)
    small = _scene(small_page)
    assert np.prod(small["shape"]) < np.prod(big["shape"])
    assert small_page.stat().st_size <= max_bytes


def test_existing_file_is_kept_without_overwrite(flood_only_run, tmp_path, capsys):
    out = tmp_path / "city.html"
    out.write_text("mine", encoding="utf-8")
    with pytest.raises(OutputError, match="--overwrite"):
        export_page(flood_only_run, out)
    assert main(["view", str(flood_only_run), "--export", str(out)]) == 2
    assert "exists" in capsys.readouterr().err
    assert out.read_text(encoding="utf-8") == "mine"
    assert main(["view", str(flood_only_run), "--export", str(out), "--overwrite"]) == 0
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert not list(tmp_path.glob(".city.html.*"))  # no temporary file left behind


def test_unknown_field_names_the_choices(flood_only_run, tmp_path):
    with pytest.raises(DataSourceError, match=r"'no_such_field'.*flood_water_thickness"):
        export_page(flood_only_run, tmp_path / "x.html", field="no_such_field")
    assert not (tmp_path / "x.html").exists()
    # a field on the road links, not on the grid, is no choice either
    with pytest.raises(DataSourceError, match="'link_closed'"):
        export_page(flood_only_run, tmp_path / "x.html", field="link_closed")


# -- in a real browser --------------------------------------------------------------------------
CHROMEDRIVER = "/usr/bin/chromedriver"
DESKTOP, PHONE = (1280, 800), (390, 844)
HIDDEN = -1  # a blanked pixel of _view


def _missing() -> str | None:
    """Why the browser tests cannot run here (None when they can)."""
    for module in ("selenium", "PIL"):
        try:
            __import__(module)
        except ImportError:
            return f"{module} is not installed (pip install -e '.[test]')"
    if not (shutil.which("chromium") or shutil.which("chromium-browser")):
        return "chromium is missing (Debian: apt-get install chromium chromium-driver)"
    if not (shutil.which("chromedriver") or os.path.exists(CHROMEDRIVER)):
        return f"{CHROMEDRIVER} is missing (Debian: apt-get install chromium-driver)"
    return None


@pytest.fixture(scope="module")
def browser():
    """One headless chromium for the module (software WebGL through SwiftShader)."""
    why = _missing()
    if why and os.environ.get("CI", "").lower() in ("true", "1"):
        pytest.fail(f"in CI: {why}; .ci/run installs it as root")
    if why:
        pytest.skip(f"the exported page is not drawn in a browser: {why}")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--hide-scrollbars",
                "--use-angle=swiftshader", "--enable-unsafe-swiftshader"):  # fmt: skip
        options.add_argument(arg)
    options.binary_location = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = webdriver.Chrome(service=Service(shutil.which("chromedriver") or CHROMEDRIVER),
                              options=options)  # fmt: skip
    yield driver
    driver.quit()


def _open(driver, page: Path, fragment: str, size: tuple[int, int]) -> None:
    """Load the page afresh at a screen of ``size`` (CSS pixels; phone-like under 600 wide)
    and wait until it has drawn its first frame."""
    width, height = size
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": width, "height": height, "deviceScaleFactor": 1, "mobile": width < 600})
    driver.execute_cdp_cmd("Emulation.setTouchEmulationEnabled", {"enabled": width < 600})
    driver.get("about:blank")
    driver.get(f"{page.as_uri()}#{fragment}")
    ready = _wait("the first frame", lambda: driver.execute_script(
        "return document.body && document.body.dataset.ready"))  # fmt: skip
    assert ready == "yes", f"the page did not draw: {ready}"
    # everything the page needs is in the file: it requests no resource at all
    assert driver.execute_script("return performance.getEntriesByType('resource').length") == 0


def _wait(what, predicate, timeout: float = 20.0):
    return wait_for(what, predicate, timeout, poll=0.05)


def _view(driver) -> np.ndarray:
    """The window's pixels with the page's boxes (panel, legend, chart, drawer button) blanked:
    what remains is the 3D view alone, so a changed label cannot pass for a changed picture."""
    from PIL import Image

    img = np.asarray(Image.open(io.BytesIO(driver.get_screenshot_as_png())).convert("RGB"),
                     "int16").copy()  # fmt: skip
    for box in driver.find_elements("css selector", ".box, #toggle"):
        if box.is_displayed():
            r = box.rect
            img[max(int(r["y"]), 0):int(r["y"] + r["height"]) + 1,
                max(int(r["x"]), 0):int(r["x"] + r["width"]) + 1] = HIDDEN  # fmt: skip
    return img


def _not_blank(img: np.ndarray) -> bool:
    """More than a background: many distinct colours over a good part of the view."""
    seen = img[(img != HIDDEN).all(axis=-1)]
    return len(np.unique(seen, axis=0)) > 200 and float(seen.std()) > 10


def _changed(a: np.ndarray, b: np.ndarray) -> float:
    """Fraction of the pixels seen in both pictures that changed visibly (> 30 in the largest
    channel difference)."""
    seen = (a != HIDDEN).all(axis=-1) & (b != HIDDEN).all(axis=-1)
    return float((np.abs(a - b).max(axis=-1)[seen] > 30).mean())


def _keep(driver, name: str) -> None:
    folder = os.environ.get("METROTWIN_SCREENSHOT_DIR")
    if folder:
        driver.save_screenshot(str(Path(folder) / name))


def _codes(scene: dict) -> np.ndarray:
    ny, nx = scene["shape"]
    values = np.frombuffer(base64.b64decode(scene["values"]), "uint8")
    return values.reshape(len(scene["variants"]), len(scene["times"]), ny * nx)


def test_browser_draws_the_city_and_follows_time_and_variant(browser, page):
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import Select

    scene = _scene(page)
    last = len(scene["times"]) - 1
    codes = _codes(scene)
    # the variant whose water differs most from the baseline's at the last time
    v = int(np.argmax([(codes[i, last] != codes[0, last]).sum() for i in range(len(codes))]))
    assert v > 0, "the fixture's variants all have the baseline's water"
    _open(browser, page, "t=0&v=0", DESKTOP)
    assert not browser.find_element("id", "toggle").is_displayed()  # no drawer on a desktop
    first = _view(browser)
    assert _not_blank(first), "the WebGL canvas is blank (a few flat colours only)"
    browser.find_element("id", "t").send_keys(Keys.END)  # the slider, moved by the keyboard
    assert browser.find_element("id", "tlabel").text == scene["times"][last]
    later = _view(browser)
    assert _changed(first, later) > 0.005, "a later time step draws the same picture"
    Select(browser.find_element("id", "v")).select_by_visible_text(scene["variants"][v])
    other = _view(browser)
    assert _changed(later, other) > 0.005, "another variant draws the same picture"
    assert f"v={scene['variants'][v]}" in browser.current_url  # a link opens this view


def test_play_runs_the_time_slider_and_pauses(browser, page):
    _open(browser, page, "t=0&v=0", DESKTOP)
    slider, play = browser.find_element("id", "t"), browser.find_element("id", "play")
    play.click()
    _wait("play to move the time slider", lambda: slider.get_attribute("value") != "0", 5)
    play.click()
    paused = slider.get_attribute("value")
    time.sleep(0.7)  # longer than one step of play (0.6 s): a paused slider stays
    assert slider.get_attribute("value") == paused


def test_click_on_the_ground_plots_one_line_per_variant(browser, page):
    from selenium.webdriver.common.action_chains import ActionChains

    scene = _scene(page)
    codes = _codes(scene)
    _open(browser, page, f"t={len(scene['times']) - 1}&v=0", DESKTOP)
    assert not browser.find_element("id", "chart").is_displayed()
    before = _view(browser)
    # the centre of the view is on the ground (the camera looks at the city's centre)
    ActionChains(browser).move_to_element(browser.find_element("css selector", "#view canvas")
                                          ).click().perform()  # fmt: skip
    chart = _wait("the click plot", lambda: browser.find_element("id", "chart").is_displayed()
                  and browser.find_element("id", "chart"))  # fmt: skip
    _keep(browser, "viewer_export_desktop.png")
    assert _changed(before, _view(browser)) > 0.0002, "no pin marks the picked cell"
    row, col = (int(i) for i in chart.get_attribute("data-cell").split(","))
    lines = browser.find_elements("css selector", "#plot path.series")
    assert [p.get_attribute("data-variant") for p in lines] == scene["variants"]
    keys = browser.find_elements("css selector", "#keys span")
    assert [k.text for k in keys] == scene["variants"]  # the chart's legend names them
    cell = row * scene["shape"][1] + col
    for v, line in enumerate(lines):
        # each line is that cell's bytes for its variant, decoded: the page's data, not a guess
        drawn = np.array(json.loads(line.get_attribute("data-values")), dtype="float64")
        expect = np.where(codes[v, :, cell] == 255, np.nan,
                          scene["offset"] + codes[v, :, cell] * scene["scale"])  # fmt: skip
        np.testing.assert_allclose(drawn, expect, rtol=1e-9, atol=1e-9)
        assert line.get_attribute("d").count("L") == np.isfinite(expect).sum() - 1


def test_phone_width_puts_the_controls_in_a_drawer_and_still_draws(browser, page):
    from selenium.webdriver.support.ui import Select

    _open(browser, page, f"t={len(_scene(page)['times']) // 2}&v=0", PHONE)
    assert browser.execute_script("return innerWidth") == PHONE[0]
    toggle, panel = browser.find_element("id", "toggle"), browser.find_element("id", "panel")
    assert toggle.is_displayed()
    assert panel.rect["x"] + panel.rect["width"] <= 0, "the controls cover the phone's view"
    assert _not_blank(_view(browser)), "the WebGL canvas is blank at phone width"
    # a tap (touch, not mouse) on the ground opens the click plot there too
    centre = [{"x": PHONE[0] / 2, "y": PHONE[1] / 2}]
    for kind, points in (("touchStart", centre), ("touchEnd", [])):
        browser.execute_cdp_cmd("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})
    _wait("the click plot after a tap", lambda: browser.find_element("id", "chart").is_displayed())
    toggle.click()
    _wait("the drawer to open", lambda: panel.rect["x"] >= 0, 5)
    assert toggle.get_attribute("aria-expanded") == "true"
    Select(browser.find_element("id", "v")).select_by_index(1)  # the drawer's controls work
    assert "v=" + _scene(page)["variants"][1] in browser.current_url
    _keep(browser, "viewer_export_phone.png")
