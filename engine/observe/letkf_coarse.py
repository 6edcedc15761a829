"""The LETKF with its transform interpolated between the points of a coarser grid (Yang,
Kalnay, Hunt & Bowler 2009, QJRMS 135:251-262, doi:10.1002/qj.353, "weight interpolation"):
the analysis weights vary slowly in space, because the local observations' weights do.

The transform is computed, in observation space, at every ``step``-th row and column of the
grid (and at its last row and column): for a point with local observations Y (p x m, their
ensemble perturbations), the analysis of a cell with perturbations xp is

    mean increment  = (Y xp)^T g,       g = D^-1/2 U diag(1/(1+mu)) U^T D^-1/2 d
    Xb Wa / sqrt(rho) = xp - Y^T G (Y xp),  G = D^-1/2 U diag(psi) U^T D^-1/2

(notation of :func:`metrotwin.observe.transform.obs_space_cell`, psi = 1 / ((1+mu) +
sqrt(1+mu))). G and g, as matrices and vectors over *all* observations (zero where an
observation is not local), go to zero continuously as an observation's Gaspari-Cohn weight
does, so they can be interpolated: bilinearly, in grid index, between the four coarse points
around a cell, on the union of their local observations. Every cell then costs two
products with Y instead of an eigen-decomposition. A cell with no observation within the
radius is still left untouched. The grid is numbered row by row; the coarse lines are those
of the whole grid (:func:`coarse_lines`) even when the cells are a window of it (a rank's
part), so that the analysis does not depend on how the grid is split.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from metrotwin.observe.localise import local_obs, local_obs_at
from metrotwin.observe.transform import obs_space_work, perturbations, relax_to_prior, scaled_eigen


def coarse_lines(n: int, step: int) -> np.ndarray:
    """Lines 0, step, 2 step... and n - 1 of a grid dimension of n (at least two entries: a
    dimension of one line is one block of zero height)."""
    lines = list(range(0, n, step))
    if lines[-1] != n - 1 or len(lines) == 1:
        lines.append(n - 1)
    return np.array(lines, np.int64)


def coarse_window(step: int, shape, first, row_y, col_x):
    """``lines`` for :func:`coarse_cells`: the coarse lines of the whole grid (rows ``row_y``
    and columns ``col_x``, their coordinates in m) around a window of ``shape`` (rows,
    columns) whose first cell is at (row, column) ``first`` of the whole grid."""
    rows = _around(coarse_lines(len(row_y), step), first[0], shape[0])
    cols = _around(coarse_lines(len(col_x), step), first[1], shape[1])
    window = (int(first[0]), int(first[1]), int(shape[0]), int(shape[1]), len(row_y) - 1,
              len(col_x) - 1)  # fmt: skip
    return (rows, cols, np.asarray(row_y, np.float64)[rows], np.asarray(col_x, np.float64)[cols],
            window)  # fmt: skip


def _around(lines: np.ndarray, first: int, n: int) -> np.ndarray:
    """The lines from the last one at or before ``first`` to the first one after ``first + n
    - 1`` (or the grid's last: a block holds its top line, not its bottom one, but for the
    last block), two at least."""
    lo = int(np.searchsorted(lines, first, side="right")) - 1
    hi = min(int(np.searchsorted(lines, first + n - 1, side="right")), lines.size - 1)
    if hi <= lo:
        lo, hi = (lo, lo + 1) if lo + 1 < lines.size else (lines.size - 2, lines.size - 1)
    return lines[lo:hi + 1]


@njit(cache=True)
def _point_transform(px, py, geo, obsd, a, ws, local, weight, out):
    """G and g at the point (px, py) (module docstring) into ``out`` = (list, G, g) at its
    local observations (``list``: their indices); returns their number p."""
    out_list, out_g, out_gvec = out
    p = local_obs_at(px, py, geo, local, weight)
    if p == 0:
        return 0
    innovation = obsd[2]
    scaled_eigen(local, weight, p, obsd, a, ws)
    scale, k_mat, w_vec, lam, tmp, tmp2, work, c = ws
    for t in range(p):
        acc = 0.0
        for r in range(p):
            acc += w_vec[r, t] * innovation[local[r]] * scale[r]
        one_plus = 1.0 + max(lam[t], 0.0)  # C is positive semi-definite
        tmp[t] = acc / one_plus
        tmp2[t] = 1.0 / (one_plus + np.sqrt(one_plus))
    for r in range(p):
        out_list[r] = local[r]
        acc = 0.0
        for t in range(p):
            acc += w_vec[r, t] * tmp[t]
        out_gvec[r] = scale[r] * acc
        for s in range(r + 1):
            acc = 0.0
            for t in range(p):
                acc += w_vec[r, t] * tmp2[t] * w_vec[s, t]
            out_g[r, s] = scale[r] * acc * scale[s]
            out_g[s, r] = out_g[r, s]
    return p


@njit(cache=True)
def _coarse_row(py, cols_x, slot, store, geo, obsd, a, ws, local, weight):
    """The transforms of the coarse points of the coarse row at y = ``py`` (columns at
    ``cols_x``) into ``store[...][slot]``."""
    cnt, lst, gm, gv = store
    for q in range(cols_x.size):
        cnt[slot, q] = _point_transform(cols_x[q], py, geo, obsd, a, ws, local, weight,
                                        (lst[slot, q], gm[slot, q], gv[slot, q]))  # fmt: skip


@njit(cache=True)
def _union(corners, store, blk):
    """The union of the four corners' local observations (``blk`` list) and each corner's G
    and g on it (``blk`` gu, guv); returns its size. ``corners``: (slot, column) x 4 in the
    order (top left, top right, bottom left, bottom right)."""
    cnt, lst, gm, gv = store
    slot_of, ul, gu, guv = blk[:4]
    n_u = 0
    for s, q in corners:
        for r in range(cnt[s, q]):
            k = lst[s, q, r]
            if slot_of[k] < 0:
                slot_of[k] = n_u
                ul[n_u] = k
                n_u += 1
    gu[:, :n_u, :n_u] = 0.0
    guv[:, :n_u] = 0.0
    for c in range(4):
        s, q = corners[c]
        for r in range(cnt[s, q]):
            ir = slot_of[lst[s, q, r]]
            guv[c, ir] = gv[s, q, r]
            for t in range(cnt[s, q]):
                gu[c, ir, slot_of[lst[s, q, t]]] = gm[s, q, r, t]
    for r in range(n_u):
        slot_of[ul[r]] = -1
    return n_u


@njit(cache=True)
def _along_row(ty, n_u, blk):
    """Interpolate the corners' G and g to the block's current row: left column (``gl``,
    ``vl``) and the change to the right column (``dg``, ``dv``)."""
    gu, guv, gl, dg, vl, dv = blk[2:8]
    for r in range(n_u):
        left = (1.0 - ty) * guv[0, r] + ty * guv[2, r]
        vl[r] = left
        dv[r] = (1.0 - ty) * guv[1, r] + ty * guv[3, r] - left
        for s in range(n_u):
            left = (1.0 - ty) * gu[0, r, s] + ty * gu[2, r, s]
            gl[r, s] = left
            dg[r, s] = (1.0 - ty) * gu[1, r, s] + ty * gu[3, r, s] - left


@njit(cache=True, fastmath={"reassoc", "contract"})  # vectorised sums: an approximation anyway
def _interpolated_cell(ens, j, tx, n_u, blk, ybt, sqrt_rho, rtps, cell):
    """Analyse cell j with the transform at fraction ``tx`` between the block's columns."""
    ul, gl, dg, vl, dv = blk[1], blk[4], blk[5], blk[6], blk[7]
    xp, xa, yx = cell
    m = xp.size
    mean = perturbations(ens, j, xp)
    increment = 0.0
    for r in range(n_u):
        acc = 0.0
        row = ybt[ul[r]]
        for i in range(m):
            acc += row[i] * xp[i]
        yx[r] = acc  # Y xp
        increment += acc * (vl[r] + tx * dv[r])
    for i in range(m):
        xa[i] = xp[i]
    for r in range(n_u):
        acc = 0.0
        for s in range(n_u):
            acc += (gl[r, s] + tx * dg[r, s]) * yx[s]
        row = ybt[ul[r]]
        for i in range(m):
            xa[i] -= row[i] * acc
    for i in range(m):
        xa[i] *= sqrt_rho
    relax_to_prior(xp, xa, rtps)
    for i in range(m):
        ens[i, j] = mean + increment + xa[i]


@njit(cache=True)
def _all_see(xs, ys, n_u, ul, geo):
    """Whether every cell of a block sees an observation: one within 0.99 radius of all four
    corners (x in ``xs``, y in ``ys``) is (the distance to a point is convex, so its largest
    over the block is at a corner; the margin keeps the Gaspari-Cohn weight clear of
    rounding to zero)."""
    obs_x, obs_y, radius = geo[2:5]
    for r in range(n_u):
        k = ul[r]
        far = 0.0
        for x in xs:
            for y in ys:
                far = max(far, np.hypot(x - obs_x[k], y - obs_y[k]))
        if far < 0.99 * radius:
            return True
    return False


@njit(cache=True)
def _largest_local(rows_y, cols_x, geo, local, weight):
    """The most local observations any coarse point has."""
    most = 0
    for y in rows_y:
        for x in cols_x:
            most = max(most, local_obs_at(x, y, geo, local, weight))
    return most


@njit(cache=True)
def _work(m, p_all, pmax, nq):
    """(store, blk, cell): the coarse rows' transforms, a block's, a cell's work arrays."""
    store = (np.zeros((2, nq), np.int64), np.zeros((2, nq, pmax), np.int64),
             np.zeros((2, nq, pmax, pmax)), np.zeros((2, nq, pmax)))  # fmt: skip
    pu = min(4 * pmax, p_all)
    blk = (np.full(p_all, -1, np.int64), np.empty(pu, np.int64), np.empty((4, pu, pu)),
           np.empty((4, pu)), np.empty((pu, pu)), np.empty((pu, pu)), np.empty(pu),
           np.empty(pu))  # fmt: skip
    return store, blk, (np.empty(m), np.empty(m), np.empty(pu))


@njit(cache=True)
def coarse_cells(ens, obsd, geo, params, lines):
    """Analyse every cell of ``ens`` in place with interpolated transforms; ``params`` =
    (rho, rtps), ``lines`` from :func:`coarse_window`; returns the cells updated."""
    rho, rtps = params
    rows, cols, rows_y, cols_x, window = lines
    row0, col0, ny, nx, last_row, last_col = window
    m = ens.shape[0]
    p_all = obsd[0].shape[0]
    a = (m - 1) / rho
    local, weight = np.empty(p_all, np.int64), np.empty(p_all)
    pmax = max(_largest_local(rows_y, cols_x, geo, local, weight), 1)
    ws = obs_space_work(pmax)
    nq = cols.size
    store, blk, cell = _work(m, p_all, pmax, nq)
    _coarse_row(rows_y[0], cols_x, 0, store, geo, obsd, a, ws, local, weight)
    updated = 0
    for b in range(rows.size - 1):
        _coarse_row(rows_y[b + 1], cols_x, (b + 1) % 2, store, geo, obsd, a, ws, local, weight)
        top, bottom = rows[b], rows[b + 1]
        last = bottom if bottom == last_row else bottom - 1  # the grid's last row: its block
        for q in range(nq - 1):
            left, right = cols[q], cols[q + 1]
            end = right if right == last_col else right - 1
            corners = ((b % 2, q), (b % 2, q + 1), ((b + 1) % 2, q), ((b + 1) % 2, q + 1))
            n_u = _union(corners, store, blk)  # 0: transform 0, inflation and RTPS only
            every = _all_see((cols_x[q], cols_x[q + 1]), (rows_y[b], rows_y[b + 1]), n_u,
                             blk[1], geo)  # fmt: skip
            for r in range(max(top, row0), min(last, row0 + ny - 1) + 1):
                _along_row((r - top) / max(bottom - top, 1), n_u, blk)
                for col in range(max(left, col0), min(end, col0 + nx - 1) + 1):
                    j = (r - row0) * nx + col - col0
                    if not every and local_obs(j, geo, local, weight) == 0:
                        continue
                    updated += 1
                    _interpolated_cell(ens, j, (col - left) / max(right - left, 1), n_u, blk,
                                       obsd[0], np.sqrt(rho), rtps, cell)  # fmt: skip
    return updated
