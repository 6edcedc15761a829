"""The standalone page of ``metrotwin view RUN_DIR --export``: contents, size, safety, and the
picture a real browser (headless Chromium, opened from a file:// URL) draws from it."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from metrotwin.cli import main
from metrotwin.errors import DataSourceError, OutputError
from metrotwin.viz.viewer_export import export_page, quantise

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
    assert "import(" not in text and "fetch(" not in text


def test_quantise_round_trip_and_no_data():
    values = np.array([[0.0, 0.5], [np.nan, 2.0]])
    codes, offset, scale = quantise(values)
    assert codes[1, 0] == 255
    ok = np.isfinite(values)
    assert np.abs(offset + codes[ok] * scale - values[ok]).max() <= scale / 2
    assert codes[ok].max() == 254


def test_a_small_size_budget_decimates_the_grid(flood_only_run, tmp_path):
    big = _scene(export_page(flood_only_run, tmp_path / "big.html"))
    small_page = export_page(flood_only_run, tmp_path / "small.html", max_bytes=200_000)
    small = _scene(small_page)
    assert np.prod(small["shape"]) < np.prod(big["shape"])
    assert small_page.stat().st_size <= 200_000


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
def _chromium() -> str:
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    if exe is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is missing (CI must install Debian's chromium)")
        pytest.skip("chromium is not installed: the exported page is not drawn in a browser")
    return exe


def _screenshot(exe: str, page: Path, fragment: str, out: Path) -> np.ndarray:
    from PIL import Image

    cmd = [exe, "--headless", "--no-sandbox", "--use-angle=swiftshader",
           "--enable-unsafe-swiftshader", "--window-size=800,600", "--hide-scrollbars",
           "--virtual-time-budget=3000", f"--screenshot={out}", f"{page.as_uri()}#{fragment}"]
    subprocess.run(cmd, capture_output=True, timeout=40, check=False)
    assert out.is_file(), f"chromium wrote no screenshot of {page}#{fragment}"
    return np.asarray(Image.open(out).convert("RGB"), dtype="int16")


def test_browser_draws_the_city_and_follows_time_and_variant(page, tmp_path):
    exe = _chromium()
    scene = _scene(page)
    last = len(scene["times"]) - 1
    ny, nx = scene["shape"]
    values = np.frombuffer(base64.b64decode(scene["values"]), "uint8")
    values = values.reshape(len(scene["variants"]), len(scene["times"]), ny * nx)
    # the variant whose water differs most from the baseline's at the last time
    v = int(np.argmax([(values[i, last] != values[0, last]).sum() for i in
                       range(len(scene["variants"]))]))  # fmt: skip
    assert v > 0, "the fixture's variants all have the baseline's water"
    first = _screenshot(exe, page, "t=0&v=0", tmp_path / "a.png")
    later = _screenshot(exe, page, f"t={last}&v=0", tmp_path / "b.png")
    other = _screenshot(exe, page, f"t={last}&v={scene['variants'][v]}", tmp_path / "c.png")
    # below the control panel: the WebGL canvas alone
    canvas = first[200:, :]
    colours = np.unique(canvas.reshape(-1, 3), axis=0)
    assert len(colours) > 200, "the WebGL canvas is blank (a few flat colours only)"
    # a picture differs when more than 0.5 % of its pixels changed noticeably
    def changed(a, b):
        return float((np.abs(a[200:] - b[200:]).max(axis=-1) > 30).mean())

    assert changed(first, later) > 0.005, "a later time step draws the same picture"
    assert changed(later, other) > 0.005, "another variant draws the same picture"
