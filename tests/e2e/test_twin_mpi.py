"""An assimilated variant on a grid split over ranks and restarted (issue 18): the members
decomposed, the readings' model values gathered in a fixed order, each rank analysing its
own cells, so that 1 and 3 ranks give bit-identical analyses (fields, indicators,
observations.nc); and a run stopped half-way (a checkpoint of every member, the control and
the filter) and restarted gives what the run that was not stopped gave."""

from __future__ import annotations

import json

import h5py
import numpy as np
import pytest
import xarray as xr
import yaml

from tests._support.mpi import assert_same_run, run_scenario, scenario_setup, serial_reference
from tests.engine.observe.twin import (
    place_counters,
    place_sensors,
    run_plain,
    scenario_data,
    write_readings,
    write_sensors,
)

pytestmark = pytest.mark.mpi

OD = [[int(a), int(b), 0.0, 3600.0, 0.03]
      for a, b in np.random.default_rng(0).choice(60, (40, 2)) if a != b][:16]


def twin_data() -> dict:
    """Flood and traffic on the generated city for 1 h, the forecast's rain 1/3 weaker and
    its demand 1/1.3 of the truth's; depth gauges and traffic counters."""
    data = scenario_data(models={"flood": {"buildings": "raised"},
                                 "mobility": {"demand": "od", "od": OD,
                                              "scale_capacity": False}})  # fmt: skip
    data["period"]["duration"] = "1 h"
    data["period"]["output_interval"] = "20 min"
    return data


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    base = twin_data()
    truth = twin_data()
    truth["forcing"]["rainfall"]["hyetograph"] = [[0, 0], [600, 45], [3600, 15], [5400, 0]]
    truth["models"]["mobility"]["demand_scale"] = 1.3
    series, times, city = run_plain(truth, ["flood_water_thickness", "link_flow"])
    peak = np.max(series["flood_water_thickness"], axis=0)
    gauges, cells = place_sensors(city, peak > 0.02, 16, "water_depth", 0.02)
    counters, links = place_counters(city, series["link_flow"], 12, 1.0)
    base["observations"] = {"sources": [{"format": "csv", "path": "obs.csv",
                                         "sensors": "sensors.csv", "count_interval": 600}],
                            "withhold": 0.25, "seed": 2}  # fmt: skip
    base["assimilation"] = {"members": 4, "localisation_radius": 600}
    base["models"]["stopper"] = {}  # signals the run at MT_STOP_AT (tests._support.mpi)
    scenario, plugin = scenario_setup(tmp_path_factory, "twin_mpi", base)
    root = scenario.parent
    write_sensors(root / "sensors.csv", gauges + counters)
    write_readings(root / "obs.csv", gauges + counters, np.concatenate([cells, links]), series,
                   times, seed=5)  # fmt: skip
    return scenario, plugin


@pytest.fixture(scope="module")
def serial(setup):
    return serial_reference(*setup, "--no-report")


def assert_same_observations(a, b) -> None:
    """Two runs' observations.nc hold the same readings, flags and model values."""
    a, b = (xr.open_dataset(run / "baseline" / "observations.nc") for run in (a, b))
    assert sorted(a.data_vars) == sorted(b.data_vars)
    for name in a.data_vars:
        floating = np.issubdtype(a[name].dtype, np.floating)
        assert np.array_equal(a[name].values, b[name].values, equal_nan=floating), name


def test_assimilated_run_on_3_ranks_is_bit_identical_to_serial(setup, serial):
    scenario, plugin = setup
    out = scenario.parent / "n3"
    proc = run_scenario(scenario, out, 3, plugin, "--no-report", timeout=400)
    assert proc.returncode == 0, proc.stderr
    resolved = yaml.safe_load((out / "baseline" / "scenario.resolved.yaml").read_text())
    assert resolved["run"]["ranks"] == 3
    assert_same_run(serial, out)
    assert_same_observations(serial, out)
    # the analysis did something on both (else equality would prove little)
    fields = xr.open_dataset(out / "baseline" / "fields.nc")
    assert np.nanmax(fields["flood_water_thickness_spread"].values) > 0


@pytest.mark.parametrize("ranks", [(1, 1), (3, 1)])
def test_assimilated_run_stopped_and_restarted_is_the_run_not_stopped(setup, serial, ranks):
    """Stopped at 30 min (a coupling time between two outputs, readings on both sides),
    restarted with --restart: on 1 rank, and stopped on 3 ranks restarted on 1."""
    scenario, plugin = setup
    stopped, restarted = ranks
    out = scenario.parent / f"restart{stopped}{restarted}"
    proc = run_scenario(scenario, out, stopped, plugin, "--no-report", stop_at=1800,
                        timeout=400)  # fmt: skip
    assert proc.returncode == 75, proc.stderr  # stopped with a checkpoint
    ck = out / ".metrotwin-work" / "baseline" / "checkpoint"
    with h5py.File(ck / "state.00000.h5") as f:  # the members' and control's fields kept
        assert "member3/flood_water_thickness" in f and "control/link_flow" in f
        assert "member0/log_rain" in f
    proc = run_scenario(scenario, out, restarted, plugin, "--no-report", "--restart",
                        timeout=400)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "restarted at t = 1800 s" in (out / "baseline" / "run.log").read_text()
    assert_same_run(serial, out)
    assert_same_observations(serial, out)


def serial_and_3_ranks(data: dict, name: str, plugin, root) -> list:
    """Run the scenario ``data`` (written as ``root/<name>.yaml``) on 1 and on 3 ranks; their
    run folders."""
    path = root / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data))
    runs = []
    for ranks in (1, 3):
        out = root / f"{name}{ranks}"
        proc = run_scenario(path, out, ranks, plugin, "--no-report", timeout=400)
        assert proc.returncode == 0, proc.stderr
        runs.append(out)
    return runs


def test_nudged_run_on_3_ranks_is_bit_identical_to_serial(setup):
    """Nudging (one run relaxed towards the readings) split over 3 ranks: each rank nudges
    its own cells from the gathered innovations, as one rank does."""
    scenario, plugin = setup
    data = yaml.safe_load(scenario.read_text())
    data["assimilation"] = {"method": "nudging", "localisation_radius": 600,
                            "time_scale": "15 min"}  # fmt: skip
    runs = serial_and_3_ranks(data, "nudged", plugin, scenario.parent)
    assert_same_run(*runs)
    assert_same_observations(*runs)
    indicators = json.loads((runs[1] / "baseline" / "indicators.json").read_text())["models"]
    assert indicators["flood"]["volume_assimilation_increment"]["value"] != 0.0


def test_interpolated_transform_on_3_ranks_is_bit_identical_to_serial(setup):
    """``transform_step``: the transform at every 3rd row and column of the whole grid,
    interpolated between; each rank interpolates between the whole grid's coarse points, so
    3 ranks give the serial analysis bit for bit."""
    scenario, plugin = setup
    data = yaml.safe_load(scenario.read_text())
    data["assimilation"]["transform_step"] = 3
    runs = serial_and_3_ranks(data, "stepped", plugin, scenario.parent)
    assert_same_run(*runs)
    assert_same_observations(*runs)
    fields = xr.open_dataset(runs[1] / "baseline" / "fields.nc")
    assert np.nanmax(fields["flood_water_thickness_spread"].values) > 0
