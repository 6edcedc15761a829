"""The filter's limits: no reading leaves the free run as it was (bit for bit), perfect
readings of the truth's own forcing give the truth within the reading error, and a scenario
whose readings are all unusable is refused before the run."""

from __future__ import annotations

import copy

import numpy as np
import yaml

from metrotwin.cli import main

from .test_assim_twin import HEAT
from .twin import (
    place_sensors,
    run_assimilated,
    run_plain,
    scenario_data,
    twin_setup,
    write_readings,
    write_sensors,
)


def test_readings_outside_the_period_leave_the_free_run_bit_for_bit(tmp_path):
    base = scenario_data()
    free, times, city = run_plain(base, ["flood_water_thickness"])
    sensors, cells = place_sensors(city, np.ones(city.grid.shape, bool), 4, "water_depth", 0.02)
    write_sensors(tmp_path / "sensors.csv", sensors)
    later = [t + 86400.0 for t in times]  # the next day: no analysis window holds them
    write_readings(tmp_path / "obs.csv", sensors, cells, free, later, seed=1)
    data = copy.deepcopy(base)
    data["observations"] = {"sources": [{"format": "csv", "path": "obs.csv",
                                         "sensors": "sensors.csv"}]}  # fmt: skip
    data["assimilation"] = {"members": 4}
    coupler = run_assimilated(data, tmp_path)
    assert coupler.cycles == 0 and coupler.increment_volume.tolist() == [0.0] * 4
    assert np.array_equal(coupler.control.state["flood_water_thickness"],
                          free["flood_water_thickness"][-1])  # fmt: skip
    assert all(np.isnan(v).all() for v in coupler.values.values())


def test_nudging_without_readings_in_the_period_is_the_plain_run_bit_for_bit(tmp_path):
    base = scenario_data()
    free, times, city = run_plain(base, ["flood_water_thickness"])
    sensors, cells = place_sensors(city, np.ones(city.grid.shape, bool), 4, "water_depth", 0.02)
    write_sensors(tmp_path / "sensors.csv", sensors)
    write_readings(tmp_path / "obs.csv", sensors, cells, free, [t + 86400.0 for t in times],
                   seed=1)  # fmt: skip
    data = copy.deepcopy(base)
    data["observations"] = {"sources": [{"format": "csv", "path": "obs.csv",
                                         "sensors": "sensors.csv"}]}  # fmt: skip
    data["assimilation"] = {"method": "nudging"}
    coupler = run_assimilated(data, tmp_path)
    assert coupler.cycles == 0 and coupler.increment_volume.tolist() == [0.0]
    # the nudged run (its forcing multiplied by exactly 1) and the variant's state
    for state in (coupler.members[0].state, coupler.state):
        assert np.array_equal(state["flood_water_thickness"], free["flood_water_thickness"][-1])


def test_perfect_readings_of_the_truths_forcing_give_the_truth(tmp_path):
    base = scenario_data(**HEAT)

    def sensors(city, series):
        return place_sensors(city, np.ones(city.grid.shape, bool), 16, "air_temperature", 0.2)

    coupler, truth, times, cells = twin_setup(tmp_path, base, base, "air_temperature", sensors)
    obs = coupler.obs
    st = obs.station
    k = np.searchsorted(times, (obs.time - obs.time.min()) / np.timedelta64(1, "s") + times[0])
    exact = np.array([truth["air_temperature"][k[i]].ravel()[obs.cell[st[i]]]
                      for i in range(obs.n_obs)])  # fmt: skip
    error = coupler.values["analysis_mean"] - exact
    # within the readings' error (0.2 K) at every sensor, withheld ones included: the
    # prior's 2 K spread is gone
    assert np.sqrt(np.mean(error**2)) < 0.2
    assert np.abs(error).max() < 3 * 0.2


def test_all_unusable_readings_are_refused_before_the_run(tmp_path, capsys):
    data = scenario_data()
    write_sensors(tmp_path / "sensors.csv", [("d0", "water_depth", 600_000.0, 5_335_900.0,
                                              0.02)])  # fmt: skip
    (tmp_path / "obs.csv").write_text("sensor_id,time,variable,value\n"
                                      "d0,2026-07-15T06:10:00Z,water_depth,-3\n"
                                      "nobody,2026-07-15T06:10:00Z,water_depth,0.1\n")
    data["observations"] = {"sources": [{"format": "csv", "path": str(tmp_path / "obs.csv"),
                                         "sensors": str(tmp_path / "sensors.csv")}]}
    data["assimilation"] = {"members": 4}
    (tmp_path / "s.yaml").write_text(yaml.safe_dump(data))
    out = tmp_path / "out"
    assert main(["run", str(tmp_path / "s.yaml"), "-o", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert err.count("metrotwin: error:") == 1
    assert "not one of the 2 observation readings can be used" in err
    assert "outside_domain: 1" in err and "unknown_sensor: 1" in err
    assert not (out / "baseline").exists()


def test_readings_without_a_filter_and_a_filter_without_readings_are_refused(tmp_path, capsys):
    """Readings that nothing would use, or a filter with nothing to assimilate: one message
    at validation (exit 2), naming the section and what to add."""
    data = scenario_data()
    write_sensors(tmp_path / "sensors.csv", [("d0", "water_depth", 600_000.0, 5_335_900.0,
                                              0.02)])  # fmt: skip
    (tmp_path / "obs.csv").write_text("sensor_id,time,variable,value\n"
                                      "d0,2026-07-15T06:10:00Z,water_depth,0.1\n")
    observations = {"sources": [{"format": "csv", "path": str(tmp_path / "obs.csv"),
                                 "sensors": str(tmp_path / "sensors.csv")}]}
    for section, value, expected in (
        ("observations", observations, "add an 'assimilation:' section"),
        ("assimilation", {"members": 4}, "needs an 'observations:' section"),
    ):
        (tmp_path / "s.yaml").write_text(yaml.safe_dump({**data, section: value}))
        assert main(["validate", str(tmp_path / "s.yaml")]) == 2
        err = capsys.readouterr().err
        assert err.count("metrotwin: error:") == 1 and f"{section}: " in err, err
        assert expected in err, err
