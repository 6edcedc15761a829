"""What a reader returns: the readings of one file in file order and the sensors it declares.

A reading that cannot be used still becomes a reading, with a flag that says why; only a file
that is not of its format at all (no header, not CF timeSeries) is an error."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import numpy as np

from metrotwin.observe.flags import FLAG, GOOD
from metrotwin.observe.units import UnitsError, convert
from metrotwin.observe.variables import OBSERVED

NAT = np.datetime64("NaT", "ns")


@dataclass
class Sensor:
    """A sensor measuring one variable: position in the scenario CRS (``x``, ``y``, m) or WGS84
    (``lon``, ``lat``, degrees), error std in the variable's model units, counting interval (s)
    of vehicle counts."""

    sensor_id: str
    variable: str
    x: float = np.nan
    y: float = np.nan
    lon: float = np.nan
    lat: float = np.nan
    error_std: float = np.nan
    interval: float = np.nan
    origin: str = ""


@dataclass
class Readings:
    """Readings of one source, in file order; values in the variable's model units."""

    source: str
    sensor_id: list[str] = field(default_factory=list)
    variable: list[str] = field(default_factory=list)
    time: np.ndarray = field(default_factory=lambda: np.zeros(0, "datetime64[ns]"))
    value: np.ndarray = field(default_factory=lambda: np.zeros(0))
    flag: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint8))
    #: sensors the file itself declares (netCDF station variables, SensorThings Locations)
    sensors: list[Sensor] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.sensor_id)


def parse_time(text: str, zone: str) -> np.datetime64:
    """UTC instant of an ISO 8601 time; a time without offset is in ``zone``; NaT if none."""
    try:
        stamp = datetime.fromisoformat(text.strip())
    except (ValueError, AttributeError):
        return NAT
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=ZoneInfo(zone))
    stamp = stamp.astimezone(timezone.utc).replace(tzinfo=None)
    return np.datetime64(stamp, "ns")


def parse_value(text) -> float:
    """The reading as a float (NaN stays NaN: flagged non-finite later); None if malformed."""
    if isinstance(text, bool):
        return None
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def finish(readings: Readings, times, values, units: list[str | None]) -> Readings:
    """Fill the readings' arrays: parse flags, non-finite values, conversion to model units.

    ``times`` are datetime64 (NaT: malformed), ``values`` floats or None (malformed),
    ``units`` the unit string of each reading (None: already in the model's units)."""
    n = len(readings.sensor_id)
    readings.time = np.asarray(times, dtype="datetime64[ns]").reshape(n)
    flag = np.full(n, GOOD, np.uint8)
    value = np.array([np.nan if v is None else v for v in values], dtype=float).reshape(n)
    malformed = np.array([v is None for v in values], bool).reshape(n) | np.isnat(readings.time)
    flag[malformed] = FLAG["malformed"]
    flag[(flag == GOOD) & ~np.isfinite(value)] = FLAG["non_finite"]
    unknown = np.array([v not in OBSERVED for v in readings.variable], bool).reshape(n)
    groups: dict[tuple[str, str], list[int]] = {}
    for i, (var, unit) in enumerate(zip(readings.variable, units)):
        if flag[i] == GOOD and not unknown[i] and unit is not None:
            groups.setdefault((var, unit), []).append(i)
    for (var, unit), rows in groups.items():
        rows = np.asarray(rows)
        try:
            value[rows] = convert(value[rows], unit, OBSERVED[var].units)
        except UnitsError:
            flag[rows] = FLAG["bad_units"]
    flag[(flag == GOOD) & unknown] = FLAG["unknown_variable"]
    readings.value, readings.flag = value, flag
    return readings
