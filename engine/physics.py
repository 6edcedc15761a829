"""Physical constants and the moist-air formulas that several parts of metrotwin share.

A leaf module: it imports numpy and numba only, never another metrotwin module, so every
stage and every model may use it. Each formula is written once, as a plain function on floats
or numpy arrays (the Python path: numpy's ``exp``), and compiled once more by numba under the
same name with ``_kernel`` appended, for ``@njit`` kernels (scalars: libm's ``exp``). The two
run the same operations in the same order; they may differ in the last bit only where numpy's
vectorised ``exp`` and libm's differ, which is why each caller keeps the path it always had.

>>> float(saturation_vapour_pressure(KELVIN_OFFSET))  # Bolton's e_s at 0 degC (Pa)
611.2
>>> round(dew_point(float(saturation_vapour_pressure(300.0))), 9)
300.0

References
----------
Bolton, D. (1980) The computation of equivalent potential temperature. Mon. Wea. Rev.
108:1046-1053, doi:10.1175/1520-0493(1980)108<1046:TCOEPT>2.0.CO;2 (eq. 10).
CODATA 2018 (Tiesinga et al. 2021, Rev. Mod. Phys. 93:025010,
doi:10.1103/RevModPhys.93.025010): the Stefan-Boltzmann constant.
Kopp, G. & Lean, J.L. (2011) A new, lower value of total solar irradiance. GRL 38:L01706,
doi:10.1029/2010GL045777 (1361 W m-2).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

# -- constants ---------------------------------------------------------------------------------
STEFAN_BOLTZMANN = 5.670374419e-8  # W m-2 K-4 (CODATA 2018, exact in the 2019 SI)
KELVIN_OFFSET = 273.15  # K at 0 degC
GRAVITY = 9.81  # gravitational acceleration (m s-2)
AIR_DENSITY = 1.2  # near-surface air at ~20 degC (kg m-3)
AIR_SPECIFIC_HEAT = 1005.0  # of dry air at constant pressure (J kg-1 K-1)
AIR_VOLUMETRIC_HEAT_CAPACITY = AIR_DENSITY * AIR_SPECIFIC_HEAT  # rho c_p (J m-3 K-1)
LATENT_HEAT_VAPORISATION = 2.45e6  # of water at ~20 degC (J kg-1)
STANDARD_PRESSURE = 101325.0  # sea-level air pressure (Pa)
SOLAR_CONSTANT = 1361.0  # total solar irradiance at 1 AU (W m-2), Kopp & Lean 2011
MM_PER_HOUR = 1.0 / 1000.0 / 3600.0  # a rate of 1 mm h-1 in m s-1

#: molar mass of water vapour / dry air (1): specific humidity q = 0.622 e / (p - 0.378 e)
VAPOUR_MASS_RATIO = 0.622
#: Bolton (1980) eq. 10: e_s = 611.2 exp(17.67 T / (T + 243.5)) Pa, T in degC
_BOLTON_E0, _BOLTON_A, _BOLTON_B = 611.2, 17.67, 243.5


# -- moist air ---------------------------------------------------------------------------------
def saturation_vapour_pressure(t_kelvin):
    """Saturation vapour pressure over water (Pa) at ``t_kelvin`` (K; a float or a numpy
    array), Bolton (1980) eq. 10: within 0.1 % of Wexler's from -35 to 35 degC."""
    tc = t_kelvin - KELVIN_OFFSET
    return _BOLTON_E0 * np.exp(_BOLTON_A * tc / (tc + _BOLTON_B))


def saturation_vapour_pressure_slope(t_kelvin, vapour_pressure):
    """d e_s / dT (Pa K-1) at ``t_kelvin`` (K), given e_s there (``vapour_pressure``, Pa):
    the derivative of Bolton's eq. 10."""
    tc = t_kelvin - KELVIN_OFFSET
    return vapour_pressure * _BOLTON_A * _BOLTON_B / ((tc + _BOLTON_B) ** 2)


def dew_point(vapour_pressure: float) -> float:
    """Temperature (K) at which ``saturation_vapour_pressure`` equals ``vapour_pressure`` (Pa,
    floored at 1e-3 Pa): Bolton's eq. 10 inverted."""
    x = math.log(max(vapour_pressure, 1e-3) / _BOLTON_E0)
    return KELVIN_OFFSET + _BOLTON_B * x / (_BOLTON_A - x)


def apparent_temperature(t_air_c, dew_point_c):
    """Apparent temperature (degC) of shaded air at ``t_air_c`` with dew point ``dew_point_c``
    (degC; floats or numpy arrays): -2.653 + 0.994 Ta + 0.0153 Td^2, the form of Kalkstein &
    Valimont (1986, Bull. Am. Meteorol. Soc. 67:842) after Steadman (1979) that the PHEWE
    studies computed their daily maximum apparent temperature with (Michelozzi et al. 2007,
    Environ. Health 6:12; Baccini et al. 2008, Epidemiology 19:711).

    >>> round(apparent_temperature(30.0, 15.0), 4)
    30.6095
    """
    return -2.653 + 0.994 * t_air_c + 0.0153 * dew_point_c * dew_point_c


def specific_humidity(vapour_pressure, pressure):
    """Specific humidity (kg kg-1) of air at ``pressure`` (Pa) holding water vapour at
    ``vapour_pressure`` (Pa): 0.622 e / (p - 0.378 e)."""
    return VAPOUR_MASS_RATIO * vapour_pressure / (pressure - 0.378 * vapour_pressure)


# the same formulas compiled for numba kernels (no fastmath: the operation order is kept)
saturation_vapour_pressure_kernel = njit(cache=True)(saturation_vapour_pressure)
saturation_vapour_pressure_slope_kernel = njit(cache=True)(saturation_vapour_pressure_slope)
specific_humidity_kernel = njit(cache=True)(specific_humidity)


@njit(cache=True)
def saturation_specific_humidity_kernel(t_kelvin, pressure):
    """Saturation specific humidity (kg kg-1) over water at ``t_kelvin`` (K) and ``pressure``
    (Pa), and its derivative in temperature (K-1): Bolton (1980) eq. 10 in
    0.622 e / (p - 0.378 e). A kernel (numba) function on floats."""
    es = saturation_vapour_pressure_kernel(t_kelvin)
    des = saturation_vapour_pressure_slope_kernel(t_kelvin, es)
    den = pressure - 0.378 * es
    qs = specific_humidity_kernel(es, pressure)
    dqs = VAPOUR_MASS_RATIO * pressure * des / (den * den)
    return qs, dqs
