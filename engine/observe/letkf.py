"""The analysis step: a local ensemble transform Kalman filter (LETKF) on grid cells.

Hunt, Kostelich & Szunyogh (2007) Physica D 230:112-126, doi:10.1016/j.physd.2006.11.008
(algorithm of sect. 2.3, steps 1-9), with the observation error of each observation divided
by its Gaspari & Cohn (1999) QJRMS 125:723-757, doi:10.1002/qj.49712555417 eq. (4.10)
weight (R-localisation, Hunt et al. sect. 2.3 step 4 / Greybush et al. 2011), multiplicative
inflation ``rho`` (Hunt et al. step 5) and relaxation to prior spread (RTPS, Whitaker &
Hamill 2012, MWR 140:3078-3089, doi:10.1175/MWR-D-11-00276.1, eq. 3).

Each cell is analysed on its own with the observations within ``radius`` of it; a cell with
none is not touched. With p local observations and m members the transform is computed in
observation space when p <= m (Woodbury: matrices p x p, the usual case of a few sensors per
cell, with the observation errors' scaling making it a plain symmetric eigenproblem), in
ensemble space (Hunt et al.'s m x m form) otherwise; the two are algebraically equal
(tested). Functions here are plain functions on arrays; the ensemble is ``(members, cells)``.
"""

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


@njit(cache=True)
def symmetric_eigh(a, vectors, values, e, n):
    """Eigenvalues (``values``) and eigenvectors (columns of ``vectors``) of the symmetric
    n x n top-left block of ``a``: Householder reduction to tridiagonal form and the QL method
    with implicit shifts (EISPACK tred2/tql2, Wilkinson & Reinsch 1971, as in JAMA's
    EigenvalueDecomposition). No allocation (``e``: work array of n), for the small matrices
    of one cell; eigenvalues in no particular order."""
    v, d = vectors, values
    for i in range(n):
        for j in range(n):
            v[i, j] = a[i, j]
    for j in range(n):
        d[j] = v[n - 1, j]
    for i in range(n - 1, 0, -1):  # tred2: Householder to tridiagonal
        scale = 0.0
        h = 0.0
        for k in range(i):
            scale += abs(d[k])
        if scale == 0.0:
            e[i] = d[i - 1]
            for j in range(i):
                d[j] = v[i - 1, j]
                v[i, j] = 0.0
                v[j, i] = 0.0
        else:
            for k in range(i):
                d[k] /= scale
                h += d[k] * d[k]
            f = d[i - 1]
            g = np.sqrt(h)
            if f > 0:
                g = -g
            e[i] = scale * g
            h = h - f * g
            d[i - 1] = f - g
            for j in range(i):
                e[j] = 0.0
            for j in range(i):
                f = d[j]
                v[j, i] = f
                g = e[j] + v[j, j] * f
                for k in range(j + 1, i):
                    g += v[k, j] * d[k]
                    e[k] += v[k, j] * f
                e[j] = g
            f = 0.0
            for j in range(i):
                e[j] /= h
                f += e[j] * d[j]
            hh = f / (h + h)
            for j in range(i):
                e[j] -= hh * d[j]
            for j in range(i):
                f = d[j]
                g = e[j]
                for k in range(j, i):
                    v[k, j] -= f * e[k] + g * d[k]
                d[j] = v[i - 1, j]
                v[i, j] = 0.0
        d[i] = h
    for i in range(n - 1):  # accumulate the transformations
        v[n - 1, i] = v[i, i]
        v[i, i] = 1.0
        h = d[i + 1]
        if h != 0.0:
            for k in range(i + 1):
                d[k] = v[k, i + 1] / h
            for j in range(i + 1):
                g = 0.0
                for k in range(i + 1):
                    g += v[k, i + 1] * v[k, j]
                for k in range(i + 1):
                    v[k, j] -= g * d[k]
        for k in range(i + 1):
            v[k, i + 1] = 0.0
    for j in range(n):
        d[j] = v[n - 1, j]
        v[n - 1, j] = 0.0
    v[n - 1, n - 1] = 1.0
    e[0] = 0.0
    for i in range(1, n):  # tql2: QL with implicit shifts on the tridiagonal matrix
        e[i - 1] = e[i]
    e[n - 1] = 0.0
    f = 0.0
    tst1 = 0.0
    eps = 2.0**-52
    for l in range(n):
        tst1 = max(tst1, abs(d[l]) + abs(e[l]))
        m = l
        while m < n - 1 and abs(e[m]) > eps * tst1:
            m += 1
        if m > l:
            for _iteration in range(60):
                g = d[l]
                p = (d[l + 1] - g) / (2.0 * e[l])
                r = np.hypot(p, 1.0)
                if p < 0:
                    r = -r
                d[l] = e[l] / (p + r)
                d[l + 1] = e[l] * (p + r)
                dl1 = d[l + 1]
                h = g - d[l]
                for i in range(l + 2, n):
                    d[i] -= h
                f += h
                p = d[m]
                c = 1.0
                c2 = c
                c3 = c
                el1 = e[l + 1]
                s = 0.0
                s2 = 0.0
                for i in range(m - 1, l - 1, -1):
                    c3 = c2
                    c2 = c
                    s2 = s
                    g = c * e[i]
                    h = c * p
                    r = np.hypot(p, e[i])
                    e[i + 1] = s * r
                    s = e[i] / r
                    c = p / r
                    p = c * d[i] - s * g
                    d[i + 1] = h + s * (c * g + s * d[i])
                    for k in range(n):
                        h = v[k, i + 1]
                        v[k, i + 1] = s * v[k, i] + c * h
                        v[k, i] = c * v[k, i] - s * h
                p = -s * s2 * c3 * el1 * e[l] / dl1
                e[l] = s * p
                d[l] = c * p
                if abs(e[l]) <= eps * tst1:
                    break
        d[l] = d[l] + f
        e[l] = 0.0


@njit(cache=True)
def _local_obs(j, cell_x, cell_y, obs_x, obs_y, radius, bucket_start, bucket_obs, x0, y0,
               size, nbx, nby, local, weight):  # fmt: skip
    """Observations within ``radius`` of cell j and their weights; returns their number."""
    n = 0
    if not np.isfinite(radius):
        for k in range(obs_x.size):
            local[n] = k
            weight[n] = 1.0
            n += 1
        return n
    bx = int(np.floor((cell_x[j] - x0) / size))
    by = int(np.floor((cell_y[j] - y0) / size))
    for ix in range(max(bx - 1, 0), min(bx + 2, nbx)):
        for iy in range(max(by - 1, 0), min(by + 2, nby)):
            b = ix * nby + iy
            for e in range(bucket_start[b], bucket_start[b + 1]):
                k = bucket_obs[e]
                d = np.hypot(cell_x[j] - obs_x[k], cell_y[j] - obs_y[k])
                w = gaspari_cohn(d, radius)
                if w > 0.0:
                    local[n] = k
                    weight[n] = w
                    n += 1
    return n


@njit(cache=True)
def _letkf_cells(ens, ybt, bmat, innovation, obs_var, cell_x, cell_y, obs_x, obs_y, radius,
                 bucket_start, bucket_obs, x0, y0, size, nbx, nby, rho, rtps,
                 max_obs_space):  # fmt: skip
    m, n_cells = ens.shape
    p_all = ybt.shape[0]
    a = (m - 1) / rho
    sqrt_rho = np.sqrt(rho)
    local = np.empty(p_all, np.int64)
    weight = np.empty(p_all)
    xp = np.empty(m)
    xa = np.empty(m)
    # observation-space work arrays (p <= max_obs_space)
    q = max(max_obs_space, 1)
    scale = np.empty(q)
    k_mat = np.empty((q, q))
    w_vec = np.empty((q, q))
    lam = np.empty(q)
    tmp = np.empty(q)
    tmp2 = np.empty(q)
    work = np.empty(q)
    c = np.empty(q)
    # ensemble-space work arrays
    amat = np.empty((m, m))
    updated = 0
    for j in range(n_cells):
        p = _local_obs(j, cell_x, cell_y, obs_x, obs_y, radius, bucket_start, bucket_obs,
                       x0, y0, size, nbx, nby, local, weight)  # fmt: skip
        if p == 0:
            continue
        updated += 1
        mean = 0.0
        for i in range(m):
            mean += ens[i, j]
        mean /= m
        for i in range(m):
            xp[i] = ens[i, j] - mean
        if p <= max_obs_space:
            # With D = a R_loc (diagonal) and the scaled local perturbations Yt = D^-1/2 Y
            # (p x m), C = Yt Yt^T = D^-1/2 (Y Y^T) D^-1/2 = U diag(mu) U^T (Y Y^T from the
            # precomputed B = Yb^T Yb). Woodbury on Hunt et al.'s eqs. (21)-(24):
            #   mean increment  xp . Y^T (D + Y Y^T)^-1 d = c~^T U diag(1/(1+mu)) U^T d~
            #   Xb Wa = sqrt(rho) (I + Yt^T Yt)^(-1/2) xp
            #         = sqrt(rho) (xp - Yt^T U diag(1/((1+mu) + sqrt(1+mu))) U^T c~)
            # with c~ = Yt xp and d~ = D^-1/2 d: one p x p eigen-decomposition per cell.
            for r in range(p):
                k = local[r]
                scale[r] = np.sqrt(weight[r] / (a * obs_var[k]))  # D^-1/2
            for r in range(p):
                for t in range(r + 1):
                    k_mat[r, t] = bmat[local[r], local[t]] * scale[r] * scale[t]
                    k_mat[t, r] = k_mat[r, t]
            for r in range(p):
                acc = 0.0
                row = ybt[local[r]]
                for i in range(m):
                    acc += row[i] * xp[i]
                c[r] = acc * scale[r]  # c~ = Yt xp
            symmetric_eigh(k_mat, w_vec, lam, work, p)
            increment = 0.0
            for t in range(p):
                proj_c = 0.0
                proj_d = 0.0
                for r in range(p):
                    proj_c += w_vec[r, t] * c[r]
                    proj_d += w_vec[r, t] * innovation[local[r]] * scale[r]
                one_plus = 1.0 + max(lam[t], 0.0)  # C is positive semi-definite
                increment += proj_c * proj_d / one_plus
                tmp[t] = proj_c / (one_plus + np.sqrt(one_plus))
            for r in range(p):
                acc = 0.0
                for t in range(p):
                    acc += w_vec[r, t] * tmp[t]
                tmp2[r] = acc * scale[r]  # D^-1/2 U diag(psi) U^T c~
            for i in range(m):
                xa[i] = xp[i]
            for r in range(p):
                row = ybt[local[r]]
                u = tmp2[r]
                for i in range(m):
                    xa[i] -= row[i] * u
            for i in range(m):
                xa[i] *= sqrt_rho
        else:
            # Hunt et al. (2007) eqs. (21)-(24): A = a I + Y^T R_loc^-1 Y (m x m)
            for i in range(m):
                for l in range(i + 1):
                    acc = 0.0
                    for r in range(p):
                        k = local[r]
                        acc += ybt[k, i] * ybt[k, l] * weight[r] / obs_var[k]
                    amat[i, l] = acc
                    amat[l, i] = acc
                amat[i, i] += a
            gam, vec = np.linalg.eigh(amat)
            # w = A^-1 Y^T R^-1 d; Wa = sqrt(m - 1) A^(-1/2)
            ytd = np.zeros(m)
            for i in range(m):
                acc = 0.0
                for r in range(p):
                    k = local[r]
                    acc += ybt[k, i] * weight[r] / obs_var[k] * innovation[k]
                ytd[i] = acc
            proj = vec.T @ ytd
            proj_x = vec.T @ xp
            wbar = vec @ (proj / gam)
            increment = 0.0
            for i in range(m):
                increment += xp[i] * wbar[i]
            xa_vec = vec @ (proj_x * np.sqrt((m - 1) / gam))  # Xb Wa (Wa symmetric)
            for i in range(m):
                xa[i] = xa_vec[i]
        if rtps > 0.0:
            var_b = 0.0
            var_a = 0.0
            for i in range(m):
                var_b += xp[i] * xp[i]
                var_a += xa[i] * xa[i]
            if var_a > 0.0:
                factor = 1.0 + rtps * (np.sqrt(var_b / var_a) - 1.0)
                for i in range(m):
                    xa[i] *= factor
        for i in range(m):
            ens[i, j] = mean + increment + xa[i]
    return updated


def _buckets(obs_x, obs_y, radius, max_buckets=4_000_000):
    """Observations sorted into square buckets at least ``radius`` wide (CSR arrays), so that
    a cell finds every observation within ``radius`` in the 3 x 3 buckets around its own."""
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


def letkf_update(ensemble: np.ndarray, obs_cell: np.ndarray, obs_value: np.ndarray,
                 obs_std: np.ndarray, cell_x: np.ndarray, cell_y: np.ndarray, radius: float, *,
                 inflation: float = 1.0, rtps: float = 0.0,
                 max_obs_space: int | None = None, hx: np.ndarray | None = None,
                 obs_xy: tuple[np.ndarray, np.ndarray] | None = None) -> int:  # fmt: skip
    """Analyse ``ensemble`` in place; return the number of cells updated.

    Parameters
    ----------
    ensemble : (members, cells) float64, C-contiguous; the forecast, overwritten by the analysis.
    obs_cell : (p,) flat index of the cell each observation sees (the observation operator:
        H x = x[obs_cell]).
    obs_value : (p,) observed values, in the field's units.
    obs_std : (p,) observation error standard deviations (same units), > 0.
    cell_x, cell_y : (cells,) cell-centre coordinates (m).
    radius : distance (m) at which the Gaspari-Cohn weight of an observation reaches zero;
        ``inf``: every observation is seen by every cell (the global ETKF).
    inflation : multiplicative covariance inflation rho >= 1 (Hunt et al. 2007 step 5).
    rtps : relaxation of the analysis spread to the prior spread, alpha in [0, 1]
        (Whitaker & Hamill 2012).
    max_obs_space : cells with at most this many local observations use the observation-space
        transform (default: the number of members).
    hx, obs_xy : the model values at the observations (members, p) and their positions (x, y:
        (p,) m) where they are not ``ensemble[:, obs_cell]`` and the cells' positions: a rank
        of a decomposed grid analyses its own cells from the values gathered over the ranks
        (``obs_cell`` is then not used). Each cell's analysis depends only on its own
        values, its position and these: the same whatever the cells around it.
    """
    ens = ensemble
    if ens.ndim != 2 or ens.dtype != np.float64 or not ens.flags.c_contiguous:
        raise ValueError("ensemble must be a C-contiguous (members, cells) float64 array")
    m, n = ens.shape
    obs_cell = np.asarray(obs_cell, np.int64)
    obs_value = np.asarray(obs_value, np.float64)
    obs_std = np.asarray(obs_std, np.float64)
    if not (obs_cell.shape == obs_value.shape == obs_std.shape) or obs_cell.ndim != 1:
        raise ValueError("obs_cell, obs_value and obs_std must be 1-D arrays of one length")
    if hx is None and obs_cell.size and (obs_cell.min() < 0 or obs_cell.max() >= n):
        raise ValueError(f"obs_cell must index the {n} cells")
    if obs_cell.size and not (np.all(obs_std > 0) and np.all(np.isfinite(obs_value))):
        raise ValueError("observation error stds must be > 0 and values finite")
    if m < 2 or not inflation >= 1.0 or not 0.0 <= rtps <= 1.0 or not radius > 0:
        raise ValueError("need >= 2 members, inflation >= 1, 0 <= rtps <= 1 and radius > 0")
    if obs_cell.size == 0:
        return 0
    hx = ens[:, obs_cell] if hx is None else np.asarray(hx, np.float64)
    if hx.shape != (m, obs_cell.size):
        raise ValueError(f"hx must be (members, observations) = {(m, obs_cell.size)}")
    if not np.all(np.isfinite(hx)):
        raise ValueError("the ensemble is not finite at an observed cell (NaN on a building?)")
    ybt = np.ascontiguousarray((hx - hx.mean(axis=0)).T)  # (p, m): one row per observation
    bmat = ybt @ ybt.T
    innovation = obs_value - hx.mean(axis=0)
    cell_x = np.asarray(cell_x, np.float64)
    cell_y = np.asarray(cell_y, np.float64)
    if obs_xy is None:
        obs_x, obs_y = cell_x[obs_cell], cell_y[obs_cell]
    else:
        obs_x, obs_y = (np.asarray(v, np.float64) for v in obs_xy)
    start, order, x0, y0, size, nbx, nby = _buckets(obs_x, obs_y, float(radius))
    return int(_letkf_cells(ens, ybt, bmat, innovation, obs_std**2, cell_x, cell_y, obs_x, obs_y,
                            float(radius), start, order, x0, y0, size, nbx, nby,
                            float(inflation), float(rtps),
                            int(m if max_obs_space is None else max_obs_space)))


@njit(cache=True)
def clip_negative(ensemble: np.ndarray, cell_area: float) -> np.ndarray:
    """Set negative values (a depth the analysis took below zero) to zero, in place; return
    the volume added per member (m^3 for depths in m and ``cell_area`` in m^2), for the
    account of what the analysis changed."""
    m, n = ensemble.shape
    added = np.zeros(m)
    for i in range(m):
        for j in range(n):
            if ensemble[i, j] < 0.0:
                added[i] -= ensemble[i, j] * cell_area
                ensemble[i, j] = 0.0
    return added
