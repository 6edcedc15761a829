"""A lognormal rain multiplier with mean 1, correlated in space and, optionally, in time.

``M = exp(sigma Z - sigma^2 / 2)`` with ``Z`` a standard Gaussian field
(``metrotwin.run.rain.circulant``) and ``sigma^2 = ln(1 + cv^2)``, so that ``E[M] = 1`` and
``std(M) = cv`` exactly (Aitchison & Brown 1957, The Lognormal Distribution, eq. 2.7); rain
fields are generated this way in log space by STEPS (Seed 2003, J. Appl. Meteorol. 42(3),
381-388) and String of Beads (Pegram & Clothier 2001, J. Hydrol. 239, 69-87). The given
correlation is that of ``Z = log M``; the multiplier's own correlation at the same lag is
``(exp(sigma^2 rho) - 1) / (exp(sigma^2) - 1)``.

In time ``Z`` follows an AR(1) process from block to block of the hyetograph,
``Z_k = phi Z_(k-1) + sqrt(1 - phi^2) E_k`` with ``phi = exp(-dt / decorrelation_time)`` and
fresh fields ``E_k`` (STEPS evolves its cascade levels with such autoregressive models, Seed
2003, sec. 3): each block's field has the same spatial statistics, and the space-time
correlation is separable. Without a decorrelation time, ``phi = 1``: one field for the whole
storm. No advection: the torus would have to hold the distance the field travels (72 km for
10 m/s over 2 h), far beyond the domain; a moving storm is ``moving_cell``.

Each draw is made on the whole domain's grid from the member's seed and the tile cut from it,
so a tile's values do not depend on how the domain is split.
"""

from __future__ import annotations

import math

import numpy as np

from metrotwin.city.grid import Grid
from metrotwin.run.rain.circulant import embedding_scale, gaussian_field_pair
from metrotwin.scenario.hazards import RandomField


def ar1_coefficient(field: RandomField, step: float) -> float:
    """Correlation (-) of the field between blocks ``step`` (s) apart: 1 (frozen) without a
    decorrelation time, 0 (independent) with 0, else ``exp(-step / decorrelation_time)``."""
    if field.decorrelation_time is None:
        return 1.0
    if field.decorrelation_time == 0:
        return 0.0
    return math.exp(-step / field.decorrelation_time)


class _TileDraws:
    """Standard Gaussian fields on the tile ``window`` of ``grid``, drawn two at a time on the
    whole grid from ``seed`` (the real, then the imaginary part of one FFT)."""

    def __init__(self, field: RandomField, grid: Grid, window: tuple[slice, slice], seed: int):
        self._scale = embedding_scale(grid.shape, grid.resolution, field.covariance,
                                      field.correlation_length)
        self._shape, self._window = grid.shape, window
        self._rng = np.random.default_rng(seed)
        self._spare = None

    def next(self) -> np.ndarray:
        if self._spare is not None:
            field, self._spare = self._spare, None
            return field
        first, second = gaussian_field_pair(self._scale, self._shape, self._rng)
        self._spare = second[self._window].copy()
        return first[self._window].copy()


def multiply_rain(rates: np.ndarray, field: RandomField, step: float, grid: Grid,
                  window: tuple[slice, slice], seed: int) -> None:
    """Multiply each step of ``rates`` (nt, ny, nx) on the tile ``window`` of ``grid`` by its
    lognormal multiplier, in place; steps are ``step`` (s) apart."""
    sigma2 = math.log1p(field.coefficient_of_variation ** 2)
    sigma = math.sqrt(sigma2)
    phi = ar1_coefficient(field, step)
    innovation = math.sqrt(1.0 - phi * phi)
    draws = _TileDraws(field, grid, window, seed)
    state = draws.next()
    for k in range(rates.shape[0]):
        if k and phi < 1.0:
            state *= phi
            state += innovation * draws.next()
        rates[k] *= np.exp(sigma * state - 0.5 * sigma2)
