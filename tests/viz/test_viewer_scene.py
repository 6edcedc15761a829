"""The browser viewer's scene without a browser (PyVista off screen): roads and district
outlines are drawn, traffic speed colours the roads and changes with time, difference mode is
zero between identical variants and exactly the change where variants differ, a frame reads
one output time, and the grid is decimated to the cell budget."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import xarray as xr
from scipy.interpolate import RegularGridInterpolator
from xarray.backends import netCDF4_

from metrotwin.results.fields import FIELDS
from metrotwin.viz.viewer_data import ViewerData, block_mean
from metrotwin.viz.viewer_overlays import ROAD_LIFT
from metrotwin.viz.viewer_app_chart import series_svg
from metrotwin.viz.viewer_scene import ViewerScene

SLOW = 0.5  # the "slower" variant's link speeds, as a share of the baseline's
EXTRA = 0.25  # m of water the "slower" variant adds in its north-west block
STEPS_PEAK = 0.03  # m, the "slower" variant's stored maximum depth above its outputs' maximum
EXPOSURE = {"Northbank": 40.0, "Oldtown": 90.0, "Eastfield": 60.0}  # K min, by district


def _set_exposure(folder, scale: float) -> None:
    """Give a variant the mobility model's exposure-by-district indicator (the stand-in
    mobility model writes none)."""
    path = folder / "indicators.json"
    ind = json.loads(path.read_text())
    ind["models"].setdefault("mobility", {})["heat_exposure_degree_minutes"] = {
        "value": 60.0 * scale, "units": "K min", "description": "exposure",
        "by_district": {d: v * scale for d, v in EXPOSURE.items()}}  # fmt: skip
    path.write_text(json.dumps(ind))


@pytest.fixture(scope="module")
def run(fake_run, tmp_path_factory):
    """The fake run's baseline, an identical copy ("twin") and a variant that differs by
    known amounts ("slower": links 0..9 at half speed, more water in a block)."""
    out = tmp_path_factory.mktemp("viewer_scene") / "run"
    shutil.copytree(fake_run / "baseline", out / "baseline")
    shutil.copytree(fake_run / "baseline", out / "twin")
    shutil.copytree(fake_run / "baseline", out / "slower")
    with xr.open_dataset(out / "baseline" / "fields.nc") as base:
        ds = base.load()
    ds["link_speed"][:, :10] = ds["link_speed"][:, :10] * SLOW
    ds["flood_water_thickness"][:, :12, :15] = ds["flood_water_thickness"][:, :12, :15] + EXTRA
    # as the flood model writes it: the maximum over its steps, above the outputs' maximum
    ds["flood_depth_max"] = ds["flood_water_thickness"].cumulative("time").max() + STEPS_PEAK
    (out / "slower" / "fields.nc").unlink()
    ds.to_netcdf(out / "slower" / "fields.nc")
    for name, scale in (("baseline", 1.0), ("twin", 1.0), ("slower", 1.5)):
        _set_exposure(out / name, scale)
    return out


@pytest.fixture(scope="module")
def scene(run):
    data = ViewerData([run])
    scene = ViewerScene(data, size=(480, 320))
    yield scene
    scene.plotter.close()
    data.close()


def test_the_picker_offers_every_field_with_its_units(scene):
    data = scene.data
    assert data.fields == ["flood_water_thickness", "peak_water_depth",
                           "universal_thermal_comfort_index", "surface_temperature",
                           "link_speed", "heat_exposure_degree_minutes"]  # fmt: skip
    assert data.label("link_speed") == "Road speed (km/h)"
    assert data.label("peak_water_depth", difference=True).endswith("(m)")
    assert data.label("heat_exposure_degree_minutes").endswith("(K min)")


def test_roads_district_outlines_and_names_are_drawn(scene, run):
    actors = scene.plotter.actors
    for name in ("terrain", "buildings", "district_outlines", "district_names"):
        assert name in actors, name
    with xr.open_dataset(run / "baseline" / "fields.nc") as ds:
        a, b = ds["link_from"].values, ds["link_to"].values
        names = ds["district"].attrs["flag_meanings"].split()
    streets = {(min(p, q), max(p, q)) for p, q in zip(a, b)}
    assert scene.streets.mesh.n_cells == len(streets)  # one line per street
    assert sorted(scene.district_names.values()) == sorted(names)
    assert scene.plotter.actors["district_outlines"].mapper.dataset.n_cells > 0
    # one name of letters per district (a mesh: the browser's vtk.js draws it too)
    assert scene.plotter.actors["district_names"].mapper.dataset.n_cells > 10 * len(names)


def test_roads_stay_above_the_draped_field(scene):
    scene.show("flood_water_thickness", 3, "baseline", False)
    c, drape = scene.city, scene.drape
    height = drape.points[:, 2].reshape(c.X.shape, order="F")
    # the drape's surface, bilinear between cell centres (rows north -> south)
    surface = RegularGridInterpolator((-c.Y[:, 0], c.X[0]), height, bounds_error=False,
                                      fill_value=None)  # fmt: skip
    road = scene.streets.mesh.points
    under = surface(np.column_stack([-road[:, 1], road[:, 0]]))
    assert "roads" in scene.plotter.actors
    # roads are ROAD_LIFT (2 m) above the highest corner of their drawn cell, the drape 0.6 m
    # above the ground, bilinear or two triangles between the corners: at least 1 m clear
    assert (road[:, 2] - under).min() >= (ROAD_LIFT - 0.6 - 0.4) * c.zscale


def test_road_speed_colours_the_roads_and_changes_with_time(scene, run):
    with xr.open_dataset(run / "baseline" / "fields.nc") as ds:
        speed = ds["link_speed"].values
    late = int(np.argmax(np.abs(speed - speed[0]).max(axis=1)))
    assert late > 0  # the run's speeds change (the flood slows the roads)
    pictures, colours = [], []
    for index in (0, late):
        scene.show("link_speed", index, "baseline", False)
        roads = scene.plotter.actors["roads"].mapper.dataset
        colours.append(np.array(roads.cell_data["value"]))
        pictures.append(scene.plotter.screenshot(return_img=True).astype(int))
        assert "field" not in scene.plotter.actors  # the roads carry the field, no drape
    expected = scene.streets.to_streets(FIELDS["link_speed"].display(speed[late]))
    np.testing.assert_allclose(colours[1], expected)
    assert not np.allclose(colours[0], colours[1], equal_nan=True)
    assert np.abs(pictures[0] - pictures[1]).sum(axis=2).astype(bool).sum() > 50


def test_difference_is_zero_between_identical_variants(scene):
    for field in ("flood_water_thickness", "peak_water_depth", "universal_thermal_comfort_index",
                  "heat_exposure_degree_minutes"):  # fmt: skip
        values = scene.drape_values(field, 4, "twin", True)
        assert np.all((values == 0) | np.isnan(values)), field
    assert np.all(scene.road_values("link_speed", 4, "twin", True) == 0)


def test_difference_is_the_change_where_variants_differ(scene, run):
    roads = scene.road_values("link_speed", 4, "slower", True)
    with xr.open_dataset(run / "baseline" / "fields.nc") as ds:
        kmh = FIELDS["link_speed"].display(ds["link_speed"].values[4])
        depth = ds["flood_water_thickness"].values[4]
    expected = scene.streets.to_streets(np.where(np.arange(kmh.size) < 10, kmh * SLOW, kmh))
    expected -= scene.streets.to_streets(kmh)
    np.testing.assert_allclose(roads, expected, atol=1e-4)  # float32 speeds
    assert (roads < 0).sum() >= 5  # the slowed links' streets
    water = scene.drape_values("flood_water_thickness", 4, "slower", True)
    block = np.zeros(depth.shape, bool)
    block[:12, :15] = True
    # the added water everywhere in the block (float32 file values: 1e-6 m)
    np.testing.assert_allclose(water[block], EXTRA, atol=1e-6)
    assert np.all((water[~block] == 0) | np.isnan(water[~block]))
    exposure = scene.drape_values("heat_exposure_degree_minutes", 0, "slower", True)
    for code, name in scene.district_names.items():
        np.testing.assert_allclose(exposure[scene.codes == code], 0.5 * EXPOSURE[name])


def test_a_frame_reads_one_output_time(run, monkeypatch):
    reads = []
    original = netCDF4_.NetCDF4ArrayWrapper.__getitem__

    def counting(self, key):
        reads.append((self.variable_name, key))
        return original(self, key)

    monkeypatch.setattr(netCDF4_.NetCDF4ArrayWrapper, "__getitem__", counting)
    data = ViewerData([run])
    scene = ViewerScene(data, size=(320, 240))
    reads.clear()
    scene.show("flood_water_thickness", 5, "slower", True)
    scene.show("flood_water_thickness", 5, "slower", True)  # again: nothing read
    scene.plotter.close()
    depth = [key for name, key in reads if name == "flood_water_thickness"]
    # the shown time of the variant and of the baseline, and the colour range's last time
    # of every variant: each once, one time step per read (an integer index)
    last = data.n_times - 1
    expected = {("slower", 5), ("baseline", 5)} | {(v, last) for v in data.variants}
    assert sorted((v, i) for v, _, i in data.reads) == sorted(expected)
    assert len(depth) == len(expected)
    for key in depth:
        assert isinstance(key.tuple[0], (int, np.integer)), key
    assert not any(r.ds["flood_water_thickness"].variable._in_memory for r in data.runs.values())
    data.close()


def test_decimation_keeps_within_the_cell_budget(run):
    data = ViewerData([run])
    scene = ViewerScene(data, budget=300, size=(320, 240))
    frame = data.frame("baseline", "flood_water_thickness", 3, scene.city.step)
    assert frame.size <= 300 and frame.shape == scene.city.X.shape
    assert scene.drape.n_points <= 300
    scene.show("universal_thermal_comfort_index", 3, "baseline", False)
    assert scene.plotter.actors["field"].mapper.dataset.n_points <= 300
    scene.plotter.close()
    data.close()


def test_block_mean_is_the_mean_of_each_block_without_nan():
    values = np.random.default_rng(4).random((11, 14)).astype("float32")
    values[2:5, 3:9] = np.nan
    got = block_mean(values, 4)
    assert got.shape == (3, 4)
    for i in range(3):
        for j in range(4):
            block = values[4 * i:4 * i + 4, 4 * j:4 * j + 4]
            want = np.nanmean(block) if np.isfinite(block).any() else np.nan
            np.testing.assert_allclose(got[i, j], want, rtol=1e-6)  # float32 partial sums


def test_maximum_depth_so_far_is_the_running_maximum(scene):
    data, step = scene.data, scene.city.step
    frames = [data.frame("baseline", "flood_water_thickness", i, step) for i in range(5)]
    np.testing.assert_array_equal(data.frame("baseline", "peak_water_depth", 4, step),
                                  np.fmax.reduce(frames))  # fmt: skip
    series = data.series("peak_water_depth", 20, 20)
    assert all(np.all(np.diff(s) >= 0) for s in series.values())
    # a run that stored the flood model's own maximum is read, not recomputed
    stored = data.frame("slower", "peak_water_depth", 4, step)
    outputs = np.fmax.reduce([data.frame("slower", "flood_water_thickness", i, step)
                              for i in range(5)])  # fmt: skip
    np.testing.assert_allclose(stored, outputs + STEPS_PEAK, atol=1e-6)  # float32 file


def test_click_charts_road_and_district_fields(scene):
    for field in ("link_speed", "heat_exposure_degree_minutes", "peak_water_depth"):
        svg, names = series_svg(scene.data, field, 10, 10)
        assert svg.startswith("<svg") and names == scene.data.variants, field
    near = scene.data.link_near(10, 10)
    series = scene.data.series("link_speed", 10, 10)
    np.testing.assert_allclose(series["slower"][4] / series["baseline"][4],
                               SLOW if near < 10 else 1.0, rtol=1e-6)  # fmt: skip


def test_the_draped_field_shows_over_the_city(run):
    """The field covers the ground in the picture (a translucent drape once vanished behind
    the terrain: only the legend changed)."""
    data = ViewerData([run])
    scene = ViewerScene(data, size=(480, 320))
    bare = scene.plotter.screenshot(return_img=True).astype(int)
    scene.show("universal_thermal_comfort_index", 3, "baseline", False)
    shown = scene.plotter.screenshot(return_img=True).astype(int)
    scene.plotter.close()
    data.close()
    city = np.abs(shown - bare).sum(axis=2)[:, : int(0.75 * bare.shape[1])]  # left of the bar
    assert (city > 30).mean() > 0.05


def test_the_difference_legend_says_which_colour_is_better(scene):
    scene.show("link_speed", 3, "slower", True)
    assert scene.legend == "change in Road speed (km/h)"
    assert scene.legend_hint == "green = better, pink = worse"
    # slower roads are worse: pink (red over green); a faster one would be green
    lut = scene.plotter.actors["roads"].mapper.lookup_table
    slowest = np.nanmin(scene.road_values("link_speed", 3, "slower", True))
    r, g, _ = lut.map_value(slowest)[:3]
    assert slowest < 0 and r > g + 0.2
    r, g, _ = lut.map_value(-slowest)[:3]
    assert g > r + 0.2
    scene.show("link_speed", 3, "slower", False)
    assert scene.legend == "Road speed (km/h)" and scene.legend_hint == ""


def test_a_run_without_traffic_draws_its_streets_grey(flood_only_run):
    data = ViewerData([flood_only_run])
    assert "link_speed" not in data.fields and "heat_exposure_degree_minutes" not in data.fields
    scene = ViewerScene(data, size=(320, 240))
    scene.show("flood_water_thickness", data.n_times - 1, data.variants[-1], True)
    assert scene.legend == "change in Water depth (m)"
    roads = scene.plotter.actors["roads"]  # the city's streets, without a speed to show
    assert not roads.mapper.scalar_visibility and roads.mapper.dataset.n_cells > 0
    scene.plotter.close()
    data.close()


def test_a_second_view_shares_the_city_and_its_colours(scene):
    other = ViewerScene(scene.data, size=(480, 320), like=scene)
    assert other.meshes is scene.meshes and other.streets is scene.streets
    scene.show("link_speed", 2, "baseline", False)
    other.show("link_speed", 5, "slower", False)
    assert scene.colour_range("link_speed", False) == other.colour_range("link_speed", False)
    mine = scene.plotter.actors["roads"].mapper.dataset.cell_data["value"]
    theirs = other.plotter.actors["roads"].mapper.dataset.cell_data["value"]
    assert not np.allclose(mine, theirs, equal_nan=True)  # each view keeps its own values
    other.plotter.close()
