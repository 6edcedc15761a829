"""Samples of the uncertain parameters: reproducible from the seed, inside each range, one
sample per stratum (Latin hypercube), balanced (Sobol), and mapped by each distribution's
inverse CDF."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import kstest, truncnorm

from metrotwin.run.sampling import sample_parameters, to_range, unit_samples
from metrotwin.scenario.hazards import Sampling, UncertainParameter

PARAMETERS = [
    UncertainParameter(name="manning", distribution="loguniform", low=0.01, high=0.1),
    UncertainParameter(name="infiltration", low=0.0, high=20.0),
    UncertainParameter(name="demand", distribution="normal", low=0.5, high=1.5, mean=1.0,
                       std=0.2),  # fmt: skip
]


@pytest.mark.parametrize("method", ["lhs", "sobol"])
def test_the_same_seed_gives_the_same_samples_and_another_seed_others(method):
    one = sample_parameters(PARAMETERS, Sampling(method=method, members=64, seed=7))
    again = sample_parameters(PARAMETERS, Sampling(method=method, members=64, seed=7))
    other = sample_parameters(PARAMETERS, Sampling(method=method, members=64, seed=8))
    for name in one:
        assert one[name].shape == (64,)
        np.testing.assert_array_equal(one[name], again[name])
        assert not np.array_equal(one[name], other[name])


@pytest.mark.parametrize("method", ["lhs", "sobol"])
def test_samples_stay_in_their_ranges(method):
    values = sample_parameters(PARAMETERS, Sampling(method=method, members=256, seed=1))
    for p in PARAMETERS:
        assert values[p.name].min() >= p.low and values[p.name].max() <= p.high


@pytest.mark.parametrize("members", [5, 16, 97])
def test_latin_hypercube_has_one_sample_per_stratum(members):
    u = unit_samples("lhs", members, 4, seed=3)
    for column in u.T:
        np.testing.assert_array_equal(np.sort(np.floor(column * members)), np.arange(members))


def test_scrambled_sobol_is_balanced_in_every_dyadic_interval():
    """A (0, m, d)-net property in 1-D: 2^m points put exactly 2^(m-k) in each of the 2^k
    intervals [j/2^k, (j+1)/2^k)."""
    u = unit_samples("sobol", 64, 3, seed=5)
    for column in u.T:
        for k in range(7):
            counts = np.bincount(np.floor(column * 2**k).astype(int), minlength=2**k)
            assert np.all(counts == 64 // 2**k)
    with pytest.raises(ValueError, match="power of 2"):
        unit_samples("sobol", 12, 3, seed=5)


def test_loguniform_maps_strata_to_equal_ratios():
    """Equal-probability strata of a log-uniform range are equal ratios: the edges of 4 strata
    on [0.01, 0.1] are 0.01 * 10^(k/4)."""
    edges = to_range(PARAMETERS[0], np.linspace(0.0, 1.0, 5))
    np.testing.assert_allclose(edges, 0.01 * 10 ** (np.arange(5) / 4), rtol=1e-13)


def test_truncated_normal_samples_follow_the_truncated_distribution():
    """4096 LHS samples against the truncated normal's CDF: a KS statistic below 0.01 (the
    5 % critical value for n = 4096 is 1.36/sqrt(n) = 0.021; LHS makes it far smaller)."""
    p = PARAMETERS[2]
    values = sample_parameters([p], Sampling(members=4096, seed=11))["demand"]
    a, b = (p.low - p.mean) / p.std, (p.high - p.mean) / p.std
    stat = kstest(values, truncnorm(a, b, loc=p.mean, scale=p.std).cdf).statistic
    assert stat < 0.01
    assert values.mean() == pytest.approx(1.0, abs=0.005)  # symmetric truncation: mean stays


def test_no_parameters_give_no_samples():
    assert sample_parameters([], Sampling()) == {}
