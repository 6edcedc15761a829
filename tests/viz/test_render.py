"""3D scenes with known geometry: the picture shows water where the depth is positive, a
building's silhouette where it stands, heat where it is hot, closed roads; stills and
animations from the CLI; missing fields degrade to what is there."""

from __future__ import annotations

import numpy as np
import pytest

from metrotwin.cli import main
from metrotwin.errors import DataSourceError
from metrotwin.viz.render import SceneRenderer, render_still, themes_of
from metrotwin.results.rundata import VariantRun, time_index
from metrotwin.viz.decimate import block_reduce, decimation_factor

from tests._support.synthetic import BUILDING, NX, NY, RES, WATER, write_synthetic_run

SIZE = (480, 400)  # small: llvmpipe renders on the CPU


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    return write_synthetic_run(tmp_path_factory.mktemp("syn") / "baseline")


@pytest.fixture(scope="module")
def static_only(tmp_path_factory):
    return write_synthetic_run(tmp_path_factory.mktemp("static") / "baseline", with_outputs=False)


def pixel(renderer: SceneRenderer, img: np.ndarray, row: float, col: float, z: float = 0.0):
    """The colour of the pixel where grid cell (row, col) at scene height ``z`` is drawn."""
    sc = renderer.scene
    x = (col + 0.5) * RES
    y = sc.height - (row + 0.5) * RES
    ren = renderer.pl.renderer
    ren.SetWorldPoint(x, y, z, 1.0)
    ren.WorldToDisplay()
    dx, dy, _ = ren.GetDisplayPoint()
    h, w = img.shape[:2]
    r, c = int(round(h - 1 - dy)), int(round(dx))
    assert 0 <= r < h and 0 <= c < w, "the point is outside the picture"
    return img[r, c].astype(int)


def is_blue(rgb) -> bool:
    r, g, b = rgb
    return b > r + 40 and b >= g


def is_grass(rgb) -> bool:
    r, g, b = rgb
    return g > r + 15 and g > b + 30


def test_water_is_drawn_where_the_depth_is_positive(synthetic):
    run = VariantRun(synthetic)
    r = SceneRenderer(run, theme="flood", size=SIZE, labels=False)
    try:
        wet_row, wet_col = (
            (WATER[0].start + WATER[0].stop) / 2,
            (WATER[1].start + WATER[1].stop) / 2,
        )
        dry = (35, 10)  # no water, no road, no building
        img = r.frame(1, view="top")
        assert is_blue(pixel(r, img, wet_row, wet_col, z=1.8))
        assert is_grass(pixel(r, img, *dry))
        # the water's edge: a cell just inside is blue, three cells outside is not
        assert is_blue(pixel(r, img, WATER[0].start + 1, wet_col, z=1.8))
        assert is_grass(pixel(r, img, WATER[0].stop + 3, wet_col))
        img0 = r.frame(0, view="top")  # dry at the start: no water anywhere
        assert not is_blue(pixel(r, img0, wet_row, wet_col))
    finally:
        r.close()


def test_building_silhouette_where_the_building_stands(synthetic):
    run = VariantRun(synthetic)
    r = SceneRenderer(run, theme="city", size=SIZE, labels=False)
    try:
        row, col = (
            (BUILDING[0].start + BUILDING[0].stop) / 2,
            (BUILDING[1].start + BUILDING[1].stop) / 2,
        )
        top = r.frame(0, view="top")
        roof = pixel(r, top, row, col, z=r.scene.z(60.0))
        assert not is_grass(roof) and abs(roof[0] - roof[2]) < 40  # grey roof, not grass
        assert is_grass(pixel(r, top, row, BUILDING[1].start - 6))
        # seen obliquely from the south, the 60 m building hides the ground just north of it
        oblique = r.frame(0, view="overview")
        behind = pixel(r, oblique, BUILDING[0].start - 3, col)
        beside = pixel(r, oblique, BUILDING[0].start - 3, BUILDING[1].start - 8)
        assert not is_grass(behind) and is_grass(beside)
    finally:
        r.close()


def test_heat_is_draped_with_its_gradient(synthetic):
    run = VariantRun(synthetic)
    r = SceneRenderer(run, theme="heat", size=SIZE, labels=False)
    try:
        img = r.frame(2, view="top")
        west, east = pixel(r, img, 35, 2), pixel(r, img, 35, NX - 3)
        # UTCI rises eastwards (20 -> 30 °C + 4): the diverging map goes from blue to red
        assert west[2] > west[0] and east[0] > east[2] + 60
    finally:
        r.close()


def test_closed_roads_are_marked(synthetic):
    run = VariantRun(synthetic)
    r = SceneRenderer(run, theme="flood", size=SIZE, labels=False)
    try:
        img = r.frame(1, view="top")  # links 2 and 3 (the north-south road) are closed
        mid_row = (30 + 3) / 2
        red, g, b = pixel(r, img, mid_row, NX - 3, z=r.scene.z(1.5))
        assert red > 150 and g < 90 and b > 100, (red, g, b)  # the closed-road magenta
    finally:
        r.close()


def test_still_has_the_expected_size_and_content(synthetic, tmp_path):
    run = VariantRun(synthetic)
    paths = render_still(run, tmp_path, time="peak", view="west", theme="flood", size=(320, 240))
    import imageio.v3 as iio

    assert [p.name for p in paths] == ["flood_west_0610.png"]
    img = iio.imread(paths[0])
    assert img.shape[:2] == (240, 320) and img.std() > 10


def test_a_run_without_output_fields_still_renders(static_only, tmp_path):
    run = VariantRun(static_only)
    assert themes_of(run) == ["city"]
    assert time_index(run, "peak") == 0
    paths = render_still(run, tmp_path, size=(200, 160))
    assert paths[0].name == "city_overview_static.png"
    # asking for a field the run lacks degrades to the land cover, not an error
    heat = SceneRenderer(run, theme="heat", size=(200, 160))
    try:
        assert heat.frame(0).std() > 5
    finally:
        heat.close()


def test_time_and_view_names(synthetic):
    run = VariantRun(synthetic)
    assert time_index(run, "peak", peak_field="flood_water_thickness") == 1
    assert time_index(run, "end") == 2
    assert time_index(run, "06:10") == 1
    assert time_index(run, "20 min") == 2
    assert time_index(run, "1200") == 2
    assert time_index(run, "2026-07-15T06:00") == 0
    for bad in ("noon", "07:30"):
        with pytest.raises(DataSourceError, match="06:00 to 2026-07-15 06:20|not a time"):
            time_index(run, bad)
    r = SceneRenderer(run, theme="city", size=(64, 48), labels=False)
    try:
        with pytest.raises(DataSourceError, match="valid views: overview, top, west, east"):
            r.frame(0, view="harbour")
    finally:
        r.close()


def test_cli_render_and_animate(synthetic, tmp_path, capsys):
    out = tmp_path / "pics"
    assert main(["render", str(synthetic), "--time", "06:10", "--size", "240x180",
                 "--theme", "flood", "-o", str(out)]) == 0  # fmt: skip
    assert (out / "baseline" / "flood_overview_0610.png").is_file()
    assert main(["animate", str(synthetic), "--format", "gif", "--size", "160x120",
                 "--theme", "heat", "-o", str(out)]) == 0  # fmt: skip
    import imageio.v3 as iio

    frames = iio.imread(out / "baseline" / "heat_overview.gif", index=None)
    assert frames.shape[0] == 3 and frames.shape[1:3] == (120, 160)
    assert not np.array_equal(frames[0], frames[2])  # the heat changes between frames
    assert main(["render", str(synthetic), "--size", "huge"]) == 2
    assert "WIDTHxHEIGHT" in capsys.readouterr().err
    assert main(["render", str(tmp_path / "nowhere")]) == 2


def test_animate_refuses_a_run_without_changing_fields(static_only, capsys):
    assert main(["animate", str(static_only)]) == 2
    assert "nothing to animate" in capsys.readouterr().err


def test_decimation_keeps_to_the_budget():
    assert decimation_factor((NY, NX), 10_000) == 1
    step = decimation_factor((2400, 3000), 40_000)
    assert (-(-2400 // step)) * (-(-3000 // step)) <= 40_000
    a = np.arange(20.0).reshape(4, 5)
    np.testing.assert_array_equal(block_reduce(a, 2, "max"), [[6, 8, 9], [16, 18, 19]])


def test_agents_are_drawn_where_they_are(synthetic, tmp_path):
    """Optional agent output (agent_x, agent_y, agent_exposure on (time, agent)) appears as
    points at their positions; runs without it are unaffected (the tests above)."""
    import shutil

    import xarray as xr

    folder = tmp_path / "baseline"
    shutil.copytree(synthetic, folder)
    with xr.open_dataset(folder / "fields.nc") as src:
        ds = src.load()
    x0, y0 = float(ds.x[10]), float(ds.y[35])  # an open, dry grass cell
    n_t = ds.sizes["time"]
    ds["agent_x"] = (("time", "agent"), np.full((n_t, 1), x0), {"units": "m"})
    ds["agent_y"] = (("time", "agent"), np.full((n_t, 1), y0), {"units": "m"})
    ds["agent_exposure"] = (("time", "agent"), np.full((n_t, 1), 5.0), {"units": "min"})
    ds.to_netcdf(folder / "fields.nc")
    run = VariantRun(folder)
    r = SceneRenderer(run, theme="flood", size=SIZE, labels=False)
    try:
        img = r.frame(1, view="top")
        assert not is_grass(pixel(r, img, 35, 10, z=3.0))  # a point covers the grass there
        assert is_grass(pixel(r, img, 35, 16))
    finally:
        r.close()
