"""Ensemble statistics and the analysis of fields and parameters, on plain arrays.

The ensemble of a field is ``(members, cells)``. The mean is taken as member 0 plus the mean
of the departures from it, so that an ensemble whose members agree has exactly their value
as its mean (a sum of N equal numbers divided by N need not give the number back)."""

from __future__ import annotations

import numpy as np

from metrotwin.observe.letkf import letkf_update


def ensemble_mean(ens: np.ndarray) -> np.ndarray:
    """Mean over the first axis, exact where the members agree."""
    first = ens[0]
    return first + np.mean(ens - first, axis=0)


def ensemble_spread(ens: np.ndarray) -> np.ndarray:
    """Standard deviation over the first axis (N - 1 in the denominator)."""
    if ens.shape[0] < 2:  # one run (nudging) has no spread
        return np.full(ens.shape[1:], np.nan)
    return np.std(ens, axis=0, ddof=1)


def analyse_parameters(params: np.ndarray, hx: np.ndarray, values: np.ndarray,
                       std: np.ndarray, *, inflation: float, rtps: float) -> np.ndarray:  # fmt: skip
    """The analysis of global parameters ``params`` (members, q) from observations
    ``values`` (p,) with error ``std`` (p,), whose model values are ``hx`` (members, p):
    the ETKF of the augmented state [H(x), parameters] (Anderson 2001's state augmentation;
    no localisation, every observation sees a global parameter). Returns (members, q)."""
    m, p = hx.shape
    joint = np.ascontiguousarray(np.concatenate([hx, params], axis=1), dtype=np.float64)
    zeros = np.zeros(joint.shape[1])
    letkf_update(joint, np.arange(p), values, std, zeros, zeros, np.inf,
                 inflation=inflation, rtps=rtps)  # fmt: skip
    return joint[:, p:].copy()


def analyse_fields(fields: list[np.ndarray], hx: np.ndarray, obs_xy, values: np.ndarray,
                   std: np.ndarray, cell_xy, radius: float, *, inflation: float, rtps: float,
                   transform_step: int = 1, grid=None) -> list[np.ndarray]:  # fmt: skip
    """The LETKF analysis of several fields of one grid, each (members, cells) at cells
    ``cell_xy`` (x, y: (cells,) m), from observations at ``obs_xy`` (x, y: (p,) m) whose
    model values are ``hx`` (members, p): the other fields (e.g. a forcing parameter per
    cell) take the same local transform as the first at each cell. ``transform_step`` s > 1
    (with ``grid`` = (shape, window): the cells' (rows, columns) and ``letkf_update``'s
    ``grid_window``): the transform every s rows and columns, interpolated between. Returns
    the analysed fields (new arrays)."""
    obs = (np.zeros(values.size, np.int64), values, std)
    options = {"inflation": inflation, "rtps": rtps, "hx": hx, "obs_xy": obs_xy}
    if transform_step > 1:
        shape, window = grid
        out = []
        for field in fields:
            one = np.ascontiguousarray(field, dtype=np.float64).copy()
            letkf_update(one, *obs, *cell_xy, radius, transform_step=transform_step,
                         grid_shape=shape, grid_window=window, **options)  # fmt: skip
            out.append(one)
        return out
    k = len(fields)
    n = fields[0].shape[1]
    # the fields of a cell side by side: the LETKF computes a cell's transform once and
    # reuses it, bit for bit, for the next "cell" at the same place with the same
    # observations (``transform.same_local``), so k fields cost about one transform per cell
    joint = np.ascontiguousarray(np.stack(fields, axis=2), dtype=np.float64).reshape(-1, n * k)
    xs, ys = (np.repeat(np.asarray(v, np.float64), k) for v in cell_xy)
    letkf_update(joint, *obs, xs, ys, radius, **options)
    by_field = joint.reshape(-1, n, k)
    return [np.ascontiguousarray(by_field[:, :, i]) for i in range(k)]
