"""Samples of the uncertain parameters (``hazards.uncertain``) for the members of an ensemble.

Points of the unit hypercube come from ``scipy.stats.qmc``: a Latin hypercube (McKay,
Beckman & Conover 1979, Technometrics 21:239; each parameter's range cut into ``n`` equal-
probability strata, one sample in each) or a scrambled Sobol sequence (Sobol' 1967; Owen
scrambling, Owen 1998, J. Complexity 14:466; balanced for ``n`` a power of 2). Each column is
then mapped through the parameter's inverse CDF: uniform on [low, high], log-uniform on
[low, high] (uniform in log), or normal(mean, std) truncated to [low, high].

The same ``seed`` gives the same samples on every machine and every number of ranks: draw on
one rank (or on all, identically) and hand member ``k`` row ``k``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.stats import qmc, truncnorm

from metrotwin.scenario.hazards import Sampling, UncertainParameter


def unit_samples(method: str, members: int, dimensions: int, seed: int) -> np.ndarray:
    """(members, dimensions) points in [0, 1) by ``method`` ('lhs' or 'sobol'), from ``seed``."""
    rng = np.random.default_rng(seed)
    if method == "lhs":
        return qmc.LatinHypercube(d=dimensions, rng=rng).random(members)
    if method == "sobol":
        power = int(members).bit_length() - 1
        if members != 1 << power:
            raise ValueError(f"sobol needs a power of 2 members, got {members}")
        return qmc.Sobol(d=dimensions, scramble=True, rng=rng).random_base2(power)
    raise ValueError(f"unknown sampling method {method!r}; use 'lhs' or 'sobol'")


def to_range(parameter: UncertainParameter, u: np.ndarray) -> np.ndarray:
    """Values of ``parameter`` at unit quantiles ``u`` (its inverse CDF)."""
    low, high = parameter.low, parameter.high
    if parameter.distribution == "uniform":
        return low + u * (high - low)
    if parameter.distribution == "loguniform":
        return np.exp(np.log(low) + u * (np.log(high) - np.log(low)))
    mean, std = parameter.mean, parameter.std
    values = truncnorm.ppf(u, (low - mean) / std, (high - mean) / std, loc=mean, scale=std)
    return np.clip(values, low, high)  # the ppf may step past a bound by round-off


def sample_parameters(
    parameters: Sequence[UncertainParameter], sampling: Sampling
) -> dict[str, np.ndarray]:
    """Parameter name -> its ``sampling.members`` values (member ``k`` takes entry ``k``)."""
    if not parameters:
        return {}
    u = unit_samples(sampling.method, sampling.members, len(parameters), sampling.seed)
    return {p.name: to_range(p, u[:, j]) for j, p in enumerate(parameters)}
