"""The elementary functions of the CUDA flood kernels that the CPU kernels' own cannot be:
those written with ``np.sqrt`` (which numba's CUDA target does not type) or with LLVM's
``maxnum`` intrinsic, with the same arithmetic in the same order, so that the GPU step rounds
like the CPU one. The CPU's ``@njit`` functions that type on the CUDA target are called from
the kernels as they are (numba compiles them for the GPU): ``kernels._boundary_flux``
(``fastmath.fast_cbrt``) and ``fastmath.pow_minus_seven_thirds32``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import cuda

@cuda.jit(device=True)
def sqrt32(x):
    """Correctly rounded float32 square root (``sqrt.rn.f32``; the simulator's ``math.sqrt``
    works in float64, whose rounding to float32 is the correctly rounded float32 root)."""
    return np.float32(math.sqrt(x))


@cuda.jit(device=True)
def maxnum(a, b):
    """The larger of ``a`` and ``b``, a NaN argument giving the other one (LLVM ``maxnum``,
    ``fastmath.fmax32``)."""
    if a != a:
        return b
    if b != b:
        return a
    return a if a > b else b


@cuda.jit(device=True)
def green_ampt_capacity(f0, ks, suction, dt):
    """Depth (m) the soil takes in a step ``dt`` (s) from the cumulative infiltration ``f0``
    (m): ``losses.green_ampt_capacity``, float64."""
    b = (2.0 / 3.0) * ks * dt
    f1 = b + math.sqrt(b * b + f0 * f0 + 2.0 * ks * dt * (suction + f0 * (1.0 / 3.0)))
    return f1 - f0
