"""Probabilities and quantiles over the members of an ensemble.

Members are the first axis of every array (``(members, ...)``: a field per member, or a number
per member); ``weights`` (one per member, >= 0, not all 0) are the members' probabilities, e.g.
equal for a Monte-Carlo or Latin-hypercube ensemble, unequal for importance sampling. Both
estimators are the empirical ones: ``P(X > t) = sum_k w_k [x_k > t] / sum_k w_k`` (unbiased,
standard error ``sqrt(p (1 - p) / N)`` for N equal-weight independent members), and the
quantile ``q`` is the smallest member value whose cumulative weight reaches ``q`` (the inverse
of the weighted empirical CDF; Hyndman & Fan 1996, Am. Stat. 50:361, definition 1).
"""

from __future__ import annotations

import numpy as np

from metrotwin.results.risk import RiskInputError


def member_weights(members: int, weights=None) -> np.ndarray:
    """Normalised weights (sum 1) of ``members`` members; equal when ``weights`` is None."""
    if weights is None:
        return np.full(members, 1.0 / members)
    w = np.asarray(weights, dtype=float)
    if w.shape != (members,) or not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
        raise RiskInputError(
            f"member weights must be {members} finite numbers >= 0, not all 0; got shape "
            f"{w.shape}"
        )
    return w / w.sum()


def exceedance_probability(values, threshold: float, weights=None) -> np.ndarray:
    """P(value > ``threshold``) at each point, over the members (first axis) of ``values``;
    a NaN member value (a cell outside the domain) counts as not exceeding."""
    values = np.asarray(values, dtype=float)
    w = member_weights(values.shape[0], weights)
    exceeds = (values > threshold).astype(float)
    return np.tensordot(w, exceeds, axes=(0, 0))


def hours_above(series, threshold: float, step_hours: float) -> np.ndarray:
    """Total hours (h) above ``threshold`` along the time axis (axis 1) of ``series``
    (``(members, times, ...)``, one value per output step of ``step_hours`` h); NaN is not
    above."""
    if not step_hours > 0:
        raise RiskInputError(f"step_hours must be > 0 h, got {step_hours!r}")
    return np.sum(np.asarray(series, dtype=float) > threshold, axis=1) * step_hours


def duration_exceedance_probability(
    series, threshold: float, min_hours: float, step_hours: float, weights=None
) -> np.ndarray:
    """P(at least ``min_hours`` h, in total, above ``threshold``) at each point, over the
    members of ``series`` (``(members, times, ...)``), e.g. P(UTCI > 32 °C for >= 4 h)."""
    hours = hours_above(series, threshold, step_hours)
    w = member_weights(hours.shape[0], weights)
    return np.tensordot(w, (hours >= min_hours - 1e-9 * step_hours).astype(float), axes=(0, 0))


def weighted_quantiles(values, quantiles, weights=None) -> np.ndarray:
    """Quantiles ``quantiles`` (each in [0, 1]) over the members (first axis) of ``values``:
    shape ``(len(quantiles), ...)``; the inverse of the weighted empirical CDF."""
    values = np.asarray(values, dtype=float)
    q = np.atleast_1d(np.asarray(quantiles, dtype=float))
    if np.any((q < 0) | (q > 1)):
        raise RiskInputError(f"quantiles must be in [0, 1], got {q.tolist()}")
    w = member_weights(values.shape[0], weights)
    order = np.argsort(values, axis=0, kind="stable")
    ordered = np.take_along_axis(values, order, axis=0)
    cumulative = np.cumsum(w[order], axis=0)
    cumulative /= cumulative[-1]  # exactly 1 at the last member, whatever the round-off
    # first member whose cumulative weight reaches q (a tolerance keeps q = 0.5 of two equal
    # weights on the first member, as in numpy's inverted_cdf)
    index = np.sum(cumulative[None] < q.reshape((-1,) + (1,) * values.ndim) - 1e-12, axis=1)
    index = np.minimum(index, values.shape[0] - 1)
    return np.take_along_axis(ordered[None], index[:, None], axis=1)[:, 0]
