"""MPI runs with the venv's own mpiexec (oversubscribed on this machine's cores): a variant on
1, 2, 3 and 4 ranks gives bit-identical fields and indicators; an ensemble of 3 variants on 4
ranks gives the same run directories as serial runs; a failing rank ends the whole job."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import yaml

from metrotwin.errors import DataSourceError
from metrotwin.results.output import open_runs

from tests._support.mpi import metrotwin_command, mpi_env, require_mpiexec

pytestmark = pytest.mark.mpi

PLUGIN = Path(__file__).parents[1] / "_support" / "mpi_plugin"

SCENARIO = {
    "name": "mpitoy",
    "seed": 5,
    # 47 x 61 cells: no layout divides it evenly
    "domain": {"generated": {"size_x": 1220, "size_y": 940, "resolution": 20}},
    "period": {"start": "2026-07-15T06:00:00", "duration": "30 min",
               "coupling_interval": "5 min", "output_interval": "10 min"},
    "models": {"diffuse": {}},
    "variants": {
        "wetter": {"models": {"diffuse": {"below": 104}}},
        "greener": {"interventions": [{"type": "trees", "fraction": 0.5},
                                      {"type": "retention_pond", "depth": 2,
                                       "where": {"bbox": [690300, 5335300, 690700, 5335700]}}]},
    },
}  # fmt: skip


def _run(args, ranks, tmp_path, timeout=240, **env):
    return subprocess.run(metrotwin_command(args, ranks), capture_output=True, text=True,
                          env=mpi_env(PLUGIN, **env), cwd=tmp_path, timeout=timeout)  # fmt: skip


@pytest.fixture(scope="module")
def scenario_file(tmp_path_factory):
    require_mpiexec()
    path = tmp_path_factory.mktemp("mpi") / "mpitoy.yaml"
    path.write_text(yaml.safe_dump(SCENARIO))
    return path


@pytest.fixture(scope="module")
def serial_run(scenario_file):
    out = scenario_file.parent / "serial"
    proc = subprocess.run(metrotwin_command(["run", str(scenario_file), "-o", str(out), "--no-progress"], 1),
                          capture_output=True, text=True, env=mpi_env(PLUGIN))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return out


def _assert_same_run(a: Path, b: Path):
    da, db = open_runs(a), open_runs(b)
    assert sorted(da.data_vars) == sorted(db.data_vars)
    for name in da.data_vars:
        assert np.array_equal(da[name].values, db[name].values, equal_nan=True), name
    for variant in da.variant.values:
        ia = json.loads((a / variant / "indicators.json").read_text())
        ib = json.loads((b / variant / "indicators.json").read_text())
        ia["models"]["diffuse"].pop("ranks"), ib["models"]["diffuse"].pop("ranks")
        assert ia["models"] == ib["models"], variant


@pytest.mark.parametrize("ranks", [2, 3, 4])
def test_one_variant_on_n_ranks_is_bit_identical_to_serial(scenario_file, serial_run, tmp_path, ranks):
    out = tmp_path / f"n{ranks}"
    proc = _run(["run", str(scenario_file), "-o", str(out), "--variant", "greener", "--no-progress",
                 "--paraview"], ranks, tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    # ParaView: one piece per rank and output time, every piece named by the collection
    from metrotwin.viz.paraview import read_pvd

    pieces = read_pvd(out / "greener" / "paraview" / "fields.pvd")
    assert {part for _, part, _ in pieces} == set(range(ranks))
    assert len(pieces) == 4 * ranks and all(path.exists() for _, _, path in pieces)
    resolved = yaml.safe_load((out / "greener" / "scenario.resolved.yaml").read_text())
    assert resolved["run"]["ranks"] == ranks
    assert len(list((out / "greener" / "tiles").iterdir())) == ranks
    ds = xr.open_dataset(out / "greener" / "fields.nc", decode_coords="all")
    assert ds.rio.crs.to_epsg() == 32632 and ds.sizes["y"] == 47 and ds.sizes["x"] == 61
    shutil.copytree(serial_run / "greener", tmp_path / "serial" / "greener")
    _assert_same_run(tmp_path / "serial", out)


def test_ensemble_of_three_variants_on_four_ranks(scenario_file, serial_run, tmp_path):
    out = tmp_path / "ens"
    proc = _run(["run", str(scenario_file), "-o", str(out), "--no-progress"], 4, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["baseline", "comparison", "greener", "wetter"]
    assert (out / "comparison" / "report.html").stat().st_size > 10_000
    # 4 ranks over 3 variants: the baseline got two ranks, the others one each
    assert yaml.safe_load((out / "baseline" / "scenario.resolved.yaml").read_text())["run"]["ranks"] == 2
    assert proc.stdout.count("baseline:") == 1  # the result is reported once, not per rank
    _assert_same_run(serial_run, out)


def test_a_failing_rank_ends_the_job_with_its_message(scenario_file, tmp_path):
    data = yaml.safe_load(scenario_file.read_text())
    data["models"]["diffuse"]["fail_on_rank"] = 1
    path = tmp_path / "fail.yaml"
    path.write_text(yaml.safe_dump(data))
    proc = _run(["run", str(path), "-o", str(tmp_path / "out"), "--variant", "baseline", "--no-progress"],
                2, tmp_path, timeout=120)  # fmt: skip
    assert proc.returncode != 0
    assert "deliberate failure on rank 1" in proc.stderr


def test_an_input_error_on_one_tile_ends_the_job_instead_of_hanging(scenario_file, tmp_path):
    """An error only one rank finds while the others wait in a collective of the set-up:
    after the grace period the failing rank ends the job with its message (exit 2)."""
    data = yaml.safe_load(scenario_file.read_text())
    data["models"]["diffuse"]["bad_tile_on_rank"] = 1
    path = tmp_path / "badtile.yaml"
    path.write_text(yaml.safe_dump(data))
    proc = _run(["run", str(path), "-o", str(tmp_path / "out"), "--variant", "baseline", "--no-progress"],
                2, tmp_path, timeout=120, METROTWIN_ERROR_GRACE_S="2")  # fmt: skip
    assert proc.returncode == 2, proc.stderr
    assert "bad data on the tile of rank 1" in proc.stderr
    assert not (tmp_path / "out" / "baseline").exists()


def test_input_error_under_mpi_exits_2_once_and_writes_nothing(scenario_file, tmp_path):
    data = yaml.safe_load(scenario_file.read_text())
    data["parallel"] = {"layout": [3, 3]}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(data))
    out = tmp_path / "out"
    proc = _run(["run", str(path), "-o", str(out), "--variant", "baseline"], 2, tmp_path, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.count("metrotwin: error:") == 1 and "layout [3, 3] needs 9 ranks" in proc.stderr
    assert not out.exists()


def test_missing_tile_is_refused(scenario_file, tmp_path):
    out = tmp_path / "n2"
    proc = _run(["run", str(scenario_file), "-o", str(out), "--variant", "baseline", "--no-progress"],
                2, tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    next((out / "baseline" / "tiles").iterdir()).unlink()
    with pytest.raises(DataSourceError, match="tile file.* missing"):
        open_runs(out)


def test_a_model_that_cannot_be_decomposed_is_refused_more_ranks(scenario_file, tmp_path):
    data = yaml.safe_load(scenario_file.read_text())
    data["models"] = {"whole": {}}
    data["variants"] = {}
    path = tmp_path / "whole.yaml"
    path.write_text(yaml.safe_dump(data))
    out = tmp_path / "out"
    proc = _run(["run", str(path), "-o", str(out), "--variant", "baseline"], 2, tmp_path, timeout=120)
    assert proc.returncode == 2
    assert "whole cannot run on a grid split over ranks" in proc.stderr
    assert not out.exists()
