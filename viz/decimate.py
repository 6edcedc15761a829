"""Grids brought to a cell budget for 3D views: the step that fits, and block reductions."""

from __future__ import annotations

import warnings

import numpy as np


def decimation_factor(shape: tuple[int, int], budget: int) -> int:
    """The smallest integer step that brings ``shape`` to at most ``budget`` cells."""
    ny, nx = shape
    step = 1
    while (-(-ny // step)) * (-(-nx // step)) > budget:
        step += 1
    return step


def block_reduce(values: np.ndarray, step: int, how: str = "mean") -> np.ndarray:
    """Reduce a (ny, nx) array over ``step`` x ``step`` blocks ("mean", "max", "min" or
    "first"), padding the last row and column blocks with edge values. NaN-aware."""
    values = np.asarray(values)
    if step == 1:
        return values
    ny, nx = values.shape
    py, px = (-ny) % step, (-nx) % step
    padded = np.pad(values, ((0, py), (0, px)), mode="edge")
    blocks = padded.reshape(padded.shape[0] // step, step, padded.shape[1] // step, step)
    if how == "first":
        return blocks[:, 0, :, 0]
    func = {"mean": np.nanmean, "max": np.nanmax, "min": np.nanmin}[how]
    # an all-NaN block (under buildings) is NaN, without numpy's warning about it
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return func(blocks.astype("float64"), axis=(1, 3))
