"""The observation operator H: what a model state says a sensor should read.

Depth and stage gauges and air-temperature stations read their cell; a rain gauge reads the
rain rate of its cell (from the forcing the state ran with); a traffic counter reads its
link's flow over its counting interval, a speed sensor its link's speed. Values in the
observed variables' model units (``metrotwin.observe.variables``).

On a grid split over ranks (``OwnedReadings``) each rank evaluates the readings of the cells
it owns (those of links: the first rank, every rank holds the whole network) and the values
are gathered onto every rank, so that all see the same numbers as one rank would."""

from __future__ import annotations

import dataclasses

import numpy as np

from metrotwin.observe.table import ObservationSet
from metrotwin.observe.variables import OBSERVED

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


class OwnedReadings:
    """The readings of ``obs`` (cells: flat indices of the whole grid) seen from one rank of
    the decomposition ``dec``: ``local`` is ``obs`` with each station's cell as a flat index
    of the rank's local arrays (-1 where another rank owns it), ``mine`` the stations this
    rank evaluates."""

    def __init__(self, obs: ObservationSet, dec):
        on_cell = np.array([OBSERVED[v].on == "cell" if v in OBSERVED else False
                            for v in obs.variable], bool)  # fmt: skip
        row, col = np.divmod(obs.cell, dec.global_shape[1])
        owned = on_cell & (obs.cell >= 0) & dec.owns(row, col)
        local_row, local_col = dec.glb_to_loc(row, col)
        cell = np.where(owned, local_row * dec.local_shape[1] + local_col, -1)
        self.local = dataclasses.replace(obs, cell=cell.astype(np.int64))
        self.mine = owned | (~on_cell & (dec.rank == 0))
        self.dec = dec

    def values(self, states: list, rows: np.ndarray) -> np.ndarray:
        """H(x) of every (state, rain rate) pair of ``states`` at readings ``rows``, the same
        on every rank: (len(states), rows.size), NaN where a state lacks the field."""
        rows = np.asarray(rows, np.int64)
        mine = np.flatnonzero(self.mine[self.local.station[rows]])
        part = np.array([model_values(state, self.local, rows[mine], rain)
                         for state, rain in states]).reshape(len(states), mine.size)
        out = np.full((len(states), rows.size), np.nan)
        for index, values in self.dec.gather_object((mine, part)):
            out[:, index] = values
        return out
