"""The report's sensor section, from an observations.nc written by write_observations into a
variant folder of a small run."""

from __future__ import annotations

import re
import shutil

import numpy as np
import pytest
import xarray as xr

from metrotwin.observe.skill import skill_indicators
from metrotwin.observe.write import OBSERVATIONS_FILE, write_observations
from metrotwin.viz.report import compare_runs
from metrotwin.viz.sensors import _positions, sensor_section, skill_table
from tests._support.observations import synthetic_observations
from tests._support.pictures import inlined_images, is_real_picture


@pytest.fixture
def run_with_sensors(fake_run, tmp_path):
    """A copy of the small run whose cool_city variant has sensors (the others none)."""
    run = tmp_path / "run"
    shutil.copytree(fake_run, run, ignore=shutil.ignore_patterns("comparison"))
    with xr.open_dataset(run / "cool_city" / "fields.nc") as ds:
        grid = ds[["x", "y"]].load()
    x, y = grid["x"].values, grid["y"].values
    obs, model, _ = synthetic_observations(x.min(), y.min(), np.ptp(x), np.ptp(y))
    write_observations(run / "cool_city" / OBSERVATIONS_FILE, obs, model_values=model,
                       attrs={"ensemble_members": 20})  # fmt: skip
    return run, obs, model


def test_report_gains_the_sensor_section(run_with_sensors):
    run, obs, model = run_with_sensors
    page = compare_runs(run, render=False).read_text(encoding="utf-8")
    assert "<h2 id='sensors'>" in page and "href=\"#sensors\"" in page
    section = page[page.index("<h2 id='sensors'>"):page.index("<h2 id='files'>")]
    assert "<h3>cool_city</h3>" in section and "<h3>baseline</h3>" not in section
    # the map and one figure per sensor group (depth, air temperature), real pictures
    pics = list(inlined_images(section))
    assert len(pics) == 3 and all(is_real_picture(img) for _, img in pics)
    # the table shows the indicators skill_indicators computes (3 significant digits)
    skill = skill_indicators(obs, model, members=20)
    rmse = skill["water_depth.withheld.rmse_analysis"]
    assert f"{rmse:.3g} m" in section
    assert f"{100 * skill['air_temperature.withheld.rmse_reduction']:.3g}%" in section
    assert "M = 20" in section


def test_no_observations_no_section(fake_run):
    with xr.open_dataset(fake_run / "baseline" / "fields.nc") as ds:
        grid = ds[["x", "y"]].load()
    assert sensor_section(grid, {"baseline": fake_run / "baseline"}) == ""


def test_skill_table_without_ensemble_size_says_so():
    obs, model, _ = synthetic_observations(steps=4)
    text = skill_table(skill_indicators(obs, model), None)
    assert "ensemble size unknown" in text and text.count("<tr>") == 5  # header + 2 x 2 rows


def test_sensor_given_by_lon_lat_drawn_at_its_cell(fake_run):
    with xr.open_dataset(fake_run / "baseline" / "fields.nc") as ds:
        grid = ds[["x", "y"]].load()
    obs, _, _ = synthetic_observations(steps=1)
    nx = grid.sizes["x"]
    obs.x[0] = obs.y[0] = np.nan  # snapped from lon/lat: only its cell is known
    obs.cell[0] = 7 * nx + 11  # row 7 from the north, column 11
    x, y = _positions(obs, grid)
    assert (x[0], y[0]) == (grid["x"].values[11], grid["y"].values[7])
    assert grid["y"].values[7] > grid["y"].values[8]  # rows run north to south
    np.testing.assert_array_equal(x[1:], obs.x[1:])


def test_sensor_figures_are_shown_near_their_own_width(run_with_sensors):
    # the report's own grid puts three figures in a row (~370 px in its 1180 px page), which
    # showed these 640 px charts at 58 % and their 9-10 pt labels at ~6 px: unreadable. Two a
    # row at most (a column >= 520 px) shows them at >= 81 %.
    run, obs, model = run_with_sensors
    section = sensor_section(xr.open_dataset(run / "cool_city" / "fields.nc"),
                             {"cool_city": run / "cool_city"})  # fmt: skip
    assert "class='grid'" not in section
    columns = re.findall(r"grid-template-columns:repeat\(auto-fit,minmax\((\d+)px", section)
    assert columns and all(int(c) >= 520 for c in columns)
    for _, img in inlined_images(section):
        assert 520 / img.shape[1] >= 0.8, img.shape
