"""End to end through the runner and the CLI: the run directory, CF attributes, atomic
outputs, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import xarray as xr
import yaml

from metrotwin.cli import main
from metrotwin.results.output import open_runs


@pytest.fixture
def small_file(tmp_path, small_scenario_data):
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(small_scenario_data))
    return path


def test_run_directory_layout(toy_registry, small_file, tmp_path):
    out = tmp_path / "out"
    assert main(["run", str(small_file), "-o", str(out), "--no-progress", "--no-report"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["baseline", "more"]
    for variant in ("baseline", "more"):
        folder = out / variant
        assert sorted(p.name for p in folder.iterdir()) == [
            "fields.nc", "indicators.json", "run.log", "scenario.resolved.yaml"]  # fmt: skip
        resolved = yaml.safe_load((folder / "scenario.resolved.yaml").read_text())
        assert resolved["run"]["variant"] == variant and resolved["run"]["seed"] == 7
        assert resolved["run"]["metrotwin_version"]
        assert resolved["run"]["model_order"] == ["source", "spread"]
        ind = json.loads((folder / "indicators.json").read_text())
        rate = 2.0 if variant == "baseline" else 5.0
        cells = int(ind["models"]["source"]["tracer_total"]["value"] / (rate * 1800))
        assert cells > 0 and ind["models"]["source"]["tracer_total"]["value"] == pytest.approx(cells * rate * 1800)
        assert ind["time_series"]["time"] == [0.0, 600.0, 1200.0, 1800.0]
    # the variant's intervention reached the state it ran on
    base = xr.open_dataset(out / "baseline" / "fields.nc")
    more = xr.open_dataset(out / "more" / "fields.nc")
    assert (base.land_cover == 2).sum() > 0 and (more.land_cover == 2).sum() == 0


def test_fields_are_cf_and_the_crs_is_recognised(toy_registry, small_file, tmp_path):
    import cf_xarray  # noqa: F401  (registers the .cf accessor)
    import rioxarray  # noqa: F401

    out = tmp_path / "out"
    assert main(["run", str(small_file), "-o", str(out), "--no-progress", "--no-report"]) == 0
    ds = xr.open_dataset(out / "baseline" / "fields.nc", decode_coords="all")
    assert ds.attrs["Conventions"] == "CF-1.13"
    assert ds.rio.crs.to_epsg() == 32632
    assert ds.rio.resolution() == (20.0, -20.0)
    # cf-xarray finds axes, coordinates, standard names and the grid mapping
    assert ds.cf.axes["X"] == ["x"] and ds.cf.axes["Y"] == ["y"] and ds.cf.axes["T"] == ["time"]
    assert ds.cf["projection_x_coordinate"].name == "x"
    assert ds.cf["surface_altitude"].name == "surface_altitude"
    assert ds.cf.grid_mapping_names == {"transverse_mercator": ["spatial_ref"]}
    assert "crs_wkt" in ds.spatial_ref.attrs
    for name, var in ds.data_vars.items():
        assert "units" in var.attrs, name
        assert "long_name" in var.attrs or "standard_name" in var.attrs, name
        if {"y", "x"} <= set(var.dims):
            assert var.encoding.get("grid_mapping") == "spatial_ref" or "grid_mapping" in var.attrs
    assert ds.tracer.dims == ("time", "y", "x") and ds.sizes["time"] == 4
    assert ds.tracer.encoding["zlib"]
    assert np.issubdtype(ds.time.dtype, np.datetime64)
    assert str(ds.time.values[0]).startswith("2026-07-15T06:00")


def test_open_runs_gives_a_variant_dimension(toy_registry, small_file, tmp_path):
    out = tmp_path / "out"
    assert main(["run", str(small_file), "-o", str(out), "--no-progress", "--no-report"]) == 0
    ds = open_runs(out)
    assert list(ds.variant.values) == ["baseline", "more"]
    final = ds.tracer.isel(time=-1).sum(["y", "x"])
    assert float(final.sel(variant="more")) == pytest.approx(2.5 * float(final.sel(variant="baseline")))
    assert ds.rio.crs.to_epsg() == 32632


def test_same_seed_same_numbers(toy_registry, small_file, tmp_path):
    for run in ("a", "b"):
        assert main(["run", str(small_file), "-o", str(tmp_path / run), "--no-progress", "--no-report"]) == 0
    a = xr.open_dataset(tmp_path / "a" / "more" / "fields.nc")
    b = xr.open_dataset(tmp_path / "b" / "more" / "fields.nc")
    xr.testing.assert_identical(a, b.assign_attrs(history=a.attrs["history"]))


def test_failed_run_leaves_nothing(toy_registry, small_scenario_data, tmp_path, capsys):
    small_scenario_data["models"]["failing"] = {}
    path = tmp_path / "fail.yaml"
    path.write_text(yaml.safe_dump(small_scenario_data))
    out = tmp_path / "out"
    with pytest.raises(RuntimeError, match="deliberate failure"):
        from metrotwin.run.runner import run_scenario
        from metrotwin.run.scenario import load_scenario

        run_scenario(load_scenario(path), out, progress=False)
    assert not out.exists()  # created by the run, so removed with everything in it
    # an existing folder keeps what it had, and gains nothing
    out.mkdir()
    (out / "keep.txt").write_text("x")
    with pytest.raises(RuntimeError):
        run_scenario(load_scenario(path), out, progress=False)
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_bad_input_exits_2_and_writes_nothing(tmp_path, small_scenario_data, toy_registry, capsys):
    small_scenario_data["period"]["duration"] = "-1 h"
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(small_scenario_data))
    out = tmp_path / "out"
    assert main(["run", str(path), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("metrotwin: error: ") and "period" in err and "Traceback" not in err
    assert not out.exists()


def test_unknown_district_in_a_variant_is_refused_before_writing(tmp_path, small_scenario_data,
                                                                 toy_registry, capsys):  # fmt: skip
    small_scenario_data["variants"]["more"]["interventions"] = [
        {"type": "green_roof", "where": {"district": "Atlantis"}}]  # fmt: skip
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(small_scenario_data))
    out = tmp_path / "out"
    assert main(["run", str(path), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "Atlantis" in err and "Northbank" in err and "'more'" in err
    assert not out.exists()


def test_cli_in_a_subprocess_has_no_traceback(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed\n")
    proc = subprocess.run([sys.executable, "-m", "metrotwin", "validate", str(bad)],
                          capture_output=True, text=True, cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 2
    assert "YAML syntax error" in proc.stderr and "Traceback" not in proc.stderr
    assert list(tmp_path.iterdir()) == [bad]


def test_a_serial_run_is_a_one_rank_ensemble(toy_registry, small_file, tmp_path, monkeypatch):
    """Issue #17 item 2: one orchestration path. A run on one process goes through the
    ensemble's collectives on a one-rank communicator (the output folder's verdict and the
    published folders broadcast, the variants' split, the errors and stops gathered), and
    gives the same run folder as a run on an explicit ``SerialComm``."""
    from metrotwin.hpc.ensemble import SerialComm
    from metrotwin.run import runner
    from metrotwin.run.scenario import load_scenario

    calls = []

    class Spy(SerialComm):
        def Split(self, color=0, key=0):  # noqa: N802 - mpi4py's name
            calls.append(("Split", color))
            return super().Split(color, key)

        def bcast(self, obj, root=0):
            calls.append(("bcast", type(obj).__name__))
            return obj

        def allgather(self, obj):
            calls.append(("allgather", type(obj).__name__))
            return [obj]

    monkeypatch.setattr(runner, "communicator", Spy)  # what a run without ``comm`` gets
    scenario = load_scenario(small_file)
    results = runner.run_scenario(scenario, tmp_path / "a", progress=False)
    assert sorted(results) == ["baseline", "more"]
    assert ("Split", 0) in calls and ("bcast", "dict") in calls  # one group; the results
    assert calls.count(("allgather", "tuple")) == 1  # each rank's stop (none here), once
    explicit = runner.run_scenario(scenario, tmp_path / "b", progress=False, comm=SerialComm())
    for name in results:
        a = xr.open_dataset(results[name] / "fields.nc")
        b = xr.open_dataset(explicit[name] / "fields.nc")
        xr.testing.assert_identical(a, b.assign_attrs(history=a.attrs["history"]))


def test_a_couplers_own_outputs_are_written_after_the_field_writer_has_finished(
        toy_registry, small_file, tmp_path, monkeypatch):  # fmt: skip
    """A coupler's own files (an assimilating coupler's observations.nc) are written once
    the field writer's thread has ended: HDF5 under netCDF4 (which releases the GIL) is not
    thread-safe, and the two writing at once failed with "NetCDF: HDF error" or crashed the
    process (SIGSEGV, SIGBUS)."""
    import threading

    from metrotwin.run.coupler import Coupler

    writers_alive = []

    def write_outputs(self, folder):
        writers_alive.append([t.name for t in threading.enumerate() if t.name.startswith("write ")])

    monkeypatch.setattr(Coupler, "write_outputs", write_outputs)
    out = tmp_path / "out"
    assert main(["run", str(small_file), "-o", str(out), "--no-progress", "--no-report"]) == 0
    assert writers_alive == [[], []]  # once per variant, with no field writer running
