"""Skill indicators on constructed numbers whose answers are known exactly."""

from __future__ import annotations

import numpy as np
import pytest

from metrotwin.observe.flags import FLAG, GOOD, WITHHELD
from metrotwin.observe.skill import skill_indicators
from tests._support.observations import synthetic_observations


def _one_variable(value, flag, std=0.5):
    obs, _, _ = synthetic_observations(steps=1)
    n = len(value)
    obs.sensor_id, obs.variable = obs.sensor_id[:1], obs.variable[:1]
    for name in ("x", "y", "lon", "lat", "interval", "cell", "link", "distance"):
        setattr(obs, name, getattr(obs, name)[:1])
    obs.error_std = np.array([std])
    obs.station = np.zeros(n, np.int64)
    obs.time = obs.time[0] + np.arange(n) * np.timedelta64(60, "s")
    obs.value, obs.flag = np.asarray(value, float), np.asarray(flag, np.uint8)
    obs.source = np.zeros(n, np.int16)
    return obs


def test_rmse_bias_and_reduction_exact():
    value = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0])
    flag = [GOOD, GOOD, GOOD, GOOD, WITHHELD, WITHHELD, FLAG["duplicate"]]
    obs = _one_variable(value, flag)
    sign = np.array([1, -1, 1, -1, 1, 1, 1.0])
    model = {"free_run": value + 2.0,           # RMSE 2, bias +2 everywhere
             "analysis_mean": value + sign}     # good: RMSE 1, bias 0; withheld: RMSE 1, bias 1
    out = skill_indicators(obs, model)
    key = "water_depth.assimilated."
    assert out[key + "n"] == 4 and out["water_depth.withheld.n"] == 2  # the duplicate left out
    assert out[key + "rmse_free"] == 2.0 and out[key + "bias_free"] == 2.0
    assert out[key + "rmse_analysis"] == 1.0 and out[key + "bias_analysis"] == 0.0
    assert out[key + "rmse_reduction"] == 0.5
    assert out["water_depth.withheld.bias_analysis"] == 1.0
    assert out["water_depth.withheld.rmse_reduction"] == 0.5
    assert not [k for k in out if "spread" in k]  # no ensemble values given


def test_free_and_analysis_compared_on_the_same_readings():
    value = np.zeros(4)
    obs = _one_variable(value, [GOOD] * 4)
    free = np.array([3.0, 3.0, np.nan, 3.0])
    analysis = np.array([1.0, 1.0, 100.0, 1.0])  # 100 where the free run has no value
    out = skill_indicators(obs, {"free_run": free, "analysis_mean": analysis})
    assert out["water_depth.assimilated.rmse_analysis"] == 1.0
    assert out["water_depth.assimilated.rmse_reduction"] == pytest.approx(2.0 / 3.0, abs=1e-15)


def test_spread_skill_with_the_finite_ensemble_correction():
    # M = 8 members: (M + 1) / M = 9 / 8; spread^2 = 8 makes the corrected spread 3, which is
    # the RMSE of the mean (errors +-3): a ratio of exactly 1 (Fortin et al. 2014 eq. 4)
    value = np.arange(6.0)
    obs = _one_variable(value, [WITHHELD] * 6, std=4.0)
    model = {"background_mean": value + np.array([3, -3, 3, -3, 3, -3.0]),
             "background_spread": np.full(6, np.sqrt(8.0))}
    out = skill_indicators(obs, model, members=8)
    assert out["water_depth.withheld.spread_skill_ensemble"] == pytest.approx(1.0, rel=1e-15)
    # against the readings, the observation error variance 16 is in the spread:
    # sqrt(9 + 16) / 3 = 5 / 3
    assert out["water_depth.withheld.spread_skill"] == pytest.approx(5 / 3, rel=1e-15)
    uncorrected = skill_indicators(obs, model)["water_depth.withheld.spread_skill_ensemble"]
    assert uncorrected == pytest.approx(np.sqrt(8.0) / 3.0, rel=1e-15)


def test_spread_skill_against_readings_counts_their_error():
    # a perfect ensemble verified against noisy readings: the truth is the ensemble mean, the
    # readings are the truth +-2 (error std 2), the ensemble's spread is 0 (it is certain and
    # right). Its RMSE against the readings, 2, is all observation error: the ratio is 1, not 0.
    value = np.array([2.0, -2.0, 2.0, -2.0])
    obs = _one_variable(value, [WITHHELD] * 4, std=2.0)
    model = {"background_mean": np.zeros(4), "background_spread": np.zeros(4)}
    out = skill_indicators(obs, model, members=8)
    assert out["water_depth.withheld.spread_skill"] == pytest.approx(1.0, rel=1e-15)
    assert out["water_depth.withheld.spread_skill_ensemble"] == 0.0


def test_per_variable_on_the_synthetic_run():
    obs, model, _ = synthetic_observations()
    out = skill_indicators(obs, model, members=20)
    # the free run is the truth - 2 K; readings are the truth plus noise of 0.4 K, so the free
    # run's bias is -2 K up to the mean noise of the withheld station's 11 readings with a free
    # run value (std 0.4 / sqrt(11) K; 4 of them)
    bias = out["air_temperature.withheld.bias_free"]
    assert bias == pytest.approx(-2.0, abs=4 * 0.4 / np.sqrt(11))
    assert out["air_temperature.assimilated.n"] == 24 and out["water_depth.assimilated.n"] == 23
    assert out["water_depth.withheld.rmse_reduction"] > 0.5
    assert {k.split(".")[0] for k in out} == {"water_depth", "air_temperature"}


def test_spread_skill_leaves_out_the_first_forecast():
    # the first analysis time's readings were forecast by the prior alone (one draw of it):
    # they count in the RMSE but not in the spread-skill ratio. Here the first forecast is 10
    # off with no spread; the later ones are reliable (errors +-3, corrected spread 3: ratio 1)
    value = np.zeros(5)
    obs = _one_variable(value, [WITHHELD] * 5, std=1e-9)
    model = {"background_mean": np.array([10.0, 3, -3, 3, -3]),
             "background_spread": np.array([0.0, *[np.sqrt(8.0)] * 4])}
    out = skill_indicators(obs, model, members=8)
    assert out["water_depth.withheld.spread_skill_ensemble"] == pytest.approx(1.0, rel=1e-12)
    assert out["water_depth.withheld.spread_skill"] == pytest.approx(1.0, rel=1e-12)
