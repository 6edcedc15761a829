"""Branch-free elementary functions for the flood kernels, written so that the loops calling
them vectorise (AVX2: 4 float64 or 8 float32 lanes).

- cube roots from the IEEE-754 bits (the exponent/3 trick) refined by Halley/Householder
  steps, instead of libm's ``cbrt``/``pow`` (a call per element, no vectorisation);
- ``fmax32``/``fmax64``, LLVM's ``maxnum``: a running maximum written as ``a if a > b else
  b`` with ``a`` loaded from the array it is stored back to is turned by LLVM into a masked
  store, which AMD Zen runs as microcode (5-10x slower than a plain store); ``maxnum``
  compiles to ``vmaxps`` and a plain store. A max-reduction over a row written with
  ``maxnum`` also vectorises, where Python's ``max`` does not.

References: Kahan, W. (1991). Computing a real cube root (the magic constant of the first
guess); Householder, A. S. (1970). The numerical treatment of a single nonlinear equation
(the third-order step).
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir  # numba's own code generator: bit casts and the maxnum intrinsic
from numba import njit, types
from numba.extending import intrinsic


def _bit_cast(source, target, llvm_target):
    """An intrinsic that reinterprets the bits of a ``source`` number as a ``target`` one of
    the same width (free: no instruction)."""

    @intrinsic
    def cast(typingctx, x):
        def codegen(context, builder, signature, args):
            return builder.bitcast(args[0], llvm_target)

        return target(source), codegen

    return cast


_bits_of = _bit_cast(types.float64, types.int64, ir.IntType(64))
_float_of = _bit_cast(types.int64, types.float64, ir.DoubleType())
_bits_of32 = _bit_cast(types.float32, types.int32, ir.IntType(32))
_float_of32 = _bit_cast(types.int32, types.float32, ir.FloatType())


def _maxnum(number, llvm_number, flags=()):
    """An intrinsic for the larger of two ``number`` (LLVM ``maxnum``: ``vmaxps``/``vmaxpd``,
    never a masked store; a NaN argument gives the other one, at the cost of two more
    instructions, unless ``flags`` has "nnan": the arguments are then known to be numbers)."""

    @intrinsic
    def maxnum(typingctx, a, b):
        def codegen(context, builder, signature, args):
            fn = builder.module.declare_intrinsic(
                "llvm.maxnum", [llvm_number], ir.FunctionType(llvm_number, [llvm_number] * 2)
            )
            return builder.call(fn, args, fastmath=flags)

        return number(number, number), codegen

    return maxnum


fmax32 = _maxnum(types.float32, ir.FloatType())
#: ``fmax32`` of two numbers never NaN: one ``vmaxps``
fmax32_numbers = _maxnum(types.float32, ir.FloatType(), ("nnan",))
fmax64 = _maxnum(types.float64, ir.DoubleType())


@njit(cache=True, inline="always", error_model="numpy")
def fast_cbrt(x):
    """Cube root of a positive float64 (relative error < 1e-14), ~4x faster than libm's.

    Exponent/3 bit trick for the first guess (Kahan's magic constant for doubles), then two
    Halley iterations, each tripling the number of correct digits.
    """
    y = _float_of(_bits_of(x) // 3 + 0x2A9F7893782DA1CE)
    y3 = y * y * y
    y = y * (y3 + 2.0 * x) / (2.0 * y3 + x)
    y3 = y * y * y
    return y * (y3 + 2.0 * x) / (2.0 * y3 + x)


@njit(cache=True, inline="always", error_model="numpy")
def inv_cbrt(x):
    """x^(-1/3) of a positive float64 (relative error < 1e-15), with no division, branch or
    library call.

    First guess from the high word of the IEEE-754 bits, ``K - hi/3`` (the exponent/3 trick,
    max error 3.4 % with K = 1430188000, chosen by a scan); then three third-order
    (Householder) steps r <- r (1 + d/3 + 2 d^2/9), d = 1 - x r^3, each cubing the error
    (3e-2 -> 2e-4 -> 2e-11 -> round-off). The integer/float conversions go through int32
    because AVX2 has no vector int64 <-> float64 conversion.
    """
    hi = np.int32(_bits_of(x) >> 32)
    y_hi = np.int32(1430188000.0 - np.float64(hi) * (1.0 / 3.0))
    r = _float_of(np.int64(y_hi) << 32)
    d = 1.0 - x * (r * r * r)  # unrolled by hand: an inner loop stops the vectoriser
    r = r + r * d * ((1.0 / 3.0) + d * (2.0 / 9.0))
    d = 1.0 - x * (r * r * r)
    r = r + r * d * ((1.0 / 3.0) + d * (2.0 / 9.0))
    d = 1.0 - x * (r * r * r)
    return r + r * d * ((1.0 / 3.0) + d * (2.0 / 9.0))


_THIRD32 = np.float32(1.0 / 3.0)
#: magic constant of the float32 first guess K - bits/3 (max error 3.43 %, from a scan over
#: 2^-40 .. 2^40)
_K32 = np.float32(1419916000.0)
#: Taylor coefficients of (1 - d)^(-7/3): c_k = c_(k-1) (k + 4/3) / k
_P0, _P1, _P2, _P3, _P4, _P5, _P6, _P7 = (np.float32(c) for c in np.cumprod(
    [1.0] + [(k + 4.0 / 3.0) / k for k in range(1, 8)]))


@njit(cache=True, inline="always", error_model="numpy")
def pow_minus_seven_thirds32(x, scale):
    """``scale`` x^(-7/3) of a positive normal float32 (Manning's friction h^(-7/3) times the
    time step), relative error < 7e-7 (6.2e-7 measured over 1e-12..1e6 m). In a loop the
    scaled coefficients are computed once, outside it: the scale costs no instruction.

    First guess r = ``K - bits/3`` for x^(-1/3) (the exponent/3 trick, 3.4 %); then
    x^(-7/3) = r^7 (1 - d)^(-7/3) with d = 1 - x r^3 (|d| < 0.11), the series to d^7
    (remainder < 4e-7) evaluated by Estrin's scheme, three levels of multiply-adds, while
    r^7 = (r^3)^2 r is formed alongside: a shorter chain of dependent instructions than a
    cube root raised to the 7th power afterwards, and one instruction fewer. Eight lanes
    per AVX2 instruction.
    """
    r = _float_of32(np.int32(_K32 - np.float32(_bits_of32(x)) * _THIRD32))
    r3 = r * r * r
    d = np.float32(1.0) - x * r3
    d2 = d * d
    d4 = d2 * d2
    p0, p1, p2, p3 = _P0 * scale, _P1 * scale, _P2 * scale, _P3 * scale
    p4, p5, p6, p7 = _P4 * scale, _P5 * scale, _P6 * scale, _P7 * scale
    series = ((p0 + p1 * d) + d2 * (p2 + p3 * d)) + d4 * ((p4 + p5 * d) + d2 * (p6 + p7 * d))
    return ((r3 * r3) * r) * series
