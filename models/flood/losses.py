"""The losses of the flood model's lossy cells in a step: green-roof retention, Green-Ampt
infiltration and the drainage inlets, in that order (``cell_losses``), and their branch-free
form on the lossy cells of one row that the sweep calls (``losses_row``).

References
----------
Green, W. H., Ampt, G. A. (1911). Studies on soil physics, 1. The flow of air and water
    through soils. J. Agric. Sci. 4, 1-24. doi:10.1017/S0021859600001441
Mein, R. G., Larson, C. L. (1973). Modeling infiltration during a steady rain. Water Resour.
    Res. 9, 384-394. doi:10.1029/WR009i002p00384
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, inline="always", error_model="numpy")
def green_ampt_capacity(f0, ks, suction, dt):
    """Depth (m) the soil can take in a step ``dt`` (s) from the cumulative infiltration
    ``f0`` (m): the Green & Ampt (1911) infiltrability f = Ks (1 + S / F), S = psi dtheta
    (``suction``, m), Ks (``ks``, m/s), integrated over the step, F1 - f0, with F1 the
    ponded solution of F - S ln(1 + F / S) = Ks t advanced by dt from f0 (the
    infiltrability depends on F only: the time-compression form of Mein & Larson 1973, so
    the rain-fed case follows their ponding-time solution).

    Explicit, with no logarithm (so that the loss loop vectorises): with x = F / S the
    equation is dx/dtau = (1 + x) / x, tau = Ks t / S, i.e. d(x^2)/dtau = 2 (1 + x); over
    the step x1^2 = x0^2 + 2 tau (1 + x0/3 + 2 x1/3), a quadratic in x1. The weights 1/3,
    2/3 make the first step from a dry soil exact to second order (x1 = sqrt(2 tau) +
    2 tau / 3 + ..., F1 ~ sqrt(2 Ks S dt)); the cumulative infiltration is within 0.01 %
    of the exact solution for tau = Ks dt / S <= 1e-5 per step, 0.08 % at 1e-3, 0.3 % at
    1e-2 and 1 % at 0.1 (loam, Ks 3.4 mm/h and S 19 mm, has tau 5e-5 per second of step;
    tests/models/flood/test_flood_kernels.py). An infinite capacity at F = 0 (the former
    explicit rate Ks (1 + S / F0) dt) soaked any ponded water up in one step."""
    b = (2.0 / 3.0) * ks * dt
    f1 = b + np.sqrt(b * b + f0 * f0 + 2.0 * ks * dt * (suction + f0 * (1.0 / 3.0)))
    return f1 - f0


@njit(cache=True, inline="always", error_model="numpy")
def cell_losses(water, k, ks, suction, infiltrated, drain_rate, store_capacity, stored, dt):
    """Depths (m) removed from ``water`` (m) in lossy cell ``k`` during a step ``dt`` (s).

    Order: green-roof retention fills first (its substrate takes the water before anything
    runs off), then Green-Ampt infiltration, then the drainage inlets. The infiltration
    capacity over the step is Green & Ampt (1911) integrated over the step from the
    cumulative depth F (m) of its start (``green_ampt_capacity``). The depths are removed
    exactly: the sum of what is returned never exceeds ``water``.

    Arrays (per lossy cell): ks saturated conductivity (m/s); suction psi * dtheta (m);
    infiltrated F (m, updated); drain_rate inlet capacity (m/s); store_capacity green-roof
    retention (m); stored retention filled (m, updated).

    Returns (infiltration, drainage, retention) depths (m).
    """
    ret = 0.0
    inf = 0.0
    drained = 0.0
    room = store_capacity[k] - stored[k]
    if room > 0.0:
        ret = water if water < room else room
        stored[k] += ret
        water -= ret
    if ks[k] > 0.0 and water > 0.0:
        f0 = infiltrated[k]
        cap = green_ampt_capacity(f0, ks[k], suction[k], dt)
        inf = water if water < cap else cap
        infiltrated[k] = f0 + inf
        water -= inf
    if drain_rate[k] > 0.0 and water > 0.0:
        cap = drain_rate[k] * dt
        drained = water if water < cap else cap
    return inf, drained, ret


@njit(cache=True, error_model="numpy")
def apply_losses(h, cells, ks, suction, infiltrated, drain_rate, store_capacity, stored, *, dt):
    """``cell_losses`` on the listed flat cell indices of ``h`` (m), in place; returns the
    summed (infiltration, drainage, retention) depths (m). For tests and diagnostics: the
    time step applies the same losses inside its sweep."""
    flat = h.ravel()
    total = np.zeros(3)
    for k in range(cells.size):
        water = flat[cells[k]]
        if water > 0.0:
            a, b, c = cell_losses(water, k, ks, suction, infiltrated, drain_rate,
                                  store_capacity, stored, dt)
            flat[cells[k]] = max(water - a - b - c, 0.0)
            total[0] += a
            total[1] += b
            total[2] += c
    return total[0], total[1], total[2]


@njit(cache=True, error_model="numpy")
def losses_row(h, r, h32, hr, cols, losses, water, dt):
    """``cell_losses`` on the lossy cells of row ``r``, branch-free so that it vectorises:
    ``cols`` their columns in ``h[r]`` (m, updated, and its float32 copy ``h32[hr]``),
    ``losses`` the ``Losses`` of these cells (their slices of the per-lossy-cell arrays;
    ``drained`` cumulative drainage depth (m), updated), ``water`` scratch of at least
    ``cols.size``, ``dt`` the step (s)."""
    ks, suction, infiltrated = losses.ks, losses.suction, losses.infiltrated
    drain_rate, store_capacity = losses.drain_rate, losses.store_capacity
    stored, drained = losses.stored, losses.drained
    n = cols.size
    for k in range(n):
        water[k] = h[r, cols[k]]
    for k in range(n):
        w = water[k]
        room = store_capacity[k] - stored[k]
        ret = (w if w < room else room) if room > 0.0 else 0.0
        stored[k] = stored[k] + ret
        w1 = w - ret
        f0 = infiltrated[k]
        soaks = (ks[k] > 0.0) & (w1 > 0.0)
        cap = green_ampt_capacity(f0, ks[k], suction[k], dt)
        inf = (w1 if w1 < cap else cap) if soaks else 0.0
        infiltrated[k] = f0 + inf if soaks else f0
        w2 = w1 - inf
        cap = drain_rate[k] * dt
        out = (w2 if w2 < cap else cap) if (drain_rate[k] > 0.0) & (w2 > 0.0) else 0.0
        drained[k] = drained[k] + out
        hn = w - (inf + out + ret)
        water[k] = hn if hn > 0.0 else 0.0
    for k in range(n):
        h[r, cols[k]] = water[k]
        h32[hr, cols[k]] = np.float32(water[k])
