"""Observation nudging's increment (Stauffer & Seaman 1990): its weights and its
independence of how the points are split over ranks."""

from __future__ import annotations

import numpy as np
import pytest

from metrotwin.observe.nudging import cressman_weight, nudging_increment, relaxation_fraction


def test_one_observation_pulls_by_its_weight_times_the_relaxed_innovation():
    x = np.array([0.0, 100.0, 300.0, 1000.0])
    y = np.zeros(4)
    inc = nudging_increment(x, y, np.array([0.0]), np.array([0.0]), np.array([2.0]), 500.0,
                            0.5)  # fmt: skip
    # sum W^2 d / sum W = W d for one observation; W = (R^2 - D^2) / (R^2 + D^2), eq. (4)
    expected = 0.5 * 2.0 * (500.0**2 - x**2) / (500.0**2 + x**2)
    expected[x >= 500.0] = 0.0
    assert inc == pytest.approx(expected, rel=1e-15)
    assert cressman_weight(np.array([0.0, 500.0]), 500.0).tolist() == [1.0, 0.0]
    # exact relaxation over dt of d alpha/dt = -(alpha - target) / tau
    assert relaxation_fraction(600.0, 600.0) == pytest.approx(1.0 - np.exp(-1.0), rel=1e-15)


def test_the_increment_of_a_point_does_not_depend_on_the_other_points():
    rng = np.random.default_rng(4)
    px, py = rng.uniform(0, 2000, 500), rng.uniform(0, 2000, 500)
    ox, oy, d = rng.uniform(0, 2000, 30), rng.uniform(0, 2000, 30), rng.normal(0, 1, 30)
    whole = nudging_increment(px, py, ox, oy, d, 600.0, 0.3)
    halves = [nudging_increment(px[s], py[s], ox, oy, d, 600.0, 0.3)
              for s in (slice(0, 217), slice(217, None))]  # fmt: skip
    # bit for bit: a rank nudging its own cells gives what one rank gives
    assert np.array_equal(whole, np.concatenate(halves))
    assert np.count_nonzero(whole) > 400
