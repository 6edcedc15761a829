"""Observation nudging (Newtonian relaxation): a cheap alternative to the ensemble filter for
one deterministic run.

Stauffer & Seaman (1990) MWR 118:1250-1277, doi:10.1175/1520-0493(1990)118<1250:UOFDDA>2.0.CO;2,
eq. (2)-(4): the model's tendency of a field ``alpha`` gains a relaxation term towards the
observations,

    d alpha / dt = F(alpha) + G * sum_i W_i^2 (alpha_obs,i - H(alpha)_i) / sum_i W_i,

with ``G = 1 / tau`` the nudging coefficient (1/s) and ``W_i`` the weight of observation i at
the point, here its horizontal weight ``w_xy = (R^2 - D^2) / (R^2 + D^2)`` for a distance
``D < R`` (their eq. (4), Cressman 1959's form) and 0 beyond (the time weight is 1: every
reading of the cycle's window counts). Applied once per coupling interval ``dt`` with the
innovations held fixed over it, the relaxation term integrates to the fraction
``1 - exp(-dt / tau)`` of the weighted innovation (the exact solution of
``d alpha / dt = -(alpha - target) / tau``; stable for any ``dt``, ``G dt`` for ``dt << tau``).
Plain functions on arrays.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree


def cressman_weight(distance: np.ndarray, radius: float) -> np.ndarray:
    """Stauffer & Seaman (1990) eq. (4): ``(R^2 - D^2) / (R^2 + D^2)`` within ``radius``
    R (m) of the observation, 0 beyond (``distance`` D in m)."""
    d2, r2 = np.asarray(distance, float) ** 2, float(radius) ** 2
    return np.where(d2 < r2, (r2 - d2) / (r2 + d2), 0.0)


def relaxation_fraction(dt: float, time_scale: float) -> float:
    """The part of the weighted innovation one cycle of ``dt`` s applies with the nudging
    time scale ``time_scale`` (s, 1/G): ``1 - exp(-dt / tau)``."""
    return float(-np.expm1(-dt / time_scale))


def nudging_increment(point_x: np.ndarray, point_y: np.ndarray, obs_x: np.ndarray,
                      obs_y: np.ndarray, innovation: np.ndarray, radius: float,
                      fraction: float) -> np.ndarray:  # fmt: skip
    """The change of a field at every point (``point_x``, ``point_y``: (n,) m) from
    observations at (``obs_x``, ``obs_y``) (p,) with ``innovation`` (p,) = observed minus
    model value: ``fraction * sum_i W_i^2 d_i / sum_i W_i``, 0 where no observation lies
    within ``radius`` (m). Sums run over the observations in their given order, so the
    result does not depend on how the points are split."""
    n = point_x.size
    increment = np.zeros(n)
    if innovation.size == 0 or n == 0:
        return increment
    tree = cKDTree(np.column_stack([point_x, point_y]))
    numerator, denominator = np.zeros(n), np.zeros(n)
    for i, near in enumerate(tree.query_ball_point(np.column_stack([obs_x, obs_y]), radius)):
        near = np.sort(np.asarray(near, np.int64))
        w = cressman_weight(np.hypot(point_x[near] - obs_x[i], point_y[near] - obs_y[i]),
                            radius)  # fmt: skip
        numerator[near] += w * w * innovation[i]
        denominator[near] += w
    seen = denominator > 0.0
    increment[seen] = fraction * numerator[seen] / denominator[seen]
    return increment
