"""Warnings a live twin reads off its forecast: where, how much and how soon a key field
crosses its threshold, e.g. "forecast: 0.32 m in oldtown near gauge12 within 45 min".

A place is named by its district (the city's ``district`` layer) and the sensor nearest the
cell where the field peaks, which people on the ground know by name. Open water (the
``water`` land cover, whose depth is no flood) and building cells are left out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from metrotwin.city.landcover import code_of

#: the thresholds of a warning: field -> (threshold, units shown, what it is). 0.3 m: the
#: depth at which cars float and walking in moving water becomes dangerous (Russo et al.
#: 2013; the flood model's door depth is of that order); UTCI 38 degC: "very strong heat
#: stress" (Broede et al. 2012, Int J Biometeorol 56:481)
THRESHOLDS = {
    "flood_water_thickness": (0.3, "m", "{value:.2f} m"),
    "universal_thermal_comfort_index": (38.0, "degC", "UTCI {value:.1f} °C"),
}


@dataclass
class Places:
    """What names a cell: ``district`` codes (ny, nx), their ``names`` (code -> name),
    ``ground`` (ny, nx, bool: neither open water nor a building), the cells' centres ``x``,
    ``y`` (ny, nx, m) and the sensors (``sensor_id``, ``sensor_x``, ``sensor_y``, m)."""

    district: np.ndarray
    names: dict[int, str]
    ground: np.ndarray
    x: np.ndarray
    y: np.ndarray
    sensor_id: list[str]
    sensor_x: np.ndarray
    sensor_y: np.ndarray

    @classmethod
    def of(cls, state, obs) -> Places:
        """The places of city ``state`` (one rank's whole grid) and the stations of
        ``obs`` (an ``ObservationSet``) that have a position."""
        grid = state.grid
        x, y = np.meshgrid(grid.x, grid.y)
        ground = np.asarray(state["land_cover"]) != code_of("water")
        if "building_height" in state:
            ground &= np.asarray(state["building_height"]) <= 0
        names = state.district_names if "district" in state else {}
        district = (np.asarray(state["district"]) if "district" in state
                    else np.zeros(grid.shape, int))  # fmt: skip
        placed = np.isfinite(obs.x) & np.isfinite(obs.y)
        return cls(district, names, ground, x, y, [str(s) for s in obs.sensor_id[placed]],
                   obs.x[placed], obs.y[placed])  # fmt: skip

    def name(self, row: int, col: int) -> str:
        """"in <district> near <sensor>" of cell (row, col) (either part left out where the
        city has no districts or no sensors)."""
        parts = []
        district = self.names.get(int(self.district[row, col]))
        if district:
            parts.append(f"in {district}")
        if self.sensor_id:
            d = np.hypot(self.sensor_x - self.x[row, col], self.sensor_y - self.y[row, col])
            parts.append(f"near {self.sensor_id[int(np.argmin(d))]}")
        return " ".join(parts) or f"at x = {self.x[row, col]:.0f} m, y = {self.y[row, col]:.0f} m"


def field_warnings(name: str, values: np.ndarray, times: np.ndarray, issued: float,
                   places: Places, threshold: float | None = None) -> list[dict]:  # fmt: skip
    """One warning per district where field ``name`` (``values``: (times, ny, nx) at
    ``times``, s) reaches its threshold (``THRESHOLDS``, or ``threshold``) on the ground:
    the peak over the forecast, where it is, and how soon (minutes after ``issued``, the
    first time it is reached, rounded up)."""
    limit, units, shown = THRESHOLDS[name]
    limit = limit if threshold is None else threshold
    wet = np.where(places.ground[None], np.nan_to_num(values, nan=-np.inf), -np.inf)
    out = []
    for code in sorted(set(np.unique(places.district[places.ground]).tolist())):
        inside = np.where((places.district == code)[None], wet, -np.inf)
        reached = np.flatnonzero(inside.reshape(len(times), -1).max(axis=1) >= limit)
        if reached.size == 0:
            continue
        k, row, col = np.unravel_index(int(np.argmax(inside)), inside.shape)
        peak = float(inside[k, row, col])
        minutes = int(math.ceil((times[reached[0]] - issued) / 60.0 - 1e-9))
        place = places.name(row, col)
        out.append({"field": name, "value": peak, "units": units, "threshold": limit,
                    "place": place, "minutes": minutes,
                    "text": f"forecast: {shown.format(value=peak)} {place} within "
                            f"{minutes} min"})  # fmt: skip
    return sorted(out, key=lambda w: (w["minutes"], -w["value"]))


def forecast_warnings(forecast, places: Places, thresholds: dict | None = None) -> list[dict]:
    """The warnings of every key field of ``forecast`` that has a threshold (``thresholds``:
    field -> threshold, overriding ``THRESHOLDS``'), soonest first."""
    out = []
    for name, values in forecast.fields.items():
        if name in THRESHOLDS:
            out += field_warnings(name, values, forecast.times, forecast.issued, places,
                                  (thresholds or {}).get(name))  # fmt: skip
    return sorted(out, key=lambda w: (w["minutes"], w["field"]))
