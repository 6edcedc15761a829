"""The elementary functions of the CPU flood kernels (``fastmath.py``, ``losses.py``) as CUDA
device functions, with the same arithmetic in the same order, so that the GPU step rounds
like the CPU one: the float32 ``pow_minus_seven_thirds32`` of the Manning friction and the
float64 ``fast_cbrt`` of the boundary faces from the IEEE-754 bits, LLVM's ``maxnum`` (a NaN
argument gives the other one) of the statistics, and the Green-Ampt capacity.

The bit casts come from libdevice on a GPU; numba's CUDA simulator
(``NUMBA_ENABLE_CUDASIM=1``, which runs the kernels as Python) has no libdevice, so there
they are numpy views of the same bits: the one place where the simulated code differs from
the compiled one, and it changes no bit.
"""

from __future__ import annotations

import math

import numpy as np
from numba import config, cuda

from metrotwin.models.flood import fastmath

if config.ENABLE_CUDASIM:

    def _bits_of(x):
        return np.float64(x).view(np.int64)

    def _float_of(bits):
        return np.int64(bits).view(np.float64)

    def _bits_of32(x):
        return np.float32(x).view(np.int32)

    def _float_of32(bits):
        return np.int32(bits).view(np.float32)

else:  # pragma: no cover - needs a GPU's compiler (checked by compile_ptx where NVVM is)
    from numba.cuda.libdevice import (
        double_as_longlong as _bits_of,
        float_as_int as _bits_of32,
        int_as_float as _float_of32,
        longlong_as_double as _float_of,
    )

_ONE32 = np.float32(1.0)
_THIRD32 = fastmath._THIRD32
_K32 = fastmath._K32
_P0, _P1, _P2, _P3 = fastmath._P0, fastmath._P1, fastmath._P2, fastmath._P3
_P4, _P5, _P6, _P7 = fastmath._P4, fastmath._P5, fastmath._P6, fastmath._P7
_CBRT_MAGIC = np.int64(0x2A9F7893782DA1CE)


@cuda.jit(device=True)
def sqrt32(x):
    """Correctly rounded float32 square root (``sqrt.rn.f32``; the simulator's ``math.sqrt``
    works in float64, whose rounding to float32 is the correctly rounded float32 root)."""
    return np.float32(math.sqrt(x))


@cuda.jit(device=True)
def pow_minus_seven_thirds32(x, scale):
    """``scale`` x^(-7/3) of a positive normal float32: ``fastmath.pow_minus_seven_thirds32``
    (the exponent/3 first guess and the same Estrin series, operation for operation)."""
    r = _float_of32(np.int32(_K32 - np.float32(_bits_of32(x)) * _THIRD32))
    r3 = r * r * r
    d = _ONE32 - x * r3
    d2 = d * d
    d4 = d2 * d2
    p0, p1, p2, p3 = _P0 * scale, _P1 * scale, _P2 * scale, _P3 * scale
    p4, p5, p6, p7 = _P4 * scale, _P5 * scale, _P6 * scale, _P7 * scale
    series = ((p0 + p1 * d) + d2 * (p2 + p3 * d)) + d4 * ((p4 + p5 * d) + d2 * (p6 + p7 * d))
    return ((r3 * r3) * r) * series


@cuda.jit(device=True)
def fast_cbrt(x):
    """Cube root of a positive float64: ``fastmath.fast_cbrt`` (Kahan's first guess, two
    Halley steps)."""
    y = _float_of(_bits_of(x) // 3 + _CBRT_MAGIC)
    y3 = y * y * y
    y = y * (y3 + 2.0 * x) / (2.0 * y3 + x)
    y3 = y * y * y
    return y * (y3 + 2.0 * x) / (2.0 * y3 + x)


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
