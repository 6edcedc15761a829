"""The LETKF's analysis of one cell, in pieces shared by the exact and the interpolated paths
(:mod:`metrotwin.observe.letkf`, :mod:`metrotwin.observe.letkf_coarse`): plain numba functions
on arrays. ``obsd`` = (ybt, bmat, innovation, obs_var): the observations' ensemble
perturbations (p, m), their products Y Y^T (p, p), innovations and error variances (p,)."""

from __future__ import annotations

import numpy as np
from numba import njit

from metrotwin.observe.eigh import symmetric_eigh


@njit(cache=True)
def obs_space_work(q):
    """Work arrays of the observation-space transform for up to ``q`` local observations:
    (scale, k_mat, w_vec, lam, tmp, tmp2, work, c)."""
    q = max(q, 1)
    return (np.empty(q), np.empty((q, q)), np.empty((q, q)), np.empty(q), np.empty(q),
            np.empty(q), np.empty(q), np.empty(q))  # fmt: skip


@njit(cache=True)
def scaled_eigen(local, weight, p, obsd, a, ws):
    """The eigen-decomposition U diag(mu) U^T of C = D^-1/2 (Y Y^T) D^-1/2 for the p local
    observations, D = a R_loc: ``scale`` (D^-1/2), ``w_vec`` (U), ``lam`` (mu) of ``ws``."""
    ybt, bmat, innovation, obs_var = obsd
    scale, k_mat, w_vec, lam, tmp, tmp2, work, c = ws
    for r in range(p):
        k = local[r]
        scale[r] = np.sqrt(weight[r] / (a * obs_var[k]))  # D^-1/2
    for r in range(p):
        for t in range(r + 1):
            k_mat[r, t] = bmat[local[r], local[t]] * scale[r] * scale[t]
            k_mat[t, r] = k_mat[r, t]
    symmetric_eigh(k_mat, w_vec, lam, work, p)


@njit(cache=True)
def obs_space_cell(xp, local, weight, p, obsd, a, ws, xa, fresh=True):
    """Observation-space transform of one cell: the mean increment (returned) and Xb Wa / sqrt
    rho into ``xa``.

    With D = a R_loc (diagonal) and the scaled local perturbations Yt = D^-1/2 Y (p x m),
    C = Yt Yt^T = D^-1/2 (Y Y^T) D^-1/2 = U diag(mu) U^T (Y Y^T from the precomputed
    B = Yb^T Yb). Woodbury on Hunt et al.'s eqs. (21)-(24):
      mean increment  xp . Y^T (D + Y Y^T)^-1 d = c~^T U diag(1/(1+mu)) U^T d~
      Xb Wa = sqrt(rho) (I + Yt^T Yt)^(-1/2) xp
            = sqrt(rho) (xp - Yt^T U diag(1/((1+mu) + sqrt(1+mu))) U^T c~)
    with c~ = Yt xp and d~ = D^-1/2 d: one p x p eigen-decomposition per cell (kept from the
    last cell when ``fresh`` is False)."""
    ybt, bmat, innovation, obs_var = obsd
    scale, k_mat, w_vec, lam, tmp, tmp2, work, c = ws
    m = xp.size
    if fresh:  # else: the same local observations and weights as the last cell, same U, mu
        scaled_eigen(local, weight, p, obsd, a, ws)
    for r in range(p):
        acc = 0.0
        row = ybt[local[r]]
        for i in range(m):
            acc += row[i] * xp[i]
        c[r] = acc * scale[r]  # c~ = Yt xp
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
    return increment


@njit(cache=True)
def ens_space_cell(xp, local, weight, p, obsd, a, amat, xa):
    """Hunt et al. (2007) eqs. (21)-(24) in ensemble space, A = a I + Y^T R_loc^-1 Y (m x m):
    the mean increment (returned) and Xb Wa into ``xa``."""
    ybt, bmat, innovation, obs_var = obsd
    m = xp.size
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
    return increment


@njit(cache=True)
def relax_to_prior(xp, xa, rtps):
    """RTPS (Whitaker & Hamill 2012 eq. 3): scale the analysis perturbations ``xa`` so that
    their spread is (1 - rtps) sigma_a + rtps sigma_b."""
    if rtps <= 0.0:
        return
    var_b = 0.0
    var_a = 0.0
    for i in range(xp.size):
        var_b += xp[i] * xp[i]
        var_a += xa[i] * xa[i]
    if var_a > 0.0:
        factor = 1.0 + rtps * (np.sqrt(var_b / var_a) - 1.0)
        for i in range(xp.size):
            xa[i] *= factor


@njit(cache=True)
def perturbations(ens, j, xp):
    """The ensemble mean of cell j (returned) and its members' deviations from it (``xp``)."""
    m = xp.size
    mean = 0.0
    for i in range(m):
        mean += ens[i, j]
    mean /= m
    for i in range(m):
        xp[i] = ens[i, j] - mean
    return mean


@njit(cache=True)
def same_local(local, weight, p, last):
    """Whether cell's p local observations and weights are those of ``last`` = (count, local,
    weight) (then its transform is the last one: bit for bit the same); if not, they become
    ``last``."""
    count, last_local, last_weight = last
    same = count[0] == p
    for r in range(p):
        if not same:
            break
        same = last_local[r] == local[r] and last_weight[r] == weight[r]
    if not same:
        count[0] = p
        last_local[:p] = local[:p]
        last_weight[:p] = weight[:p]
    return same
