"""Launch configurations of the CUDA flood kernels, whose loops stride over their index
space (so any launch covers it): on a GPU one thread per element, in blocks of 32 columns
(a warp reads 32 neighbouring values of a row) by 8 rows; under numba's CUDA simulator,
which runs every thread as a Python thread (~0.3 ms each), a few threads that each take many
elements (still more than one, so that the strides are exercised)."""

from __future__ import annotations

from numba import config

#: threads per block, (columns, rows), and the simulator's fixed (blocks, threads)
BLOCK = (32, 8)
SIMULATED = bool(config.ENABLE_CUDASIM)
_SIM_GRID, _SIM_BLOCK = (2, 2), (4, 2)


def grid_for(shape) -> tuple[tuple[int, int], tuple[int, int]]:
    """(blocks, threads per block) of a 2-D launch over ``shape`` (rows, columns)."""
    if SIMULATED:
        return _SIM_GRID, _SIM_BLOCK
    rows, cols = shape
    return (-(-cols // BLOCK[0]), -(-rows // BLOCK[1])), BLOCK


def line_for(size: int) -> tuple[int, int]:
    """(blocks, threads per block) of a 1-D launch over ``size`` elements."""
    if SIMULATED:
        return 2, 4
    return max(1, -(-size // 256)), 256
