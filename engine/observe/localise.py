"""Localisation of the LETKF: which observations a cell sees and with what weight.

The weight of an observation at distance z is Gaspari & Cohn (1999) QJRMS 125:723-757,
doi:10.1002/qj.49712555417, eq. (4.10). Observations are sorted into square buckets at least
one radius wide, so that a cell finds them all in the 3 x 3 buckets around its own. The
bucket layout travels to the kernels as one tuple, ``geo`` (see :func:`geometry`)."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def gaspari_cohn(distance: float, radius: float) -> float:
    """Gaspari & Cohn (1999) eq. (4.10), the compactly supported fifth-order piecewise rational
    function, as a weight of ``distance`` (m): 1 at 0, 0 from ``radius`` (= 2c in their
    notation) on. ``radius = inf`` gives 1 everywhere (no localisation)."""
    if not np.isfinite(radius):
        return 1.0
    r = 2.0 * distance / radius  # z / c
    if r >= 2.0:
        return 0.0
    if r <= 1.0:
        return ((((-0.25 * r + 0.5) * r + 0.625) * r - 5.0 / 3.0) * r) * r + 1.0
    return (((((r / 12.0 - 0.5) * r + 0.625) * r + 5.0 / 3.0) * r - 5.0) * r + 4.0
            - 2.0 / (3.0 * r))  # fmt: skip


def geometry(cell_x, cell_y, obs_x, obs_y, radius, max_buckets=4_000_000):
    """``geo``: (cell_x, cell_y, obs_x, obs_y, radius, bucket_start, bucket_obs, x0, y0, size,
    nbx, nby), the cells' and observations' positions (m) with the observations in CSR
    buckets of side ``size`` (m) from (x0, y0), ``nbx`` x ``nby`` of them."""
    start, order, x0, y0, size, nbx, nby = _buckets(obs_x, obs_y, radius, max_buckets)
    return (cell_x, cell_y, obs_x, obs_y, float(radius), start, order, x0, y0, size, nbx, nby)


def _buckets(obs_x, obs_y, radius, max_buckets):
    if obs_x.size == 0 or not np.isfinite(radius):
        return np.zeros(2, np.int64), np.zeros(0, np.int64), 0.0, 0.0, 1.0, 1, 1
    x0, y0 = float(obs_x.min()), float(obs_y.min())
    extent = max(float(obs_x.max()) - x0, float(obs_y.max()) - y0, radius)
    size = max(float(radius), extent / np.sqrt(max_buckets))
    nbx = int((float(obs_x.max()) - x0) // size) + 1
    nby = int((float(obs_y.max()) - y0) // size) + 1
    key = ((obs_x - x0) // size).astype(np.int64) * nby + ((obs_y - y0) // size).astype(np.int64)
    order = np.argsort(key, kind="stable").astype(np.int64)
    start = np.searchsorted(key[order], np.arange(nbx * nby + 1)).astype(np.int64)
    return start, order, x0, y0, size, nbx, nby


@njit(cache=True)
def local_obs(j, geo, local, weight):
    """Observations within the radius of cell j (``local``) and their weights (``weight``);
    returns their number."""
    return local_obs_at(geo[0][j], geo[1][j], geo, local, weight)


@njit(cache=True)
def local_obs_at(px, py, geo, local, weight):
    """Observations within the radius of the point (px, py) (m) and their weights, in
    ``local`` and ``weight``; returns their number."""
    obs_x, obs_y, radius, bucket_start, bucket_obs, x0, y0, size, nbx, nby = geo[2:]
    n = 0
    if not np.isfinite(radius):
        for k in range(obs_x.size):
            local[n] = k
            weight[n] = 1.0
            n += 1
        return n
    far = radius * radius * (1.0 + 1e-9)
    bx = int(np.floor((px - x0) / size))
    by = int(np.floor((py - y0) / size))
    for ix in range(max(bx - 1, 0), min(bx + 2, nbx)):
        for iy in range(max(by - 1, 0), min(by + 2, nby)):
            b = ix * nby + iy
            for e in range(bucket_start[b], bucket_start[b + 1]):
                k = bucket_obs[e]
                dx, dy = px - obs_x[k], py - obs_y[k]
                if dx * dx + dy * dy > far:  # surely beyond the radius: weight 0, skip hypot
                    continue
                d = np.hypot(dx, dy)
                w = gaspari_cohn(d, radius)
                if w > 0.0:
                    local[n] = k
                    weight[n] = w
                    n += 1
    return n
