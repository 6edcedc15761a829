"""Design storms from an IDF relation: the Chicago storm holds the IDF depth in every window
centred (at fraction r) on its peak, its blocks are the Keifer & Chu instantaneous intensity
averaged over each block, and the alternating-block storm holds the IDF depth in total."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import quad

from metrotwin.errors import ScenarioError
from metrotwin.run.design_storm import design_hyetograph, idf_depth, idf_intensity
from metrotwin.run.forcing import _step_integral
from metrotwin.scenario.hazards import DesignStorms
from metrotwin.scenario.scenario import Rainfall

A, B, C = 1200.0, 8.0, 0.75  # a typical central-European 10-year curve (mm/h, min, -)
PARAMETRIC = {"form": "parametric", "coefficients": {10: {"a": A, "b": B, "c": C}}}
TABLE = {
    "form": "table",
    "durations": ["5 min", "15 min", "1 h", "3 h"],
    "intensities": {10: [150.0, 80.0, 35.0, 15.0]},
}


def storms(idf=PARAMETRIC, method="chicago", r=0.4, duration=7200.0, step=60.0):
    return DesignStorms.model_validate({
        "idf": idf, "return_periods": [10],
        "hyetograph": {"method": method, "duration": duration, "time_step": step,
                       "peak_position": r},
    })  # fmt: skip


def window_depth(hyeto, t0, t1) -> float:
    """Depth (mm) of the step hyetograph between t0 and t1 (s), by the forcing's integral."""
    times = np.array([t for t, _ in hyeto])
    rates = np.array([i for _, i in hyeto]) / 3600.0  # mm/s
    return float(_step_integral(times, rates, t0, t1))


@pytest.mark.parametrize("idf", [PARAMETRIC, TABLE], ids=["parametric", "table"])
@pytest.mark.parametrize("r", [0.0, 0.25, 0.4, 0.5, 1.0])
def test_chicago_window_around_the_peak_holds_the_idf_depth(idf, r):
    """Every window of d = k * 10 min starting r*d before the peak: depth == i(d) d. The
    windows' ends fall on block edges (dt = 30 s divides r*d for these r), where the step storm
    is exact: only round-off of the sums (relative 1e-12) remains."""
    s = storms(idf=idf, r=r, step=30.0)
    hyeto = design_hyetograph(s, 10)
    peak = r * 7200.0
    for d in 600.0 * np.arange(1, 13):
        expected = float(idf_depth(s.idf, 10, d))
        got = window_depth(hyeto, peak - r * d, peak + (1 - r) * d)
        assert got == pytest.approx(expected, rel=1e-12), d


def test_chicago_blocks_are_the_keifer_chu_intensity_averaged():
    """Independent check of the Chicago construction: the mean of Keifer & Chu's closed form
    i(t_b) = a((1-c) t_b/r + b) / (t_b/r + b)^(1+c) over each block (numerical quadrature,
    relative error ~1e-10) equals the block's rate."""
    r = 0.4
    hyeto = design_hyetograph(storms(r=r, step=300.0), 10)
    peak = r * 120.0  # minutes

    def keifer_chu(t_min):
        x = abs(t_min - peak) / (r if t_min < peak else 1 - r)
        return A * ((1 - C) * x + B) / (x + B) ** (1 + C)

    for (t0, rate), (t1, _) in zip(hyeto, hyeto[1:]):
        mean, _ = quad(keifer_chu, t0 / 60, t1 / 60, points=[peak], epsabs=0, epsrel=1e-11)
        assert rate == pytest.approx(mean / ((t1 - t0) / 60), rel=1e-9)


@pytest.mark.parametrize("idf", [PARAMETRIC, TABLE], ids=["parametric", "table"])
@pytest.mark.parametrize("r", [0.0, 0.3, 0.5, 1.0])
def test_alternating_block_total_is_the_idf_depth(idf, r):
    s = storms(idf=idf, method="alternating_block", r=r, step=300.0)
    hyeto = design_hyetograph(s, 10)
    assert window_depth(hyeto, 0.0, 7200.0) == pytest.approx(
        float(idf_depth(s.idf, 10, 7200.0)), rel=1e-12
    )
    rates = np.array([i for _, i in hyeto[:-1]])
    peak = min(int(r * 24), 23)
    assert rates.argmax() == peak
    # outwards from the peak the blocks never grow (the alternating order)
    assert np.all(np.diff(rates[peak:]) <= 0) and np.all(np.diff(rates[: peak + 1]) >= 0)


def test_alternating_block_central_window_holds_the_idf_depth():
    """With r = 0.5 the k largest blocks sit around the peak, so the centred windows of
    odd block counts hold the IDF depth too (the method's design property)."""
    s = storms(method="alternating_block", r=0.5, duration=7500.0, step=300.0)  # 25 blocks
    hyeto = design_hyetograph(s, 10)
    for k in range(1, 26, 2):
        t0 = 300.0 * (12 - k // 2)
        got = window_depth(hyeto, t0, t0 + 300.0 * k)
        assert got == pytest.approx(float(idf_depth(s.idf, 10, 300.0 * k)), rel=1e-12)


def test_the_hyetograph_is_valid_rain_forcing():
    hyeto = design_hyetograph(storms(step=300.0), 10)
    rain = Rainfall.model_validate({"hyetograph": hyeto})
    assert rain.hyetograph[0][0] == 0.0 and rain.hyetograph[-1] == (7200.0, 0.0)
    assert len(hyeto) == 25


def test_the_table_is_interpolated_log_log_and_held_below_its_first_duration():
    s = storms(idf=TABLE)
    assert idf_intensity(s.idf, 10, [900.0])[0] == pytest.approx(80.0, rel=1e-14)
    # halfway in log d between 15 and 60 min: the geometric mean of 80 and 35 mm/h
    assert idf_intensity(s.idf, 10, [1800.0])[0] == pytest.approx(np.sqrt(80 * 35), rel=1e-12)
    assert idf_intensity(s.idf, 10, [60.0])[0] == pytest.approx(150.0, rel=1e-14)  # exp(log)


def test_a_storm_above_the_rain_bound_or_of_an_unknown_period_is_refused():
    harsh = {"form": "parametric", "coefficients": {10: {"a": 3000.0, "b": 0.0, "c": 0.6}}}
    with pytest.raises(ScenarioError, match=r"above the 3600 mm/h any rain input allows"):
        design_hyetograph(storms(idf=harsh, step=1.0, duration=600.0), 10)
    with pytest.raises(ScenarioError, match=r"no design storm for a 50-year return period"):
        design_hyetograph(storms(), 50)
