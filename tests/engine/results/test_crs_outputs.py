"""The CRS of every gridded output is found by a plain ``xr.open_dataset(path).rio.crs``, as
the report tells users to open the files (issue 16, item 4): fields.nc of a serial run, the
HDF5 virtual master file of a decomposed run, and comparison.nc. Every gridded variable
names ``spatial_ref`` as its grid mapping, and ``spatial_ref`` carries the WKT under the
attributes rioxarray writes (``crs_wkt`` and ``spatial_ref``)."""

from __future__ import annotations

import subprocess

import pytest
import rioxarray  # noqa: F401 - registers the .rio accessor
import xarray as xr
import yaml
from pyproj import CRS

from metrotwin.viz.report import compare_runs

from tests.hpc.test_mpi import PLUGIN, SCENARIO
from tests._support.mpi import metrotwin_command, mpi_env, require_mpiexec
from tests._support.fakemodels import make_fake_run

SMALL_TOWN_CRS = "EPSG:32632"  # the generated towns' default (UTM 32N)


def assert_crs_on_plain_open(path, expected: str) -> None:
    with xr.open_dataset(path) as ds:  # no decode_coords: what a user types
        assert ds.rio.crs is not None, f"{path.name}: no CRS on a plain open"
        assert CRS.from_user_input(ds.rio.crs) == CRS.from_user_input(expected)
        gridded = [n for n, v in ds.data_vars.items() if {"y", "x"} <= set(v.dims)]
        assert gridded, f"{path.name} has no gridded variable"
        for name in gridded:
            assert ds[name].attrs.get("grid_mapping") == "spatial_ref", name
            assert ds[name].rio.crs == ds.rio.crs, name
        ref = ds["spatial_ref"].attrs
        for key in ("crs_wkt", "spatial_ref"):
            assert CRS.from_wkt(ref[key]) == CRS.from_user_input(expected), key


@pytest.fixture(scope="module")
def fake_run(tmp_path_factory):
    return make_fake_run(tmp_path_factory.mktemp("crs") / "run")


def test_fields_of_a_serial_run_have_their_crs_on_a_plain_open(fake_run):
    for variant in ("baseline", "green_blue", "cool_city"):
        assert_crs_on_plain_open(fake_run / variant / "fields.nc", SMALL_TOWN_CRS)


def test_comparison_netcdf_has_its_crs_on_a_plain_open(fake_run):
    """comparison.nc of the run (written by `metrotwin run`), and again by compare_runs."""
    assert_crs_on_plain_open(fake_run / "comparison" / "comparison.nc", SMALL_TOWN_CRS)
    report = compare_runs(fake_run, fake_run.parent / "again", render=False)
    assert_crs_on_plain_open(report.parent / "comparison.nc", SMALL_TOWN_CRS)


@pytest.mark.mpi
def test_master_file_of_a_decomposed_run_has_its_crs_on_a_plain_open(tmp_path):
    """Two ranks split the grid: fields.nc is the HDF5 virtual master over the tiles; the
    one-variant run's report (rank 0, read through the master) is written too."""
    require_mpiexec()
    scenario = tmp_path / "mpitoy.yaml"
    scenario.write_text(yaml.safe_dump(SCENARIO))
    out = tmp_path / "n2"
    proc = subprocess.run(
        metrotwin_command(["run", str(scenario), "-o", str(out), "--no-progress",
                           "--variant", "baseline"], 2),
        capture_output=True, text=True, env=mpi_env(PLUGIN), cwd=tmp_path, timeout=240,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    master = out / "baseline" / "fields.nc"
    assert (out / "baseline" / "tiles").is_dir(), "not a decomposed run"
    assert_crs_on_plain_open(master, SMALL_TOWN_CRS)
    with xr.open_dataset(master) as ds:  # the GDAL geotransform is the global grid's
        gt = [float(v) for v in ds["spatial_ref"].attrs["GeoTransform"].split()]
        res = float(ds["x"][1] - ds["x"][0])
        assert gt[0] == pytest.approx(float(ds["x"][0]) - res / 2)
        assert gt[3] == pytest.approx(float(ds["y"].max()) + res / 2)
    assert_crs_on_plain_open(out / "comparison" / "comparison.nc", SMALL_TOWN_CRS)
