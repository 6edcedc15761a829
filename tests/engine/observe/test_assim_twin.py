"""Twin experiments (the standard test of a filter): a truth run with one forcing, synthetic
sensors sampled from it with noise, and the filter run from the wrong forcing, on a small
generated city. Skill is measured at withheld sensors, which the filter never sees."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from .twin import place_counters, place_sensors, scenario_data, skill, twin_setup

HEAT = {"forcing": {"weather": {"design_day": {"air_temperature_max": 30,
                                               "air_temperature_min": 18}}},
        "models": {"heat": {"time_step": 600, "azimuths": 8, "air_cell_size": 100,
                            "horizon_distance": 200}}}  # fmt: skip
#: car trips between 16 node pairs of the generated city (0.03 veh/s each for 1.5 h)
OD_DEMAND = [[int(a), int(b), 0.0, 5400.0, 0.03]
             for a, b in np.random.default_rng(0).choice(60, (40, 2)) if a != b][:16]


def test_flood_twin_rain_50_percent_stronger(tmp_path):
    base = scenario_data()
    truth = copy.deepcopy(base)
    truth["forcing"]["rainfall"]["hyetograph"] = [[0, 0], [600, 45], [3600, 15], [5400, 0]]

    def sensors(city, series):  # depth gauges where the truth floods (> 5 cm at its peak)
        peak = np.max(series["flood_water_thickness"], axis=0)
        return place_sensors(city, peak > 0.05, 24, "water_depth", 0.02)

    coupler, *_ = twin_setup(tmp_path, base, truth, "flood_water_thickness", sensors)
    held = skill(coupler, withheld=True)
    assert held["n"] == 6 * 12  # 6 withheld gauges, 12 coupling times
    # issue 18 "done when": depth RMSE at withheld sensors falls by >= 50 % vs the free run
    assert held["analysis"] <= 0.5 * held["free"], held
    # an ensemble as uncertain as it is wrong: spread-skill within 0.7-1.3 (issue 18)
    assert 0.7 <= held["spread_skill"] <= 1.3, held
    flood = coupler.indicators()["flood"]
    # the increment account closes the members' balance to round-off (sums of ~1e5 m3 of
    # ~18,000 cells in float64: ~1e-15 relative; issue 18 asks <= 1e-12)
    assert flood["volume_balance_error"].value <= 1e-12
    assert flood["volume_assimilation_increment"].value != 0.0
    # the rain correction persists: the members' rain multiplier moved towards the truth's 1.5
    multipliers = [float(np.mean(np.exp(f.log_rain))) for f in coupler.forcings]
    assert np.mean(multipliers) > 1.2, multipliers


def test_heat_twin_day_3_k_hotter(tmp_path):
    base = scenario_data(**HEAT)
    base["period"]["duration"] = "3 h"
    truth = copy.deepcopy(base)
    truth["forcing"]["weather"]["design_day"] = {"air_temperature_max": 33,
                                                 "air_temperature_min": 21}

    def sensors(city, series):
        return place_sensors(city, np.ones(city.grid.shape, bool), 16, "air_temperature", 0.3)

    coupler, *_ = twin_setup(tmp_path, base, truth, "air_temperature", sensors)
    held = skill(coupler, withheld=True)
    assert held["n"] == 4 * 18
    # issue 18: air-temperature RMSE at withheld sensors falls by >= 50 % vs the free run
    assert held["free"] > 2.5  # the twin is 3 K off
    assert held["analysis"] <= 0.5 * held["free"], held
    assert 0.7 <= held["spread_skill"] <= 1.3, held
    # the offset the members estimated is the truth's +3 K, to a tenth (the readings
    # average 12 sensors x 18 times of 0.3 K error: 0.02 K; the heat model's response to the
    # offset is not exactly linear)
    offsets = [f.air_temperature_offset for f in coupler.forcings]
    assert abs(np.mean(offsets) - 3.0) < 0.3, offsets


def test_rain_gauges_scale_the_members_rain_by_their_mean_field_bias(tmp_path):
    """Gauges reading 1.5 times the forecast rain: the members' rain is scaled by 1.5
    (the gauges' total over the forecast's at the gauges, Wilson & Brandes 1979)."""
    base = scenario_data()
    base["period"]["duration"] = "30 min"
    truth = copy.deepcopy(base)
    truth["forcing"]["rainfall"]["hyetograph"] = [[0, 0], [600, 45], [3600, 15], [5400, 0]]

    def sensors(city, series):
        return place_sensors(city, np.ones(city.grid.shape, bool), 6, "water_depth", 0.02)

    write_rain = tmp_path / "rain.csv"
    write_rain.write_text("sensor_id,time,variable,value\n"
                          "r0,2026-07-15T06:10:00Z,rain_rate,45.0\n"
                          "r1,2026-07-15T06:10:00Z,rain_rate,44.0\n"
                          "r1,2026-07-15T06:20:00Z,rain_rate,46.0\n")
    (tmp_path / "rain_sensors.csv").write_text(
        "sensor_id,variable,x,y,error_std\nr0,rain_rate,690300,5335700,1.0\n"
        "r1,rain_rate,690700,5335500,1.0\n")
    coupler, *_ = twin_setup(tmp_path, base, truth, "flood_water_thickness", sensors,
                             extra_sources=[{"format": "csv", "path": "rain.csv",
                                             "sensors": "rain_sensors.csv"}])  # fmt: skip
    # 06:10: (45 + 44) / (30 + 30); then at 06:20 only r1 reads: 46 mm/h where the forecast
    # gives 30 (the bias of the last readings holds until the next)
    assert [f.rain_bias for f in coupler.forcings] == pytest.approx([46.0 / 30.0] * 12,
                                                                    rel=1e-12)


def test_flood_twin_nudged_single_run(tmp_path):
    """Nudging (one deterministic run, Stauffer & Seaman 1990) from the rain 50 % too weak:
    the depth at withheld gauges comes closer to the truth, the volume account still closes."""
    base = scenario_data()
    truth = copy.deepcopy(base)
    truth["forcing"]["rainfall"]["hyetograph"] = [[0, 0], [600, 45], [3600, 15], [5400, 0]]

    def sensors(city, series):
        peak = np.max(series["flood_water_thickness"], axis=0)
        return place_sensors(city, peak > 0.05, 24, "water_depth", 0.02)

    nudging = {"method": "nudging", "localisation_radius": 600, "time_scale": "10 min"}
    coupler, *_ = twin_setup(tmp_path, base, truth, "flood_water_thickness", sensors,
                             assimilation=nudging)  # fmt: skip
    assert len(coupler.members) == 1
    held = skill(coupler, withheld=True)
    assert held["n"] == 6 * 12
    # the same bar as the filter's (issue 18: >= 50 % less depth RMSE at withheld gauges);
    # measured: 0.087 m free, 0.022 m nudged
    assert held["analysis"] <= 0.5 * held["free"], held
    flood = coupler.indicators()["flood"]
    # the nudges' volume in the increment account closes the balance to round-off (as the
    # filter's: <= 1e-12 asked by issue 18); the run was too dry, so the nudges added water
    assert flood["volume_balance_error"].value <= 1e-12
    assert flood["volume_assimilation_increment"].value > 0.0


def test_traffic_twin_demand_30_percent_higher(tmp_path):
    """Travel demand 30 % higher than the model thinks (the OD volumes' demand scale);
    traffic counters on links. The members' demand scales differ (their prior), so the
    ensemble's flows covary over the network, and the filter updates the flow of every link
    near a counter."""
    base = scenario_data(models={"mobility": {"demand": "od", "od": OD_DEMAND,
                                              "scale_capacity": False}})  # fmt: skip
    base["forcing"] = {}
    truth = copy.deepcopy(base)
    truth["models"]["mobility"]["demand_scale"] = 1.3

    def sensors(city, series):  # counts of 10 min read to +- 1 vehicle
        return place_counters(city, series["link_flow"], 24, 1.0)

    coupler, *_ = twin_setup(tmp_path, base, truth, "link_flow", sensors)
    held = skill(coupler, withheld=True)
    assert held["n"] == 6 * 12
    # issue 18: link-flow RMSE at withheld counters falls by >= 30 % vs the free run
    # (measured: 10.3 vehicles per 10 min free, 1.2 analysed)
    assert held["analysis"] <= 0.7 * held["free"], held
    assert 0.7 <= held["spread_skill"] <= 1.3, held
