"""Exceedance probabilities and quantiles over members: exact on small hand cases, and the
Monte-Carlo estimator converges to an analytic exceedance at the rate 1/sqrt(N)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import lognorm

from metrotwin.results.risk import RiskInputError
from metrotwin.results.risk.exceedance import (
    duration_exceedance_probability,
    exceedance_probability,
    hours_above,
    weighted_quantiles,
)


def test_exceedance_by_hand_equal_and_unequal_weights():
    depths = np.array([[0.0, 0.2], [0.4, 0.6], [0.1, 0.35], [0.5, 0.05]])  # 4 members, 2 cells
    np.testing.assert_array_equal(exceedance_probability(depths, 0.3), [0.5, 0.5])
    w = [0.1, 0.2, 0.3, 0.4]  # P = sum of weights of the members above 0.3
    got = exceedance_probability(depths, 0.3, weights=w)
    np.testing.assert_allclose(got, [0.2 + 0.4, 0.2 + 0.3], rtol=1e-15)
    # strictly above: a member exactly at the threshold does not count
    assert exceedance_probability(depths, 0.6)[1] == 0.0


def test_weighted_quantiles_equal_weights_are_numpys_inverted_cdf():
    values = np.random.default_rng(4).normal(size=(37, 3, 2))
    q = [0.0, 0.05, 0.5, 0.95, 1.0]
    np.testing.assert_array_equal(weighted_quantiles(values, q),
                                  np.quantile(values, q, axis=0, method="inverted_cdf"))


def test_weighted_quantiles_by_hand():
    values = np.array([3.0, 1.0, 2.0, 10.0])
    w = np.array([0.1, 0.2, 0.3, 0.4])  # sorted: 1 (0.2), 2 (0.5), 3 (0.6), 10 (1.0)
    np.testing.assert_array_equal(weighted_quantiles(values, [0.2, 0.21, 0.5, 0.55, 0.61], w),
                                  [1.0, 2.0, 2.0, 3.0, 10.0])


def test_bad_weights_and_quantiles_are_refused():
    with pytest.raises(RiskInputError, match="member weights must be 3 finite numbers"):
        exceedance_probability(np.zeros((3, 2)), 0.1, weights=[1.0, -1.0, 1.0])
    with pytest.raises(RiskInputError, match=r"quantiles must be in \[0, 1\]"):
        weighted_quantiles(np.zeros(3), [1.5])


def test_exceedance_converges_at_the_monte_carlo_rate():
    """Depths lognormal (median 0.2 m, sigma 0.8): P(depth > 0.3 m) is known exactly. Over
    S = 400 seeds, the RMS error of the estimate from N members is sqrt(p(1-p)/N) (binomial),
    so it halves when N grows 4x. The RMS over S seeds has a relative sampling error of about
    1/sqrt(2S) = 3.5 %, so the ratio of two RMS is within 2 * (1 +- 0.1) at about 3 standard
    errors, and each RMS within 12 % of the binomial value."""
    dist = lognorm(s=0.8, scale=0.2)
    exact = dist.sf(0.3)
    rng = np.random.default_rng(2024)
    rms = {}
    for n in (250, 1000, 4000):
        draws = dist.rvs(size=(n, 400), random_state=rng)  # members x seeds
        estimates = exceedance_probability(draws, 0.3)
        rms[n] = np.sqrt(np.mean((estimates - exact) ** 2))
        assert rms[n] == pytest.approx(np.sqrt(exact * (1 - exact) / n), rel=0.12)
    assert 1.8 < rms[250] / rms[1000] < 2.2
    assert 1.8 < rms[1000] / rms[4000] < 2.2


def test_duration_exceedance_by_hand():
    """3 members x 4 half-hourly steps x 1 point of UTCI (°C): hours above 32 are 1.5, 0.5
    and 2.0, so P(>= 1.5 h) = 2/3, and with weights 0.5, 0.3, 0.2: 0.5 + 0.2."""
    utci = np.array([[33.0, 34.0, 31.0, 32.5], [30.0, 32.1, 31.0, 29.0],
                     [33.0, 33.0, 35.0, 36.0]])[:, :, None]  # fmt: skip
    np.testing.assert_array_equal(hours_above(utci, 32.0, 0.5)[:, 0], [1.5, 0.5, 2.0])
    assert duration_exceedance_probability(utci, 32.0, 1.5, 0.5)[0] == pytest.approx(2 / 3)
    got = duration_exceedance_probability(utci, 32.0, 1.5, 0.5, weights=[0.5, 0.3, 0.2])
    assert got[0] == pytest.approx(0.7, rel=1e-15)
    with pytest.raises(RiskInputError, match="step_hours must be > 0 h"):
        hours_above(utci, 32.0, 0.0)
