"""Unit conversion of readings into the model's units, with pint.

Unit strings come from CSV columns, CF ``units`` attributes (``mm h-1``, ``degree_C``) and
SensorThings ``unitOfMeasurement`` symbols (``°C``, ``mm/h``, UCUM ``Cel``); they are brought
to a form pint parses before conversion. A mass flux of rain (``kg m-2 s-1``, CF
``precipitation_flux``) becomes a depth rate with the density of water (1 kg m-2 = 1 mm).
"""

from __future__ import annotations

import re
from functools import lru_cache

import numpy as np
import pint

_REGISTRY = pint.UnitRegistry()
_REGISTRY.define("vehicle = [] = veh = vehicles")
_Q = _REGISTRY.Quantity

#: spellings pint does not know, mapped to ones it does
_ALIASES = {
    "1": "dimensionless", "": "dimensionless", "count": "dimensionless",
    "counts": "dimensionless", "degree_c": "degC", "degrees_c": "degC", "deg_c": "degC",
    "celsius": "degC", "cel": "degC", "degree_f": "degF", "degrees_f": "degF", "[degf]": "degF",
    "degree_k": "K", "kelvin": "K", "[ft_i]": "ft", "[in_i]": "inch", "mm/hr": "mm/h",
    "mm hr-1": "mm/h", "km/hr": "km/h",
}  # fmt: skip
#: CF exponent notation: "h-1", "m2", "s-2" -> "h**-1", "m**2", "s**-2"
_EXPONENT = re.compile(r"(?<![\d.*])([A-Za-z_°]+)(-?\d+)\b")
_WATER_DENSITY = _Q(1000.0, "kg m**-3")


class UnitsError(ValueError):
    """A unit string that is unknown, or that does not convert to the wanted units."""


@lru_cache(maxsize=256)
def parse_units(text: str) -> pint.Unit:
    """The pint unit a unit string names; :class:`UnitsError` if none."""
    key = text.strip()
    key = _ALIASES.get(key.lower(), key)
    key = _EXPONENT.sub(r"\1**\2", key)
    try:
        return _REGISTRY.parse_units(key)
    except Exception:  # pint raises several kinds; all mean "not a unit"
        raise UnitsError(f"{text[:40]!r} is not a unit pint understands") from None


def convert(values, from_units: str, to_units: str) -> np.ndarray:
    """``values`` (array) in ``from_units`` expressed in ``to_units`` (float64 array).

    Offsets are handled (degC -> K); a rain mass flux converts to a depth rate."""
    src, dst = parse_units(from_units), parse_units(to_units)
    quantity = _Q(np.asarray(values, dtype=float), src)
    if quantity.check("[mass] / [length] ** 2 / [time]") and _Q(1.0, dst).check(
        "[length] / [time]"
    ):
        quantity = quantity / _WATER_DENSITY
    try:
        return np.asarray(quantity.to(dst).magnitude, dtype=float)
    except pint.DimensionalityError:
        raise UnitsError(
            f"{from_units[:40]!r} does not convert to {to_units!r}"
        ) from None
