"""Which uncertain input matters: global sensitivity of a headline indicator (EAD, heat deaths)
to the uncertain inputs, with SALib, by the method the samples' design allows.

- ``saltelli`` design: Sobol' indices (Sobol' 2001; estimators of Saltelli et al. 2010 for the
  first order ``S1`` and Jansen 1999 for the total ``ST``), with bootstrap 95 % confidence
  half-widths. ``S1`` is the share of the output variance an input explains alone, ``ST`` with
  all its interactions.
- ``morris`` design: elementary effects (Morris 1991; ``mu*`` of Campolongo et al. 2007):
  ``mu*`` (mean absolute effect of moving an input across its range, in the output's units
  per unit quantile, since inputs are analysed as quantiles in [0, 1]) and ``sigma`` (their
  spread: non-linearity or interaction). A screening, not a variance share.
- ``lhs`` or ``sobol`` designs (no structure for the above): RBD-FAST first-order indices
  (Tarantola et al. 2006; Plischke 2010: re-ordering any sample along a search curve, so it is
  valid on a Latin hypercube or a Sobol sequence; with the bias correction of Tissot & Prieur
  2012), with bootstrap confidence. No total index: it needs a designed sample.

Inputs are taken as their quantiles (the inverse of the draw), which leaves Sobol' and RBD-FAST
indices unchanged (they do not depend on a monotone re-scaling of an input).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from SALib.analyze import morris as morris_analysis
from SALib.analyze import rbd_fast
from SALib.analyze import sobol as sobol_analysis
from scipy.stats import truncnorm

from metrotwin.results.risk import RiskInputError
from metrotwin.scenario.hazards import Sampling, UncertainParameter

#: fewest samples each method is run on (below: a note instead of numbers)
MIN_SAMPLES = {"sobol": 2, "morris": 2, "rbd_fast": 16}
#: the seed of the bootstrap resampling (the indices do not depend on it, their intervals a
#: little): fixed so a report is reproducible
BOOTSTRAP_SEED = 19


@dataclass
class Sensitivity:
    """Indices of one indicator. ``method``: 'sobol', 'morris' or 'rbd_fast'; ``main`` (S1, or
    mu* for morris) and ``main_conf`` per input; ``total`` (ST, or sigma for morris) and
    ``total_conf`` (None where the method has none); ``note``: why there are no numbers."""

    indicator: str
    method: str
    names: list[str]
    main: list[float] = field(default_factory=list)
    main_conf: list[float] = field(default_factory=list)
    total: list[float] | None = None
    total_conf: list[float] | None = None
    note: str = ""

    def to_json(self) -> dict:
        """Its fields, a non-finite index (SALib's NaN for a degenerate case) as None."""
        out = dict(self.__dict__)
        for key in ("main", "main_conf", "total", "total_conf"):
            if out[key] is not None:
                out[key] = [x if np.isfinite(x) else None for x in out[key]]
        return out


def to_unit(parameter: UncertainParameter, values) -> np.ndarray:
    """Quantiles in [0, 1] of ``values`` of ``parameter`` (its CDF; the inverse of the draw)."""
    x = np.asarray(values, dtype=float)
    low, high = parameter.low, parameter.high
    if parameter.distribution == "uniform":
        u = (x - low) / (high - low)
    elif parameter.distribution == "loguniform":
        u = (np.log(x) - np.log(low)) / (np.log(high) - np.log(low))
    else:
        a, b = (low - parameter.mean) / parameter.std, (high - parameter.mean) / parameter.std
        u = truncnorm.cdf(x, a, b, loc=parameter.mean, scale=parameter.std)
    return np.clip(u, 0.0, 1.0)


def _problem(names: list[str]) -> dict:
    return {"num_vars": len(names), "names": list(names), "bounds": [[0.0, 1.0]] * len(names)}


def method_of(sampling: Sampling) -> str:
    """The analysis valid on the samples of ``sampling``'s design."""
    return {"saltelli": "sobol", "morris": "morris"}.get(sampling.method, "rbd_fast")


def sensitivity(indicator: str, sampling: Sampling, names: list[str], unit_x, y) -> Sensitivity:
    """Sensitivity of ``y`` (one value per sample, in the design's order) to the inputs
    ``names`` whose quantiles are the columns of ``unit_x`` (samples, inputs)."""
    method = method_of(sampling)
    result = Sensitivity(indicator=indicator, method=method, names=list(names))
    y = np.asarray(y, dtype=float)
    unit_x = np.asarray(unit_x, dtype=float).reshape(len(y), len(names))
    expected = sampling.sample_count(len(names))
    if method != "rbd_fast" and len(y) != expected:
        raise RiskInputError(
            f"{indicator}: {len(y)} samples, but a {sampling.method} design of {sampling.members} "
            f"members over {len(names)} inputs has {expected}"
        )
    if not names:
        result.note = "no uncertain inputs"
    elif not np.all(np.isfinite(y)):
        result.note = "some samples have no value"
    elif np.ptp(y) == 0:
        result.note = "the indicator is the same in every sample: no input changes it"
    elif len(y) < MIN_SAMPLES[method]:
        result.note = f"{len(y)} samples are too few for {method} (at least {MIN_SAMPLES[method]})"
    else:
        _ANALYSES[method](result, sampling, unit_x, y)
    return result


def _sobol(result: Sensitivity, sampling: Sampling, unit_x, y) -> None:
    si = sobol_analysis.analyze(_problem(result.names), y, calc_second_order=sampling.second_order,
                                seed=BOOTSTRAP_SEED)  # fmt: skip
    result.main, result.main_conf = _floats(si["S1"]), _floats(si["S1_conf"])
    result.total, result.total_conf = _floats(si["ST"]), _floats(si["ST_conf"])


def _morris(result: Sensitivity, sampling: Sampling, unit_x, y) -> None:
    si = morris_analysis.analyze(_problem(result.names), unit_x, y, num_levels=sampling.levels,
                                 seed=BOOTSTRAP_SEED)  # fmt: skip
    result.main, result.main_conf = _floats(si["mu_star"]), _floats(si["mu_star_conf"])
    result.total = _floats(si["sigma"])


def _rbd_fast(result: Sensitivity, sampling: Sampling, unit_x, y) -> None:
    # M harmonics: SALib's default 10, fewer for small samples (it needs N > 2M)
    harmonics = int(min(10, (len(y) - 1) // 2))
    si = rbd_fast.analyze(_problem(result.names), unit_x, y, M=harmonics, seed=BOOTSTRAP_SEED)
    result.main, result.main_conf = _floats(si["S1"]), _floats(si["S1_conf"])


_ANALYSES = {"sobol": _sobol, "morris": _morris, "rbd_fast": _rbd_fast}


def _floats(values) -> list[float]:
    return [float(v) for v in np.asarray(values, dtype=float)]
