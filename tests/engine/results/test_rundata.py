"""The one reader of run folders: a decomposed run's master file reads as the serial one, and
a master whose tile files are not all there is refused with the file named (it would read as
fill values: NaN in a comparison, without a word)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from metrotwin.cli import main
from metrotwin.errors import DataSourceError
from metrotwin.hpc.parallel_output import tile_name, write_master
from metrotwin.results.compare import compare
from metrotwin.results.rundata import open_fields, open_runs, open_variants, time_index

from tests._support.synthetic import write_synthetic_run


def decompose(folder: Path) -> list[Path]:
    """Cut ``folder/fields.nc`` into two tiles of rows and write their master in its place,
    as a run on two ranks leaves it; returns the tile files."""
    with xr.open_dataset(folder / "fields.nc", decode_times=False) as ds:
        ds = ds.load()
    ny, nx = ds.sizes["y"], ds.sizes["x"]
    (folder / "tiles").mkdir()
    tiles = []
    for rank, rows in enumerate([(0, ny // 2), (ny // 2, ny)]):
        ds.isel(y=slice(*rows)).to_netcdf(folder / tile_name(rank))
        tiles.append((tile_name(rank), rows, (0, nx)))
    geotransform = str(ds["spatial_ref"].attrs.get("GeoTransform", ""))
    (folder / "fields.nc").unlink()
    write_master(folder / "fields.nc", tiles, ds["x"].values, ds["y"].values, geotransform)
    return [folder / t for t, _, _ in tiles]


@pytest.fixture
def tiled_run(tmp_path):
    """A run folder of two variants whose baseline was written on two ranks (two tiles)."""
    run = tmp_path / "run"
    serial = write_synthetic_run(tmp_path / "serial" / "baseline")
    decompose(write_synthetic_run(run / "baseline"))
    write_synthetic_run(run / "variant")
    return run, serial


def test_a_decomposed_run_reads_as_the_serial_one(tiled_run):
    run, serial = tiled_run
    with open_fields(serial) as want, open_fields(run / "baseline") as got:
        for name in ("flood_water_thickness", "universal_thermal_comfort_index", "land_cover"):
            np.testing.assert_array_equal(got[name].values, want[name].values)


@pytest.mark.parametrize("lost", [0, 1])
def test_a_run_with_a_lost_tile_is_refused_naming_the_file(tiled_run, lost):
    run, _ = tiled_run
    tile = run / "baseline" / tile_name(lost)
    tile.unlink()
    pattern = f"{run / 'baseline' / 'fields.nc'}: 1 tile file.* missing \\({tile_name(lost)}"
    with pytest.raises(DataSourceError, match=pattern):
        open_runs(run)
    with pytest.raises(DataSourceError, match=pattern):
        open_variants(run)[0].ds
    with pytest.raises(DataSourceError, match=pattern):
        compare(run)


def test_compare_of_a_run_with_a_lost_tile_fails_with_one_message(tiled_run, capsys):
    run, _ = tiled_run
    (run / "baseline" / tile_name(1)).unlink()
    assert main(["compare", str(run), "--no-3d"]) == 2
    err = capsys.readouterr().err
    assert err.count("metrotwin: error:") == 1 and "Traceback" not in err
    assert f"{run / 'baseline' / 'fields.nc'}: 1 tile file(s) missing ({tile_name(1)}" in err
    assert not (run / "comparison").exists()  # nothing half-written


def test_open_runs_gives_the_variants_baseline_first(tiled_run):
    run, _ = tiled_run
    ds = open_runs(run)
    assert list(ds["variant"].values) == ["baseline", "variant"]
    assert list(open_runs(run, variants=["variant"])["variant"].values) == ["variant"]
    with pytest.raises(DataSourceError, match="none of the variants nope is there; it holds "
                                              "baseline, variant"):  # fmt: skip
        open_runs(run, variants=["nope"])


@pytest.mark.parametrize("bad", ["25:00", "06:61", "2026-13-01T06:00"])
def test_a_time_that_names_no_time_is_refused_with_the_valid_times(tmp_path, bad):
    """A clock time past 23:59 read as a traceback (ValueError from datetime) before."""
    run = open_variants(write_synthetic_run(tmp_path / "baseline"))[0]
    with pytest.raises(DataSourceError, match=f"--time '{bad}' is not a time; .* outputs from "
                                              "2026-07-15 06:00 to 2026-07-15 06:20"):  # fmt: skip
        time_index(run, bad)
    run.close()
