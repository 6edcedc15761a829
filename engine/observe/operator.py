"""The observation operator H: what a model state says a sensor should read.

Depth and stage gauges and air-temperature stations read their cell; a rain gauge reads the
rain rate of its cell (from the forcing the state ran with); a traffic counter reads its
link's flow over its counting interval, a speed sensor its link's speed. Values in the
observed variables' model units (``metrotwin.observe.variables``)."""

from __future__ import annotations

import numpy as np

from metrotwin.observe.table import ObservationSet

#: mm/h per m/s
MM_H_PER_M_S = 1000.0 * 3600.0


def _cell_field(state, name: str, cells: np.ndarray) -> np.ndarray:
    if name not in state:
        return np.full(cells.size, np.nan)
    return np.asarray(state[name], float).ravel()[cells]


def _link_field(state, name: str, links: np.ndarray) -> np.ndarray:
    if name not in state or links.size and links.min() < 0:
        return np.full(links.size, np.nan)
    return np.asarray(state[name], float)[links]


def _rain(rain_rate, cells: np.ndarray) -> np.ndarray:
    if rain_rate is None:
        return np.full(cells.size, np.nan)
    field = np.asarray(rain_rate, float)
    values = field.ravel()[cells] if field.ndim else np.full(cells.size, float(field))
    return values * MM_H_PER_M_S


def model_values(state, obs: ObservationSet, rows: np.ndarray, rain_rate=None) -> np.ndarray:
    """H(x): the value the state gives each reading ``rows`` (indices into ``obs``' readings),
    NaN where the state lacks the field. ``state`` maps field names to arrays (a
    ``CityState``); ``rain_rate`` is the rain intensity (m/s, a float or (ny, nx)) the state
    ran with at the readings' time. Cell indices are flat indices of ``state``'s grid."""
    rows = np.asarray(rows, np.int64)
    station = obs.station[rows]
    variable = obs.variable[station]
    cells, links = obs.cell[station], obs.link[station]
    out = np.full(rows.size, np.nan)
    for name in np.unique(variable):
        sel = variable == name
        c, k = cells[sel], links[sel]
        if name == "water_depth":
            out[sel] = _cell_field(state, "flood_water_thickness", c)
        elif name == "water_level":
            out[sel] = (_cell_field(state, "flood_water_thickness", c)
                        + _cell_field(state, "surface_altitude", c))  # fmt: skip
        elif name == "air_temperature":
            out[sel] = _cell_field(state, "air_temperature", c)
        elif name == "rain_rate":
            out[sel] = _rain(rain_rate, c)
        elif name == "vehicle_count":
            out[sel] = _link_field(state, "link_flow", k) * obs.interval[station[sel]] / 3600.0
        elif name == "vehicle_speed":
            out[sel] = _link_field(state, "link_speed", k)
    return out
