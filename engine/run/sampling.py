"""Samples of the uncertain parameters (``hazards.uncertain``) for the members of an ensemble.

Points of the unit hypercube come from ``scipy.stats.qmc``: a Latin hypercube (McKay,
Beckman & Conover 1979, Technometrics 21:239; each parameter's range cut into ``n`` equal-
probability strata, one sample in each) or a scrambled Sobol sequence (Sobol' 1967; Owen
scrambling, Owen 1998, J. Complexity 14:466; balanced for ``n`` a power of 2). Each column is
then mapped through the parameter's inverse CDF: uniform on [low, high], log-uniform on
[low, high] (uniform in log), or normal(mean, std) truncated to [low, high].

The same ``seed`` gives the same samples on every machine and every number of ranks: draw on
one rank (or on all, identically) and hand member ``k`` row ``k``.

Two designs serve the global sensitivity analysis (``metrotwin.results.risk.sensitivity``),
drawn by SALib: ``saltelli`` (Saltelli's extension of the Sobol sequence, for Sobol' indices;
``N (D + 2)`` or ``N (2D + 2)`` rows) and ``morris`` (``r`` one-at-a-time trajectories of
``D + 1`` rows on a grid of ``levels``). Their rows must stay in the drawn order: the analysis
reads sample ``k``'s result as row ``k`` of the design.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from SALib.sample import morris as morris_design
from SALib.sample import sobol as saltelli_design
from scipy.stats import qmc, truncnorm

from metrotwin.scenario.hazards import Sampling, UncertainParameter


def unit_problem(dimensions: int) -> dict:
    """SALib's description of ``dimensions`` inputs on the unit interval (the designs are drawn
    in unit quantiles, then mapped through each parameter's inverse CDF)."""
    return {"num_vars": dimensions, "names": [f"x{j}" for j in range(dimensions)],
            "bounds": [[0.0, 1.0]] * dimensions}  # fmt: skip


def unit_samples(method: str, members: int, dimensions: int, seed: int, *,
                 second_order: bool = False, levels: int = 4) -> np.ndarray:  # fmt: skip
    """(rows, dimensions) points in [0, 1] by ``method`` ('lhs', 'sobol', 'saltelli' or
    'morris'), from ``seed``; ``members`` is as ``Sampling.members`` says (rows for lhs and
    sobol, base samples for saltelli, trajectories for morris)."""
    rng = np.random.default_rng(seed)
    if method == "lhs":
        return qmc.LatinHypercube(d=dimensions, rng=rng).random(members)
    if method in ("sobol", "saltelli"):
        power = int(members).bit_length() - 1
        if members != 1 << power:
            raise ValueError(f"{method} needs a power of 2 members, got {members}")
        if method == "sobol":
            return qmc.Sobol(d=dimensions, scramble=True, rng=rng).random_base2(power)
        return saltelli_design.sample(unit_problem(dimensions), members,
                                      calc_second_order=second_order, seed=rng)  # fmt: skip
    if method == "morris":
        return morris_design.sample(unit_problem(dimensions), members, num_levels=levels,
                                    seed=rng)  # fmt: skip
    raise ValueError(f"unknown sampling method {method!r}; use 'lhs', 'sobol', 'saltelli' or "
                     "'morris'")  # fmt: skip


def unit_design(sampling: Sampling, dimensions: int) -> np.ndarray:
    """The ``(sampling.sample_count(dimensions), dimensions)`` unit quantiles of ``sampling``."""
    return unit_samples(sampling.method, sampling.members, dimensions, sampling.seed,
                        second_order=sampling.second_order, levels=sampling.levels)  # fmt: skip


def to_range(parameter: UncertainParameter, u: np.ndarray) -> np.ndarray:
    """Values of ``parameter`` at unit quantiles ``u`` (its inverse CDF)."""
    low, high = parameter.low, parameter.high
    if parameter.distribution == "uniform":
        values = low + u * (high - low)
    elif parameter.distribution == "loguniform":
        values = np.exp(np.log(low) + u * (np.log(high) - np.log(low)))
    else:
        mean, std = parameter.mean, parameter.std
        values = truncnorm.ppf(u, (low - mean) / std, (high - mean) / std, loc=mean, scale=std)
    # each form may step past a bound by round-off (a morris design has u = 1 exactly:
    # exp(log(50)) > 50)
    return np.clip(values, low, high)


def sample_parameters(
    parameters: Sequence[UncertainParameter], sampling: Sampling
) -> dict[str, np.ndarray]:
    """Parameter name -> its ``sampling.sample_count(len(parameters))`` values (sample ``k``
    takes entry ``k``)."""
    if not parameters:
        return {}
    u = unit_design(sampling, len(parameters))
    return {p.name: to_range(p, u[:, j]) for j, p in enumerate(parameters)}
