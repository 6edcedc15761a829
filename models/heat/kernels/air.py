"""Kernels of the near-surface air temperature on the coarse air grid: block means of the
heating, one advection-diffusion step, and the bilinear map back to the cells.

Units and argument conventions: see ``metrotwin.models.heat.kernels``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit


@njit(cache=True)
def block_mean(fine, factor, *, out):
    """Mean of ``fine`` (ny, nx) over factor x factor blocks into ``out`` (cy, cx); partial
    blocks at the south and east edges average what they hold."""
    cy, cx = out.shape
    ny, nx = fine.shape
    out[:] = 0.0
    cnt = np.zeros((cy, cx))
    for r in range(ny):
        for cc in range(nx):
            out[r // factor, cc // factor] += fine[r, cc]
            cnt[r // factor, cc // factor] += 1.0
    for i in range(cy):
        for j in range(cx):
            out[i, j] /= cnt[i, j]
    return out


@njit(cache=True, inline="always")
def _bracket(fine_index, factor, coarse_n, coarse_first):
    """The two coarse centres around fine cell ``fine_index`` (global) along one axis, as
    indices from ``coarse_first``, and the weight of the second (clamped to the edges)."""
    position = (fine_index + 0.5) / factor - 0.5
    lower = min(max(int(math.floor(position)), 0), coarse_n - 1)
    upper = min(lower + 1, coarse_n - 1)
    weight = min(max(position - lower, 0.0), 1.0)
    return lower - coarse_first, upper - coarse_first, weight


@njit(cache=True)
def bilinear_to_fine(coarse, factor, *, out, row0, col0, coarse_row0, coarse_col0, coarse_ny,
                     coarse_nx):
    """Bilinear interpolation of cell-centred ``coarse`` to the fine grid ``out``, constant
    beyond the outermost coarse centres of the whole (``coarse_ny``, ``coarse_nx``) grid.

    Positions are computed in global indices (``out[0, 0]`` is fine cell [row0, col0],
    ``coarse[0, 0]`` coarse cell [coarse_row0, coarse_col0]), so a tile gets the serial
    numbers bit for bit when ``coarse`` holds the coarse cells around it."""
    ny, nx = out.shape
    for r in range(ny):
        i0, i1, wy = _bracket(r + row0, factor, coarse_ny, coarse_row0)
        for cc in range(nx):
            j0, j1, wx = _bracket(cc + col0, factor, coarse_nx, coarse_col0)
            out[r, cc] = ((1 - wy) * ((1 - wx) * coarse[i0, j0] + wx * coarse[i0, j1])
                          + wy * ((1 - wx) * coarse[i1, j0] + wx * coarse[i1, j1]))
    return out


@njit(cache=True)
def air_temperature_step(theta_air, heating, *, u_east, v_north, dx, dt, diffusivity, relax,
                         out):
    """One step of the near-surface air-temperature anomaly (K) on the coarse grid.

    d theta/dt + u . grad theta = K lap theta + S - r theta: first-order upwind advection and
    explicit diffusion (stable for dt <= ``air_time_step_limit``), the exchange with the air
    above (r = w_e / h) implicit. Inflow edges hold theta = 0 (the undisturbed weather air);
    outflow edges are zero-gradient. Row 0 is north: a northward wind moves air to lower rows.
    ``heating`` is S (K s-1) = (Q_H - Q_H,ref + Q_F,traffic) / (rho c_p h).
    """
    cy, cx = theta_air.shape
    for i in range(cy):
        for j in range(cx):
            t = theta_air[i, j]
            tw = theta_air[i, j - 1] if j > 0 else (0.0 if u_east > 0 else t)
            te = theta_air[i, j + 1] if j < cx - 1 else (0.0 if u_east < 0 else t)
            tn = theta_air[i - 1, j] if i > 0 else (0.0 if v_north < 0 else t)
            ts = theta_air[i + 1, j] if i < cy - 1 else (0.0 if v_north > 0 else t)
            adv = -(u_east * (t - tw) if u_east > 0 else u_east * (te - t)) / dx
            adv -= (v_north * (t - ts) if v_north > 0 else v_north * (tn - t)) / dx
            dif = diffusivity * (tw + te + tn + ts - 4.0 * t) / (dx * dx)
            out[i, j] = (t + dt * (adv + dif + heating[i, j])) / (1.0 + dt * relax)
    return out
