"""``metrotwin view`` driven in a real browser (headless Debian chromium + chromedriver with
selenium): the page loads, the 3D view is not blank, the time slider and the variant picker
change the picture, a click on the ground charts the cell's time series. The tests install
nothing: .ci/run installs chromium and chromium-driver, so in CI a missing one fails."""

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

CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM = "/usr/bin/chromium"


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


def _wait(what, predicate, timeout: float = 30.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"timed out after {timeout} s waiting for {what}")


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
                "--window-size=1280,900"):  # fmt: skip
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
        driver.quit()
        server.terminate()
        out = server.communicate(timeout=10)[0].decode(errors="replace")
        assert "Traceback" not in out, out
        assert _tree(fake_run) == files_before, "the viewer wrote into the run folder"


def _tree(folder) -> dict[str, int]:
    """Every file under ``folder`` with its modification time (ns)."""
    return {str(p): p.stat().st_mtime_ns for p in sorted(folder.rglob("*")) if p.is_file()}


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _view(driver):
    return driver.find_elements("css selector", "canvas")[0]


def _settled(driver) -> np.ndarray:
    """The view's picture once two screenshots in a row agree."""
    last = _picture(_view(driver))
    for _ in range(40):
        time.sleep(0.3)
        now = _picture(_view(driver))
        if _changed(now, last) == 0:
            return now
        last = now
    return last


def _change_from(driver, before: np.ndarray, timeout: float = 15.0) -> float:
    """The fraction of the view's pixels that changed from ``before`` once the server's new
    picture has arrived (0 when none arrives within ``timeout`` s)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if _changed(before, _picture(_view(driver))) > 0:
            return _changed(before, _settled(driver))
        time.sleep(0.2)
    return 0.0


# Server-side rendering is deterministic: an unchanged scene gives exactly the same pixels, so
# any visible change counts. The small town's variants differ in a few ponds at the last time
# (a few hundred pixels of 650 000): 1e-4 asks for at least ~65 pixels.
MIN_CHANGE = 1e-4


def test_page_loads_with_a_legend_with_units(app):
    driver, first_frame = app
    print(f"time to first frame: {first_frame:.1f} s")
    assert driver.find_element("id", "legend").text == "Water depth (m)"
    assert first_frame < 60


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


def test_click_on_the_ground_charts_the_cell(app):
    from selenium.webdriver.common.action_chains import ActionChains

    driver, _ = app
    ActionChains(driver).move_to_element(_view(driver)).click().perform()
    _wait("the chart", lambda: driver.find_elements("id", "chart"), 15)
    assert driver.find_element("id", "clicked").text.startswith("cell row ")
    width = driver.execute_script("return document.getElementById('chart').naturalWidth")
    assert width > 100


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


def test_difference_mode_and_field_picker(app):
    from selenium.webdriver.common.action_chains import ActionChains

    driver, _ = app
    _pick(driver, "variant-picker", "green_blue")
    before = _settled(driver)
    switch = driver.find_element("id", "difference-switch")
    ActionChains(driver).move_to_element(switch).click().perform()
    legend = driver.find_element("id", "legend")
    _wait("the difference legend", lambda: legend.text == "change in Water depth (m)", 10)
    assert _change_from(driver, before) > MIN_CHANGE, "difference mode did not change the view"
    before = _settled(driver)
    _pick(driver, "field-picker", "Felt temperature (UTCI) (°C)")
    _wait("the UTCI legend", lambda: legend.text == "change in Felt temperature (UTCI) (°C)", 10)
    assert _change_from(driver, before) > 0.01, "the field picker did not change the view"


def test_without_trame_view_says_which_extra_to_install(fake_run, monkeypatch, capsys):
    monkeypatch.delitem(sys.modules, "metrotwin.viz.viewer", raising=False)
    monkeypatch.setitem(sys.modules, "trame.app", None)  # import trame.app raises ImportError
    assert main(["view", str(fake_run)]) == 2
    err = capsys.readouterr().err
    assert "trame.app is missing" in err and "metrotwin[viewer]" in err
