"""Heat-attributable deaths: AF = (RR - 1)/RR with RR = RR1^(T - T_thr) above the threshold,
times the baseline deaths per day and the population, summed over days; a hand-computed case."""

from __future__ import annotations

import math

import numpy as np
import pytest

from metrotwin.results.risk import RiskInputError
from metrotwin.results.risk.heat_health import attributable_deaths, attributable_fraction


def test_attributable_deaths_by_hand():
    """Threshold 24 °C, RR 1.02 per °C, 10 per 1000 per year, 100 000 people, days at 22, 25
    and 27 °C: AF = 0, 1 - 1/1.02, 1 - 1/1.02^3; deaths per day 100 000 * 0.01 / 365.25."""
    temps = [22.0, 25.0, 27.0]
    af = [0.0, 1 - 1 / 1.02, 1 - 1 / 1.02**3]
    np.testing.assert_allclose(attributable_fraction(temps, 24.0, 1.02), af, rtol=1e-13)
    got = attributable_deaths(temps, 100_000, 24.0, rr_per_degree=1.02,
                              baseline_deaths_per_1000_per_year=10.0)  # fmt: skip
    expected = sum(af) * 100_000 * 10.0 / 1000.0 / 365.25
    assert got == pytest.approx(expected, rel=1e-13)
    # by hand: AF sum 0.019608 + 0.057678 = 0.077286, times 2.737851 deaths/day: 0.21160
    assert math.isclose(float(got), 0.21160, rel_tol=1e-4)


def test_deaths_per_place_scale_with_population():
    temps = np.array([[30.0, 26.0], [31.0, 20.0]])  # 2 days x 2 places
    got = attributable_deaths(temps, [1000.0, 2000.0], 25.0)
    assert got.shape == (2,)
    one = attributable_deaths(temps[:, 0], 1000.0, 25.0)
    assert got[0] == pytest.approx(float(one), rel=1e-15)
    assert got[1] == pytest.approx(2000.0 * float(attributable_fraction(26.0, 25.0))
                                   * 10.4 / 1000 / 365.25, rel=1e-13)  # fmt: skip


def test_cool_days_cost_nothing_and_bad_input_is_refused():
    assert attributable_deaths([10.0, 20.0], 1e6, 24.0) == 0.0
    with pytest.raises(RiskInputError, match="rr_per_degree must be >= 1"):
        attributable_fraction([30.0], 24.0, 0.9)
    with pytest.raises(RiskInputError, match="population must be finite and >= 0"):
        attributable_deaths([30.0], -5.0, 24.0)
