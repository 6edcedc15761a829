"""The analysis step: a local ensemble transform Kalman filter (LETKF) on grid cells.

Hunt, Kostelich & Szunyogh (2007) Physica D 230:112-126, doi:10.1016/j.physd.2006.11.008
(algorithm of sect. 2.3, steps 1-9), with the observation error of each observation divided
by its Gaspari & Cohn (1999) weight (R-localisation, Hunt et al. sect. 2.3 step 4 / Greybush
et al. 2011; see :mod:`metrotwin.observe.localise`), multiplicative inflation ``rho`` (Hunt
et al. step 5) and relaxation to prior spread (RTPS, Whitaker & Hamill 2012, MWR
140:3078-3089, doi:10.1175/MWR-D-11-00276.1, eq. 3).

Each cell is analysed on its own with the observations within ``radius`` of it; a cell with
none is not touched. With p local observations and m members the transform is computed in
observation space when p <= m (Woodbury: matrices p x p, the usual case of a few sensors per
cell, with the observation errors' scaling making it a plain symmetric eigenproblem), in
ensemble space (Hunt et al.'s m x m form) otherwise; the two are algebraically equal
(tested). On a grid, ``transform_step > 1`` computes the transform only every that many rows
and columns and interpolates it in between (:mod:`metrotwin.observe.letkf_coarse`, Yang et
al. 2009). Functions here are plain functions on arrays; the ensemble is ``(members, cells)``;
the kernels take their arguments grouped in tuples: ``obsd`` = (ybt, bmat, innovation,
obs_var), ``geo`` (:func:`metrotwin.observe.localise.geometry`).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from metrotwin.observe.eigh import symmetric_eigh
from metrotwin.observe.letkf_coarse import coarse_cells, coarse_window
from metrotwin.observe.localise import gaspari_cohn, geometry, local_obs
from metrotwin.observe.transform import (
    ens_space_cell, obs_space_cell, obs_space_work, perturbations, relax_to_prior, same_local,
)  # fmt: skip

__all__ = ["clip_negative", "gaspari_cohn", "letkf_update", "symmetric_eigh"]


@njit(cache=True)
def _letkf_cells(ens, obsd, geo, params):
    """Analyse every cell of ``ens`` in place; ``params`` = (rho, rtps, max_obs_space)."""
    rho, rtps, max_obs_space = params
    m, n_cells = ens.shape
    p_all = obsd[0].shape[0]
    a = (m - 1) / rho
    sqrt_rho = np.sqrt(rho)
    local = np.empty(p_all, np.int64)
    weight = np.empty(p_all)
    xp = np.empty(m)
    xa = np.empty(m)
    ws = obs_space_work(max_obs_space)
    amat = np.empty((m, m))
    last = (np.full(1, -1, np.int64), np.empty(p_all, np.int64), np.empty(p_all))
    updated = 0
    for j in range(n_cells):
        p = local_obs(j, geo, local, weight)
        if p == 0:
            continue
        updated += 1
        mean = perturbations(ens, j, xp)
        if p <= max_obs_space:
            fresh = not same_local(local, weight, p, last)
            increment = obs_space_cell(xp, local, weight, p, obsd, a, ws, xa, fresh)
            for i in range(m):
                xa[i] *= sqrt_rho
        else:
            increment = ens_space_cell(xp, local, weight, p, obsd, a, amat, xa)
        relax_to_prior(xp, xa, rtps)
        for i in range(m):
            ens[i, j] = mean + increment + xa[i]
    return updated


def letkf_update(ensemble: np.ndarray, obs_cell: np.ndarray, obs_value: np.ndarray,
                 obs_std: np.ndarray, cell_x: np.ndarray, cell_y: np.ndarray, radius: float, *,
                 inflation: float = 1.0, rtps: float = 0.0, max_obs_space: int | None = None,
                 transform_step: int = 1, grid_shape: tuple[int, int] | None = None,
                 grid_window: tuple | None = None, hx: np.ndarray | None = None,
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
    transform_step : 1 (default): the exact transform at every cell. s > 1: the transform
        (observation space) only at every s-th row and column of the grid (and its last ones),
        bilinearly interpolated in between (Yang et al. 2009 weight interpolation); needs
        ``grid_shape`` and a finite ``radius``; cells with no observation within ``radius``
        are still left untouched. The difference from the exact analysis is second order in
        the spacing s x cell size: at radius / 25 it was 0.4 % of the largest increment in
        benchmarks/assimilation.py (1000 m, 10 m cells, s = 4), at radius / 12.5 3.7 %. Meant
        for a few observations per cell (p <= m): the cost per cell grows as p^2.
    grid_shape : (rows, columns) of the grid, cells numbered row by row (for transform_step).
    grid_window : for transform_step, when the cells are a window of a larger grid (a rank's
        part): (first row, first column, row_y, col_x), the window's first cell in the whole
        grid and the whole grid's row y and column x coordinates (m). The transform is then
        interpolated between the whole grid's coarse lines: the same analysis however the
        grid is split. Default: the cells are the whole grid.
    hx, obs_xy : the model values at the observations (members, p) and their positions (x, y:
        (p,) m) where they are not ``ensemble[:, obs_cell]`` and the cells' positions: a rank
        of a decomposed grid analyses its own cells from the values gathered over the ranks
        (``obs_cell`` is then not used). Each cell's analysis depends only on its own
        values, its position and these: the same whatever the cells around it.
    """
    ens = ensemble
    obs_cell, obs_value, obs_std = _check(ens, obs_cell, obs_value, obs_std, radius, inflation,
                                          rtps, cells_given=hx is None)  # fmt: skip
    m, n = ens.shape
    step = _check_step(transform_step, grid_shape, radius, n)
    if obs_cell.size == 0:
        return 0
    hx = ens[:, obs_cell] if hx is None else np.asarray(hx, np.float64)
    if hx.shape != (m, obs_cell.size):
        raise ValueError(f"hx must be (members, observations) = {(m, obs_cell.size)}")
    if not np.all(np.isfinite(hx)):
        raise ValueError("the ensemble is not finite at an observed cell (NaN on a building?)")
    ybt = np.ascontiguousarray((hx - hx.mean(axis=0)).T)  # (p, m): one row per observation
    obsd = (ybt, ybt @ ybt.T, obs_value - hx.mean(axis=0), obs_std**2)
    cell_x = np.asarray(cell_x, np.float64)
    cell_y = np.asarray(cell_y, np.float64)
    if obs_xy is None:
        obs_x, obs_y = cell_x[obs_cell], cell_y[obs_cell]
    else:
        obs_x, obs_y = (np.asarray(v, np.float64) for v in obs_xy)
    geo = geometry(cell_x, cell_y, obs_x, obs_y, float(radius))
    if step > 1:
        lines = coarse_window(step, grid_shape, *_window(grid_window, grid_shape, cell_x, cell_y))
        return int(coarse_cells(ens, obsd, geo, (float(inflation), float(rtps)), lines))
    params = (float(inflation), float(rtps), int(m if max_obs_space is None else max_obs_space))
    return int(_letkf_cells(ens, obsd, geo, params))


def _check(ens, obs_cell, obs_value, obs_std, radius, inflation, rtps, *, cells_given=True):
    if ens.ndim != 2 or ens.dtype != np.float64 or not ens.flags.c_contiguous:
        raise ValueError("ensemble must be a C-contiguous (members, cells) float64 array")
    m, n = ens.shape
    obs_cell = np.asarray(obs_cell, np.int64)
    obs_value = np.asarray(obs_value, np.float64)
    obs_std = np.asarray(obs_std, np.float64)
    if not (obs_cell.shape == obs_value.shape == obs_std.shape) or obs_cell.ndim != 1:
        raise ValueError("obs_cell, obs_value and obs_std must be 1-D arrays of one length")
    if cells_given and obs_cell.size and (obs_cell.min() < 0 or obs_cell.max() >= n):
        raise ValueError(f"obs_cell must index the {n} cells")
    if obs_cell.size and not (np.all(obs_std > 0) and np.all(np.isfinite(obs_value))):
        raise ValueError("observation error stds must be > 0 and values finite")
    if m < 2 or not inflation >= 1.0 or not 0.0 <= rtps <= 1.0 or not radius > 0:
        raise ValueError("need >= 2 members, inflation >= 1, 0 <= rtps <= 1 and radius > 0")
    return obs_cell, obs_value, obs_std


def _check_step(step, grid_shape, radius, n) -> int:
    step = int(step)
    if step < 1:
        raise ValueError(f"transform_step must be >= 1, not {step}")
    if step > 1 and (grid_shape is None or int(grid_shape[0]) * int(grid_shape[1]) != n
                     or not np.isfinite(radius)):  # fmt: skip
        raise ValueError(f"transform_step {step} needs grid_shape (rows, columns) with rows x "
                         f"columns = {n} cells and a finite radius")  # fmt: skip
    return step


def _window(grid_window, shape, cell_x, cell_y):
    """(first, row_y, col_x) of the cells' window in the whole grid (module letkf_coarse)."""
    ny, nx = int(shape[0]), int(shape[1])
    if grid_window is None:
        return (0, 0), cell_y[::nx][:ny], cell_x[:nx]
    first_row, first_col, row_y, col_x = grid_window
    row_y, col_x = np.asarray(row_y, np.float64), np.asarray(col_x, np.float64)
    if not (0 <= first_row <= row_y.size - ny and 0 <= first_col <= col_x.size - nx):
        raise ValueError(f"grid_window: a window of {ny} x {nx} cells from row {first_row}, "
                         f"column {first_col} does not fit the whole grid's {row_y.size} rows "
                         f"x {col_x.size} columns")  # fmt: skip
    return (int(first_row), int(first_col)), row_y, col_x


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
