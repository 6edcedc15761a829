"""A synthetic assimilated run's readings for the observation-output, skill and report tests:
depth gauges and air-temperature stations with a free run that is too low or too cold and an
analysis that follows the readings, with known numbers."""

from __future__ import annotations

import numpy as np

from metrotwin.observe.flags import FLAG, GOOD, WITHHELD
from metrotwin.observe.table import ObservationSet

START = np.datetime64("2026-07-15T06:00", "ns")
STEP = np.timedelta64(10, "m")


def synthetic_observations(west=0.0, south=0.0, width=1200.0, height=960.0, steps=12, seed=0):
    """(ObservationSet, model_values, truth): three depth gauges and three temperature
    stations inside the box (scenario CRS, m), ``steps`` readings each every 10 min from
    ``START``; the last station of each variable withheld; one depth reading out of range.
    The free run is the truth minus 0.2 m (depth, at least 0) or 2 K; the analysis the truth plus noise of
    std 0.03 m or 0.4 K; spreads 0.25 m / 2.5 K before, 0.04 m / 0.5 K after the analysis."""
    rng = np.random.default_rng(seed)
    variables = np.array(["water_depth"] * 3 + ["air_temperature"] * 3, object)
    n_st = variables.size
    x = west + width * np.array([0.2, 0.5, 0.8, 0.3, 0.6, 0.7])
    y = south + height * np.array([0.3, 0.6, 0.4, 0.7, 0.2, 0.8])
    station = np.repeat(np.arange(n_st), steps)
    t = START + STEP * np.tile(np.arange(steps), n_st)
    phase = np.tile(np.linspace(0, np.pi, steps), n_st)
    depth = variables[station] == "water_depth"
    truth = np.where(depth, 0.1 + 0.4 * np.sin(phase), 295.0 + 6.0 * np.sin(phase))
    small = np.where(depth, 0.03, 0.4)
    value = truth + small * rng.standard_normal(truth.size)
    value[depth] = np.maximum(value[depth], 0.0)
    flag = np.where(np.isin(station, [2, 5]), WITHHELD, GOOD).astype(np.uint8)
    flag[3] = FLAG["out_of_range"]
    value[3] = -3.0
    model_values = {
        "free_run": truth - np.where(depth, 0.2, 2.0),
        "background_mean": truth - np.where(depth, 0.1, 1.0),
        "background_spread": np.where(depth, 0.25, 2.5),
        "analysis_mean": truth + small * rng.standard_normal(truth.size),
        "analysis_spread": np.where(depth, 0.04, 0.5),
    }
    model_values["free_run"][depth] = np.maximum(model_values["free_run"][depth], 0.0)
    model_values["free_run"][-1] = np.nan  # a reading the free run did not sample
    nan = np.full(n_st, np.nan)
    obs = ObservationSet(
        sensor_id=np.array(["g1", "g2", "g3", "t1", "t2", "t3"], object), variable=variables,
        x=x, y=y, lon=nan.copy(), lat=nan.copy(), error_std=np.array([0.03] * 3 + [0.4] * 3),
        interval=nan.copy(), cell=np.arange(n_st) * 7, link=np.full(n_st, -1),
        distance=np.full(n_st, 1.5), station=station, time=t, value=value, flag=flag,
        source=np.zeros(station.size, np.int16), sources=["synthetic.csv"],
    )  # fmt: skip
    return obs, model_values, truth
