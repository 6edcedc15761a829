"""An assimilated variant on a grid split over ranks (issue 18): the members decomposed,
the readings' model values gathered in a fixed order, each rank analysing its own cells;
1 and 3 ranks give bit-identical analyses (fields, indicators, observations.nc)."""

from __future__ import annotations

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
    scenario, plugin = scenario_setup(tmp_path_factory, "twin_mpi", base)
    root = scenario.parent
    write_sensors(root / "sensors.csv", gauges + counters)
    write_readings(root / "obs.csv", gauges + counters, np.concatenate([cells, links]), series,
                   times, seed=5)  # fmt: skip
    return scenario, plugin


def test_assimilated_run_on_3_ranks_is_bit_identical_to_serial(setup):
    scenario, plugin = setup
    serial = serial_reference(scenario, plugin, "--no-report")
    out = scenario.parent / "n3"
    proc = run_scenario(scenario, out, 3, plugin, "--no-report", timeout=400)
    assert proc.returncode == 0, proc.stderr
    resolved = yaml.safe_load((out / "baseline" / "scenario.resolved.yaml").read_text())
    assert resolved["run"]["ranks"] == 3
    assert_same_run(serial, out)
    a, b = (xr.open_dataset(run / "baseline" / "observations.nc") for run in (serial, out))
    assert sorted(a.data_vars) == sorted(b.data_vars)
    for name in a.data_vars:
        floating = np.issubdtype(a[name].dtype, np.floating)
        assert np.array_equal(a[name].values, b[name].values, equal_nan=floating), name
    # the analysis did something on both (else equality would prove little)
    fields = xr.open_dataset(out / "baseline" / "fields.nc")
    assert np.nanmax(fields["flood_water_thickness_spread"].values) > 0
