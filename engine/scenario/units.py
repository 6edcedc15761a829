"""Parsing of durations and times written in scenario files."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated

from pydantic import BeforeValidator

_UNITS = {
    "s": 1.0, "sec": 1.0, "second": 1.0, "seconds": 1.0,
    "min": 60.0, "minute": 60.0, "minutes": 60.0,
    "h": 3600.0, "hr": 3600.0, "hour": 3600.0, "hours": 3600.0,
    "d": 86400.0, "day": 86400.0, "days": 86400.0,
}  # fmt: skip
_PATTERN = re.compile(r"^\s*([-+]?\d+(?:\.\d*)?(?:[eE][-+]?\d+)?)\s*([a-zA-Z]*)\s*$")
_ISO = re.compile(
    r"^P(?:(?P<d>\d+(?:\.\d+)?)D)?(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?"
    r"(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)


def parse_duration(value) -> float:
    """Seconds from ``90``, ``"90 s"``, ``"10 min"``, ``"1.5h"``, ``"PT10M"`` or a timedelta."""
    if isinstance(value, bool):
        raise ValueError(f"expected a duration such as '10 min', got {value!r}")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, str):
        iso = _ISO.match(value.strip().upper())
        if iso and any(iso.groupdict().values()):
            parts = {k: float(v) if v else 0.0 for k, v in iso.groupdict().items()}
            return parts["d"] * 86400 + parts["h"] * 3600 + parts["m"] * 60 + parts["s"]
        match = _PATTERN.match(value)
        if match:
            number, unit = match.groups()
            unit = unit.lower() or "s"
            if unit in _UNITS:
                return float(number) * _UNITS[unit]
    raise ValueError(
        f"{value!r} is not a duration; write seconds (600), '10 min', '1.5 h', '2 d' or 'PT10M'"
    )


#: a duration in seconds, written as a number of seconds or with a unit.
Duration = Annotated[float, BeforeValidator(parse_duration)]
